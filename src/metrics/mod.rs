//! O3: Prometheus metrics, served as plain HTTP `GET /metrics` on their own
//! listener (`ROSTER_METRICS_LISTEN`), apart from the gRPC port.
//!
//! Calls are counted under the names of grpc-ecosystem's Prometheus
//! provider (go-grpc-middleware), so stock gRPC dashboards and alerts work
//! unchanged: `grpc_server_started_total`, `grpc_server_handled_total` and
//! `grpc_server_handling_seconds`, labelled `grpc_type`, `grpc_service`,
//! `grpc_method` (and `grpc_code`, spelled as Go spells codes: `OK`,
//! `InvalidArgument`, …). Methods the server does not serve are counted
//! under `unknown`, so a caller cannot grow the label set. Next to them:
//! the standard `process_*` metrics, `roster_build_info`, the database
//! pool (connections in use and idle, writers waiting, time to begin a
//! transaction, acquire timeouts), the feed's lag behind the log head,
//! open WatchEvents streams, and SCIM requests
//! (`roster_scim_requests_total`, `roster_scim_request_duration_seconds`
//! by HTTP method, resource and status).
//!
//! The per-call layer is on the hot path: every known method's counters
//! are created at start-up, so a call costs one map lookup and a few
//! atomic increments. The same layer records the call's status on its
//! trace span and writes the access log line.

mod process;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::cache::Caches;
use crate::feed::Feed;
use crate::store::Store;

/// Counts one open WatchEvents stream (of one replica, see
/// `Feed::stream_opened`) for as long as it lives.
#[derive(Debug)]
pub struct OpenStream(Arc<AtomicI64>);

impl OpenStream {
    /// Counts a stream that has just opened.
    pub fn new(counter: Arc<AtomicI64>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        OpenStream(counter)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Labels of one method.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    grpc_type: &'static str,
    grpc_service: String,
    grpc_method: String,
}

/// Labels of one method and outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandledLabels {
    grpc_type: &'static str,
    grpc_service: String,
    grpc_method: String,
    grpc_code: &'static str,
}

/// Labels of one SCIM request's outcome (bounded: the method and resource
/// are from fixed lists, the status is an HTTP status code).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScimLabels {
    method: &'static str,
    resource: &'static str,
    status: u16,
}

/// Labels of the build-info gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
    backend: &'static str,
}

/// Labels of the pool gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

/// The counters of one method, created at start-up.
#[derive(Debug)]
struct MethodMetrics {
    /// `/package.Service/Method`, or `unknown`.
    path: String,
    started: Counter,
    /// By status code, 0 ..= 16.
    handled: Vec<Counter>,
    handling: Histogram,
}

