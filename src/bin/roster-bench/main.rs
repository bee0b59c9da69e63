//! `roster-bench`: starts `roster serve` itself, seeds realistic data,
//! drives load over real gRPC connections with a fixed number of requests
//! in flight, measures a bare tonic echo service in the same run as the
//! baseline, and prints one Markdown table.
//!
//! ```text
//! cargo build --release && cargo run --release --bin roster-bench -- --quick
//! cargo run --release --bin roster-bench -- --database-url sqlite --database-url postgres://u:p@host/db
//! ```
//!
//! For PostgreSQL the URL names a server and a database to connect to; the
//! benchmark creates (and afterwards drops) a fresh database next to it.
//!
//! Modules: `seed` (the data set) and `invariants` (checked after it),
//! `database` (one per backend), `server` (the processes and clients),
//! `echo` (the baseline), `load` (the driver), `scenarios` (the hot-path
//! table, RemoveMember, the sweep), `batches` (W4 batches and W2 at size),
//! `replicas` (C0), `report` (the table).

mod batches;
mod database;
mod echo;
mod invariants;
mod load;
#[path = "../../../tests/it/proxy.rs"]
mod proxy;
mod replicas;
mod report;
mod scenarios;
mod seed;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use roster::pb;
use tonic::transport::Channel;

use crate::database::Database;
use crate::echo::EchoBaseline;
use crate::report::Row;
use crate::scenarios::{HotPaths, SignedIn};
use crate::seed::{Seeded, Sizes};
use crate::server::{RssSampler, channels, identity_client, license_client, start_roster};

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
    /// Internal: only the rows that need a second replica (PostgreSQL),
    /// for iterating on them without the rest of a full run.
    #[arg(long, hide = true)]
    only_replicas: bool,
    /// Internal: serve the echo baseline on this address.
    #[arg(long, hide = true)]
    serve_echo: Option<SocketAddr>,
}

/// What every scenario on one backend needs.
pub struct Ctx<'a> {
    args: &'a Args,
    sizes: &'a Sizes,
    duration: Duration,
    echo: &'a EchoBaseline,
    label: &'static str,
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
        server::pin_self(cpus)?;
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
        return echo::serve_echo(addr).await;
    }
    server::place_servers(args.server_cpus.as_deref(), all_cores);
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
        ratio: Some(1.0),
        ..Row::measured("echo (bare tonic unary)", "–", &s, None)
    }];

    let mut failed_backends = 0;
    for spec in &args.database_urls {
        if let Err(e) = bench_backend(spec, &args, &sizes, duration, &echo, &mut rows).await {
            failed_backends += 1;
            eprintln!("benchmark on {spec} failed: {e:#}");
            let backend = spec.split(':').next().unwrap_or("?");
            rows.push(Row::note(format!("FAILED: {e}"), backend));
        }
    }

    report::print_table(&args, duration, all_cores, &rows);
    let failed_calls = report::failures();
    if failed_backends > 0 || failed_calls > 0 {
        bail!("{failed_backends} backend(s) failed, {failed_calls} call(s) failed");
    }
    Ok(())
}

/// Every row of one backend; its database is removed afterwards (unless
/// --keep-database), whether the run succeeded or not.
async fn bench_backend(
    spec: &str,
    args: &Args,
    sizes: &Sizes,
    duration: Duration,
    echo: &EchoBaseline,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let db = Database::prepare(spec).await?;
    let ctx = Ctx {
        args,
        sizes,
        duration,
        echo,
        label: db.label,
    };
    let result = bench_database(&ctx, &db.url, rows).await;
    db.finish(args.keep_database).await;
    result
}

