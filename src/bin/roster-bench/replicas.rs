//! C0 ("true on return") figures: write latency with one replica and, on
//! PostgreSQL, with two (each commit waits for the other replica's
//! acknowledgement), old answers right after a write returned, the hot
//! paths under churn on another replica, how long a partitioned replica
//! keeps serving from its caches, and revocation propagation.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use roster::pb;
use roster::pb::membership_service_client::MembershipServiceClient;
use tonic::transport::Channel;

use crate::proxy::Proxy;
use crate::report::{Row, Stats, count_failures, stats};
use crate::scenarios::{Call, HotPaths};
use crate::seed::Seeded;
use crate::server::{
    Authed, channels, identity_client, membership_client, sign_in_all, start_roster,
};
use crate::{Ctx, SERVICE_KEY};

/// Writes per write-latency row.
const WRITES: usize = 50;
/// Churn writes in flight at most.
const CHURN_IN_FLIGHT: usize = 32;
/// How long the churn runs alone before the hot paths are measured.
const CHURN_ALONE: Duration = Duration::from_secs(3);

struct Writes {
    revoke: Stats,
    deactivate: Stats,
    /// Probes on B sent right after A answered that saw the old state.
    old: usize,
    trials: usize,
}

/// The write-latency rows of `w` ("…, {replicas}").
fn write_rows(ctx: &Ctx<'_>, w: &Writes, replicas: &str, rows: &mut Vec<Row>) {
    for (what, st) in [
        ("RevokeIdentity", &w.revoke),
        ("DeactivateMember", &w.deactivate),
    ] {
        let name = format!("{what} write latency, {replicas}");
        rows.push(Row::latency(name, ctx.label, st));
    }
}

/// Write latency on the only replica.
pub async fn one_replica_writes(
    ctx: &Ctx<'_>,
    a: &Channel,
    org: &str,
    password: &str,
    rows: &mut Vec<Row>,
) -> Result<()> {
    eprintln!("[{}] write latency, 1 replica …", ctx.label);
    let w = writes(a, None, org, password, WRITES).await?;
    write_rows(ctx, &w, "1 replica", rows);
    Ok(())
}

/// `n` identities created and added to `org` as members through `ch`.
async fn new_members(ch: &Channel, org: &str, display_name: &str, n: usize) -> Result<Vec<String>> {
    let mut svc = identity_client(ch, SERVICE_KEY);
    let mut m = membership_client(ch);
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let id = svc
            .create_identity(pb::CreateIdentityRequest {
                request_id: String::new(),
                identity: Some(pb::Identity {
                    display_name: display_name.into(),
                    ..Default::default()
                }),
            })
            .await?
            .into_inner()
            .identity_id;
        m.add_member(pb::AddMemberRequest {
            request_id: String::new(),
            organization_id: org.to_owned(),
            identity_id: id.clone(),
            role: pb::MemberRole::Member as i32,
        })
        .await?;
        ids.push(id);
    }
    Ok(ids)
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
    let subjects = new_members(a, org, "Write subject", n).await?;
    let tokens = sign_in_all(a, &subjects, "bench-shared", password).await?;
    let (deactivate, d_old) = deactivations(a, b, org, &subjects).await?;
    let (revoke, r_old) = revocations(a, b, &subjects, &tokens).await?;
    let trials = if b.is_some() { 2 * subjects.len() } else { 0 };
    Ok(Writes {
        revoke,
        deactivate,
        old: d_old + r_old,
        trials,
    })
}

/// DeactivateMember of each subject on `a`, timed; returns the figures
/// and how many of B's answers right after were still "allowed".
async fn deactivations(
    a: &Channel,
    b: Option<&Channel>,
    org: &str,
    subjects: &[String],
) -> Result<(Stats, usize)> {
    let mut m = membership_client(a);
    let mut bm = b.map(membership_client);
    let access = |id: &str| pb::CheckAccessRequest {
        identity_id: id.to_owned(),
        organization_id: org.to_owned(),
        room_id: String::new(),
    };
    let mut old = 0;
    let mut lat = Vec::with_capacity(subjects.len());
    let t = Instant::now();
    for id in subjects {
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
        if let Some(bm) = bm.as_mut()
            && bm.check_access(access(id)).await?.get_ref().allowed
        {
            old += 1;
        }
    }
    Ok((stats(lat, t.elapsed()), old))
}

