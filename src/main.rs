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
            roster::run(
                config,
                listener,
                metrics,
                Arc::new(SystemClock),
                shutdown_signal(),
            )
            .await
        }
        Command::Migrate(db) => {
            let mut config = Config::with_database(db.database_url);
            config.db_max_connections = 1;
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
    }
}

/// Completes on SIGTERM or SIGINT; the server then drains in-flight calls.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: draining in-flight calls");
}
