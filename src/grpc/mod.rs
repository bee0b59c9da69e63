//! gRPC: one file (or folder) per service. Every call not on the
//! allow-list is authenticated once by the layer in `authn.rs`; each
//! handler takes the principal from the request (`authn::principal`),
//! validates its input, authorizes the caller, calls the store, and
//! converts the result. Also wires health, reflection, the per-RPC trace
//! span, metrics and authentication layers.

pub mod authn;
pub mod authz;
pub mod codec;
pub mod convert;
pub mod events;
pub mod idempotency;
pub mod identity;
pub mod license;
pub mod membership;
pub mod status;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tower_http::trace::TraceLayer;

use crate::auth::Authenticator;
use crate::cache::Caches;
use crate::config::Config;
use crate::domain::Result;
use crate::feed::Feed;
use crate::pb;
use crate::ratelimit::FailureLimiter;
use crate::store::Store;

/// Shared state of every service.
#[derive(Debug)]
pub struct Ctx {
    /// Storage.
    pub store: Store,
    /// Bearer-token resolution.
    pub auth: Authenticator,
    /// Settings.
    pub config: Config,
    /// Failed sign-in counter.
    pub sign_in_failures: FailureLimiter,
    /// Hot-path caches (invalidated by the feed).
    pub caches: Arc<Caches>,
    /// This replica's view of the event log.
    pub feed: Arc<Feed>,
    /// Turns true when the server shuts down (ends watch streams).
    pub stop: tokio::sync::watch::Receiver<bool>,
    /// Bounds concurrent argon2id work to the number of cores.
    pub hashing: tokio::sync::Semaphore,
    /// W5: the methods that take a `request_id`.
    pub idempotent: idempotency::IdempotentMethods,
}

impl Ctx {
    /// M11 from the access cache, falling back to one database query.
    pub async fn check_access(
        &self,
        identity: &crate::domain::IdentityId,
        org: &crate::domain::OrgId,
        room: Option<&crate::domain::RoomId>,
    ) -> Result<crate::domain::AccessDecision> {
        if let Some(decision) = self.caches.access(identity, org, room) {
            return Ok(decision);
        }
        let fill = self.caches.begin();
        let decision = self
            .store
            .bounded(self.store.check_access(identity, org, room))
            .await?;
        self.caches
            .put_access(identity, org, room, decision.clone(), fill);
        Ok(decision)
    }