/// RevokeIdentity of each subject by itself on `a`, timed; returns the
/// figures and how many of B's answers right after were still "valid".
async fn revocations(
    a: &Channel,
    b: Option<&Channel>,
    subjects: &[String],
    tokens: &[String],
) -> Result<(Stats, usize)> {
    let mut bi = b.map(|c| identity_client(c, SERVICE_KEY));
    let mut old = 0;
    let mut lat = Vec::with_capacity(subjects.len());
    let t = Instant::now();
    for (id, token) in subjects.iter().zip(tokens) {
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
        if let Some(bi) = bi.as_mut()
            && bi.validate_session(validate()).await?.get_ref().valid
        {
            old += 1;
        }
    }
    Ok((stats(lat, t.elapsed()), old))
}

/// PostgreSQL rows that need a second (and third) replica: write latency
/// with 2 replicas and old answers after return, the hot paths under
/// churn on another replica, and how long a partitioned replica keeps
/// serving from its caches. `a` is the server `hot` calls; `org` gets the
/// write subjects.
pub async fn replica_rows(
    hot: &HotPaths<'_>,
    a: &Channel,
    org: &str,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let (ctx, url, password, seeded) = (hot.ctx, hot.url, hot.password.as_str(), hot.seeded);
    let label = ctx.label;
    eprintln!("[{label}] write latency, 2 replicas …");
    let replica = start_roster(url).await?;
    let b_chan = channels(replica.addr).await?;
    // B takes its lease on its first feed round.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let w = writes(a, Some(&b_chan[0]), org, password, WRITES).await?;
    write_rows(ctx, &w, "2 replicas", rows);
    rows.push(Row::note(
        format!(
            "old answers on B right after A returned (DeactivateMember, RevokeIdentity): {} / {}",
            w.old, w.trials
        ),
        label,
    ));
    if w.old > 0 {
        count_failures(w.old as u64);
        eprintln!("  C0 violated: {} old answers", w.old);
    }
    // Churn: 1 % of the members change per second, on B.
    let members: usize = seeded.orgs.iter().map(|o| o.members.len()).sum();
    let orgs: Vec<&str> = seeded.orgs.iter().map(|o| o.id.as_str()).collect();
    under_churn(ctx, hot, &b_chan[0], &orgs, (members / 100).max(1), rows).await?;
    // The churn's seat changes ran concurrently: seat counts still equal
    // the attachments, every active member still holds a seat, ….
    let db = roster::store::connect(url, 1).await?;
    crate::invariants::check(&db, false)
        .await
        .context("after the churn")?;
    drop(b_chan);
    drop(replica);
    partitioned_replica(ctx, url, &hot.sessions[0], rows).await
}

