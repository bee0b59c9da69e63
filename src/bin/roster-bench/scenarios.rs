//! The scenarios on one server: the hot paths as a table run by one driver
//! (each row: what to prepare, which echo runs its ratio is taken against,
//! what is called and how many in flight), then RemoveMember and the
//! inactivity sweep, one call at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use rand::RngExt;
use rand::seq::{IndexedRandom, SliceRandom};
use roster::pb;
use roster::pb::identity_service_client::IdentityServiceClient;
use roster::pb::membership_service_client::MembershipServiceClient;
use tonic::transport::Channel;

use crate::load::drive;
use crate::report::{Row, Stats, stats};
use crate::seed::{Seeded, seed_sessions};
use crate::server::{Authed, RssSampler, identity_client, membership_client, server_cores};
use crate::{CONNECTIONS, Ctx, SERVICE_KEY, SIGN_IN_IN_FLIGHT};

/// (identity, organization, room) of a CheckAccess call.
pub type Probe = (String, String, String);

/// One hot-path row.
pub struct Scenario {
    progress: Progress,
    prepare: Prepare,
    baseline: Baseline,
    call: Call,
    in_flight: usize,
    name: Name,
}

/// The progress line on stderr before a scenario.
enum Progress {
    Silent,
    Plain(&'static str),
    /// With the server's peak RSS so far.
    WithRss(&'static str),
}

/// Unmeasured work right before the scenario's echo run.
enum Prepare {
    Nothing,
    /// Every probe answered once (steady state).
    WarmProbes,
    /// Every (member, organization, room) that no probe asks, shuffled.
    FreshProbes,
    /// Insert the never-validated sessions.
    SeedSessions,
    /// Every ResolveProfiles batch answered once.
    WarmBatches,
}

/// Which echo runs the ratio is taken against.
enum Baseline {
    /// The mean of runs right before and right after: this VM's speed
    /// drifts, and an echo run on one side only would carry that drift
    /// into the ratio.
    Bracket,
    /// A run right before.
    Before,
    /// The run taken before an earlier scenario.
    Previous,
}

#[derive(Clone, Copy)]
pub enum Call {
    /// ValidateSession over the signed-in sessions.
    ValidateSession,
    /// ValidateSession, each seeded session once.
    ValidateSessionMiss,
    /// CheckAccess over the probes.
    CheckAccess,
    /// CheckAccess, each fresh probe once.
    CheckAccessMiss,
    /// ResolveProfiles over the batches.
    ResolveProfiles,
    /// SignIn with the shared credential.
    SignIn,
}

enum Name {
    Fixed(String),
    /// The SignIn row, which states the rate per server core.
    SignIn,
}

impl Scenario {
    fn new(name: impl Into<String>, call: Call, in_flight: usize, baseline: Baseline) -> Self {
        Scenario {
            progress: Progress::Silent,
            prepare: Prepare::Nothing,
            baseline,
            call,
            in_flight,
            name: Name::Fixed(name.into()),
        }
    }

    fn prepare(self, prepare: Prepare) -> Self {
        Scenario { prepare, ..self }
    }

    fn progress(self, progress: Progress) -> Self {
        Scenario { progress, ..self }
    }

    fn name(&self, s: &Stats) -> String {
        match &self.name {
            Name::Fixed(name) => name.clone(),
            Name::SignIn => format!(
                "SignIn ({}; {SIGN_IN_IN_FLIGHT} in flight; {:.0} ops/s per server core)",
                roster::domain::secrets::HashCost::RECOMMENDED,
                s.ops / server_cores() as f64
            ),
        }
    }
}

/// The hot-path rows, in the order they run.
pub fn hot_path_table(in_flight: usize) -> Vec<Scenario> {
    use Baseline::*;
    let profiles = |n: usize| format!("ResolveProfiles (1000 IDs, {n} in flight)");
    let mut sign_in = Scenario::new("", Call::SignIn, in_flight.min(SIGN_IN_IN_FLIGHT), Previous)
        .progress(Progress::WithRss("SignIn"));
    sign_in.name = Name::SignIn;
    vec![
        Scenario::new("ValidateSession", Call::ValidateSession, in_flight, Bracket)
            .progress(Progress::WithRss("ValidateSession")),
        // A random member of a random room.
        Scenario::new("CheckAccess", Call::CheckAccess, in_flight, Bracket)
            .progress(Progress::WithRss("CheckAccess"))
            .prepare(Prepare::WarmProbes),
        // Every call a cache miss (C0 costs most where the cache cannot
        // help): keys never repeated within the run.
        Scenario::new(
            "CheckAccess, every call a cache miss",
            Call::CheckAccessMiss,
            in_flight,
            Before,
        )
        .progress(Progress::Plain(
            "CheckAccess and ValidateSession, every call a cache miss",
        ))
        .prepare(Prepare::FreshProbes),
        Scenario::new(
            "ValidateSession, every call a cache miss",
            Call::ValidateSessionMiss,
            in_flight,
            Before,
        )
        .prepare(Prepare::SeedSessions),
        // 1,000 IDs, members and non-members mixed.
        Scenario::new(profiles(1), Call::ResolveProfiles, 1, Before)
            .progress(Progress::WithRss("ResolveProfiles"))
            .prepare(Prepare::WarmBatches),
        Scenario::new(
            profiles(in_flight),
            Call::ResolveProfiles,
            in_flight,
            Previous,
        ),
        // argon2id bound. Every attempt in flight holds a slot of the
        // sign-in limit (I5) for its username and address, and all of
        // these share one credential: more than 10 at once are refused by
        // design. 8 keep argon2 busy.
        sign_in,
    ]
}

/// Which key a call uses.
#[derive(Clone)]
enum Pick {
    /// Key `(worker * stride + call) % len`: every worker walks the keys
    /// from its own offset.
    Cycle(usize),
    /// Each key once over all workers; a call past the end fails.
    Once(Arc<AtomicUsize>),
}

impl Pick {
    fn once() -> Pick {
        Pick::Once(Arc::new(AtomicUsize::new(0)))
    }

    fn index(&self, w: usize, i: u64, len: usize) -> Option<usize> {
        match self {
            Pick::Cycle(stride) => Some((w * stride + i as usize) % len),
            Pick::Once(next) => Some(next.fetch_add(1, Ordering::Relaxed)).filter(|&k| k < len),
        }
    }
}

/// The hot-path clients over one server's connections and the keys they
/// call with.
pub struct HotPaths<'a> {
    pub ctx: &'a Ctx<'a>,
    pub seeded: &'a Seeded,
    /// The server's database.
    pub url: &'a str,
    package: &'a str,
    credential: &'a str,
    identity: Arc<Vec<IdentityServiceClient<Authed>>>,
    membership: Arc<Vec<MembershipServiceClient<Authed>>>,
    anonymous: Arc<Vec<IdentityServiceClient<Channel>>>,
    /// Signed in with the shared credential.
    pub sessions: Arc<Vec<String>>,
    /// Who signs in, cycling.
    signers: Arc<Vec<String>>,
    /// The shared credential's password.
    pub password: String,
    /// 10,000 random (member, organization, room) triples.
    pub probes: Arc<Vec<Probe>>,
    fresh_probes: Arc<Vec<Probe>>,
    fresh_sessions: Arc<Vec<String>>,
    batches: Arc<Vec<(String, Vec<String>)>>,
}

/// The shared credential (`bench-shared`) and who is signed in with it.
pub struct SignedIn<'a> {
    pub credential: &'a str,
    pub password: &'a str,
    pub identities: Vec<String>,
    pub sessions: Vec<String>,
}

