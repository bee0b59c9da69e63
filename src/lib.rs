//! Roster: identities, membership and license seats over gRPC.
//!
//! Layers, data flowing one way: [`grpc`] (validate → authorize → call) →
//! [`domain`] (rules and types) → [`store`] (sea-orm, transactions, audit).
//! [`run`] wires them together.

pub mod auth;
pub mod cache;
pub mod config;
pub mod domain;
pub mod feed;
pub mod grpc;
pub mod lease;
pub mod metrics;
pub mod ratelimit;
pub mod scheduler;
pub mod scim;
pub mod store;
pub mod sweep;
pub mod telemetry;
pub mod tls;

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

/// The benchmark's echo baseline service (not part of the API).
#[allow(clippy::all, missing_docs)]
pub mod bench_pb {
    tonic::include_proto!("roster.bench.v1");
}

/// Connections of the PostgreSQL pool kept for the replica's own
/// bookkeeping (`Store::control`): the LISTEN connection, the feed's log
/// reads and lease renewals, the writers' acknowledgement rounds.
const CONTROL_CONNECTIONS: u32 = 4;

/// Connects to the configured database and applies pending migrations
/// (with `no_migrate`, only checks that none are pending).
pub async fn open_store(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Store> {
    let db = store::connect_with(
        &config.database_url,
        config.db_max_connections,
        config.db_acquire_timeout,
    )
    .await
    .with_context(|| {
        format!(
            "opening the database {}",
            config::redact_url(&config.database_url)
        )
    })?;
    let mut store = Store::new(db, clock).with_read_timeout(config.db_acquire_timeout);
    if store.backend() == sea_orm::DbBackend::Postgres {
        let control = store::connect_with(
            &config.database_url,
            CONTROL_CONNECTIONS,
            config.db_acquire_timeout,
        )
        .await
        .context("opening the replica's bookkeeping connections")?;
        store = store.with_control(control);
    }
    if config.no_migrate {
        store.check_schema().await.context("checking the schema")?;
    } else {
        store.migrate().await.context("applying migrations")?;
    }
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

/// What `roster grant-package-admin` did.
#[derive(Debug, Clone)]
pub struct PackageAdminGrant {
    /// The package, with its administrators after the grant.
    pub package: domain::LicensePackage,
    /// The identity made an administrator.
    pub identity: domain::IdentityId,
}

/// The break-glass repair of M2 (`roster grant-package-admin`): makes the
/// existing, non-revoked identity `identity_id` an administrator of the
/// license package `package_id`, with database access only, in one
/// transaction with its PACKAGE_UPDATED event (actor SYSTEM, reason
/// `BREAK_GLASS`). For a package nobody with a session may repair: no
/// administrator left and no organization of it with an active admin.
/// An error for a malformed or unknown ID, a revoked identity, or an
/// identity that already administers the package (nothing written).
pub async fn grant_package_admin(
    store: &Store,
    package_id: &str,
    identity_id: &str,
) -> anyhow::Result<PackageAdminGrant> {
    let package = domain::PackageId::parse(package_id)
        .map_err(|e| anyhow::anyhow!("--package-id {package_id:?} {e}"))?;
    let identity = domain::IdentityId::parse(identity_id)
        .map_err(|e| anyhow::anyhow!("--identity-id {identity_id:?} {e}"))?;
    let (package, added) = store
        .add_package_admin(domain::Actor::system(), &package, &identity, "BREAK_GLASS")
        .await?;
    if !added {
        anyhow::bail!(
            "identity {identity} already administers license package {}; nothing changed",
            package.id
        );
    }
    Ok(PackageAdminGrant { package, identity })
}

/// Runs the service on `listener` until `shutdown` completes: migrations,
/// the first-start service key, background jobs, then gRPC, Prometheus
/// metrics on `metrics_listener` and SCIM 2.0 on `scim_listener` when given.
pub async fn run(
    config: Config,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    scim_listener: Option<TcpListener>,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    // Bad TLS files fail the start before anything else happens.
    let tls = match &config.tls {
        Some(files) => Some(tls::Reloader::load(files.clone(), &[b"h2"]).context("loading TLS")?),
        None => None,
    };
    // SCIM speaks HTTP/1.1: its own acceptor over the same files.
    let scim_tls = match (&config.tls, &scim_listener) {
        (Some(files), Some(_)) => Some(
            tls::Reloader::load(files.clone(), &[b"http/1.1"]).context("loading TLS for SCIM")?,
        ),
        _ => None,
    };
    let store = open_store(&config, clock).await?;
    let addr = listener.local_addr()?;

    if config.service_keys.is_empty() && store.count_service_keys().await? == 0 {
        let key = create_service_key(&store, "bootstrap").await?;
        println!(
            "\nRoster created a service key on first start. It is shown only now \
             (only its hash is stored):\n\n    {key}\n\nTry it:\n\n    \
             grpcurl {flag} -H 'authorization: Bearer {key}' {addr} list\n\n\
             Mint more with `roster create-service-key NAME`; configure keys with \
             ROSTER_SERVICE_KEYS.\n",
            flag = if tls.is_some() {
                "-insecure"
            } else {
                "-plaintext"
            },
        );
    }

    let caches = Arc::new(cache::Caches::new());
    let feed = feed::Feed::new(store.control(), caches.clone()).await?;
    let observer: Arc<dyn store::CommitObserver> = feed.clone();
    store.set_observer(&observer);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = feed.spawn(stop_rx.clone());
    let sign_in_failures = ratelimit::FailureLimiter::new(store.clone());
    tasks.push(spawn_pruning(
        store.clone(),
        sign_in_failures.clone(),
        config.event_retention,
        stop_rx.clone(),
    ));
    tasks.push(sweep::spawn(
        store.clone(),
        config.sweep_interval,
        stop_rx.clone(),
    ));
    tasks.push(scheduler::spawn(
        store.clone(),
        config.schedule_poll_interval,
        stop_rx.clone(),
    ));
    tasks.push(store::spawn_scrubs(
        store.clone(),
        config.erasure_scrub_interval,
        stop_rx.clone(),
    ));
    if let Some(t) = &tls {
        tasks.push(t.spawn_watch(config.tls_reload_interval, stop_rx.clone()));
    }
    if let Some(t) = &scim_tls {
        tasks.push(t.spawn_watch(config.tls_reload_interval, stop_rx.clone()));
    }
    if store.backend() == sea_orm::DbBackend::Sqlite {
        tasks.push(spawn_checkpoints(store.clone(), stop_rx.clone()));
    }

    if !config.hash_cost.meets_owasp_minimum() {
        tracing::warn!(
            cost = %config.hash_cost,
            "password hash cost is below OWASP's minimum (for example m=19456KiB t=2); use it for tests only"
        );
    }
    let hash_concurrency = match config.hash_concurrency {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let ctx = Arc::new(grpc::Ctx {
        auth: auth::Authenticator::new(store.clone(), caches.clone(), &config.service_keys),
        store,
        config,
        sign_in_failures,
        caches,
        feed: feed.clone(),
        stop: stop_rx,
        hashing: tokio::sync::Semaphore::new(hash_concurrency),
        idempotent: grpc::idempotency::IdempotentMethods::from_descriptors(pb::FILE_DESCRIPTOR_SET),
    });
    let metrics = Arc::new(metrics::Metrics::new(
        ctx.caches.clone(),
        ctx.feed.clone(),
        ctx.store.clone(),
        ctx.config.access_log,
    ));
    if let Some(l) = metrics_listener {
        let maddr = l.local_addr()?;
        let mut stop = ctx.stop.clone();
        let m = metrics.clone();
        tasks.push(tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.changed().await;
            };
            if let Err(e) = metrics::serve(m, l, stopped).await {
                tracing::warn!(error = %e, "metrics endpoint stopped");
            }
        }));
        tracing::info!(addr = %maddr, "serving Prometheus metrics at /metrics");
    }
    if let Some(l) = scim_listener {
        let saddr = l.local_addr()?;
        let mut stop = ctx.stop.clone();
        let c = ctx.clone();
        let m = metrics.clone();
        let secure = scim_tls.is_some();
        tasks.push(tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.changed().await;
            };
            if let Err(e) = scim::serve(c, m, l, scim_tls, stopped).await {
                tracing::warn!(error = %e, "SCIM endpoint stopped");
            }
        }));
        tracing::info!(addr = %saddr, tls = secure, "serving SCIM 2.0 at /scim/v2");
    }
    tracing::info!(
        %addr,
        tls = tls.is_some(),
        version = env!("CARGO_PKG_VERSION"),
        commit = env!("ROSTER_GIT_COMMIT"),
        backend = metrics::backend_name(&ctx.store),
        "roster is serving gRPC (health and reflection on)"
    );
    let result = grpc::serve(ctx, metrics, listener, tls, shutdown, stop_tx).await;
    for task in tasks {
        task.abort();
    }
    feed.release().await;
    result
}

