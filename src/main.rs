//! `roster` binary: parse the command line, then call into the library.

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use roster::config::{Cli, Command, Config};
use roster::store::SystemClock;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = roster::telemetry::init(cli.log_format)?;
    match cli.command {
        Command::Serve(args) => {
            let shutdown = shutdown_signal();
            let config = Config::try_from(args).map_err(anyhow::Error::msg)?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("binding {}", config.listen))?;
            let metrics = match config.metrics_listen {
                Some(addr) => Some(
                    tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding the metrics address {addr}"))?,
                ),
                None => None,
            };
            let scim = match config.scim_listen {
                Some(addr) => Some(
                    tokio::net::TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding the SCIM address {addr}"))?,
                ),
                None => None,
            };
            roster::run(
                config,
                listener,
                metrics,
                scim,
                Arc::new(SystemClock),
                shutdown,
            )
            .await
        }
        Command::Migrate(db) => {
            let mut config = Config::with_database(db.database_url);
            config.db_max_connections = 2;
            roster::open_store(&config, Arc::new(SystemClock)).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::CreateServiceKey { name, db } => {
            let mut config = Config::with_database(db.database_url);
            config.db_max_connections = 1;
            let store = roster::open_store(&config, Arc::new(SystemClock)).await?;
            let key = roster::create_service_key(&store, &name).await?;
            println!("{key}");
            Ok(())
        }
        Command::GrantPackageAdmin {
            package_id,
            identity_id,
            db,
        } => {
            let mut config = Config::with_database(db.database_url);
            config.db_max_connections = 1;
            let store = roster::open_store(&config, Arc::new(SystemClock)).await?;
            let grant = roster::grant_package_admin(&store, &package_id, &identity_id).await?;
            let admins: Vec<&str> = grant.package.admins.iter().map(|a| a.as_str()).collect();
            println!(
                "identity {} now administers license package {} (administrators: {}); \
                 recorded as PACKAGE_UPDATED by SYSTEM, reason BREAK_GLASS",
                grant.identity,
                grant.package.id,
                admins.join(", ")
            );
            Ok(())
        }
    }
}

/// Completes on SIGTERM or SIGINT; the server then drains in-flight calls.
/// The handlers are installed here, before anything starts, so a SIGTERM
/// during start-up is handled too instead of killing the process.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    #[cfg(unix)]
    let int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt());
    async move {
        #[cfg(unix)]
        {
            let wait = |s: std::io::Result<tokio::signal::unix::Signal>, name: &'static str| async move {
                match s {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for {name}");
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                _ = wait(term, "SIGTERM") => {},
                _ = wait(int, "SIGINT") => {},
            }
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: draining in-flight calls");
    }
}
