//! `roster-bench`: starts `roster serve` itself, seeds realistic data, drives
//! load over real gRPC connections with a fixed number of requests in
//! flight, measures a bare tonic echo service in the same run as the
//! baseline, and prints one Markdown table.
//!
//! ```text
//! cargo build --release && cargo run --release --bin roster-bench -- --quick
//! cargo run --release --bin roster-bench -- --database-url sqlite --database-url postgres://u:p@host/db
//! ```
//!
//! For PostgreSQL the URL names a server and a database to connect to; the
//! benchmark creates (and afterwards drops) a fresh database next to it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use rand::RngExt;
use rand::seq::{IndexedRandom, SliceRandom};
use roster::bench_pb::echo_service_client::EchoServiceClient;
use roster::bench_pb::echo_service_server::{EchoService, EchoServiceServer};
use roster::bench_pb::{EchoRequest, EchoResponse};
use roster::domain::{AssignmentId, IdentityId, OrgId, RoomId};
use roster::pb;
use roster::pb::identity_service_client::IdentityServiceClient;
use roster::pb::membership_service_client::MembershipServiceClient;
use sea_orm::{ConnectionTrait, DbBackend, Value};
use tokio::process::{Child, Command};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// SignIn attempts in flight (below the per-username limit of 10).
const SIGN_IN_IN_FLIGHT: usize = 8;
const SERVICE_KEY: &str = "rsk_benchmark-service-key-0123456789";
const CONNECTIONS: usize = 4;

#[derive(Debug, Parser)]
#[command(
    name = "roster-bench",
    about = "Roster's benchmark: one Markdown table"
)]
struct Args {
    /// Smaller data set (10k identities) and shorter runs.
    #[arg(long)]
    quick: bool,
    /// `sqlite` (a temporary file) or a `postgres://…` server; repeat for
    /// several backends.
    #[arg(long = "database-url", default_value = "sqlite")]
    database_urls: Vec<String>,
    /// Requests in flight during load scenarios.
    #[arg(long, default_value_t = 32)]
    in_flight: usize,
    /// Duration of each load scenario (default 5s, quick 3s).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
    /// Run the servers on these CPUs (a `taskset` list such as `0`), so the
    /// load generator does not compete with them; pair with --client-cpus.
    #[arg(long)]
    server_cpus: Option<String>,
    /// Run the load generator on these CPUs (a `taskset` list such as `1`).
    #[arg(long)]
    client_cpus: Option<String>,
    /// Keep the SQLite benchmark database and print its path (for
    /// inspecting query plans afterwards).
    #[arg(long, hide = true)]
    keep_database: bool,
    /// Internal: serve the echo baseline on this address.
    #[arg(long, hide = true)]
    serve_echo: Option<SocketAddr>,
}

// ---------------------------------------------------------------- results

struct Row {
    scenario: String,
    backend: String,
    ops: Option<f64>,
    p50: Option<f64>,
    p99: Option<f64>,
    ratio: Option<f64>,
}

struct Stats {
    ops: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn stats(mut lat_us: Vec<u64>, elapsed: Duration) -> Stats {
    lat_us.sort_unstable();
    let pick = |q: f64| -> f64 {
        if lat_us.is_empty() {
            return f64::NAN;
        }
        let i = ((lat_us.len() as f64 - 1.0) * q).round() as usize;
        lat_us[i] as f64 / 1000.0
    };
    Stats {
        ops: lat_us.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
    }
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "–".to_owned(),
    }
}

// ------------------------------------------------------------------ echo

#[derive(Default)]
struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(
        &self,
        request: tonic::Request<EchoRequest>,
    ) -> Result<tonic::Response<EchoResponse>, tonic::Status> {
        Ok(tonic::Response::new(EchoResponse {
            message: request.into_inner().message,
        }))
    }
}

async fn serve_echo(addr: SocketAddr) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tonic::transport::Server::builder()
        .add_service(EchoServiceServer::new(Echo))
        .serve_with_incoming(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
        )
        .await?;
    Ok(())
}

// ------------------------------------------------------------- processes

static SERVER_CPUS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
/// How many cores the servers may use (for per-core figures).
static SERVER_CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
/// Calls that failed in any load scenario; a run with failures exits
/// non-zero after printing its table.
static FAILED_CALLS: AtomicU64 = AtomicU64::new(0);

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
fn pinned(program: PathBuf) -> Command {
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
fn pin_self(cpus: &str) -> Result<()> {
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

fn free_addr() -> Result<SocketAddr> {
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

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn rss_mib(&self) -> Option<f64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kb / 1024.0)
    }
}

async fn start_roster(database_url: &str) -> Result<Server> {
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

/// The echo server, kept running so each hot-path scenario can be compared
/// with an echo run taken right before it (this machine's speed drifts
/// over minutes; a single baseline at the start would skew the ratios).
struct EchoBaseline {
    _server: Server,
    clients: Arc<Vec<EchoServiceClient<Channel>>>,
}

impl EchoBaseline {
    async fn start() -> Result<Self> {
        let server = start_echo().await?;
        let chans = channels(server.addr).await?;
        let clients = Arc::new(
            chans
                .iter()
                .map(|c| EchoServiceClient::new(c.clone()))
                .collect(),
        );
        Ok(EchoBaseline {
            _server: server,
            clients,
        })
    }

    async fn measure(&self, in_flight: usize, duration: Duration) -> Result<Stats> {
        let clients = self.clients.clone();
        drive(in_flight, duration, move |w, _| {
            let mut c = clients[w % CONNECTIONS].clone();
            async move {
                c.echo(EchoRequest {
                    message: "ping".into(),
                })
                .await?;
                Ok(())
            }
        })
        .await
    }
}

async fn start_echo() -> Result<Server> {
    let addr = free_addr()?;
    let child = pinned(std::env::current_exe()?)
        .arg("--serve-echo")
        .arg(addr.to_string())
        .kill_on_drop(true)
        .spawn()
        .context("starting the echo server")?;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(Server { child, addr });
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("echo server did not start")
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

async fn channels(addr: SocketAddr) -> Result<Vec<Channel>> {
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

#[derive(Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

fn bearer(token: &str) -> Bearer {
    Bearer(format!("Bearer {token}").parse().expect("ascii token"))
}

type Authed = InterceptedService<Channel, Bearer>;

fn identity_client(ch: &Channel, token: &str) -> IdentityServiceClient<Authed> {
    IdentityServiceClient::with_interceptor(ch.clone(), bearer(token))
}

fn membership_client(ch: &Channel) -> MembershipServiceClient<Authed> {
    MembershipServiceClient::with_interceptor(ch.clone(), bearer(SERVICE_KEY))
}

// ------------------------------------------------------------------ load

/// Unmeasured load before each scenario: connections' flow-control
/// windows, allocator pools and caches settle first.
const WARM_UP: Duration = Duration::from_millis(500);

/// Runs `op` from `in_flight` concurrent workers for [`WARM_UP`] plus
/// `duration`; returns the figures of successful calls started after the
/// warm-up.
async fn drive<F, Fut>(in_flight: usize, duration: Duration, op: F) -> Result<Stats>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let op = Arc::new(op);
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now() + WARM_UP;
    let mut workers = Vec::new();
    for w in 0..in_flight {
        let op = op.clone();
        let errors = errors.clone();
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(64 * 1024);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match op(w, i).await {
                    Ok(()) if t < start => {}
                    Ok(()) => lat.push(t.elapsed().as_micros() as u64),
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) == 0 {
                            eprintln!("  first error: {e:#}");
                        }
                    }
                }
                i += 1;
            }
            lat
        }));
    }
    tokio::time::sleep(WARM_UP + duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await?);
    }
    let elapsed = start.elapsed();
    let errs = errors.load(Ordering::Relaxed);
    if errs > 0 {
        eprintln!("  {errs} failed calls (excluded from the figures)");
        FAILED_CALLS.fetch_add(errs, Ordering::Relaxed);
    }
    Ok(stats(all, elapsed))
}

