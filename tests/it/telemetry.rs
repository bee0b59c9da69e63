//! O2 with a real OpenTelemetry Collector: a `roster serve` process
//! exports spans over OTLP to a collector built by
//! `scripts/otel-collector.sh` (OTLP receiver, file exporter), and the
//! test reads what the collector wrote. Skipped when `ROSTER_OTELCOL_BIN`
//! is unset (`scripts/test.sh` sets it).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use roster::pb;
use serde_json::Value;
use tonic::transport::Channel;

use crate::harness::{Backend, SERVICE_KEY};

/// OTLP `SPAN_KIND_SERVER` and `SPAN_KIND_CLIENT`.
const KIND_SERVER: i64 = 2;
const KIND_CLIENT: i64 = 3;
/// OTLP `STATUS_CODE_ERROR`.
const STATUS_ERROR: i64 = 2;

fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// One exported span, as the file exporter writes it (OTLP JSON).
#[derive(Debug, Clone)]
struct Span {
    service: String,
    trace_id: String,
    span_id: String,
    parent: String,
    name: String,
    kind: i64,
    status: i64,
    attributes: Vec<(String, Value)>,
}

impl Span {
    fn int(&self, key: &str) -> Option<i64> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| {
                v.get("intValue").and_then(|i| {
                    i.as_i64()
                        .or_else(|| i.as_str().and_then(|s| s.parse().ok()))
                })
            })
    }
}

fn int_field(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// Every span in the collector's output file (complete lines only).
fn read_spans(path: &Path) -> Vec<Span> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        let Ok(doc) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        for rs in doc["resourceSpans"].as_array().into_iter().flatten() {
            let service = rs["resource"]["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["key"] == "service.name")
                .and_then(|a| a["value"]["stringValue"].as_str())
                .unwrap_or("")
                .to_owned();
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    out.push(Span {
                        service: service.clone(),
                        trace_id: s["traceId"].as_str().unwrap_or("").to_owned(),
                        span_id: s["spanId"].as_str().unwrap_or("").to_owned(),
                        parent: s["parentSpanId"].as_str().unwrap_or("").to_owned(),
                        name: s["name"].as_str().unwrap_or("").to_owned(),
                        kind: int_field(&s["kind"]),
                        status: int_field(&s["status"]["code"]),
                        attributes: s["attributes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|a| {
                                (
                                    a["key"].as_str().unwrap_or("").to_owned(),
                                    a["value"].clone(),
                                )
                            })
                            .collect(),
                    });
                }
            }
        }
    }
    out
}

/// A collector and a `roster serve` process exporting to it.
struct Traced {
    dir: tempfile::TempDir,
    _collector: tokio::process::Child,
    _server: tokio::process::Child,
    channel: Channel,
}

impl Traced {
    fn spans(&self) -> Vec<Span> {
        read_spans(&self.dir.path().join("spans.json"))
    }

    /// Waits until `pred` holds for the exported spans (the exporter
    /// batches for 100 ms, the collector flushes its file every 100 ms).
    async fn wait_for(&self, what: &str, pred: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        for _ in 0..150 {
            let spans = self.spans();
            if pred(&spans) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {what}; spans: {:#?}", self.spans());
    }
}

/// Writes a CA and a server certificate for 127.0.0.1 signed by it into
/// `dir` (with the `openssl` command line tool); returns the CA's path.
fn make_certificates(dir: &Path) -> PathBuf {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=roster test CA",
            "-days",
            "1",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write extensions");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "server.ext",
    ]);
    dir.join("ca.pem")
}

async fn start(b: Backend, protocol: &str, service_name: &str) -> Option<Traced> {
    start_with(b, protocol, service_name, false).await
}

