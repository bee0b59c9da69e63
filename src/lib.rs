//! Roster: identities, membership and license seats over gRPC.
//!
//! Layers, data flowing one way: [`grpc`] (validate → authorize → call) →
//! [`domain`] (rules and types) → [`store`] (sea-orm, transactions, audit).
//! [`run`] wires them together.

pub mod auth;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod ratelimit;
pub mod store;
pub mod sweep;
pub mod telemetry;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::domain::secrets;
use crate::store::{Clock, Store};

/// Generated protobuf messages, clients and servers of `roster.v1`.
#[allow(clippy::all, missing_docs)]
pub mod pb {
    tonic::include_proto!("roster.v1");
    /// Encoded descriptors of `roster.v1`, for gRPC reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("roster_descriptor");
}

/// Connects to the configured database and applies pending migrations.
pub async fn open_store(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Store> {
    let db = store::connect(&config.database_url, config.db_max_connections)
        .await
        .with_context(|| {
            format!(
                "opening the database {}",
                config::redact_url(&config.database_url)
            )
        })?;
    let store = Store::new(db, clock);
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// Mints a service key, stores its hash and returns the key itself.
pub async fn create_service_key(store: &Store, name: &str) -> anyhow::Result<String> {
    let key = secrets::new_service_key();
    store
        .create_service_key(name, &secrets::token_hash(&key))
        .await
        .context("storing the service key")?;
    Ok(key)
}

/// Runs the service on `listener` until `shutdown` completes: migrations,
/// the first-start service key, background jobs, then gRPC.
pub async fn run(
    config: Config,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let store = open_store(&config, clock).await?;
    let addr = listener.local_addr()?;

    if config.service_keys.is_empty() && store.count_service_keys().await? == 0 {
        let key = create_service_key(&store, "bootstrap").await?;
        println!(
            "\nRoster created a service key on first start. It is shown only now \
             (only its hash is stored):\n\n    {key}\n\nTry it:\n\n    \
             grpcurl -plaintext -H 'authorization: Bearer {key}' {addr} list\n\n\
             Mint more with `roster create-service-key NAME`; configure keys with \
             ROSTER_SERVICE_KEYS.\n"
        );
    }

    sweep::spawn(store.clone(), config.sweep_interval);
    let ctx = Arc::new(grpc::Ctx {
        auth: auth::Authenticator::new(store.clone(), &config.service_keys),
        store,
        config,
        sign_in_failures: ratelimit::FailureLimiter::default(),
    });
    tracing::info!(%addr, "roster is serving gRPC (health and reflection on)");
    grpc::serve(ctx, listener, shutdown).await
}