// ------------------------------------------------------------------ seed

struct Sizes {
    identities: usize,
    orgs: usize,
    rooms: usize,
    room_members: usize,
    assignments: usize,
    victims: usize,
    victim_rooms: usize,
    victim_assignments: usize,
    guests: usize,
    idle_guests: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        let k = if quick { 1 } else { 10 };
        Sizes {
            identities: 10_000 * k,
            orgs: 100 * k,
            rooms: 1_000 * k,
            room_members: 100_000 * k,
            assignments: 100_000 * k,
            victims: if quick { 5 } else { 10 },
            victim_rooms: 1_000,
            victim_assignments: 10_000,
            guests: 10_000 * k,
            idle_guests: 1_000 * k,
        }
    }
}

/// An organization, its members, and its rooms with their members.
type SeededOrg = (String, Vec<String>, Vec<(String, Vec<String>)>);

struct Seeded {
    identities: Vec<String>,
    /// (org, members, rooms with their members)
    orgs: Vec<SeededOrg>,
    big_org: String,
    victims: Vec<String>,
}

struct Inserter<'a> {
    db: &'a sea_orm::DatabaseConnection,
    table: &'static str,
    cols: &'static [&'static str],
    rows: Vec<Vec<Value>>,
}

impl<'a> Inserter<'a> {
    fn new(
        db: &'a sea_orm::DatabaseConnection,
        table: &'static str,
        cols: &'static [&'static str],
    ) -> Self {
        Inserter {
            db,
            table,
            cols,
            rows: Vec::new(),
        }
    }

    async fn push(&mut self, row: Vec<Value>) -> Result<()> {
        self.rows.push(row);
        // Stay under SQLite's 32k bound parameters and PostgreSQL's 65k.
        if self.rows.len() * self.cols.len() >= 30_000 {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let one = format!("({})", roster::store::placeholders(self.cols.len()));
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            self.cols.join(", "),
            vec![one; self.rows.len()].join(", ")
        );
        let values: Vec<Value> = self.rows.drain(..).flatten().collect();
        let backend = self.db.get_database_backend();
        self.db
            .execute_raw(roster::store::statement(backend, &sql, values))
            .await
            .with_context(|| format!("seeding {}", self.table))?;
        Ok(())
    }
}