async fn start_with(b: Backend, protocol: &str, service_name: &str, tls: bool) -> Option<Traced> {
    let Ok(collector_bin) = std::env::var("ROSTER_OTELCOL_BIN") else {
        eprintln!("ROSTER_OTELCOL_BIN is not set (scripts/otel-collector.sh builds it); skipped");
        return None;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (grpc, http) = (free_addr(), free_addr());
    let ca = tls.then(|| make_certificates(dir.path()));
    let grpc_tls = match &ca {
        Some(_) => format!(
            "\n        tls:\n          cert_file: {}\n          key_file: {}",
            dir.path().join("server.pem").display(),
            dir.path().join("server.key").display()
        ),
        None => String::new(),
    };
    let config = dir.path().join("collector.yaml");
    std::fs::write(
        &config,
        format!(
            "receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: {grpc}{grpc_tls}\n      \
             http:\n        endpoint: {http}\n\
             exporters:\n  file:\n    path: {}\n    flush_interval: 100ms\n\
             service:\n  telemetry:\n    metrics:\n      level: none\n    logs:\n      level: warn\n  \
             pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [file]\n",
            dir.path().join("spans.json").display()
        ),
    )
    .expect("write collector config");
    let collector = tokio::process::Command::new(PathBuf::from(collector_bin))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the collector");
    let receiver = if protocol == "grpc" { grpc } else { http };
    let mut up = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(receiver).await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the collector did not open {receiver}");

    let url = match b {
        Backend::Sqlite => format!("sqlite://{}/roster.db?mode=rwc", dir.path().display()),
        Backend::Postgres => crate::harness::fresh_postgres_database().await,
    };
    let addr = free_addr();
    let scheme = if tls { "https" } else { "http" };
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    if let Some(ca) = &ca {
        server.env("OTEL_EXPORTER_OTLP_CERTIFICATE", ca);
    }
    let server = server
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("ROSTER_LISTEN", addr.to_string())
        .env("ROSTER_SERVICE_KEYS", format!("test={SERVICE_KEY}"))
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{scheme}://{receiver}"),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_SERVICE_NAME", service_name)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .env_remove("OTEL_TRACES_SAMPLER")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start roster serve");
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let mut ready = false;
    for _ in 0..400 {
        let req = tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        };
        if health.check(req).await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "roster serve did not become ready");
    Some(Traced {
        dir,
        _collector: collector,
        _server: server,
        channel,
    })
}

/// A request carrying `authorization` and a `traceparent` from the caller.
fn traced<T>(message: T, trace_id: &str, parent: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    let md = req.metadata_mut();
    md.insert(
        "authorization",
        format!("Bearer {SERVICE_KEY}").parse().expect("ascii"),
    );
    md.insert(
        "traceparent",
        format!("00-{trace_id}-{parent}-01").parse().expect("ascii"),
    );
    req
}

