//! O3: Prometheus metrics, served as plain HTTP `GET /metrics` on their own
//! listener (`ROSTER_METRICS_LISTEN`), apart from the gRPC port.
//!
//! Every gRPC call is counted by method and status code and timed by
//! method; the state of the cross-replica event feed is a gauge. Methods
//! the server does not know are counted under `unknown`, so a caller
//! cannot grow the label set.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
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

/// Labels of a finished call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    /// `/package.Service/Method`, or `unknown`.
    method: String,
    /// gRPC status code name, e.g. `OK`, `INVALID_ARGUMENT`.
    code: &'static str,
}

/// Labels of a call's duration.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: String,
}

/// The metrics of one server.
pub struct Metrics {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    durations: Family<MethodLabels, Histogram>,
    caches_enabled: Gauge,
    caches: Arc<Caches>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The canonical name of a gRPC status code (as in `grpc-status`).
fn code_name(code: i32) -> &'static str {
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

impl Metrics {
    /// Registers every metric; `caches` reports whether the feed can hear
    /// other replicas (caches are on only then).
    pub fn new(caches: Arc<Caches>) -> Self {
        let mut registry = Registry::with_prefix("roster");
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "grpc_calls",
            "gRPC calls finished, by method and status code (streams count when they start)",
            calls.clone(),
        );
        let durations = Family::<MethodLabels, Histogram>::new_with_constructor(|| {
            // 50 µs … ~1.6 s.
            Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
        });
        registry.register(
            "grpc_call_duration_seconds",
            "Time from request to response headers, by method",
            durations.clone(),
        );
        let caches_enabled = Gauge::default();
        registry.register(
            "caches_enabled",
            "1 while hot-path caches are in use (the event feed hears every replica), else 0",
            caches_enabled.clone(),
        );
        Metrics {
            registry,
            calls,
            durations,
            caches_enabled,
            caches,
        }
    }

    fn record(&self, method: String, code: i32, started: Instant) {
        let method = if code == 12 {
            "unknown".to_owned()
        } else {
            method
        };
        let elapsed = started.elapsed().as_secs_f64();
        let labels = MethodLabels { method };
        self.durations.get_or_create(&labels).observe(elapsed);
        self.calls
            .get_or_create(&CallLabels {
                method: labels.method,
                code: code_name(code),
            })
            .inc();
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        self.caches_enabled.set(i64::from(self.caches.is_enabled()));
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "encoding metrics failed");
        }
        out
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
                    metrics.render(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Tower layer that records every gRPC call in [`Metrics`].
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
        let method = request.uri().path().to_owned();
        let metrics = self.metrics.clone();
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
            metrics.record(method, code, started);
            response
        })
    }
}
