//! Logging and tracing: a `tracing` subscriber writing to stderr (filter
//! with `RUST_LOG`, `--log-format text|json`, colour only on a terminal),
//! plus OTLP span export when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. The standard `OTEL_*`
//! variables are honoured: service name and resource attributes, sampler,
//! headers, timeout, protocol (`grpc`, the default here, or
//! `http/protobuf`) and TLS for `https://` endpoints (web PKI roots, plus
//! `OTEL_EXPORTER_OTLP_CERTIFICATE` for a private CA with gRPC).
//!
//! Incoming W3C `traceparent` headers are continued by the per-RPC span
//! built in [`grpc_span`]; its status code and error status are recorded
//! by the metrics layer when the call ends. Spans of libraries (database
//! statements) are exported only inside another span, so background work
//! (feed polls, checkpoints) starts no traces of its own.

use std::io::IsTerminal;

use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{DynFilterFn, FilterExt};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The log filter when `RUST_LOG` is unset.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,sea_orm=warn,h2=warn,tower=warn";

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal only).
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Flushes and stops the OTLP exporter when dropped.
pub struct TelemetryGuard(Option<SdkTracerProvider>);

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("OTLP exporter shutdown failed: {e}");
        }
    }
}

type BoxedLayer = Box<dyn Layer<tracing_subscriber::Registry> + Send + Sync>;

/// The stderr layer in `format`, filtered by `RUST_LOG`.
fn log_layer(format: LogFormat) -> BoxedLayer {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    // ROSTER_LOG_SPAN_TIMES=1 logs every closing span with its duration
    // (per RPC and, with RUST_LOG=sea_orm=info, per database statement).
    let span_events = if std::env::var_os("ROSTER_LOG_SPAN_TIMES").is_some() {
        tracing_subscriber::fmt::format::FmtSpan::CLOSE
    } else {
        tracing_subscriber::fmt::format::FmtSpan::NONE
    };
    match format {
        LogFormat::Text => {
            let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(ansi)
                .with_span_events(span_events)
                .with_filter(filter)
                .boxed()
        }
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .with_span_events(span_events)
            .with_filter(filter)
            .boxed(),
    }
}

/// The value of the first of `names` that is set and not empty.
fn env_first(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
}

/// The OTLP span exporter `OTEL_EXPORTER_OTLP_*` asks for.
fn span_exporter() -> anyhow::Result<opentelemetry_otlp::SpanExporter> {
    let protocol = env_first(&[
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ])
    .unwrap_or_else(|| "grpc".to_owned());
    let endpoint = env_first(&[
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ])
    .unwrap_or_default();
    // Endpoint, headers and timeout are read from the environment by the
    // exporter itself; https:// endpoints need TLS set up here.
    match protocol.trim() {
        "grpc" => {
            let mut builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
            if endpoint.trim_start().starts_with("https://") {
                let mut tls = tonic::transport::ClientTlsConfig::new().with_webpki_roots();
                if let Some(ca) = env_first(&[
                    "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
                    "OTEL_EXPORTER_OTLP_CERTIFICATE",
                ]) {
                    let pem = std::fs::read(&ca).map_err(|e| {
                        anyhow::anyhow!("reading the OTLP CA certificate {ca}: {e}")
                    })?;
                    tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
                }
                builder = builder.with_tls_config(tls);
            }
            Ok(builder.build()?)
        }
        "http/protobuf" => Ok(opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .build()?),
        other => anyhow::bail!(
            "OTEL_EXPORTER_OTLP_PROTOCOL={other} is not supported (grpc or http/protobuf)"
        ),
    }
}

/// The resource: `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` as
/// given, with the service name `roster` when neither names one.
fn resource() -> opentelemetry_sdk::Resource {
    let named = env_first(&["OTEL_SERVICE_NAME"]).is_some()
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| {
            v.split(',')
                .any(|kv| kv.trim().starts_with("service.name="))
        });
    let builder = opentelemetry_sdk::Resource::builder();
    if named {
        builder.build()
    } else {
        builder.with_service_name("roster").build()
    }
}

