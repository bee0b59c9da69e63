//! C0 under faults, all real: an event row this release cannot decode, a
//! replica killed with SIGKILL, a replica whose database connection goes
//! silent (a freezing TCP proxy), and a database that stops (a private
//! PostgreSQL stopped and restarted with `pg_ctl`). Every fault must fail
//! closed: the old answer never, UNAVAILABLE or a fresh answer instead.

use std::time::{Duration, Instant};

use roster::lease::LEASE;
use roster::pb;
use sea_orm::ConnectionTrait;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::harness::{Backend, SERVICE_KEY, TestServer};
use crate::proxy::Proxy;

/// Scheduling slack on top of the bounds the design promises.
const SLACK: Duration = Duration::from_millis(1500);

macro_rules! pg_tests {
    ($($name:ident),* $(,)?) => {
        mod postgres_only {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if crate::harness::skip_postgres() {
                        return;
                    }
                    super::$name().await
                }
            )*
        }
    };
}

/// A signed-in identity with its token, B's cache warm for it.
async fn signed_in(a: &TestServer, name: &str) -> (String, String) {
    let id = a.create_identity(name).await;
    let package = a.create_package(pb::Plan::Business, 10, &[&id]).await;
    let (_, user, pass) = a
        .issue_credential(&package, &format!("u-{}", id.to_lowercase()))
        .await;
    let token = a.sign_in(&id, &user, &pass).await;
    (id, token)
}

async fn revoke(s: &TestServer, id: &str, token: &str) -> Result<(), tonic::Status> {
    s.identity(Some(token))
        .revoke_identity(pb::RevokeIdentityRequest {
            identity_id: id.to_owned(),
            ..Default::default()
        })
        .await
        .map(|_| ())
}

/// ValidateSession on `s` with a client-side deadline: `Some(valid)` when
/// it answered, `None` for an error or no answer in time.
async fn probe(s: &TestServer, token: &str, wait: Duration) -> Option<bool> {
    let mut client = s.svc_identity();
    let call = client.validate_session(pb::ValidateSessionRequest {
        session_token: token.to_owned(),
    });
    match tokio::time::timeout(wait, call).await {
        Ok(Ok(r)) => Some(r.into_inner().valid),
        _ => None,
    }
}

async fn health(s: &TestServer) -> Option<ServingStatus> {
    let mut client = tonic_health::pb::health_client::HealthClient::new(s.channel());
    let call = client.check(tonic_health::pb::HealthCheckRequest {
        service: String::new(),
    });
    match tokio::time::timeout(Duration::from_secs(1), call).await {
        Ok(Ok(r)) => ServingStatus::try_from(r.into_inner().status).ok(),
        _ => None,
    }
}