/// Member churn on another replica: every churner alternates
/// DeactivateMember and ReactivateMember once per second on its own task
/// (start times spread over the first second), so `churners.len()` changes
/// per second as long as the writes keep up, with at most `CHURN_IN_FLIGHT`
/// of them in flight (as a well-behaved client would: the rest wait their
/// turn instead of queueing for B's connection pool). A refused or failed
/// change is counted, and the first one kept for the report.
struct Churn {
    stop: Arc<AtomicBool>,
    changes: Arc<AtomicU64>,
    failures: Arc<AtomicU64>,
    first_failure: Arc<std::sync::Mutex<Option<tonic::Status>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Churn {
    fn start(m: MembershipServiceClient<Authed>, churners: Vec<(String, String)>) -> Churn {
        let stop = Arc::new(AtomicBool::new(false));
        let changes = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(AtomicU64::new(0));
        let first_failure = Arc::new(std::sync::Mutex::new(None));
        let n = churners.len().max(1) as u32;
        let in_flight = Arc::new(tokio::sync::Semaphore::new(CHURN_IN_FLIGHT));
        let tasks = churners
            .into_iter()
            .enumerate()
            .map(|(i, (org, id))| {
                let (stop, changes) = (stop.clone(), changes.clone());
                let (failures, first) = (failures.clone(), first_failure.clone());
                let (mut m, in_flight) = (m.clone(), in_flight.clone());
                tokio::spawn(async move {
                    let start = tokio::time::Instant::now() + Duration::from_secs(1) * i as u32 / n;
                    let mut tick = tokio::time::interval_at(start, Duration::from_secs(1));
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    let mut deactivated = false;
                    while !stop.load(Ordering::Relaxed) {
                        tick.tick().await;
                        let Ok(_turn) = in_flight.acquire().await else {
                            break;
                        };
                        match Self::change(&mut m, &org, &id, !deactivated).await {
                            Ok(()) => {
                                deactivated = !deactivated;
                                changes.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(status) => {
                                if let Ok(mut f) = first.lock() {
                                    f.get_or_insert(status);
                                }
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                })
            })
            .collect();
        Churn {
            stop,
            changes,
            failures,
            first_failure,
            tasks,
        }
    }

    async fn change(
        m: &mut MembershipServiceClient<Authed>,
        org: &str,
        id: &str,
        deactivate: bool,
    ) -> Result<(), tonic::Status> {
        let (organization_id, identity_id) = (org.to_owned(), id.to_owned());
        if deactivate {
            m.deactivate_member(pb::DeactivateMemberRequest {
                organization_id,
                identity_id,
                ..Default::default()
            })
            .await
            .map(|_| ())
        } else {
            m.reactivate_member(pb::ReactivateMemberRequest {
                request_id: String::new(),
                organization_id,
                identity_id,
            })
            .await
            .map(|_| ())
        }
    }

    /// Zeroes the counts (after the warm-up).
    fn reset(&self) {
        self.changes.store(0, Ordering::Relaxed);
        self.failures.store(0, Ordering::Relaxed);
    }

    /// Stops; returns the changes and failures since the last reset, and
    /// the first failure.
    async fn finish(self) -> (u64, u64, Option<tonic::Status>) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            let _ = t.await;
        }
        let first = self.first_failure.lock().ok().and_then(|mut f| f.take());
        (
            self.changes.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
            first,
        )
    }
}

/// CheckAccess and ValidateSession on A while B changes `rate` members
/// (spread over `orgs`) per second; ratios to echo runs bracketing both.
async fn under_churn(
    ctx: &Ctx<'_>,
    hot: &HotPaths<'_>,
    b: &Channel,
    orgs: &[&str],
    rate: usize,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let (label, echo) = (ctx.label, ctx.echo);
    let (in_flight, duration) = (ctx.args.in_flight, ctx.duration);
    eprintln!("[{label}] hot paths under churn ({rate} member changes/s on B) …");
    // Spread over the organizations as real churn is (one organization's
    // changes queue on its row lock).
    let mut churners = Vec::with_capacity(rate);
    for i in 0..rate {
        let org = orgs[i % orgs.len()];
        let id = new_members(b, org, "Churn", 1).await?.remove(0);
        churners.push((org.to_owned(), id));
    }
    let churn = Churn::start(membership_client(b), churners);
    // Steady state first, as for the plain CheckAccess row: every probe
    // answered once, so the row measures what the churn costs.
    hot.warm_probes().await?;
    // What B sustains while A is idle: tells a churn row that falls short
    // of its target on a small machine (the hot-path load below takes
    // every core) from writes that cannot keep up at all.
    churn.reset();
    eprintln!("  churn alone for {CHURN_ALONE:?} …");
    let t = Instant::now();
    tokio::time::sleep(CHURN_ALONE).await;
    let alone = churn.changes.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64();
    rows.push(Row::note(
        format!("churn B sustains while A is idle: {alone:.0} member changes/s (target {rate})"),
        label,
    ));
    let t = Instant::now();
    churn.reset();
    let echo_before = echo.measure(in_flight, duration).await?.ops;
    let access = hot.load(Call::CheckAccess, in_flight).await?;
    let validate = hot.load(Call::ValidateSession, in_flight).await?;
    let echo_after = echo.measure(in_flight, duration).await?.ops;
    let (changes, failures, first) = churn.finish().await;
    let achieved = changes as f64 / t.elapsed().as_secs_f64();
    if failures > 0 {
        let first = first.map_or(String::new(), |s| {
            format!("{:?}: {}", s.code(), s.message())
        });
        eprintln!("  churn: {failures} changes refused or failed; the first: {first}");
        rows.push(Row::note(
            format!("churn changes refused or failed: {failures} (first: {first})"),
            label,
        ));
    }
    let echo_ops = (echo_before + echo_after) / 2.0;
    for (what, st) in [("CheckAccess", &access), ("ValidateSession", &validate)] {
        let name =
            format!("{what} under churn ({achieved:.0} member changes/s on B, target {rate})");
        rows.push(Row::measured(name, label, st, Some(echo_ops)));
    }
    Ok(())
}

/// The database server's address in a `postgres://user:pw@host[:port]/db`
/// URL.
async fn database_addr(url: &str) -> Result<SocketAddr> {
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
        .context("resolving the database host")
}

/// A replica whose database connection goes silent: how long it keeps
/// answering ValidateSession for `token` from its cache.
async fn partitioned_replica(
    ctx: &Ctx<'_>,
    url: &str,
    token: &str,
    rows: &mut Vec<Row>,
) -> Result<()> {
    eprintln!("[{}] partitioned replica …", ctx.label);
    let proxy = Proxy::start(database_addr(url).await?).await;
    let proxied = {
        let (head, tail) = url.split_once('@').context("database URL has no host")?;
        let db = tail.split_once('/').map_or("", |(_, d)| d);
        format!("{head}@{}/{db}", proxy.addr)
    };
    let c = start_roster(&proxied).await?;
    let c_chan = channels(c.addr).await?;
    let mut ci = identity_client(&c_chan[0], SERVICE_KEY);
    let validate = || pb::ValidateSessionRequest {
        session_token: token.to_owned(),
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..2 {
        ci.validate_session(validate()).await?;
    }
    proxy.freeze();
    let t0 = Instant::now();
    let stopped = loop {
        let call = ci.validate_session(validate());
        match tokio::time::timeout(Duration::from_millis(100), call).await {
            Ok(Ok(r)) if r.get_ref().valid => {}
            _ => break t0.elapsed(),
        }
        if t0.elapsed() > Duration::from_secs(10) {
            bail!("a partitioned replica kept serving from its cache for 10 s");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    rows.push(Row::note(
        format!(
            "partitioned replica stops serving from cache after {:.0} ms (lease {} ms − margin {} ms)",
            stopped.as_secs_f64() * 1000.0,
            roster::lease::LEASE.as_millis(),
            roster::lease::MARGIN.as_millis()
        ),
        ctx.label,
    ));
    proxy.thaw();
    drop(c_chan);
    drop(c);
    Ok(())
}

/// Revocation propagation between two replicas: from before the commit on
/// A until B denies the session.
pub async fn revocation_propagation(
    ctx: &Ctx<'_>,
    url: &str,
    a: &Channel,
    seeded: &Seeded,
    password: &str,
    rows: &mut Vec<Row>,
) -> Result<()> {
    eprintln!("[{}] revocation propagation …", ctx.label);
    let replica = start_roster(url).await?;
    let b_chan = channels(replica.addr).await?;
    let mut b = identity_client(&b_chan[0], SERVICE_KEY);
    let victims: Vec<String> = seeded
        .identities
        .iter()
        .skip(1000)
        .take(50)
        .cloned()
        .collect();
    let victim_tokens = sign_in_all(a, &victims, "bench-shared", password).await?;
    let mut lat = Vec::new();
    let start = Instant::now();
    for (id, token) in victims.iter().zip(&victim_tokens) {
        let validate = || pb::ValidateSessionRequest {
            session_token: token.clone(),
        };
        for _ in 0..3 {
            if !b.validate_session(validate()).await?.get_ref().valid {
                bail!("replica B does not know the session");
            }
        }
        // From before the commit on A (so the figure includes A's commit)
        // until B denies.
        let t0 = Instant::now();
        identity_client(a, token)
            .revoke_identity(pb::RevokeIdentityRequest {
                identity_id: id.clone(),
                ..Default::default()
            })
            .await
            .context("revoke on A")?;
        while b.validate_session(validate()).await?.get_ref().valid {
            if t0.elapsed() > Duration::from_secs(10) {
                bail!("replica B still accepts a revoked session after 10s");
            }
        }
        lat.push(t0.elapsed().as_micros() as u64);
    }
    let s = stats(lat, start.elapsed());
    let name = "revocation propagation (commit on A → deny on B)";
    rows.push(Row::latency(name, ctx.label, &s));
    drop(replica);
    Ok(())
}