/// Installs the global subscriber (once per process).
pub fn init(format: LogFormat) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let log = log_layer(format);

    let endpoint_set = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || std::env::var_os("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some();
    if !endpoint_set {
        tracing_subscriber::registry().with(log).try_init()?;
        return Ok(TelemetryGuard(None));
    }

    // The sampler comes from OTEL_TRACES_SAMPLER(_ARG) (the SDK's default
    // configuration reads them).
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(span_exporter()?)
        .with_resource(resource())
        .build();
    let tracer = provider.tracer("roster");
    opentelemetry::global::set_tracer_provider(provider.clone());
    // Database spans are `info` in sea-orm; export them, keep stderr quiet.
    let otel_filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,h2=warn,tower=warn,sqlx=warn"));
    tracing_subscriber::registry()
        .with(log)
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(otel_filter.and(roots_are_roster_spans())),
        )
        .try_init()?;
    Ok(TelemetryGuard(Some(provider)))
}

/// Only Roster's own spans (one per RPC, a sweep that changed something)
/// may start a trace; a library's span (a database statement) is exported
/// only inside one of them. An idle feed poll or a checkpoint is then no
/// trace at all.
fn roots_are_roster_spans<S>() -> DynFilterFn<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    DynFilterFn::new(|meta, cx| {
        !meta.is_span() || meta.target().starts_with("roster") || cx.lookup_current().is_some()
    })
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The span of one RPC: named after the gRPC method, child of the caller's
/// `traceparent` when one is sent.
pub fn grpc_span<B>(request: &http::Request<B>) -> tracing::Span {
    let path = request.uri().path();
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or(("", path));
    let span = tracing::info_span!(
        "grpc",
        otel.name = %path.trim_start_matches('/'),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = %service,
        rpc.method = %method,
        rpc.grpc.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    // Only worth the propagator's work when there is a parent to continue
    // and the span is recorded at all (the hot paths run with spans off).
    if !span.is_disabled() && request.headers().contains_key("traceparent") {
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&HeaderExtractor(request.headers()))
        });
        let _ = span.set_parent(parent);
    }
    span
}

/// Whether `code` is a server fault, which the OpenTelemetry RPC
/// conventions mark as span status Error on the server: UNKNOWN,
/// DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS.
/// Refusals (INVALID_ARGUMENT, NOT_FOUND, …) leave the status unset.
pub fn is_server_fault(code: i32) -> bool {
    matches!(code, 2 | 4 | 12 | 13 | 14 | 15)
}

/// Records the gRPC status `code` of a finished call on its span.
pub fn record_status(span: &tracing::Span, code: i32) {
    span.record("rpc.grpc.status_code", code);
    if is_server_fault(code) {
        span.record("otel.status_code", "ERROR");
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanId, TraceId};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn o2_the_callers_traceparent_is_continued() {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "test");
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        let request = http::Request::builder()
            .uri("/roster.v1.IdentityService/GetIdentity")
            .header(
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            )
            .body(())
            .unwrap();
        tracing::subscriber::with_default(subscriber, || {
            drop(super::grpc_span(&request));
        });
        provider.force_flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        assert_eq!(spans.len(), 1);
        let span = &spans[0];
        assert_eq!(span.name, "roster.v1.IdentityService/GetIdentity");
        assert_eq!(
            span.span_context.trace_id(),
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap()
        );
        assert_eq!(
            span.parent_span_id,
            SpanId::from_hex("b7ad6b7169203331").unwrap()
        );
    }

    #[test]
    fn o2_the_status_code_is_recorded_and_server_faults_are_errors() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "test");
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer));
        let request = http::Request::builder()
            .uri("/roster.v1.IdentityService/GetIdentity")
            .body(())
            .unwrap();
        tracing::subscriber::with_default(subscriber, || {
            for code in [0, 5, 14] {
                let span = super::grpc_span(&request);
                super::record_status(&span, code);
            }
        });
        provider.force_flush().unwrap();
        let spans = exporter.get_finished_spans().unwrap();
        let seen: Vec<(i64, opentelemetry::trace::Status)> = spans
            .iter()
            .map(|s| {
                let code = s
                    .attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == "rpc.grpc.status_code")
                    .and_then(|kv| match kv.value {
                        opentelemetry::Value::I64(c) => Some(c),
                        _ => None,
                    })
                    .expect("status code attribute");
                (code, s.status.clone())
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (0, opentelemetry::trace::Status::Unset),
                (5, opentelemetry::trace::Status::Unset),
                (14, opentelemetry::trace::Status::error("")),
            ]
        );
    }
}