async fn seed(db: &sea_orm::DatabaseConnection, sizes: &Sizes, package: &str) -> Result<Seeded> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut rng = rand::rng();

    let mut ids = Inserter::new(
        db,
        "identities",
        &["id", "display_name", "avatar_url", "state", "created_at"],
    );
    let mut identities = Vec::with_capacity(sizes.identities);
    while identities.len() < sizes.identities {
        let id = IdentityId::generate().to_string();
        identities.push(id.clone());
        ids.push(vec![
            id.clone().into(),
            format!("Person {}", identities.len()).into(),
            format!("https://avatars.example/{id}.png").into(),
            "ACTIVE".into(),
            now.into(),
        ])
        .await?;
    }
    identities.sort();
    identities.dedup();
    ids.flush().await?;

    let mut orgs_ins = Inserter::new(
        db,
        "organizations",
        &[
            "id",
            "display_name",
            "package_id",
            "parent_id",
            "guest_inactivity_ms",
            "created_at",
        ],
    );
    let mut members = Inserter::new(
        db,
        "members",
        &[
            "organization_id",
            "identity_id",
            "package_id",
            "role",
            "state",
            "joined_at",
            "last_activity_at",
        ],
    );
    let mut rooms_ins = Inserter::new(
        db,
        "rooms",
        &["id", "organization_id", "display_name", "created_at"],
    );
    let mut room_members = Inserter::new(
        db,
        "room_members",
        &[
            "room_id",
            "identity_id",
            "organization_id",
            "role",
            "can_delete_entries",
            "added_at",
        ],
    );
    let mut assignments = Inserter::new(
        db,
        "assignments",
        &[
            "id",
            "organization_id",
            "room_id",
            "kind",
            "title",
            "created_at",
            "assignee_id",
            "assignee_tenure",
        ],
    );
    let mut attachments = Inserter::new(
        db,
        "attachments",
        &[
            "package_id",
            "identity_id",
            "method",
            "signed_in",
            "attached_at",
        ],
    );
    for id in &identities {
        attachments
            .push(vec![
                package.into(),
                id.clone().into(),
                "MEMBERSHIP".into(),
                false.into(),
                now.into(),
            ])
            .await?;
    }
    attachments.flush().await?;

    // Regular organizations: identities split evenly, rooms split evenly,
    // each room holding an even share of its organization's members.
    let per_org = identities.len() / sizes.orgs;
    let rooms_per_org = sizes.rooms / sizes.orgs;
    let room_size = (sizes.room_members / sizes.rooms).min(per_org);
    let assignments_per_room = sizes.assignments / sizes.rooms;
    let mut orgs = Vec::new();
    for o in 0..sizes.orgs {
        let org = OrgId::generate().to_string();
        orgs_ins
            .push(vec![
                org.clone().into(),
                format!("Org {o}").into(),
                package.into(),
                Value::String(None),
                Value::BigInt(None),
                now.into(),
            ])
            .await?;
        let org_members: Vec<String> = identities[o * per_org..(o + 1) * per_org].to_vec();
        for (i, m) in org_members.iter().enumerate() {
            let role = if i == 0 { "ADMIN" } else { "MEMBER" };
            members
                .push(vec![
                    org.clone().into(),
                    m.clone().into(),
                    package.into(),
                    role.into(),
                    "ACTIVE".into(),
                    now.into(),
                    now.into(),
                ])
                .await?;
        }
        let mut rooms = Vec::new();
        for r in 0..rooms_per_org {
            let room = RoomId::generate().to_string();
            rooms_ins
                .push(vec![
                    room.clone().into(),
                    org.clone().into(),
                    format!("Room {r}").into(),
                    now.into(),
                ])
                .await?;
            let mut in_room: Vec<String> =
                org_members.sample(&mut rng, room_size).cloned().collect();
            // The org admin administers every room.
            in_room.retain(|m| m != &org_members[0]);
            in_room.insert(0, org_members[0].clone());
            in_room.truncate(room_size);
            for (i, m) in in_room.iter().enumerate() {
                room_members
                    .push(vec![
                        room.clone().into(),
                        m.clone().into(),
                        org.clone().into(),
                        if i == 0 { "ADMIN" } else { "MEMBER" }.into(),
                        true.into(),
                        now.into(),
                    ])
                    .await?;
            }
            for a in 0..assignments_per_room {
                let assignee = &in_room[a % in_room.len()];
                assignments
                    .push(vec![
                        AssignmentId::generate().to_string().into(),
                        org.clone().into(),
                        room.clone().into(),
                        "TASK".into(),
                        format!("Task {a}").into(),
                        now.into(),
                        assignee.clone().into(),
                        // Seeded members keep the default tenure 0.
                        0i64.into(),
                    ])
                    .await?;
            }
            rooms.push((room, in_room));
        }
        orgs.push((org, org_members, rooms));
    }

    // The RemoveMember scenario: an organization with 1,000 rooms; each
    // victim is a member of all of them with 10,000 assignments.
    let big_org = OrgId::generate().to_string();
    orgs_ins
        .push(vec![
            big_org.clone().into(),
            "Big org".into(),
            package.into(),
            Value::String(None),
            Value::BigInt(None),
            now.into(),
        ])
        .await?;
    let big_admin = identities[0].clone();
    let victims: Vec<String> = identities[1..=sizes.victims].to_vec();
    for (i, m) in std::iter::once(&big_admin)
        .chain(victims.iter())
        .enumerate()
    {
        members
            .push(vec![
                big_org.clone().into(),
                m.clone().into(),
                package.into(),
                if i == 0 { "ADMIN" } else { "MEMBER" }.into(),
                "ACTIVE".into(),
                now.into(),
                now.into(),
            ])
            .await?;
    }
    let mut big_rooms = Vec::new();
    for r in 0..sizes.victim_rooms {
        let room = RoomId::generate().to_string();
        rooms_ins
            .push(vec![
                room.clone().into(),
                big_org.clone().into(),
                format!("Big room {r}").into(),
                now.into(),
            ])
            .await?;
        for (i, m) in std::iter::once(&big_admin)
            .chain(victims.iter())
            .enumerate()
        {
            room_members
                .push(vec![
                    room.clone().into(),
                    m.clone().into(),
                    big_org.clone().into(),
                    if i == 0 { "ADMIN" } else { "MEMBER" }.into(),
                    true.into(),
                    now.into(),
                ])
                .await?;
        }
        big_rooms.push(room);
    }
    for v in &victims {
        for a in 0..sizes.victim_assignments {
            assignments
                .push(vec![
                    AssignmentId::generate().to_string().into(),
                    big_org.clone().into(),
                    big_rooms[a % big_rooms.len()].clone().into(),
                    "TASK".into(),
                    format!("Victim task {a}").into(),
                    now.into(),
                    v.clone().into(),
                    0i64.into(),
                ])
                .await?;
        }
    }

    // The sweep: ten guest organizations with a one-day inactivity rule;
    // `guests` guest memberships, `idle_guests` of them idle for a week.
    let day = 24 * 3600 * 1000i64;
    let guest_orgs: Vec<String> = (0..10).map(|_| OrgId::generate().to_string()).collect();
    for (i, g) in guest_orgs.iter().enumerate() {
        orgs_ins
            .push(vec![
                g.clone().into(),
                format!("Guests {i}").into(),
                package.into(),
                Value::String(None),
                day.into(),
                now.into(),
            ])
            .await?;
    }
    let per_guest_org = sizes.guests / guest_orgs.len();
    let idle_per_org = sizes.idle_guests / guest_orgs.len();
    for g in &guest_orgs {
        for (i, m) in identities.iter().take(per_guest_org).enumerate() {
            let last = if i < idle_per_org { now - 7 * day } else { now };
            members
                .push(vec![
                    g.clone().into(),
                    m.clone().into(),
                    package.into(),
                    "GUEST".into(),
                    "ACTIVE".into(),
                    last.into(),
                    last.into(),
                ])
                .await?;
        }
    }

    orgs_ins.flush().await?;
    members.flush().await?;
    rooms_ins.flush().await?;
    room_members.flush().await?;
    assignments.flush().await?;
    let backend = db.get_database_backend();
    db.execute_raw(roster::store::statement(
        backend,
        "UPDATE license_packages SET seats_used = (SELECT COUNT(*) FROM attachments WHERE package_id = ?) WHERE id = ?",
        vec![package.into(), package.into()],
    ))
    .await?;
    // Settle the bulk load the way a long-running database would be:
    // statistics and visibility maps on PostgreSQL, a checkpointed WAL on
    // both (so the checkpointer is not flushing the load while the hot
    // paths are measured).
    if backend == DbBackend::Postgres {
        db.execute_unprepared("VACUUM ANALYZE").await?;
        // Needs superuser or pg_checkpoint; without it the load settles
        // on PostgreSQL's own schedule.
        if let Err(e) = db.execute_unprepared("CHECKPOINT").await {
            eprintln!("  (CHECKPOINT not allowed, continuing: {e})");
        }
    } else {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(Seeded {
        identities,
        orgs,
        big_org,
        victims,
    })
}

// -------------------------------------------------------------- backends

struct Database {
    url: String,
    label: &'static str,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile_dir::Dir>,
}