    /// M10 from the profile cache; the misses are read in one query.
    pub async fn resolve_profiles(
        &self,
        org: &crate::domain::OrgId,
        ids: &[crate::domain::IdentityId],
    ) -> Result<Vec<crate::domain::Profile>> {
        let mut out: Vec<Option<crate::domain::Profile>> =
            ids.iter().map(|id| self.caches.profile(org, id)).collect();
        let missing: Vec<crate::domain::IdentityId> = ids
            .iter()
            .zip(&out)
            .filter(|(_, p)| p.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        if !missing.is_empty() {
            let fill = self.caches.begin();
            let fetched = self
                .store
                .bounded(self.store.resolve_profiles(org, &missing))
                .await?;
            let mut by_id = std::collections::HashMap::with_capacity(missing.len());
            for (id, profile) in missing.into_iter().zip(fetched) {
                self.caches.put_profile(org, &id, profile.clone(), fill);
                by_id.insert(id, profile);
            }
            for (slot, id) in out.iter_mut().zip(ids) {
                if slot.is_none() {
                    *slot = by_id.get(id).cloned();
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|p| p.unwrap_or(crate::domain::Profile::Unknown))
            .collect())
    }

    /// Runs argon2id work off the async threads, at most one job per core
    /// at a time: each job holds its memory cost (19 MiB by default), so an
    /// unbounded burst of sign-ins would cost memory without finishing any
    /// sooner. `job` gets the configured cost of new hashes.
    pub async fn hash<T: Send + 'static>(
        &self,
        job: impl FnOnce(crate::domain::secrets::HashCost) -> T + Send + 'static,
    ) -> Result<T> {
        let cost = self.config.hash_cost;
        let _permit = self
            .hashing
            .acquire()
            .await
            .map_err(|e| crate::domain::Error::Internal(format!("hashing pool closed: {e}")))?;
        tokio::task::spawn_blocking(move || job(cost))
            .await
            .map_err(|e| crate::domain::Error::Internal(format!("hashing task failed: {e}")))
    }
}

/// Serves every Roster service plus health and reflection on `listener`
/// until `shutdown` completes, then reports NOT_SERVING (for the configured
/// shutdown delay), sends `stop` (ends watch streams) and drains in-flight
/// calls.
pub async fn serve(
    ctx: Arc<Ctx>,
    metrics: Arc<crate::metrics::Metrics>,
    listener: TcpListener,
    tls: Option<Arc<crate::tls::Reloader>>,
    shutdown: impl Future<Output = ()> + Send,
    stop: tokio::sync::watch::Sender<bool>,
) -> anyhow::Result<()> {
    use pb::event_service_server::EventServiceServer;
    use pb::identity_service_server::IdentityServiceServer;
    use pb::license_service_server::LicenseServiceServer;
    use pb::membership_service_server::MembershipServiceServer;

    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<IdentityServiceServer<identity::IdentityApi>>()
        .await;
    health
        .set_serving::<LicenseServiceServer<license::LicenseApi>>()
        .await;
    health
        .set_serving::<MembershipServiceServer<membership::MembershipApi>>()
        .await;
    health
        .set_serving::<EventServiceServer<events::EventApi>>()
        .await;
    // Follows whether the database can be read (SERVING / NOT_SERVING)
    // until shutdown, which then has the last word.
    let health_task = {
        use tonic::server::NamedService;
        crate::feed::spawn_health(
            &ctx.feed,
            health.clone(),
            vec![
                IdentityServiceServer::<identity::IdentityApi>::NAME,
                LicenseServiceServer::<license::LicenseApi>::NAME,
                MembershipServiceServer::<membership::MembershipApi>::NAME,
                EventServiceServer::<events::EventApi>::NAME,
            ],
        )
    };

    // Reflection lists the public services and health, in both protocol
    // versions so every grpcurl and IDE plug-in works. The google.rpc error
    // details are served too, so grpcurl prints ErrorInfo and BadRequest
    // as JSON instead of raw bytes.
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    // SIGTERM: say so first, so load balancers and clients watching health
    // move away while this replica still answers, then drain.
    let delay = ctx.config.shutdown_delay;
    let shutdown = async move {
        shutdown.await;
        // A database recovering during the drain must not report SERVING.
        health_task.abort();
        let _ = health_task.await;
        health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        health
            .set_not_serving::<IdentityServiceServer<identity::IdentityApi>>()
            .await;
        health
            .set_not_serving::<LicenseServiceServer<license::LicenseApi>>()
            .await;
        health
            .set_not_serving::<MembershipServiceServer<membership::MembershipApi>>()
            .await;
        health
            .set_not_serving::<EventServiceServer<events::EventApi>>()
            .await;
        tracing::info!(
            ?delay,
            "health is NOT_SERVING; draining after the shutdown delay"
        );
        tokio::time::sleep(delay).await;
        // Ends open watch streams so the drain can finish.
        let _ = stop.send(true);
    };

    // Probes: kubelet's gRPC probe speaks plaintext only, so health alone
    // may be served on a separate plaintext port.
    if let Some(addr) = ctx.config.health_listen {
        let probe = TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("binding the health address {addr}: {e}"))?;
        let health_only = health_service.clone();
        let mut stopped = ctx.stop.clone();
        tokio::spawn(async move {
            let result = Server::builder()
                .add_service(health_only)
                .serve_with_incoming_shutdown(TcpIncoming::from(probe), async move {
                    let _ = stopped.changed().await;
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "health endpoint stopped");
            }
        });
        tracing::info!(%addr, "serving plaintext gRPC health for probes");
    }

    let router = Server::builder()
        .layer(
            TraceLayer::new_for_grpc()
                .make_span_with(crate::telemetry::grpc_span)
                // Refusals are normal answers; internal errors are logged
                // where they happen (grpc/status.rs).
                .on_failure(
                    tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG),
                ),
        )
        .layer(crate::metrics::MetricsLayer(metrics))
        // Inside the metrics layer, so refusals are counted and logged.
        .layer(authn::AuthLayer(ctx.clone()))
        // Inside authentication: a remembered request is answered only to
        // the caller that sent it.
        .layer(idempotency::IdempotencyLayer(ctx.clone()))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(IdentityServiceServer::new(identity::IdentityApi::new(
            ctx.clone(),
        )))
        .add_service(LicenseServiceServer::new(license::LicenseApi::new(
            ctx.clone(),
        )))
        .add_service(MembershipServiceServer::new(
            membership::MembershipApi::new(ctx.clone()),
        ))
        .add_service(EventServiceServer::new(events::EventApi::new(ctx.clone())));
    match tls {
        // TLS is terminated in front of tonic so the certificate can be
        // swapped at run time (see tls.rs).
        Some(tls) => {
            router
                .serve_with_incoming_shutdown(crate::tls::incoming(listener, tls), shutdown)
                .await?
        }
        None => {
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            router
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await?
        }
    }
    Ok(())
}