/// Polls `s`'s health until it is `want`; returns how long that took.
async fn health_becomes(s: &TestServer, want: ServingStatus, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if health(s).await == Some(want) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "health did not turn {want:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- an undecodable event ----------------------------------------------

/// Writes an event row of a type this release does not know, as a newer
/// release would during a rolling upgrade.
async fn insert_unknown_event(s: &TestServer) {
    let store = s.store().await;
    store
        .db()
        .execute_unprepared(
            "INSERT INTO events (seq, event_type, actor_kind, actor_id, subject_id, reason, \
             occurred_at, attributes) \
             SELECT COALESCE(MAX(seq), 0) + 1, 'SOMETHING_FROM_THE_FUTURE', 'SYSTEM', '', 'x', \
             '', 0, '{}' FROM events",
        )
        .await
        .expect("insert unknown event");
    if s.backend == Backend::Postgres {
        store
            .db()
            .execute_unprepared("SELECT pg_notify('roster_events', 'manual')")
            .await
            .expect("notify");
    }
}

async fn c0_an_unknown_event_invalidates_caches_and_the_feed_moves_past_it(backend: Backend) {
    let s = TestServer::start(backend).await;
    let (_, token) = signed_in(&s, "Ada").await;
    assert!(s.session_valid(&token).await);
    assert!(s.session_valid(&token).await);

    let mut stream = s
        .events(Some(SERVICE_KEY))
        .watch_events(pb::WatchEventsRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("first message in time")
        .expect("stream ok")
        .expect("stream open");
    assert!(first.event.is_none(), "the first message is a heartbeat");

    // The session row goes away without an event (as if a change this
    // release cannot decode had ended it): only "invalidate everything" on
    // the unknown row can drop the cached session.
    let store = s.store().await;
    store
        .db()
        .execute_unprepared("DELETE FROM sessions")
        .await
        .expect("delete sessions by hand");
    insert_unknown_event(&s).await;
    let start = Instant::now();
    while s.session_valid(&token).await {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the cached session survived an undecodable event"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The feed moved past it: a later change reaches the watcher.
    let after = s.create_identity("After").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline
            .checked_duration_since(Instant::now())
            .expect("the event after the unknown one was delivered in time");
        let msg = tokio::time::timeout(left, stream.message())
            .await
            .expect("the event after the unknown one was delivered in time")
            .expect("stream ok")
            .expect("stream open");
        if let Some(e) = msg.event
            && e.subject_id == after
        {
            break;
        }
    }
}

crate::db_tests!(c0_an_unknown_event_invalidates_caches_and_the_feed_moves_past_it);

// ---- a replica killed with SIGKILL -----------------------------------------

async fn live_leases(url: &str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM replica_leases \
         WHERE expires_at > (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count leases");
    n
}

async fn c0_a_killed_replica_delays_a_write_by_at_most_one_lease() {
    let a = TestServer::start(Backend::Postgres).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("serve")
        .env("DATABASE_URL", &a.database_url)
        .env("ROSTER_LISTEN", "127.0.0.1:0")
        .env("ROSTER_SERVICE_KEYS", format!("test={SERVICE_KEY}"))
        .env("ROSTER_SWEEP_INTERVAL", "0s")
        .env_remove("ROSTER_METRICS_LISTEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start roster serve");
    let start = Instant::now();
    while live_leases(&a.database_url).await < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the child replica never took a lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // While it runs, it acknowledges promptly.
    let (id, token) = signed_in(&a, "Ada").await;
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("reaped");
    let start = Instant::now();
    revoke(&a, &id, &token).await.expect("revoke on A");
    let waited = start.elapsed();
    assert!(
        waited < LEASE + SLACK,
        "a write waited {waited:?} for a killed replica (lease {LEASE:?})"
    );
    // Once its lease has expired, writes no longer wait for it.
    let start = Instant::now();
    a.create_identity("Later").await;
    assert!(start.elapsed() < Duration::from_millis(500));
}

// ---- a silent partition ----------------------------------------------------

fn pg_addr(url: &str) -> std::net::SocketAddr {
    let rest = url.split_once('@').expect("URL has a host").1;
    let hostport = rest.split('/').next().expect("host:port");
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    };
    let hostport = hostport.replace("localhost", "127.0.0.1");
    hostport.parse().expect("numeric host:port")
}

async fn c0_a_partitioned_replica_never_serves_the_old_answer() {
    let a = TestServer::start(Backend::Postgres).await;
    let proxy = Proxy::start(pg_addr(&a.database_url)).await;
    let (head, tail) = a.database_url.split_once('@').expect("URL has a host");
    let db = tail.split_once('/').expect("URL has a database").1;
    let b = a.replica_via(format!("{head}@{}/{db}", proxy.addr)).await;
    let (ada, token) = signed_in(&a, "Ada").await;
    let (_, bob_token) = signed_in(&a, "Bob").await;
    for _ in 0..2 {
        assert!(b.session_valid(&token).await);
        assert!(b.session_valid(&bob_token).await);
    }

    proxy.freeze();
    let start = Instant::now();
    revoke(&a, &ada, &token).await.expect("revoke on A");
    let waited = start.elapsed();
    assert!(
        waited < LEASE + SLACK,
        "the revoke waited {waited:?} for a partitioned replica (lease {LEASE:?})"
    );

    // B is cut off: it may answer from the database (it cannot), refuse,
    // or not answer in time — never "valid" for the revoked identity.
    let mut stale = 0;
    let mut probes = 0;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        probes += 1;
        if probe(&b, &token, Duration::from_millis(200)).await == Some(true) {
            stale += 1;
        }
    }
    assert_eq!(
        stale, 0,
        "{stale} of {probes} probes on partitioned B said valid"
    );
    // Given time, it refuses rather than hangs.
    let res = b
        .svc_identity()
        .validate_session(pb::ValidateSessionRequest {
            session_token: token.clone(),
        })
        .await;
    match res {
        Err(s) => assert_eq!(s.code(), Code::Unavailable, "{s:?}"),
        Ok(r) => assert!(!r.into_inner().valid, "partitioned B said valid"),
    }

    proxy.thaw();
    let start = Instant::now();
    loop {
        if probe(&b, &token, Duration::from_secs(1)).await == Some(false)
            && probe(&b, &bob_token, Duration::from_secs(1)).await == Some(true)
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "B did not recover after the thaw"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    health_becomes(&b, ServingStatus::Serving, Duration::from_secs(10)).await;
}

// ---- the database stopped --------------------------------------------------

/// A private PostgreSQL in a temporary directory, on a free port, run as
/// the `postgres` user when the tests run as root.
struct PrivatePg {
    dir: tempfile::TempDir,
    port: u16,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn as_postgres(program: &str) -> std::process::Command {
    let path = format!("{PG_BIN}/{program}");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if root {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--", &path]);
        c
    } else {
        std::process::Command::new(path)
    }
}

impl PrivatePg {
    /// None when PostgreSQL 15's binaries are not installed here.
    fn start() -> Option<PrivatePg> {
        if !std::path::Path::new(PG_BIN).join("pg_ctl").exists() {
            return None;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let _ = std::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status();
        let data = dir.path().join("data");
        let ok = as_postgres("initdb")
            .args(["-A", "trust", "-U", "roster", "--no-sync", "-D"])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run initdb")
            .success();
        assert!(ok, "initdb failed");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let pg = PrivatePg { dir, port };
        pg.pg_ctl_start();
        Some(pg)
    }

    fn url(&self) -> String {
        format!("postgres://roster@127.0.0.1:{}/postgres", self.port)
    }

    fn pg_ctl_start(&self) {
        let ok = as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .arg("-o")
            .arg(format!(
                "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
                self.port,
                self.dir.path().display()
            ))
            .args(["-w", "start"])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run pg_ctl start")
            .success();
        assert!(ok, "pg_ctl start failed");
    }

    fn pg_ctl_stop(&self) {
        let _ = as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(std::process::Stdio::null())
            .status();
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        self.pg_ctl_stop();
    }
}

async fn c0_a_stopped_database_fails_fast_and_health_follows() {
    let Some(pg) = PrivatePg::start() else {
        eprintln!("skipped: no PostgreSQL 15 binaries in {PG_BIN}");
        return;
    };
    let a = TestServer::start_at(Backend::Postgres, pg.url()).await;
    let (_, token) = signed_in(&a, "Ada").await;
    assert!(a.session_valid(&token).await);
    assert_eq!(health(&a).await, Some(ServingStatus::Serving));

    pg.pg_ctl_stop();
    // A write needs the database: UNAVAILABLE within the acquire timeout.
    let start = Instant::now();
    let res = a
        .svc_identity()
        .create_identity(pb::CreateIdentityRequest {
            request_id: String::new(),
            identity: Some(pb::Identity {
                display_name: "Nobody".to_owned(),
                ..Default::default()
            }),
        })
        .await;
    let took = start.elapsed();
    assert_eq!(res.expect_err("no database").code(), Code::Unavailable);
    let bound = roster::store::DEFAULT_ACQUIRE_TIMEOUT + SLACK;
    assert!(took < bound, "a write took {took:?} to fail");
    // Reads stop being served from the cache (the lease lapses) and fail
    // the same way, each within the acquire timeout.
    let start = Instant::now();
    loop {
        let t = Instant::now();
        let res = a
            .svc_identity()
            .validate_session(pb::ValidateSessionRequest {
                session_token: token.clone(),
            })
            .await;
        assert!(t.elapsed() < bound, "a read took {:?}", t.elapsed());
        match res {
            Err(s) if s.code() == Code::Unavailable => break,
            Err(s) => panic!("unexpected status {s:?}"),
            Ok(_) => assert!(
                start.elapsed() < LEASE + SLACK,
                "still answering from the cache {:?} after the database stopped",
                start.elapsed()
            ),
        }
    }
    let down = health_becomes(&a, ServingStatus::NotServing, Duration::from_secs(5)).await;

    pg.pg_ctl_start();
    let up = health_becomes(&a, ServingStatus::Serving, Duration::from_secs(10)).await;
    eprintln!("health: NOT_SERVING {down:?} after the reads failed, SERVING {up:?} after restart");
    let start = Instant::now();
    loop {
        match probe(&a, &token, Duration::from_secs(3)).await {
            Some(true) => break,
            _ => assert!(
                start.elapsed() < Duration::from_secs(10),
                "calls did not recover"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- a burst of writes ---------------------------------------------------

/// C0 under load: a burst of writes on B, far more than B's connection
/// pool holds, while A is a live replica. Each commit waits for A's
/// acknowledgement; neither those waits nor the writes queueing for a
/// connection may starve B's own feed and lease renewal (had B's renewal
/// queued behind the writes for longer than a lease, B would have lapsed:
/// caches off, writers on A no longer waiting for it). So both leases stay
/// live throughout, and every write answers OK or, when no connection
/// came free in time, UNAVAILABLE.
async fn c0_a_burst_of_writes_does_not_starve_the_feed() {
    const WRITES: usize = 1000;
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.replica_tuned(|c| c.db_max_connections = 2).await;
    let start = Instant::now();
    while live_leases(&a.database_url).await < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "B never took a lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    let sampler = async {
        let (mut samples, mut lapsed) = (0usize, 0usize);
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            samples += 1;
            if live_leases(&a.database_url).await < 2 {
                lapsed += 1;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (samples, lapsed)
    };
    // The burst on a connection of its own, so the probes do not queue
    // behind its streams.
    let own = tonic::transport::Channel::from_shared(format!("http://{}", b.addr))
        .expect("uri")
        .connect_lazy();
    let bearer: tonic::metadata::MetadataValue<_> =
        format!("Bearer {SERVICE_KEY}").parse().expect("ascii");
    let burst = async {
        let calls = (0..WRITES).map(|i| {
            let bearer = bearer.clone();
            let mut svc = pb::identity_service_client::IdentityServiceClient::with_interceptor(
                own.clone(),
                move |mut req: tonic::Request<()>| {
                    req.metadata_mut().insert("authorization", bearer.clone());
                    Ok(req)
                },
            );
            async move {
                svc.create_identity(pb::CreateIdentityRequest {
                    identity: Some(pb::Identity {
                        display_name: format!("Burst {i}"),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await
                .map(|_| ())
            }
        });
        let results = futures::future::join_all(calls).await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        results
    };
    let started = Instant::now();
    let ((samples, lapsed), results) = tokio::join!(sampler, burst);
    let took = started.elapsed();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        if let Err(s) = r {
            assert_eq!(
                s.code(),
                Code::Unavailable,
                "a write failed otherwise: {s:?}"
            );
        }
    }
    assert!(ok > 0, "no write of the burst succeeded");
    assert!(
        samples >= 5,
        "the burst ({took:?}) ended before it was sampled ({samples} samples)"
    );
    assert_eq!(
        lapsed, 0,
        "a lease lapsed in {lapsed} of {samples} samples during a burst of {WRITES} writes on \
         B ({ok} OK, {took:?})"
    );
}

pg_tests!(
    c0_a_burst_of_writes_does_not_starve_the_feed,
    c0_a_killed_replica_delays_a_write_by_at_most_one_lease,
    c0_a_partitioned_replica_never_serves_the_old_answer,
    c0_a_stopped_database_fails_fast_and_health_follows,
);