/// The package and its admin go through the API so they are audited like
/// real ones; bulk data is inserted directly (and checked). Returns the
/// package and the seed.
async fn seed_through(ctx: &Ctx<'_>, url: &str) -> Result<(String, Seeded)> {
    let label = ctx.label;
    eprintln!("[{label}] migrating and seeding …");
    let t = Instant::now();
    let config = roster::config::Config::with_database(url.to_owned());
    let store = roster::open_store(&config, Arc::new(roster::store::SystemClock)).await?;
    let server = start_roster(url).await?;
    let chans = channels(server.addr).await?;
    let admin = identity_client(&chans[0], SERVICE_KEY)
        .create_identity(pb::CreateIdentityRequest {
            request_id: String::new(),
            identity: Some(pb::Identity {
                display_name: "Bench admin".into(),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .identity_id;
    let package = license_client(&chans[0])
        .create_license_package(pb::CreateLicensePackageRequest {
            request_id: String::new(),
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
    let seeded = seed::seed(store.db(), ctx.sizes, &package).await?;
    drop(store);
    eprintln!("[{label}] seeded in {:.1}s", t.elapsed().as_secs_f64());
    Ok((package, seeded))
}

/// The shared credential `bench-shared` of `package`: (ID, password).
async fn issue_credential(ch: &Channel, package: &str) -> Result<(String, String)> {
    let r = license_client(ch)
        .issue_credential(pb::IssueCredentialRequest {
            package_id: package.to_owned(),
            username: "bench-shared".to_owned(),
            password: String::new(),
        })
        .await
        .context("issue credential")?
        .into_inner();
    let credential = r
        .credential
        .context("IssueCredential returned no credential")?;
    Ok((credential.credential_id, r.password))
}

async fn bench_database(ctx: &Ctx<'_>, url: &str, rows: &mut Vec<Row>) -> Result<()> {
    let label = ctx.label;
    let (package, seeded) = seed_through(ctx, url).await?;
    // Restart so the server starts from the seeded state with cold caches.
    let server = start_roster(url).await?;
    let chans = channels(server.addr).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = server.rss_mib();

    let (credential, password) = issue_credential(&chans[0], &package).await?;
    let sample: Vec<String> = seeded
        .identities
        .iter()
        .skip(100)
        .take(64)
        .cloned()
        .collect();
    let sessions = server::sign_in_all(&chans[0], &sample, "bench-shared", &password).await?;
    let signed_in = SignedIn {
        credential: &credential,
        password: &password,
        identities: sample,
        sessions,
    };

    let sampler = RssSampler::start(server.child.id().unwrap_or(0));
    let mut hot = HotPaths::new(ctx, &chans, &seeded, url, &package, signed_in);
    if ctx.args.only_replicas {
        let write_org = &seeded.orgs[0].id;
        return replicas::replica_rows(&hot, &chans[0], write_org, rows).await;
    }
    hot.run(
        scenarios::hot_path_table(ctx.args.in_flight),
        &sampler,
        rows,
    )
    .await?;

    let rss = sampler.peak();
    eprintln!("[{label}] RemoveMember … (peak RSS so far {rss:.1} MiB)");
    scenarios::remove_member(ctx, &chans[0], &seeded, rows).await?;
    let rss = sampler.peak();
    eprintln!("[{label}] RunInactivitySweep … (peak RSS so far {rss:.1} MiB)");
    scenarios::inactivity_sweep(ctx, &chans[0], rows).await?;
    let rss = sampler.peak();
    eprintln!("[{label}] Batch* and OffboardIdentity … (peak RSS so far {rss:.1} MiB)");
    batches::batch_rows(ctx, &chans[0], url, &package, &seeded, rows).await?;

    let write_org = &seeded.orgs[0].id;
    replicas::one_replica_writes(ctx, &chans[0], write_org, &password, rows).await?;
    if label == "postgres" {
        replicas::replica_rows(&hot, &chans[0], write_org, rows).await?;
        replicas::revocation_propagation(ctx, url, &chans[0], &seeded, &password, rows).await?;
    }

    let loaded = sampler.finish();
    for (name, value) in [("idle RSS", idle), ("loaded RSS (peak)", Some(loaded))] {
        let scenario = format!("{name}: {} MiB", report::fmt_opt(value, 1));
        rows.push(Row::note(scenario, label));
    }
    Ok(())
}
