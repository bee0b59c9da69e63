//! TLS and mutual TLS for the listeners (SPEC O6), with certificates
//! re-read when their files change.
//!
//! tonic's own `ServerTlsConfig` takes the certificate once, at build time,
//! and has no way to swap it. So TLS is terminated here, in front of tonic:
//! an accept loop hands each TCP connection to a `tokio-rustls` acceptor
//! built from the *current* [`ServerConfig`], and tonic serves the finished
//! TLS streams. A reload swaps that config; new handshakes use the new
//! certificate, connections already open keep theirs and are never dropped.
//! Files are polled (by content, not mtime): cert-manager and Kubernetes
//! Secret volumes replace them through a symlink swap that file-event
//! watchers often miss.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::StreamExt as _;

/// A TLS handshake that takes longer than this is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the PEM files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key of the leaf (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// When set, clients must present a certificate signed by one of these
    /// CAs (mutual TLS).
    pub client_ca: Option<PathBuf>,
}

/// The raw contents of the files, to notice changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl TlsFiles {
    fn read(&self) -> anyhow::Result<Snapshot> {
        let read =
            |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        Ok(Snapshot {
            cert: read(&self.cert)?,
            key: read(&self.key)?,
            client_ca: self.client_ca.as_ref().map(read).transpose()?,
        })
    }

    fn build(&self, s: &Snapshot, alpn: &[&[u8]]) -> anyhow::Result<ServerConfig> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&s.cert)
            .collect::<Result<_, _>>()
            .with_context(|| format!("parsing the certificate {}", self.cert.display()))?;
        if chain.is_empty() {
            anyhow::bail!("{} holds no PEM certificate", self.cert.display());
        }
        let key = PrivateKeyDer::from_pem_slice(&s.key)
            .with_context(|| format!("parsing the private key {}", self.key.display()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = match (&self.client_ca, &s.client_ca) {
            (Some(path), Some(pem)) => {
                let mut roots = rustls::RootCertStore::empty();
                for ca in CertificateDer::pem_slice_iter(pem) {
                    let ca =
                        ca.with_context(|| format!("parsing the client CA {}", path.display()))?;
                    roots
                        .add(ca)
                        .with_context(|| format!("adding the client CA {}", path.display()))?;
                }
                if roots.is_empty() {
                    anyhow::bail!("{} holds no PEM certificate", path.display());
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .with_context(|| format!("client CA {}", path.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(chain, key).with_context(|| {
            format!(
                "the key {} does not fit the certificate {}",
                self.key.display(),
                self.cert.display()
            )
        })?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }
}

/// The current server configuration, swapped when the files change.
#[derive(Debug)]
pub struct Reloader {
    files: TlsFiles,
    alpn: Vec<&'static [u8]>,
    state: RwLock<(Snapshot, Arc<ServerConfig>)>,
}

impl Reloader {
    /// Loads the files once; fails when they are missing or invalid.
    /// `alpn` lists the protocols offered (`h2` for gRPC).
    pub fn load(files: TlsFiles, alpn: &[&'static [u8]]) -> anyhow::Result<Arc<Reloader>> {
        let snapshot = files.read()?;
        let config = files.build(&snapshot, alpn)?;
        Ok(Arc::new(Reloader {
            files,
            alpn: alpn.to_vec(),
            state: RwLock::new((snapshot, Arc::new(config))),
        }))
    }

    /// The configuration new handshakes use.
    pub fn current(&self) -> Arc<ServerConfig> {
        match self.state.read() {
            Ok(s) => s.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    /// Re-reads the files; when their contents changed and are valid,
    /// swaps the configuration and returns true. Invalid new files (say, a
    /// certificate written before its key) keep the old configuration and
    /// return the error; the next poll tries again.
    pub fn reload(&self) -> anyhow::Result<bool> {
        let snapshot = self.files.read()?;
        let unchanged = match self.state.read() {
            Ok(s) => s.0 == snapshot,
            Err(poisoned) => poisoned.into_inner().0 == snapshot,
        };
        if unchanged {
            return Ok(false);
        }
        let config = Arc::new(self.files.build(&snapshot, &self.alpn)?);
        let mut state = match self.state.write() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        *state = (snapshot, config);
        Ok(true)
    }

    /// Polls the files every `interval` until `stop` turns true.
    pub fn spawn_watch(
        self: &Arc<Self>,
        interval: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = stop.changed() => return,
                }
                let files = this.clone();
                match tokio::task::spawn_blocking(move || files.reload()).await {
                    Ok(Ok(true)) => {
                        failing = false;
                        tracing::info!(cert = %this.files.cert.display(), "TLS certificate reloaded");
                    }
                    Ok(Ok(false)) => failing = false,
                    Ok(Err(e)) => {
                        // Once per failure streak, not every poll.
                        if !failing {
                            tracing::warn!(
                                error = format!("{e:#}"),
                                "TLS files changed but cannot be loaded; keeping the previous certificate"
                            );
                        }
                        failing = true;
                    }
                    Err(e) => tracing::warn!(error = %e, "TLS reload task failed"),
                }
            }
        })
    }
}

/// Accepts TCP connections on `listener` and yields them once their TLS
/// handshake (with the reloader's current configuration) has finished.
/// Handshakes run concurrently, each bounded by a timeout, so a slow or
/// silent client holds up nobody. Ends when the stream is dropped.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<Reloader>,
) -> impl futures::Stream<Item = std::io::Result<TlsStream<TcpStream>>> + Send + 'static {
    let (tx, rx) = tokio::sync::mpsc::channel::<TlsStream<TcpStream>>(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = tx.closed() => return,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off a bit.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = TlsAcceptor::from(tls.current());
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(stream).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok)
}