/// Status code names as grpc-go's `codes.Code.String()` spells them, which
/// is what grpc-ecosystem dashboards query.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// The canonical name of a gRPC status code (as in the gRPC spec), for logs.
fn canonical_code_name(code: i32) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// `(path, grpc_type, service, method)` of every method served: the Roster
/// API, health and both reflection versions.
fn served_methods() -> Vec<(String, &'static str, String, String)> {
    use prost::Message;
    let sets = [
        crate::pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut out = Vec::new();
    for bytes in sets {
        let Ok(set) = prost_types::FileDescriptorSet::decode(bytes) else {
            continue;
        };
        for file in &set.file {
            // Imports (google.rpc, well-known types) declare no services
            // that are served here; only files that define services count.
            for service in &file.service {
                let full = match file.package() {
                    "" => service.name().to_owned(),
                    p => format!("{p}.{}", service.name()),
                };
                for m in &service.method {
                    let kind = match (m.client_streaming(), m.server_streaming()) {
                        (false, false) => "unary",
                        (false, true) => "server_stream",
                        (true, false) => "client_stream",
                        (true, true) => "bidi_stream",
                    };
                    out.push((
                        format!("/{full}/{}", m.name()),
                        kind,
                        full.clone(),
                        m.name().to_owned(),
                    ));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The metrics of one server.
pub struct Metrics {
    registry: Registry,
    /// Index into `by_index` by path; the last entry is `unknown`.
    methods: HashMap<String, usize>,
    by_index: Vec<MethodMetrics>,
    access_log: bool,
    caches_enabled: Gauge,
    feed_lag: Gauge,
    undecodable: Counter,
    dropped_fills: Counter,
    open_streams: Gauge,
    pool: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    pool_waiting: Gauge,
    scim_requests: Family<ScimLabels, Counter>,
    scim_seconds: Family<ScimLabels, Histogram>,
    caches: Arc<Caches>,
    feed: Arc<Feed>,
    store: Store,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Registers every metric. `access_log` writes one info line per call
    /// (target `roster::access`).
    pub fn new(caches: Arc<Caches>, feed: Arc<Feed>, store: Store, access_log: bool) -> Self {
        let mut registry = Registry::default();
        let started = Family::<MethodLabels, Counter>::default();
        registry.register(
            "grpc_server_started",
            "Total number of RPCs started on the server.",
            started.clone(),
        );
        let handled = Family::<HandledLabels, Counter>::default();
        registry.register(
            "grpc_server_handled",
            "Total number of RPCs completed on the server, regardless of success or failure \
             (a stream counts when its response headers are sent).",
            handled.clone(),
        );
        let handling = Family::<MethodLabels, Histogram>::new_with_constructor(|| {
            // 50 µs … ~1.6 s.
            Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
        });
        registry.register(
            "grpc_server_handling_seconds",
            "Histogram of response latency (seconds) of gRPC that had been application-level \
             handled by the server.",
            handling.clone(),
        );
        let create = |path: String, kind: &'static str, service: &str, method: &str| {
            let labels = MethodLabels {
                grpc_type: kind,
                grpc_service: service.to_owned(),
                grpc_method: method.to_owned(),
            };
            MethodMetrics {
                path,
                started: started.get_or_create(&labels).clone(),
                handled: CODE_NAMES
                    .iter()
                    .map(|code| {
                        handled
                            .get_or_create(&HandledLabels {
                                grpc_type: kind,
                                grpc_service: service.to_owned(),
                                grpc_method: method.to_owned(),
                                grpc_code: code,
                            })
                            .clone()
                    })
                    .collect(),
                handling: handling.get_or_create(&labels).clone(),
            }
        };
        let mut by_index: Vec<MethodMetrics> = served_methods()
            .into_iter()
            .map(|(path, kind, service, method)| create(path, kind, &service, &method))
            .collect();
        let methods = by_index
            .iter()
            .enumerate()
            .map(|(i, m)| (m.path.clone(), i))
            .collect();
        by_index.push(create("unknown".to_owned(), "unary", "unknown", "unknown"));

        registry.register_collector(Box::new(process::ProcessCollector));
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                commit: env!("ROSTER_GIT_COMMIT"),
                backend: backend_name(&store),
            })
            .set(1);

        let roster = registry.sub_registry_with_prefix("roster");
        roster.register(
            "build_info",
            "Always 1; the labels name the running build and its database backend",
            build,
        );
        let caches_enabled = Gauge::default();
        roster.register(
            "caches_enabled",
            "1 while hot-path caches are in use (the event feed hears every replica), else 0",
            caches_enabled.clone(),
        );
        let feed_lag = Gauge::default();
        roster.register(
            "feed_lag_events",
            "Events in the log this replica's feed has not applied yet (log head minus feed head)",
            feed_lag.clone(),
        );
        let undecodable = Counter::default();
        roster.register(
            "feed_undecodable_events",
            "Event rows this release could not decode; each cleared every cache and was skipped",
            undecodable.clone(),
        );
        let dropped_fills = Counter::default();
        roster.register(
            "cache_fills_dropped",
            "Cache fills not stored because a change of the same entry raced with the database read",
            dropped_fills.clone(),
        );
        let open_streams = Gauge::default();
        roster.register(
            "watch_streams_open",
            "WatchEvents streams open on this replica",
            open_streams.clone(),
        );
        let pool = Family::<PoolLabels, Gauge>::default();
        roster.register(
            "db_pool_connections",
            "Database pool connections by state (in_use, idle)",
            pool.clone(),
        );
        let pool_max = Gauge::default();
        roster.register(
            "db_pool_max_connections",
            "Database pool size limit",
            pool_max.clone(),
        );
        let pool_waiting = Gauge::default();
        roster.register(
            "db_pool_waiting",
            "Write transactions waiting for a pooled database connection now",
            pool_waiting.clone(),
        );
        let waits = store.pool_waits();
        roster.register(
            "db_transaction_begin_seconds",
            "Time to begin a write transaction: waiting for a pooled connection plus BEGIN",
            waits.begin_seconds.clone(),
        );
        roster.register(
            "db_pool_acquire_timeouts",
            "Write transactions refused because no pooled connection came free in time",
            waits.acquire_timeouts.clone(),
        );
        let scim_requests = Family::<ScimLabels, Counter>::default();
        roster.register(
            "scim_requests",
            "SCIM requests handled, by HTTP method, resource (User, Group, \
             ServiceProviderConfig, ResourceType, Schema, search, unknown) and HTTP status",
            scim_requests.clone(),
        );
        let scim_seconds = Family::<ScimLabels, Histogram>::new_with_constructor(|| {
            // 100 µs … ~3.3 s.
            Histogram::new(exponential_buckets(0.000_1, 2.0, 16))
        });
        roster.register(
            "scim_request_duration_seconds",
            "Latency of SCIM requests (seconds), by HTTP method, resource and HTTP status",
            scim_seconds.clone(),
        );
        Metrics {
            registry,
            methods,
            by_index,
            access_log,
            caches_enabled,
            feed_lag,
            undecodable,
            dropped_fills,
            open_streams,
            pool,
            pool_max,
            pool_waiting,
            scim_requests,
            scim_seconds,
            caches,
            feed,
            store,
        }
    }

    /// Counts and times one SCIM request (`method`, `resource` from the
    /// fixed lists of `scim::observe`).
    pub fn scim_request(
        &self,
        method: &'static str,
        resource: &'static str,
        status: u16,
        elapsed: std::time::Duration,
    ) {
        let labels = ScimLabels {
            method,
            resource,
            status,
        };
        self.scim_requests.get_or_create(&labels).inc();
        self.scim_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a call to `path` as started; returns its method's index.
    fn started(&self, path: &str) -> usize {
        let i = self
            .methods
            .get(path)
            .copied()
            .unwrap_or(self.by_index.len() - 1);
        self.by_index[i].started.inc();
        i
    }

    fn record(&self, method: usize, code: i32, started: Instant) -> &MethodMetrics {
        let m = &self.by_index[method];
        m.handling.observe(started.elapsed().as_secs_f64());
        let code_index = usize::try_from(code).ok().filter(|c| *c < 17).unwrap_or(2);
        m.handled[code_index].inc();
        m
    }

    /// The OpenMetrics text exposition; the log head is read now, so a
    /// scrape costs one small query.
    pub async fn render(&self) -> String {
        self.caches_enabled.set(i64::from(self.caches.is_enabled()));
        self.open_streams.set(self.feed.open_streams());
        let skipped = self.feed.undecodable();
        if let Some(new) = skipped.checked_sub(self.undecodable.get()) {
            self.undecodable.inc_by(new);
        }
        let dropped = self.caches.dropped_fills();
        if let Some(new) = dropped.checked_sub(self.dropped_fills.get()) {
            self.dropped_fills.inc_by(new);
        }
        match self.store.event_bounds().await {
            Ok((_, head)) => {
                self.feed_lag.set((head - self.feed.head()).max(0));
            }
            Err(e) => tracing::warn!(error = %e, "reading the log head for metrics failed"),
        }
        let (size, idle, max) = pool_state(&self.store);
        self.pool
            .get_or_create(&PoolLabels { state: "in_use" })
            .set(i64::from(size).saturating_sub(idle as i64));
        self.pool
            .get_or_create(&PoolLabels { state: "idle" })
            .set(idle as i64);
        self.pool_max.set(i64::from(max));
        self.pool_waiting
            .set(self.store.pool_waits().waiting.load(Ordering::Relaxed));
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// `sqlite` or `postgres`.
pub fn backend_name(store: &Store) -> &'static str {
    match store.backend() {
        sea_orm::DbBackend::Postgres => "postgres",
        sea_orm::DbBackend::Sqlite => "sqlite",
        _ => "other",
    }
}

/// (open connections, idle connections, limit) of the database pool.
fn pool_state(store: &Store) -> (u32, usize, u32) {
    let db = store.db();
    match store.backend() {
        sea_orm::DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle(), p.options().get_max_connections())
        }
        sea_orm::DbBackend::Sqlite => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle(), p.options().get_max_connections())
        }
        _ => (0, 0, 0),
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    metrics: Arc<Metrics>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.render().await,
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Tower layer that records every gRPC call in [`Metrics`], sets the
/// status code on the call's trace span and writes its access log line.
#[derive(Clone, Debug)]
pub struct MetricsLayer(pub Arc<Metrics>);

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            metrics: self.0.clone(),
        }
    }
}