impl<'a> HotPaths<'a> {
    pub fn new(
        ctx: &'a Ctx<'a>,
        chans: &[Channel],
        seeded: &'a Seeded,
        url: &'a str,
        package: &'a str,
        signed_in: SignedIn<'a>,
    ) -> Self {
        let anonymous = chans.iter().map(|c| IdentityServiceClient::new(c.clone()));
        HotPaths {
            ctx,
            seeded,
            url,
            package,
            credential: signed_in.credential,
            identity: Arc::new(
                chans
                    .iter()
                    .map(|c| identity_client(c, SERVICE_KEY))
                    .collect(),
            ),
            membership: Arc::new(chans.iter().map(membership_client).collect()),
            anonymous: Arc::new(anonymous.collect()),
            sessions: Arc::new(signed_in.sessions),
            signers: Arc::new(signed_in.identities),
            password: signed_in.password.to_owned(),
            probes: Arc::new(random_probes(seeded)),
            fresh_probes: Arc::default(),
            fresh_sessions: Arc::default(),
            batches: Arc::default(),
        }
    }

    /// Runs `table` in order, one row each.
    pub async fn run(
        &mut self,
        table: Vec<Scenario>,
        sampler: &RssSampler,
        rows: &mut Vec<Row>,
    ) -> Result<()> {
        let (label, echo) = (self.ctx.label, self.ctx.echo);
        let (echo_in_flight, duration) = (self.ctx.args.in_flight, self.ctx.duration);
        let mut last_echo = None;
        for sc in table {
            match sc.progress {
                Progress::Silent => {}
                Progress::Plain(what) => eprintln!("[{label}] {what} …"),
                Progress::WithRss(what) => eprintln!(
                    "[{label}] {what} … (peak RSS so far {:.1} MiB)",
                    sampler.peak()
                ),
            }
            self.prepare(&sc.prepare).await?;
            let before = match sc.baseline {
                Baseline::Previous => last_echo.context("no echo run before this scenario")?,
                _ => echo.measure(echo_in_flight, duration).await?.ops,
            };
            last_echo = Some(before);
            let s = self.load(sc.call, sc.in_flight).await?;
            let echo_ops = match sc.baseline {
                Baseline::Bracket => {
                    (before + echo.measure(echo_in_flight, duration).await?.ops) / 2.0
                }
                _ => before,
            };
            rows.push(Row::measured(sc.name(&s), label, &s, Some(echo_ops)));
        }
        Ok(())
    }

