//! The processes under test: `roster serve` (and the echo server, see
//! `echo.rs`) started next to this binary, optionally pinned to CPUs;
//! gRPC channels and clients to them; their resident memory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use roster::pb;
use roster::pb::identity_service_client::IdentityServiceClient;
use roster::pb::license_service_client::LicenseServiceClient;
use roster::pb::membership_service_client::MembershipServiceClient;
use tokio::process::{Child, Command};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::{CONNECTIONS, SERVICE_KEY};

static SERVER_CPUS: OnceLock<String> = OnceLock::new();
/// How many cores the servers may use (for per-core figures).
static SERVER_CORES: OnceLock<usize> = OnceLock::new();

/// Records where servers run: `server_cpus` (a `taskset` list) or
/// anywhere on `all_cores`.
pub fn place_servers(server_cpus: Option<&str>, all_cores: usize) {
    let _ = SERVER_CORES.set(server_cpus.map_or(all_cores, count_cpus));
    if let Some(cpus) = server_cpus {
        let _ = SERVER_CPUS.set(cpus.to_owned());
    }
}

/// How many cores the servers may use.
pub fn server_cores() -> usize {
    *SERVER_CORES.get().unwrap_or(&1)
}

/// Counts the CPUs of a `taskset` list such as `0,2-3`.
fn count_cpus(list: &str) -> usize {
    list.split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => match (a.trim().parse::<usize>(), b.trim().parse::<usize>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 1,
            },
            None => 1,
        })
        .sum()
}

/// A server command, under `taskset` when --server-cpus is given.
pub fn pinned(program: PathBuf) -> Command {
    match SERVER_CPUS.get() {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpus).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// Moves every thread of this process to `cpus`.
pub fn pin_self(cpus: &str) -> Result<()> {
    let status = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .context("running taskset (util-linux)")?;
    if !status.success() {
        bail!("taskset -c {cpus} failed");
    }
    Ok(())
}

pub fn free_addr() -> Result<SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

fn sibling_binary(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let path = me.with_file_name(name);
    if !path.exists() {
        bail!(
            "{} not found next to roster-bench; build it first: cargo build --release",
            path.display()
        );
    }
    Ok(path)
}

/// A child server process, killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub fn rss_mib(&self) -> Option<f64> {
        Some(rss_kib(self.child.id()?)? as f64 / 1024.0)
    }
}

/// VmRSS of process `pid` in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `roster serve` on `database_url`, once it reports healthy.
pub async fn start_roster(database_url: &str) -> Result<Server> {
    let addr = free_addr()?;
    let child = pinned(sibling_binary("roster")?)
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("ROSTER_LISTEN", addr.to_string())
        .env("ROSTER_SERVICE_KEYS", format!("bench={SERVICE_KEY}"))
        .env("ROSTER_SWEEP_INTERVAL", "0s")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting roster serve")?;
    wait_healthy(addr).await?;
    Ok(Server { child, addr })
}

async fn wait_healthy(addr: SocketAddr) -> Result<()> {
    for _ in 0..400 {
        if let Ok(ch) = Channel::from_shared(format!("http://{addr}"))?
            .connect()
            .await
        {
            let mut health = tonic_health::pb::health_client::HealthClient::new(ch);
            if health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .is_ok()
            {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("roster at {addr} did not become healthy")
}

/// [`CONNECTIONS`] HTTP/2 connections to `addr`.
pub async fn channels(addr: SocketAddr) -> Result<Vec<Channel>> {
    let mut out = Vec::new();
    for _ in 0..CONNECTIONS {
        out.push(
            Channel::from_shared(format!("http://{addr}"))?
                .tcp_nodelay(true)
                .connect()
                .await?,
        );
    }
    Ok(out)
}

/// Signs `identities` in with one credential; returns their session tokens.
pub async fn sign_in_all(
    ch: &Channel,
    identities: &[String],
    username: &str,
    password: &str,
) -> Result<Vec<String>> {
    let mut tokens = Vec::new();
    let mut c = IdentityServiceClient::new(ch.clone());
    for id in identities {
        let r = c
            .sign_in(pb::SignInRequest {
                identity_id: id.clone(),
                username: username.to_owned(),
                password: password.to_owned(),
            })
            .await
            .with_context(|| format!("sign in {id}"))?;
        tokens.push(r.into_inner().session_token);
    }
    Ok(tokens)
}

#[derive(Clone)]
pub struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

fn bearer(token: &str) -> Bearer {
    Bearer(format!("Bearer {token}").parse().expect("ascii token"))
}

pub type Authed = InterceptedService<Channel, Bearer>;

pub fn identity_client(ch: &Channel, token: &str) -> IdentityServiceClient<Authed> {
    IdentityServiceClient::with_interceptor(ch.clone(), bearer(token))
}

/// MembershipService with the service key.
pub fn membership_client(ch: &Channel) -> MembershipServiceClient<Authed> {
    MembershipServiceClient::with_interceptor(ch.clone(), bearer(SERVICE_KEY))
}

/// LicenseService with the service key.
pub fn license_client(ch: &Channel) -> LicenseServiceClient<Authed> {
    LicenseServiceClient::with_interceptor(ch.clone(), bearer(SERVICE_KEY))
}

/// Samples a process's resident memory every 50 ms and keeps the peak.
pub struct RssSampler {
    max: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let max = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (max.clone(), stop.clone());
        tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Some(kb) = rss_kib(pid) {
                    m.fetch_max(kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        RssSampler { max, stop }
    }

    pub fn peak(&self) -> f64 {
        self.max.load(Ordering::Relaxed) as f64 / 1024.0
    }

    pub fn finish(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.peak()
    }
}