mod tempfile_dir {
    /// A temporary directory removed on drop (no extra dependency).
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

async fn prepare_database(spec: &str) -> Result<Database> {
    if spec == "sqlite" || spec.starts_with("sqlite:") {
        let dir = std::env::temp_dir().join(format!(
            "roster-bench-{}",
            OrgId::generate().as_str().trim_start_matches("org_")
        ));
        std::fs::create_dir_all(&dir)?;
        return Ok(Database {
            url: format!("sqlite://{}/bench.db?mode=rwc", dir.display()),
            label: "sqlite",
            cleanup: None,
            _dir: Some(tempfile_dir::Dir(dir)),
        });
    }
    if !spec.starts_with("postgres") {
        bail!("--database-url must be `sqlite` or postgres://…");
    }
    use sqlx::Connection;
    let name = format!(
        "roster_bench_{}",
        OrgId::generate().as_str().trim_start_matches("org_")
    );
    let mut conn = sqlx::PgConnection::connect(spec)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .context("creating the benchmark database (needs CREATEDB)")?;
    let (base, _) = spec.rsplit_once('/').context("URL has a database part")?;
    Ok(Database {
        url: format!("{base}/{name}"),
        label: "postgres",
        cleanup: Some((spec.to_owned(), name)),
        _dir: None,
    })
}

async fn drop_database(db: &Database) {
    if let Some((admin, name)) = &db.cleanup {
        use sqlx::Connection;
        if let Ok(mut conn) = sqlx::PgConnection::connect(admin).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

// ------------------------------------------------------------- scenarios

async fn sign_in_all(
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

async fn issue_credential(ch: &Channel, package: &str, username: &str) -> Result<String> {
    let mut c = pb::license_service_client::LicenseServiceClient::with_interceptor(
        ch.clone(),
        bearer(SERVICE_KEY),
    );
    let r = c
        .issue_credential(pb::IssueCredentialRequest {
            package_id: package.to_owned(),
            username: username.to_owned(),
            password: String::new(),
        })
        .await
        .context("issue credential")?;
    Ok(r.into_inner().password)
}

struct RssSampler {
    max: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let max = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, s) = (max.clone(), stop.clone());
        tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    && let Some(kb) = status
                        .lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|v| v.parse::<u64>().ok())
                {
                    m.fetch_max(kb, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        RssSampler { max, stop }
    }

    fn peak(&self) -> f64 {
        self.max.load(Ordering::Relaxed) as f64 / 1024.0
    }

    fn finish(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.max.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

#[allow(clippy::too_many_arguments)]
async fn bench_backend(
    spec: &str,
    args: &Args,
    sizes: &Sizes,
    duration: Duration,
    echo: &EchoBaseline,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let db = prepare_database(spec).await?;
    let label = db.label.to_owned();
    eprintln!("[{label}] migrating and seeding …");
    let t = Instant::now();
    let config = roster::config::Config::with_database(db.url.clone());
    let store = roster::open_store(&config, Arc::new(roster::store::SystemClock)).await?;

    // The package and its admin go through the API so they are audited
    // like real ones; bulk data is inserted directly.
    let server = start_roster(&db.url).await?;
    let chans = channels(server.addr).await?;
    let mut svc_identity = identity_client(&chans[0], SERVICE_KEY);
    let admin = svc_identity
        .create_identity(pb::CreateIdentityRequest {
            identity: Some(pb::Identity {
                display_name: "Bench admin".into(),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .identity_id;
    let package = pb::license_service_client::LicenseServiceClient::with_interceptor(
        chans[0].clone(),
        bearer(SERVICE_KEY),
    )
    .create_license_package(pb::CreateLicensePackageRequest {
        license_package: Some(pb::LicensePackage {
            display_name: "Bench".into(),
            plan: pb::Plan::Enterprise as i32,
            seat_limit: 1_000_000,
            admin_identity_ids: vec![admin],
            ..Default::default()
        }),
    })
    .await?
    .into_inner()
    .package_id;
    let seeded = seed(store.db(), sizes, &package).await?;
    drop(store);
    eprintln!("[{label}] seeded in {:.1}s", t.elapsed().as_secs_f64());

    // Restart so the server starts from the seeded state with cold caches.
    drop(chans);
    drop(server);
    let server = start_roster(&db.url).await?;
    let chans = channels(server.addr).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = server.rss_mib();

    let password = issue_credential(&chans[0], &package, "bench-shared").await?;
    let sample: Vec<String> = seeded
        .identities
        .iter()
        .skip(100)
        .take(64)
        .cloned()
        .collect();
    let tokens = Arc::new(sign_in_all(&chans[0], &sample, "bench-shared", &password).await?);

    let sampler = RssSampler::start(server.child.id().unwrap_or(0));
    let row = |scenario: &str, s: &Stats, echo_ops: Option<f64>| Row {
        scenario: scenario.to_owned(),
        backend: label.clone(),
        ops: Some(s.ops),
        p50: Some(s.p50_ms),
        p99: Some(s.p99_ms),
        ratio: echo_ops.map(|e| s.ops / e),
    };

    // ValidateSession.
    eprintln!(
        "[{label}] ValidateSession … (peak RSS so far {:.1} MiB)",
        sampler.peak()
    );
    let clients: Vec<_> = chans
        .iter()
        .map(|c| identity_client(c, SERVICE_KEY))
        .collect();
    let clients = Arc::new(clients);
    let (c2, t2) = (clients.clone(), tokens.clone());
    let echo_before = echo.measure(args.in_flight, duration).await?.ops;
    let s = drive(args.in_flight, duration, move |w, i| {
        let mut c = c2[w % CONNECTIONS].clone();
        let token = t2[(w + i as usize) % t2.len()].clone();
        async move {
            let r = c
                .validate_session(pb::ValidateSessionRequest {
                    session_token: token,
                })
                .await?;
            if !r.get_ref().valid {
                bail!("session unexpectedly invalid");
            }
            Ok(())
        }
    })
    .await?;
    // The baseline brackets the scenario: this VM's speed drifts, and an
    // echo run on one side only would carry that drift into the ratio.
    let echo_after = echo.measure(args.in_flight, duration).await?.ops;
    rows.push(row(
        "ValidateSession",
        &s,
        Some((echo_before + echo_after) / 2.0),
    ));

    // CheckAccess: random member of a random room.
    eprintln!(
        "[{label}] CheckAccess … (peak RSS so far {:.1} MiB)",
        sampler.peak()
    );
    let mut probes = Vec::new();
    let mut rng = rand::rng();
    for _ in 0..10_000 {
        let (org, _, rooms) = &seeded.orgs[rng.random_range(0..seeded.orgs.len())];
        let (room, in_room) = &rooms[rng.random_range(0..rooms.len())];
        probes.push((
            in_room[rng.random_range(0..in_room.len())].clone(),
            org.clone(),
            room.clone(),
        ));
    }
    let probes = Arc::new(probes);
    let mclients: Arc<Vec<_>> = Arc::new(chans.iter().map(membership_client).collect());
    // Steady state: every probe answered once before measuring.
    let mut warm = membership_client(&chans[0]);
    for (identity, org, room) in probes.iter() {
        warm.check_access(pb::CheckAccessRequest {
            identity_id: identity.clone(),
            organization_id: org.clone(),
            room_id: room.clone(),
        })
        .await?;
    }
    let echo_before = echo.measure(args.in_flight, duration).await?.ops;
    let (mc, pr) = (mclients.clone(), probes.clone());
    let s = drive(args.in_flight, duration, move |w, i| {
        let mut c = mc[w % CONNECTIONS].clone();
        let (identity, org, room) = pr[(w * 7919 + i as usize) % pr.len()].clone();
        async move {
            let r = c
                .check_access(pb::CheckAccessRequest {
                    identity_id: identity,
                    organization_id: org,
                    room_id: room,
                })
                .await?;
            if !r.get_ref().allowed {
                bail!("access unexpectedly denied");
            }
            Ok(())
        }
    })
    .await?;
    let echo_after = echo.measure(args.in_flight, duration).await?.ops;
    rows.push(row(
        "CheckAccess",
        &s,
        Some((echo_before + echo_after) / 2.0),
    ));

    // Every call a cache miss (C0 costs most where the cache cannot help):
    // keys never repeated within the run.
    eprintln!("[{label}] CheckAccess and ValidateSession, every call a cache miss …");
    let used: std::collections::HashSet<&(String, String, String)> = probes.iter().collect();
    let mut fresh = Vec::new();
    for (org, _, rooms) in &seeded.orgs {
        for (room, in_room) in rooms {
            for m in in_room {
                let key = (m.clone(), org.clone(), room.clone());
                if !used.contains(&key) {
                    fresh.push(key);
                }
            }
        }
    }
    drop(used);
    fresh.shuffle(&mut rng);
    let fresh = Arc::new(fresh);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let echo_before = echo.measure(args.in_flight, duration).await?.ops;
    let (mc, fr, nx) = (mclients.clone(), fresh.clone(), next.clone());
    let s = drive(args.in_flight, duration, move |w, _| {
        let mut c = mc[w % CONNECTIONS].clone();
        let key = fr.get(nx.fetch_add(1, Ordering::Relaxed)).cloned();
        async move {
            let Some((identity, org, room)) = key else {
                bail!("ran out of never-asked CheckAccess keys");
            };
            let r = c
                .check_access(pb::CheckAccessRequest {
                    identity_id: identity,
                    organization_id: org,
                    room_id: room,
                })
                .await?;
            if !r.get_ref().allowed {
                bail!("access unexpectedly denied");
            }
            Ok(())
        }
    })
    .await?;
    rows.push(row(
        "CheckAccess, every call a cache miss",
        &s,
        Some(echo_before),
    ));
    let miss_tokens = Arc::new(seed_sessions(&db.url, &seeded, &package, args.quick).await?);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let echo_before = echo.measure(args.in_flight, duration).await?.ops;
    let (c2, mt, nx) = (clients.clone(), miss_tokens.clone(), next.clone());
    let s = drive(args.in_flight, duration, move |w, _| {
        let mut c = c2[w % CONNECTIONS].clone();
        let token = mt.get(nx.fetch_add(1, Ordering::Relaxed)).cloned();
        async move {
            let Some(token) = token else {
                bail!("ran out of never-validated session tokens");
            };
            let r = c
                .validate_session(pb::ValidateSessionRequest {
                    session_token: token,
                })
                .await?;
            if !r.get_ref().valid {
                bail!("seeded session unexpectedly invalid");
            }
            Ok(())
        }
    })
    .await?;
    rows.push(row(
        "ValidateSession, every call a cache miss",
        &s,
        Some(echo_before),
    ));

    // ResolveProfiles: 1,000 IDs, members and non-members mixed.
    eprintln!(
        "[{label}] ResolveProfiles … (peak RSS so far {:.1} MiB)",
        sampler.peak()
    );
    let batches: Vec<(String, Vec<String>)> = (0..50)
        .map(|b| {
            let (org, _, _) = &seeded.orgs[b % seeded.orgs.len()];
            let mut ids: Vec<String> = seeded.identities.sample(&mut rng, 1000).cloned().collect();
            ids.shuffle(&mut rng);
            (org.clone(), ids)
        })
        .collect();
    let batches = Arc::new(batches);
    for (org, ids) in batches.iter() {
        warm.resolve_profiles(pb::ResolveProfilesRequest {
            organization_id: org.clone(),
            identity_ids: ids.clone(),
        })
        .await?;
    }
    let echo_before = echo.measure(args.in_flight, duration).await?.ops;
    for in_flight in [1, args.in_flight] {
        let (mc, bt) = (mclients.clone(), batches.clone());
        let s = drive(in_flight, duration, move |w, i| {
            let mut c = mc[w % CONNECTIONS].clone();
            let (org, ids) = bt[(w + i as usize) % bt.len()].clone();
            async move {
                let r = c
                    .resolve_profiles(pb::ResolveProfilesRequest {
                        organization_id: org,
                        identity_ids: ids,
                    })
                    .await?;
                if r.get_ref().profiles.len() != 1000 {
                    bail!("wrong number of profiles");
                }
                Ok(())
            }
        })
        .await?;
        rows.push(row(
            &format!("ResolveProfiles (1000 IDs, {in_flight} in flight)"),
            &s,
            Some(echo_before),
        ));
    }

    // SignIn: argon2id bound.
    eprintln!(
        "[{label}] SignIn … (peak RSS so far {:.1} MiB)",
        sampler.peak()
    );
    let signers = Arc::new(sample.clone());
    let anon: Arc<Vec<_>> = Arc::new(
        chans
            .iter()
            .map(|c| IdentityServiceClient::new(c.clone()))
            .collect(),
    );
    let (an, sg, pw) = (anon.clone(), signers.clone(), password.clone());
    // Every attempt in flight holds a slot of the sign-in limit (I5) for
    // its username and address, and all of these share one credential:
    // more than 10 at once are refused by design. 8 keep argon2 busy.
    let s = drive(
        args.in_flight.min(SIGN_IN_IN_FLIGHT),
        duration,
        move |w, i| {
            let mut c = an[w % CONNECTIONS].clone();
            let id = sg[(w + i as usize) % sg.len()].clone();
            let pw = pw.clone();
            async move {
                c.sign_in(pb::SignInRequest {
                    identity_id: id,
                    username: "bench-shared".into(),
                    password: pw,
                })
                .await?;
                Ok(())
            }
        },
    )
    .await?;
    let cores = *SERVER_CORES.get().unwrap_or(&1) as f64;
    rows.push(row(
        &format!(
            "SignIn (argon2id m=19MiB t=2 p=1; {SIGN_IN_IN_FLIGHT} in flight; {:.0} ops/s per server core)",
            s.ops / cores
        ),
        &s,
        Some(echo_before),
    ));

    // RemoveMember: 1,000 rooms and 10,000 assignments each.
    eprintln!(
        "[{label}] RemoveMember … (peak RSS so far {:.1} MiB)",
        sampler.peak()
    );
    let mut lat = Vec::new();
    let t = Instant::now();
    let mut c = membership_client(&chans[0]);
    for v in &seeded.victims {
        let t0 = Instant::now();
        let r = c
            .remove_member(pb::RemoveMemberRequest {
                organization_id: seeded.big_org.clone(),
                identity_id: v.clone(),
                successor_identity_id: String::new(),
            })
            .await
            .context("RemoveMember")?
            .into_inner();
        lat.push(t0.elapsed().as_micros() as u64);
        if r.rooms_left != sizes.victim_rooms as i32
            || r.assignments_dropped != sizes.victim_assignments as i32
        {
            bail!(
                "RemoveMember removed {} rooms / {} assignments",
                r.rooms_left,
                r.assignments_dropped
            );
        }
    }
    let s = stats(lat, t.elapsed());
    rows.push(row(
        &format!(
            "RemoveMember ({} rooms / {} assignments)",
            sizes.victim_rooms, sizes.victim_assignments
        ),
        &s,
        None,
    ));

    // RunInactivitySweep over every organization.
    eprintln!(
        "[{label}] RunInactivitySweep … (peak RSS so far {:.1} MiB)",
        sampler.peak()
    );
    let t0 = Instant::now();
    let r = c
        .run_inactivity_sweep(pb::RunInactivitySweepRequest {
            organization_id: String::new(),
            dry_run: false,
        })
        .await
        .context("RunInactivitySweep")?
        .into_inner();
    let took = t0.elapsed();
    if r.deactivated_count as usize != sizes.idle_guests {
        bail!(
            "sweep deactivated {} guests, expected {}",
            r.deactivated_count,
            sizes.idle_guests
        );
    }
    let s = stats(vec![took.as_micros() as u64], took);
    rows.push(row(
        &format!(
            "RunInactivitySweep ({} guests, {} idle)",
            sizes.guests, sizes.idle_guests
        ),
        &s,
        None,
    ));

    // C0: write latency with one replica, and (PostgreSQL) with two, where
    // each commit waits for the other replica's acknowledgement.
    eprintln!("[{label}] write latency, 1 replica …");
    let write_org = seeded.orgs[0].0.clone();
    let w = writes(&chans[0], None, &write_org, &password, WRITES).await?;
    for (what, st) in [
        ("RevokeIdentity", &w.revoke),
        ("DeactivateMember", &w.deactivate),
    ] {
        rows.push(Row {
            scenario: format!("{what} write latency, 1 replica"),
            backend: label.clone(),
            ops: None,
            p50: Some(st.p50_ms),
            p99: Some(st.p99_ms),
            ratio: None,
        });
    }
    if label == "postgres" {
        c0_replica_rows(
            &db.url, &chans, &write_org, &password, &tokens, &probes, args, duration, echo,
            &seeded, &label, rows,
        )
        .await?;
    }

    // Revocation propagation between two replicas (PostgreSQL only).
    if label == "postgres" {
        eprintln!("[{label}] revocation propagation …");
        let replica = start_roster(&db.url).await?;
        let b_chan = channels(replica.addr).await?;
        let mut b = identity_client(&b_chan[0], SERVICE_KEY);
        let victims: Vec<String> = seeded
            .identities
            .iter()
            .skip(1000)
            .take(50)
            .cloned()
            .collect();
        let victim_tokens = sign_in_all(&chans[0], &victims, "bench-shared", &password).await?;
        let mut lat = Vec::new();
        let start = Instant::now();
        for (id, token) in victims.iter().zip(&victim_tokens) {
            for _ in 0..3 {
                let r = b
                    .validate_session(pb::ValidateSessionRequest {
                        session_token: token.clone(),
                    })
                    .await?;
                if !r.get_ref().valid {
                    bail!("replica B does not know the session");
                }
            }
            let mut a = identity_client(&chans[0], token);
            // From before the commit on A (so the figure includes A's
            // commit) until B denies.
            let t0 = Instant::now();
            a.revoke_identity(pb::RevokeIdentityRequest {
                identity_id: id.clone(),
                ..Default::default()
            })
            .await
            .context("revoke on A")?;
            loop {
                let r = b
                    .validate_session(pb::ValidateSessionRequest {
                        session_token: token.clone(),
                    })
                    .await?;
                if !r.get_ref().valid {
                    break;
                }
                if t0.elapsed() > Duration::from_secs(10) {
                    bail!("replica B still accepts a revoked session after 10s");
                }
            }
            lat.push(t0.elapsed().as_micros() as u64);
        }
        let s = stats(lat, start.elapsed());
        rows.push(Row {
            scenario: "revocation propagation (commit on A → deny on B)".into(),
            backend: label.clone(),
            ops: None,
            p50: Some(s.p50_ms),
            p99: Some(s.p99_ms),
            ratio: None,
        });
        drop(replica);
    }

    let loaded = sampler.finish();
    for (name, value) in [("idle RSS", idle), ("loaded RSS (peak)", Some(loaded))] {
        rows.push(Row {
            scenario: format!("{name}: {} MiB", fmt_opt(value, 1)),
            backend: label.clone(),
            ops: None,
            p50: None,
            p99: None,
            ratio: None,
        });
    }
    drop(chans);
    drop(server);
    if args.keep_database
        && let Some(dir) = db._dir.as_ref()
    {
        eprintln!("[{label}] kept {}", dir.0.display());
        std::mem::forget(db);
        return Ok(());
    }
    drop_database(&db).await;
    Ok(())
}

// ------------------------------------------------------------------- C0

/// Writes per write-latency row.
const WRITES: usize = 50;
/// Members toggled (deactivated, reactivated) by the churn on replica B;
/// each comes round every `CHURNERS / rate` seconds.
const CHURNERS: usize = 100;

struct Writes {
    revoke: Stats,
    deactivate: Stats,
    /// Probes on B sent right after A answered that saw the old state.
    old: usize,
    trials: usize,
}

/// `n` fresh members of `org`, signed in; then DeactivateMember for each
/// and RevokeIdentity (self) for each on `a`, timed. With `b`, B's caches
/// are warmed for the subject before each write and B is asked once the
/// moment A answers.
async fn writes(
    a: &Channel,
    b: Option<&Channel>,
    org: &str,
    password: &str,
    n: usize,
) -> Result<Writes> {
    let mut svc = identity_client(a, SERVICE_KEY);
    let mut m = membership_client(a);
    let mut subjects = Vec::with_capacity(n);
    for _ in 0..n {
        let id = svc
            .create_identity(pb::CreateIdentityRequest {
                identity: Some(pb::Identity {
                    display_name: "Write subject".into(),
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .identity_id;
        m.add_member(pb::AddMemberRequest {
            organization_id: org.to_owned(),
            identity_id: id.clone(),
            role: pb::MemberRole::Member as i32,
        })
        .await?;
        subjects.push(id);
    }
    let tokens = sign_in_all(a, &subjects, "bench-shared", password).await?;
    let mut bm = b.map(membership_client);
    let mut bi = b.map(|c| identity_client(c, SERVICE_KEY));
    let (mut old, mut trials) = (0, 0);
    let access = |id: &str| pb::CheckAccessRequest {
        identity_id: id.to_owned(),
        organization_id: org.to_owned(),
        room_id: String::new(),
    };

    let mut lat = Vec::with_capacity(n);
    let t = Instant::now();
    for id in &subjects {
        if let Some(bm) = bm.as_mut() {
            for _ in 0..2 {
                if !bm.check_access(access(id)).await?.get_ref().allowed {
                    bail!("B denies an active member");
                }
            }
        }
        let t0 = Instant::now();
        m.deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.to_owned(),
            identity_id: id.clone(),
            ..Default::default()
        })
        .await
        .context("DeactivateMember")?;
        lat.push(t0.elapsed().as_micros() as u64);
        if let Some(bm) = bm.as_mut() {
            trials += 1;
            if bm.check_access(access(id)).await?.get_ref().allowed {
                old += 1;
            }
        }
    }
    let deactivate = stats(lat, t.elapsed());

    let mut lat = Vec::with_capacity(n);
    let t = Instant::now();
    for (id, token) in subjects.iter().zip(&tokens) {
        let validate = || pb::ValidateSessionRequest {
            session_token: token.clone(),
        };
        if let Some(bi) = bi.as_mut() {
            for _ in 0..2 {
                if !bi.validate_session(validate()).await?.get_ref().valid {
                    bail!("B does not know a live session");
                }
            }
        }
        let t0 = Instant::now();
        identity_client(a, token)
            .revoke_identity(pb::RevokeIdentityRequest {
                identity_id: id.clone(),
                ..Default::default()
            })
            .await
            .context("RevokeIdentity")?;
        lat.push(t0.elapsed().as_micros() as u64);
        if let Some(bi) = bi.as_mut() {
            trials += 1;
            if bi.validate_session(validate()).await?.get_ref().valid {
                old += 1;
            }
        }
    }
    let revoke = stats(lat, t.elapsed());
    Ok(Writes {
        revoke,
        deactivate,
        old,
        trials,
    })
}

/// Sessions inserted directly (no argon2), each validated once at most.
async fn seed_sessions(
    url: &str,
    seeded: &Seeded,
    package: &str,
    quick: bool,
) -> Result<Vec<String>> {
    let n = if quick { 100_000 } else { 300_000 };
    let db = roster::store::connect(url, 2).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut ins = Inserter::new(
        &db,
        "sessions",
        &[
            "token_hash",
            "session_id",
            "identity_id",
            "package_id",
            "credential_id",
            "created_at",
            "expires_at",
        ],
    );
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        let token = roster::domain::secrets::new_session_token();
        ins.push(vec![
            roster::domain::secrets::token_hash(&token).into(),
            roster::domain::SessionId::generate().to_string().into(),
            seeded.identities[i % seeded.identities.len()]
                .clone()
                .into(),
            package.to_owned().into(),
            "bench-seeded".to_owned().into(),
            now.into(),
            (now + 86_400_000).into(),
        ])
        .await?;
        tokens.push(token);
    }
    ins.flush().await?;
    Ok(tokens)
}

/// PostgreSQL rows that need a second (and third) replica: write latency
/// with 2 replicas and old answers after return, the hot paths under
/// churn on another replica, and how long a partitioned replica keeps
/// serving from its caches.
#[allow(clippy::too_many_arguments)]
async fn c0_replica_rows(
    url: &str,
    chans: &[Channel],
    org: &str,
    password: &str,
    tokens: &Arc<Vec<String>>,
    probes: &Arc<Vec<(String, String, String)>>,
    args: &Args,
    duration: Duration,
    echo: &EchoBaseline,
    seeded: &Seeded,
    label: &str,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let mut push = |scenario: String, ops: Option<f64>, p50, p99, ratio| {
        rows.push(Row {
            scenario,
            backend: label.to_owned(),
            ops,
            p50,
            p99,
            ratio,
        })
    };
    eprintln!("[{label}] write latency, 2 replicas …");
    let replica = start_roster(url).await?;
    let b_chan = channels(replica.addr).await?;
    // B takes its lease on its first feed round.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let w = writes(&chans[0], Some(&b_chan[0]), org, password, WRITES).await?;
    for (what, st) in [
        ("RevokeIdentity", &w.revoke),
        ("DeactivateMember", &w.deactivate),
    ] {
        push(
            format!("{what} write latency, 2 replicas"),
            None,
            Some(st.p50_ms),
            Some(st.p99_ms),
            None,
        );
    }
    push(
        format!(
            "old answers on B right after A returned (DeactivateMember, RevokeIdentity): {} / {}",
            w.old, w.trials
        ),
        None,
        None,
        None,
        None,
    );
    if w.old > 0 {
        FAILED_CALLS.fetch_add(w.old as u64, Ordering::Relaxed);
        eprintln!("  C0 violated: {} old answers", w.old);
    }

    // Churn: 1 % of the members change per second, on B.
    let members: usize = seeded.orgs.iter().map(|o| o.1.len()).sum();
    let rate = (members / 100).max(1);
    eprintln!("[{label}] hot paths under churn ({rate} member changes/s on B) …");
    let mut churners = Vec::new();
    {
        let mut svc = identity_client(&b_chan[0], SERVICE_KEY);
        let mut m = membership_client(&b_chan[0]);
        for _ in 0..CHURNERS {
            let id = svc
                .create_identity(pb::CreateIdentityRequest {
                    identity: Some(pb::Identity {
                        display_name: "Churn".into(),
                        ..Default::default()
                    }),
                })
                .await?
                .into_inner()
                .identity_id;
            m.add_member(pb::AddMemberRequest {
                organization_id: org.to_owned(),
                identity_id: id.clone(),
                role: pb::MemberRole::Member as i32,
            })
            .await?;
            churners.push(id);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let changes = Arc::new(AtomicU64::new(0));
    let churn = {
        let (stop, changes) = (stop.clone(), changes.clone());
        let m = membership_client(&b_chan[0]);
        let org = org.to_owned();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1) / rate as u32);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let id = churners[i % churners.len()].clone();
                let deactivate = (i / churners.len()).is_multiple_of(2);
                let (mut m, org, changes) = (m.clone(), org.clone(), changes.clone());
                // Each change on its own task, so the rate holds however
                // long one write takes.
                tokio::spawn(async move {
                    let res = if deactivate {
                        m.deactivate_member(pb::DeactivateMemberRequest {
                            organization_id: org.clone(),
                            identity_id: id,
                            ..Default::default()
                        })
                        .await
                        .map(|_| ())
                    } else {
                        m.reactivate_member(pb::ReactivateMemberRequest {
                            organization_id: org.clone(),
                            identity_id: id,
                        })
                        .await
                        .map(|_| ())
                    };
                    if res.is_ok() {
                        changes.fetch_add(1, Ordering::Relaxed);
                    }
                });
                i += 1;
            }
        })
    };
    let mclients: Arc<Vec<_>> = Arc::new(chans.iter().map(membership_client).collect());
    let iclients: Arc<Vec<_>> = Arc::new(
        chans
            .iter()
            .map(|c| identity_client(c, SERVICE_KEY))
            .collect(),
    );
    // Steady state first, as for the plain CheckAccess row: every probe
    // answered once, so the row measures what the churn costs.
    let mut warm = membership_client(&chans[0]);
    for (identity, org, room) in probes.iter() {
        warm.check_access(pb::CheckAccessRequest {
            identity_id: identity.clone(),
            organization_id: org.clone(),
            room_id: room.clone(),
        })
        .await?;
    }
    let t = Instant::now();
    changes.store(0, Ordering::Relaxed);
    let echo_before = echo.measure(args.in_flight, duration).await?.ops;
    let (mc, pr) = (mclients.clone(), probes.clone());
    let access = drive(args.in_flight, duration, move |w, i| {
        let mut c = mc[w % CONNECTIONS].clone();
        let (identity, org, room) = pr[(w * 7919 + i as usize) % pr.len()].clone();
        async move {
            let r = c
                .check_access(pb::CheckAccessRequest {
                    identity_id: identity,
                    organization_id: org,
                    room_id: room,
                })
                .await?;
            if !r.get_ref().allowed {
                bail!("access unexpectedly denied");
            }
            Ok(())
        }
    })
    .await?;
    let (ic, tk) = (iclients.clone(), tokens.clone());
    let validate = drive(args.in_flight, duration, move |w, i| {
        let mut c = ic[w % CONNECTIONS].clone();
        let token = tk[(w + i as usize) % tk.len()].clone();
        async move {
            let r = c
                .validate_session(pb::ValidateSessionRequest {
                    session_token: token,
                })
                .await?;
            if !r.get_ref().valid {
                bail!("session unexpectedly invalid");
            }
            Ok(())
        }
    })
    .await?;
    let echo_after = echo.measure(args.in_flight, duration).await?.ops;
    stop.store(true, Ordering::Relaxed);
    let _ = churn.await;
    let achieved = changes.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64();
    let echo_ops = (echo_before + echo_after) / 2.0;
    for (what, st) in [("CheckAccess", &access), ("ValidateSession", &validate)] {
        push(
            format!("{what} under churn ({achieved:.0} member changes/s on B, target {rate})"),
            Some(st.ops),
            Some(st.p50_ms),
            Some(st.p99_ms),
            Some(st.ops / echo_ops),
        );
    }
    drop(b_chan);
    drop(replica);

    // A partitioned replica: its database connection goes silent.
    eprintln!("[{label}] partitioned replica …");
    let target: SocketAddr = {
        let rest = url.split_once('@').map_or(url, |(_, r)| r);
        let hostport = rest.split('/').next().unwrap_or_default();
        let hostport = if hostport.contains(':') {
            hostport.to_owned()
        } else {
            format!("{hostport}:5432")
        };
        tokio::net::lookup_host(hostport)
            .await?
            .next()
            .context("resolving the database host")?
    };
    let proxy = FreezingProxy::start(target).await?;
    let proxied = {
        let (head, tail) = url.split_once('@').context("database URL has no host")?;
        let db = tail.split_once('/').map_or("", |(_, d)| d);
        format!("{head}@{}/{db}", proxy.addr)
    };
    let c = start_roster(&proxied).await?;
    let c_chan = channels(c.addr).await?;
    let mut ci = identity_client(&c_chan[0], SERVICE_KEY);
    let token = tokens[0].clone();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..2 {
        ci.validate_session(pb::ValidateSessionRequest {
            session_token: token.clone(),
        })
        .await?;
    }
    proxy.freeze();
    let t0 = Instant::now();
    let stopped = loop {
        let call = ci.validate_session(pb::ValidateSessionRequest {
            session_token: token.clone(),
        });
        match tokio::time::timeout(Duration::from_millis(100), call).await {
            Ok(Ok(r)) if r.get_ref().valid => {}
            _ => break t0.elapsed(),
        }
        if t0.elapsed() > Duration::from_secs(10) {
            bail!("a partitioned replica kept serving from its cache for 10 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    push(
        format!(
            "partitioned replica stops serving from cache after {:.0} ms (lease {} ms − margin {} ms)",
            stopped.as_secs_f64() * 1000.0,
            roster::lease::LEASE.as_millis(),
            roster::lease::MARGIN.as_millis()
        ),
        None,
        None,
        None,
        None,
    );
    proxy.thaw();
    drop(c_chan);
    drop(c);
    Ok(())
}

/// A TCP proxy that can stop forwarding bytes while keeping its sockets
/// open (a silent partition).
struct FreezingProxy {
    addr: SocketAddr,
    frozen: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FreezingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FreezingProxy {
    async fn start(target: SocketAddr) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (frozen, rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::spawn(pipe(cr, sw, rx.clone()));
                    tokio::spawn(pipe(sr, cw, rx));
                });
            }
        });
        Ok(FreezingProxy { addr, frozen, task })
    }

    fn freeze(&self) {
        self.frozen.send_replace(true);
    }

    fn thaw(&self) {
        self.frozen.send_replace(false);
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Builds the runtime only after pinning, with one worker per CPU this
/// process may use: two workers time-sliced on one pinned core stall each
/// other for a scheduler tick (~4 ms), which would show up in every p99.
fn main() -> Result<()> {
    let args = Args::parse();
    let all_cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if args.serve_echo.is_none()
        && let Some(cpus) = &args.client_cpus
    {
        pin_self(cpus)?;
    }
    // After pinning, this counts the CPUs in the affinity mask.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?
        .block_on(run(args, all_cores))
}

async fn run(args: Args, all_cores: usize) -> Result<()> {
    if let Some(addr) = args.serve_echo {
        return serve_echo(addr).await;
    }
    let _ = SERVER_CORES.set(args.server_cpus.as_deref().map_or(all_cores, count_cpus));
    if let Some(cpus) = &args.server_cpus {
        let _ = SERVER_CPUS.set(cpus.clone());
    }
    let sizes = Sizes::new(args.quick);
    let duration = args.duration.unwrap_or(if args.quick {
        Duration::from_secs(3)
    } else {
        Duration::from_secs(5)
    });

    eprintln!("echo baseline …");
    let echo = EchoBaseline::start().await?;
    let s = echo.measure(args.in_flight, duration).await?;
    let mut rows = vec![Row {
        scenario: "echo (bare tonic unary)".into(),
        backend: "–".into(),
        ops: Some(s.ops),
        p50: Some(s.p50_ms),
        p99: Some(s.p99_ms),
        ratio: Some(1.0),
    }];

    let mut failed_backends = 0;
    for spec in &args.database_urls {
        if let Err(e) = bench_backend(spec, &args, &sizes, duration, &echo, &mut rows).await {
            failed_backends += 1;
            eprintln!("benchmark on {spec} failed: {e:#}");
            rows.push(Row {
                scenario: format!("FAILED: {e}"),
                backend: spec.split(':').next().unwrap_or("?").to_owned(),
                ops: None,
                p50: None,
                p99: None,
                ratio: None,
            });
        }
    }

    println!(
        "\nroster-bench ({}; {} in flight over {} connections unless stated, {:?} per load scenario; \
         {} cores, servers on CPUs {}, load generator on CPUs {}; ratios are to echo runs \
         made right before (and, for ValidateSession and CheckAccess, right after) each scenario)\n",
        if args.quick { "quick" } else { "full" },
        args.in_flight,
        CONNECTIONS,
        duration,
        all_cores,
        args.server_cpus.as_deref().unwrap_or("any"),
        args.client_cpus.as_deref().unwrap_or("any"),
    );
    println!("| scenario | backend | ops/s | p50 ms | p99 ms | ratio to echo |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.backend,
            fmt_opt(r.ops, 0),
            fmt_opt(r.p50, 2),
            fmt_opt(r.p99, 2),
            fmt_opt(r.ratio, 2)
        );
    }
    let failed_calls = FAILED_CALLS.load(Ordering::Relaxed);
    if failed_backends > 0 || failed_calls > 0 {
        bail!("{failed_backends} backend(s) failed, {failed_calls} call(s) failed");
    }
    Ok(())
}