    async fn prepare(&mut self, prepare: &Prepare) -> Result<()> {
        match prepare {
            Prepare::Nothing => {}
            Prepare::WarmProbes => self.warm_probes().await?,
            Prepare::FreshProbes => {
                self.fresh_probes = Arc::new(fresh_probes(self.seeded, &self.probes))
            }
            Prepare::SeedSessions => {
                let sizes = self.ctx.sizes;
                let tokens =
                    seed_sessions(self.url, self.seeded, self.package, self.credential, sizes);
                self.fresh_sessions = Arc::new(tokens.await?);
            }
            Prepare::WarmBatches => self.warm_batches().await?,
        }
        Ok(())
    }

    /// Asks every probe once, so a scenario measures the steady state.
    pub async fn warm_probes(&self) -> Result<()> {
        let mut warm = self.membership[0].clone();
        for (identity, org, room) in self.probes.iter() {
            warm.check_access(pb::CheckAccessRequest {
                identity_id: identity.clone(),
                organization_id: org.clone(),
                room_id: room.clone(),
            })
            .await?;
        }
        Ok(())
    }

    /// 50 batches of 1,000 random identities for ResolveProfiles, each
    /// asked once.
    async fn warm_batches(&mut self) -> Result<()> {
        let mut rng = rand::rng();
        let seeded = self.seeded;
        let batches: Vec<(String, Vec<String>)> = (0..50)
            .map(|b| {
                let org = &seeded.orgs[b % seeded.orgs.len()].id;
                let mut ids: Vec<String> =
                    seeded.identities.sample(&mut rng, 1000).cloned().collect();
                ids.shuffle(&mut rng);
                (org.clone(), ids)
            })
            .collect();
        let mut warm = self.membership[0].clone();
        for (org, ids) in &batches {
            warm.resolve_profiles(pb::ResolveProfilesRequest {
                organization_id: org.clone(),
                identity_ids: ids.clone(),
            })
            .await?;
        }
        self.batches = Arc::new(batches);
        Ok(())
    }

    /// Drives `call` with `in_flight` workers for the scenario duration.
    pub async fn load(&self, call: Call, in_flight: usize) -> Result<Stats> {
        match call {
            Call::ValidateSession => {
                self.validate(&self.sessions, Pick::Cycle(1), in_flight)
                    .await
            }
            Call::ValidateSessionMiss => {
                self.validate(&self.fresh_sessions, Pick::once(), in_flight)
                    .await
            }
            Call::CheckAccess => self.check(&self.probes, Pick::Cycle(7919), in_flight).await,
            Call::CheckAccessMiss => {
                self.check(&self.fresh_probes, Pick::once(), in_flight)
                    .await
            }
            Call::ResolveProfiles => self.resolve(in_flight).await,
            Call::SignIn => self.sign_in(in_flight).await,
        }
    }

    async fn validate(
        &self,
        tokens: &Arc<Vec<String>>,
        pick: Pick,
        in_flight: usize,
    ) -> Result<Stats> {
        let (clients, tokens) = (self.identity.clone(), tokens.clone());
        let (exhausted, invalid) = match pick {
            Pick::Cycle(_) => ("", "session unexpectedly invalid"),
            Pick::Once(_) => (
                "ran out of never-validated session tokens",
                "seeded session unexpectedly invalid",
            ),
        };
        drive(in_flight, self.ctx.duration, move |w, i| {
            let mut c = clients[w % CONNECTIONS].clone();
            let token = pick.index(w, i, tokens.len()).map(|k| tokens[k].clone());
            async move {
                let Some(token) = token else { bail!(exhausted) };
                let r = c
                    .validate_session(pb::ValidateSessionRequest {
                        session_token: token,
                    })
                    .await?;
                if !r.get_ref().valid {
                    bail!(invalid);
                }
                Ok(())
            }
        })
        .await
    }

