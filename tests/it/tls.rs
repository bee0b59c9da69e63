//! Transport security (O6): TLS, mutual TLS, and certificates re-read when
//! their files change without dropping open connections. Every CA and key
//! is generated here; nothing private is committed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use roster::config::Config;
use roster::pb;
use tokio::sync::oneshot;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::{Backend, SERVICE_KEY};

/// A test certificate authority.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        Ca {
            issuer: CertifiedIssuer::self_signed(p, key).expect("CA certificate"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf for `localhost` and 127.0.0.1: (certificate PEM, key PEM).
    fn leaf(&self, name: &str, usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let mut p = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("params");
        p.distinguished_name.push(DnType::CommonName, name);
        p.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("leaf key");
        let cert = p.signed_by(&key, &self.issuer).expect("leaf certificate");
        (cert.pem(), key.serialize_pem())
    }

    pub fn server(&self) -> (String, String) {
        self.leaf("roster", ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn client(&self, name: &str) -> Identity {
        let (cert, key) = self.leaf(name, ExtendedKeyUsagePurpose::ClientAuth);
        Identity::from_pem(cert, key)
    }
}

/// Replaces `path` the way a Secret volume does: write aside, rename.
fn replace(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

/// A TLS server on `127.0.0.1:0` reading its files from `dir`.
struct TlsServer {
    addr: SocketAddr,
    /// SCIM over HTTPS with the same files.
    scim_addr: SocketAddr,
    dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TlsServer {
    fn cert(&self) -> PathBuf {
        self.dir.path().join("tls.crt")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("tls.key")
    }

    /// Starts with `server` (certificate, key) and, when given, requires
    /// client certificates from `client_ca`.
    async fn start(b: Backend, server: &(String, String), client_ca: Option<&Ca>) -> TlsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match b {
            Backend::Sqlite => format!("sqlite://{}/roster.db?mode=rwc", dir.path().display()),
            Backend::Postgres => crate::harness::fresh_postgres_database().await,
        };
        std::fs::write(dir.path().join("tls.crt"), &server.0).expect("write cert");
        std::fs::write(dir.path().join("tls.key"), &server.1).expect("write key");
        let client_ca = client_ca.map(|ca| {
            let path = dir.path().join("client-ca.crt");
            std::fs::write(&path, ca.pem()).expect("write client CA");
            path
        });
        let mut config = Config::with_database(url);
        config.db_max_connections = 5;
        config.service_keys =
            roster::config::parse_service_keys(&format!("test={SERVICE_KEY}")).expect("key");
        config.sweep_interval = Duration::ZERO;
        config.tls = Some(roster::tls::TlsFiles {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
            client_ca,
        });
        config.tls_reload_interval = Duration::from_millis(100);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let scim = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SCIM");
        let scim_addr = scim.local_addr().expect("SCIM addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(roster::run(
            config,
            listener,
            None,
            Some(scim),
            std::sync::Arc::new(roster::store::ManualClock::default()),
            async {
                let _ = rx.await;
            },
        ));
        TlsServer {
            addr,
            scim_addr,
            dir,
            shutdown: Some(tx),
            task,
        }
    }

    /// Connects over TLS trusting `ca`, presenting `identity` if given.
    async fn connect(&self, ca: &Ca, identity: Option<Identity>) -> Result<Channel, String> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(ca.pem()))
            .domain_name("localhost");
        if let Some(id) = identity {
            tls = tls.identity(id);
        }
        Channel::from_shared(format!("https://{}", self.addr))
            .map_err(|e| e.to_string())?
            .tls_config(tls)
            .map_err(|e| e.to_string())?
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| format!("{e:?}"))
    }

    /// Waits until a TLS connection answers health SERVING.
    async fn ready(&self, ca: &Ca, identity: Option<Identity>) -> Channel {
        for _ in 0..400 {
            if let Ok(ch) = self.connect(ca, identity.clone()).await
                && serving(&ch).await.is_ok()
            {
                return ch;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("TLS server did not become ready");
    }

    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task
            .await
            .expect("server task")
            .expect("server result");
    }
}

async fn serving(ch: &Channel) -> Result<(), tonic::Status> {
    let status = HealthClient::new(ch.clone())
        .check(HealthCheckRequest::default())
        .await?
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::Serving as i32);
    Ok(())
}

/// A real authenticated call over `ch`.
async fn create_identity(ch: &Channel) -> Result<String, tonic::Status> {
    let mut req = tonic::Request::new(pb::CreateIdentityRequest {
        request_id: String::new(),
        identity: Some(pb::Identity {
            display_name: "Over TLS".to_owned(),
            ..Default::default()
        }),
    });
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {SERVICE_KEY}").parse().expect("ascii"),
    );
    pb::identity_service_client::IdentityServiceClient::new(ch.clone())
        .create_identity(req)
        .await
        .map(|r| r.into_inner().identity_id)
}