/// O2: one SERVER span per call with its database child spans, the
/// caller's trace continued, the status code on every span and status
/// Error for a server fault, the configured service name, and an idle
/// server exporting nothing for 5 s (no roots from background work).
async fn o2_a_real_collector_receives_one_server_span_per_call(b: Backend) {
    let Some(t) = start(b, "grpc", "roster-ci").await else {
        return;
    };
    // The readiness probe's health checks are calls too; wait until
    // they are exported, then leave the server idle.
    let before = t
        .wait_for("the readiness probe's span", |s| {
            s.iter().any(|s| s.name == "grpc.health.v1.Health/Check")
        })
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Anything the idle seconds produced has been flushed by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = t.spans();
    assert_eq!(
        idle.len(),
        before.len(),
        "an idle server exported spans: {:#?}",
        &idle[before.len()..]
    );
    // Nothing but calls started a trace, start-up included.
    for s in &idle {
        assert!(
            s.kind == KIND_SERVER || !s.parent.is_empty(),
            "root span from background work: {s:?}"
        );
    }

    let calls = [
        ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"),
        ("1bf7651916cd43dd8448eb211c80319d", "c7ad6b7169203332"),
        ("2cf7651916cd43dd8448eb211c80319e", "d7ad6b7169203333"),
    ];
    let mut identity = pb::identity_service_client::IdentityServiceClient::new(t.channel.clone());
    let created = identity
        .create_identity(traced(
            pb::CreateIdentityRequest {
                request_id: String::new(),
                identity: Some(pb::Identity {
                    display_name: "Traced".into(),
                    ..Default::default()
                }),
            },
            calls[0].0,
            calls[0].1,
        ))
        .await;
    assert!(created.is_ok(), "{created:?}");
    let refused = identity
        .create_identity(traced(
            pb::CreateIdentityRequest::default(),
            calls[1].0,
            calls[1].1,
        ))
        .await;
    assert_eq!(
        refused.expect_err("refused").code(),
        tonic::Code::InvalidArgument
    );
    // A method the server does not have: UNIMPLEMENTED, a server fault
    // in the OpenTelemetry RPC conventions.
    let mut raw = tonic::client::Grpc::new(t.channel.clone());
    raw.ready().await.expect("ready");
    let unknown = raw
        .unary(
            traced((), calls[2].0, calls[2].1),
            http::uri::PathAndQuery::from_static("/roster.v1.IdentityService/NoSuchMethod"),
            tonic_prost::ProstCodec::<(), ()>::default(),
        )
        .await;
    assert_eq!(
        unknown.expect_err("unimplemented").code(),
        tonic::Code::Unimplemented
    );

    let spans = t
        .wait_for("the three calls' server spans", |s| {
            calls.iter().all(|(trace, _)| {
                s.iter()
                    .any(|s| &s.trace_id == trace && s.kind == KIND_SERVER)
            })
        })
        .await;
    for s in &spans {
        assert_eq!(s.service, "roster-ci", "service name of {s:?}");
    }
    let expected = [
        ("roster.v1.IdentityService/CreateIdentity", 0, 0),
        ("roster.v1.IdentityService/CreateIdentity", 3, 0),
        ("roster.v1.IdentityService/NoSuchMethod", 12, STATUS_ERROR),
    ];
    for ((trace, parent), (name, code, status)) in calls.iter().zip(expected) {
        let servers: Vec<&Span> = spans
            .iter()
            .filter(|s| &s.trace_id == trace && s.kind == KIND_SERVER)
            .collect();
        assert_eq!(servers.len(), 1, "one SERVER span per call: {servers:#?}");
        let server = servers[0];
        assert_eq!(server.name, name);
        assert_eq!(&server.parent, parent, "continues the caller's span");
        assert_eq!(server.int("rpc.grpc.status_code"), Some(code), "{server:?}");
        assert_eq!(server.status, status, "span status of {server:?}");
    }
    // The successful call's database statements are its children.
    let created_span = spans
        .iter()
        .find(|s| s.trace_id == calls[0].0 && s.kind == KIND_SERVER)
        .expect("server span");
    let children: Vec<&Span> = spans
        .iter()
        .filter(|s| s.parent == created_span.span_id)
        .collect();
    assert!(
        children.iter().any(|s| s.kind == KIND_CLIENT),
        "no database child spans under {created_span:?}: {children:#?}"
    );
    for c in &children {
        assert_eq!(c.trace_id, calls[0].0);
    }
}

/// O2: `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf` reaches the
/// collector's OTLP/HTTP receiver.
async fn o2_spans_also_travel_over_otlp_http(b: Backend) {
    let Some(t) = start(b, "http/protobuf", "roster-http").await else {
        return;
    };
    let spans = t
        .wait_for("the readiness probe's span over HTTP", |s| {
            s.iter().any(|s| s.name == "grpc.health.v1.Health/Check")
        })
        .await;
    assert!(
        spans.iter().all(|s| s.service == "roster-http"),
        "{spans:#?}"
    );
}

/// O2: an `https://` endpoint is reached over TLS, trusting the CA named
/// by `OTEL_EXPORTER_OTLP_CERTIFICATE`.
async fn o2_spans_travel_over_tls_to_an_https_endpoint(b: Backend) {
    let Some(t) = start_with(b, "grpc", "roster-tls", true).await else {
        return;
    };
    let spans = t
        .wait_for("the readiness probe's span over TLS", |s| {
            s.iter().any(|s| s.name == "grpc.health.v1.Health/Check")
        })
        .await;
    assert!(
        spans.iter().all(|s| s.service == "roster-tls"),
        "{spans:#?}"
    );
}

crate::db_tests!(
    o2_a_real_collector_receives_one_server_span_per_call,
    o2_spans_also_travel_over_otlp_http,
    o2_spans_travel_over_tls_to_an_https_endpoint,
);