    async fn check(&self, probes: &Arc<Vec<Probe>>, pick: Pick, in_flight: usize) -> Result<Stats> {
        let (clients, probes) = (self.membership.clone(), probes.clone());
        drive(in_flight, self.ctx.duration, move |w, i| {
            let mut c = clients[w % CONNECTIONS].clone();
            let probe = pick.index(w, i, probes.len()).map(|k| probes[k].clone());
            async move {
                let Some((identity, org, room)) = probe else {
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
        .await
    }

    async fn resolve(&self, in_flight: usize) -> Result<Stats> {
        let (clients, batches) = (self.membership.clone(), self.batches.clone());
        drive(in_flight, self.ctx.duration, move |w, i| {
            let mut c = clients[w % CONNECTIONS].clone();
            let (org, ids) = batches[(w + i as usize) % batches.len()].clone();
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
        .await
    }

    async fn sign_in(&self, in_flight: usize) -> Result<Stats> {
        let (clients, signers) = (self.anonymous.clone(), self.signers.clone());
        let password = self.password.clone();
        drive(in_flight, self.ctx.duration, move |w, i| {
            let mut c = clients[w % CONNECTIONS].clone();
            let id = signers[(w + i as usize) % signers.len()].clone();
            let pw = password.clone();
            async move {
                c.sign_in(pb::SignInRequest {
                    identity_id: id,
                    username: "bench-shared".into(),
                    password: pw,
                })
                .await?;
                Ok(())
            }
        })
        .await
    }
}

/// 10,000 random (member, organization, room) triples of regular
/// organizations.
fn random_probes(seeded: &Seeded) -> Vec<Probe> {
    let mut rng = rand::rng();
    let mut probes = Vec::new();
    for _ in 0..10_000 {
        let org = &seeded.orgs[rng.random_range(0..seeded.orgs.len())];
        let room = &org.rooms[rng.random_range(0..org.rooms.len())];
        probes.push((
            room.members[rng.random_range(0..room.members.len())].clone(),
            org.id.clone(),
            room.id.clone(),
        ));
    }
    probes
}

/// Every (member, organization, room) of the regular organizations that
/// `asked` does not hold, shuffled.
fn fresh_probes(seeded: &Seeded, asked: &[Probe]) -> Vec<Probe> {
    let used: std::collections::HashSet<&Probe> = asked.iter().collect();
    let mut fresh = Vec::new();
    for org in &seeded.orgs {
        for room in &org.rooms {
            for m in &room.members {
                let key = (m.clone(), org.id.clone(), room.id.clone());
                if !used.contains(&key) {
                    fresh.push(key);
                }
            }
        }
    }
    fresh.shuffle(&mut rand::rng());
    fresh
}

/// RemoveMember of each victim of the big organization, one at a time.
pub async fn remove_member(
    ctx: &Ctx<'_>,
    ch: &Channel,
    seeded: &Seeded,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let sizes = ctx.sizes;
    let mut lat = Vec::new();
    let t = Instant::now();
    let mut c = membership_client(ch);
    for v in &seeded.victims {
        let t0 = Instant::now();
        let r = c
            .remove_member(pb::RemoveMemberRequest {
                request_id: String::new(),
                organization_id: seeded.big_org.clone(),
                identity_id: v.clone(),
                successor_identity_id: String::new(),
                etag: String::new(),
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
    let name = format!(
        "RemoveMember ({} rooms / {} assignments)",
        sizes.victim_rooms, sizes.victim_assignments
    );
    rows.push(Row::measured(name, ctx.label, &s, None));
    Ok(())
}

/// One RunInactivitySweep over every organization.
pub async fn inactivity_sweep(ctx: &Ctx<'_>, ch: &Channel, rows: &mut Vec<Row>) -> Result<()> {
    let sizes = ctx.sizes;
    let t0 = Instant::now();
    let r = membership_client(ch)
        .run_inactivity_sweep(pb::RunInactivitySweepRequest {
            request_id: String::new(),
            organization_id: String::new(),
            dry_run: false,
        })
        .await
        .context("RunInactivitySweep")?
        .into_inner();
    let took: Duration = t0.elapsed();
    if r.deactivated_count as usize != sizes.idle_guests {
        bail!(
            "sweep deactivated {} guests, expected {}",
            r.deactivated_count,
            sizes.idle_guests
        );
    }
    let s = stats(vec![took.as_micros() as u64], took);
    let name = format!(
        "RunInactivitySweep ({} guests, {} idle)",
        sizes.guests, sizes.idle_guests
    );
    rows.push(Row::measured(name, ctx.label, &s, None));
    Ok(())
}