async fn o6_tls_serves_grpc_and_refuses_plaintext(b: Backend) {
    let ca = Ca::new("Test CA");
    let s = TlsServer::start(b, &ca.server(), None).await;
    let ch = s.ready(&ca, None).await;
    let id = create_identity(&ch).await.expect("call over TLS");
    assert!(!id.is_empty());

    // A plaintext HTTP/2 client gets no gRPC answer.
    let plain = Channel::from_shared(format!("http://{}", s.addr))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect_lazy();
    for _ in 0..3 {
        assert!(serving(&plain).await.is_err(), "plaintext call succeeded");
    }
    // A client that does not trust the server's CA refuses the handshake.
    let other = Ca::new("Other CA");
    assert!(s.connect(&other, None).await.is_err());
    s.stop().await;
}

async fn o6_mtls_requires_a_client_certificate_from_the_client_ca(b: Backend) {
    let server_ca = Ca::new("Server CA");
    let client_ca = Ca::new("Client CA");
    let stranger_ca = Ca::new("Stranger CA");
    let s = TlsServer::start(b, &server_ca.server(), Some(&client_ca)).await;
    let trials = 5;
    let mut with_cert = 0;
    for i in 0..trials {
        let ch = s
            .ready(&server_ca, Some(client_ca.client(&format!("app-{i}"))))
            .await;
        create_identity(&ch)
            .await
            .expect("call with a client certificate");
        with_cert += 1;
    }
    assert_eq!(with_cert, trials);

    // Without a certificate, or with one from another CA: no call gets
    // through (the handshake or the first call fails).
    let mut refused = 0;
    for i in 0..trials {
        for identity in [None, Some(stranger_ca.client(&format!("intruder-{i}")))] {
            let outcome = match s.connect(&server_ca, identity).await {
                Err(_) => Err(()),
                Ok(ch) => create_identity(&ch).await.map(|_| ()).map_err(|_| ()),
            };
            if outcome.is_err() {
                refused += 1;
            }
        }
    }
    assert_eq!(
        refused,
        2 * trials,
        "a client without a valid certificate got through"
    );
    s.stop().await;
}

async fn o6_certificate_reload_keeps_open_connections(b: Backend) {
    let old_ca = Ca::new("Old CA");
    let new_ca = Ca::new("New CA");
    let s = TlsServer::start(b, &old_ca.server(), None).await;
    let open = s.ready(&old_ca, None).await;
    create_identity(&open).await.expect("call before rotation");

    // A half-written rotation (a key that does not fit the certificate) is
    // ignored: the old certificate keeps serving new connections.
    let (_, wrong_key) = new_ca.server();
    replace(&s.key(), &wrong_key);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ch = s
        .connect(&old_ca, None)
        .await
        .expect("old certificate still served");
    create_identity(&ch)
        .await
        .expect("call after a bad rotation");

    // The real rotation: new connections get the new certificate.
    let (cert, key) = new_ca.server();
    replace(&s.key(), &key);
    replace(&s.cert(), &cert);
    let mut rotated = false;
    for _ in 0..200 {
        if let Ok(ch) = s.connect(&new_ca, None).await
            && create_identity(&ch).await.is_ok()
        {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(rotated, "the new certificate was not picked up");
    assert!(
        s.connect(&old_ca, None).await.is_err(),
        "a new connection still got the old certificate"
    );

    // The connection opened before the rotation is still up: it trusts only
    // the old CA, so had it been dropped, reconnecting would fail.
    let trials = 20;
    let mut ok = 0;
    for _ in 0..trials {
        if create_identity(&open).await.is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, trials, "the open connection was dropped by the reload");
    s.stop().await;
}

/// SCIM is served over HTTPS with the gRPC certificate; plain HTTP gets
/// no SCIM answer.
async fn scim_listener_uses_the_grpc_tls_files(b: Backend) {
    let ca = Ca::new("Test CA");
    let s = TlsServer::start(b, &ca.server(), None).await;
    s.ready(&ca, None).await;
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA"))
        .build()
        .expect("client");
    let url = format!(
        "https://localhost:{}/scim/v2/ServiceProviderConfig",
        s.scim_addr.port()
    );
    let resp = client.get(&url).send().await.expect("HTTPS request");
    // No token: a SCIM 401, over TLS.
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/scim+json")
    );
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let answer = plain
        .get(format!(
            "http://127.0.0.1:{}/scim/v2/ServiceProviderConfig",
            s.scim_addr.port()
        ))
        .send()
        .await;
    assert!(answer.is_err(), "plain HTTP got an answer: {answer:?}");
    s.stop().await;
}

crate::db_tests!(
    scim_listener_uses_the_grpc_tls_files,
    o6_tls_serves_grpc_and_refuses_plaintext,
    o6_mtls_requires_a_client_certificate_from_the_client_ca,
    o6_certificate_reload_keeps_open_connections,
);