/// SQLite: checkpoints the write-ahead log once a second, off the request
/// path, and truncates it once a minute (and on shutdown) so it does not
/// keep old page versions or grow without bound.
fn spawn_checkpoints(
    store: Store,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick: u64 = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                _ = stop.changed() => {
                    let _ = store.checkpoint_truncate().await;
                    return;
                }
            }
            tick += 1;
            let result = if tick.is_multiple_of(60) {
                store.checkpoint_truncate().await
            } else {
                store.checkpoint().await
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "SQLite checkpoint failed");
            }
        }
    })
}

/// Deletes events older than the retention window, the copies of removals
/// whose undo window has passed (W6) and sign-in failure counts of past
/// windows, hourly.
fn spawn_pruning(
    store: Store,
    sign_in_failures: ratelimit::FailureLimiter,
    retention: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let cutoff = store.now_ms() - retention.as_millis() as i64;
            match store.prune_events(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "pruned events past the retention window"),
                Err(e) => tracing::warn!(error = %e, "event pruning failed"),
            }
            match store.prune_removal_copies(store.now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "undo windows of removals passed (W6)"),
                Err(e) => tracing::warn!(error = %e, "pruning removal copies failed"),
            }
            match store.prune_requests(store.now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "forgot request IDs older than 24 h (W5)"),
                Err(e) => tracing::warn!(error = %e, "pruning request IDs failed"),
            }
            if let Err(e) = sign_in_failures.prune().await {
                tracing::warn!(error = %e, "pruning sign-in failure counts failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
                _ = stop.changed() => return,
            }
        }
    })
}