/// See [`MetricsLayer`].
#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

/// What kind of caller sent `headers` (never the token itself).
fn caller_kind(headers: &http::HeaderMap) -> &'static str {
    let Some(value) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return "anonymous";
    };
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .unwrap_or("");
    if token.starts_with(crate::domain::secrets::SERVICE_KEY_PREFIX) {
        "service"
    } else if token.starts_with(crate::domain::secrets::SESSION_TOKEN_PREFIX) {
        "session"
    } else {
        "unrecognized"
    }
}

impl<S, B, R> tower::Service<http::Request<B>> for MetricsService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let metrics = self.metrics.clone();
        let method = metrics.started(request.uri().path());
        // The per-RPC span (entered by the trace layer around us); a
        // disabled span when nothing records spans.
        let span = tracing::Span::current();
        let access = (metrics.access_log
            && tracing::enabled!(target: "roster::access", tracing::Level::INFO))
        .then(|| caller_kind(request.headers()));
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            // An error is in the headers when the call ends without a body
            // (every refusal of a unary call); otherwise the call went on
            // to send its answer and the code is in the trailers (OK).
            let code = match &response {
                Ok(r) => r
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .unwrap_or(0),
                Err(_) => 13,
            };
            let m = metrics.record(method, code, started);
            if !span.is_disabled() {
                crate::telemetry::record_status(&span, code);
            }
            if let Some(caller) = access {
                tracing::info!(
                    target: "roster::access",
                    method = m.path.as_str(),
                    code = canonical_code_name(code),
                    latency_ms = started.elapsed().as_micros() as f64 / 1000.0,
                    caller,
                    "call"
                );
            }
            response
        })
    }
}
