//! C0 "true on return": two replicas on one PostgreSQL database. For each
//! kind of change, many trials of "B's cache is warm for the identity; the
//! change is made on A; the instant A answers, B is asked": B must never
//! give the old answer. The count of old answers is asserted to be zero.
//!
//! Fixtures (servers, package, organization) are set up once per kind;
//! each trial has its own session or member, seeded through the store
//! where the gRPC path would only add password hashing.

use std::cell::Cell;

use futures::future::join_all;

use roster::domain::{IdentityId, PackageId, secrets};
use roster::pb;
use roster::store::{SignInCredential, Store};

use crate::harness::{Backend, TestServer};

/// Trials per kind.
const TRIALS: usize = 200;
/// Sessions behind the credential of the many-sessions kind.
const MANY: usize = 4;

macro_rules! pg_tests {
    ($($name:ident),* $(,)?) => {
        mod postgres {
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

/// Two replicas and a store for seeding, on one fresh database.
struct Pair {
    a: TestServer,
    b: TestServer,
    store: Store,
}

async fn pair() -> Pair {
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.replica().await;
    let store = a.store().await;
    Pair { a, b, store }
}

impl Pair {
    /// A package with room for every trial and a credential in it.
    async fn package(&self) -> (String, SignInCredential) {
        let admin = self.a.create_identity("Admin").await;
        let package = self
            .a
            .create_package(pb::Plan::Business, 10_000, &[&admin])
            .await;
        let username = format!("c0-{}", admin.to_lowercase());
        self.a.issue_credential(&package, &username).await;
        let cred = self
            .store
            .credential_for_sign_in(&username)
            .await
            .expect("read credential")
            .expect("credential exists");
        (package, cred)
    }

    /// A credential in `package`, issued through the store (no hashing).
    async fn credential(&self, package: &str) -> SignInCredential {
        let username = format!("c0-{}", IdentityId::generate().as_str().to_lowercase());
        self.store
            .issue_credential(
                roster::domain::Actor::system(),
                &PackageId::from_trusted(package.to_owned()),
                &username,
                secrets::decoy_hash(secrets::HashCost::RECOMMENDED),
            )
            .await
            .expect("issue credential");
        self.store
            .credential_for_sign_in(&username)
            .await
            .expect("read credential")
            .expect("credential exists")
    }

    /// A live session of `identity` through `cred`; returns its token.
    async fn session(&self, identity: &str, cred: &SignInCredential) -> String {
        let token = secrets::new_session_token();
        self.store
            .sign_in(
                &IdentityId::from_trusted(identity.to_owned()),
                cred,
                secrets::token_hash(&token),
                3_600_000,
            )
            .await
            .expect("seed session");
        token
    }

    /// Makes sure B serves `token` (twice: a fill, then a hit).
    async fn warm_session(&self, token: &str) {
        for _ in 0..2 {
            assert!(
                self.b.session_valid(token).await,
                "session valid on B before the change"
            );
        }
    }

    async fn warm_access(&self, identity: &str, org: &str) -> pb::CheckAccessResponse {
        self.b.access(identity, org, "").await;
        self.b.access(identity, org, "").await
    }
}

/// Runs `TRIALS` trials; each returns whether B gave the old answer.
async fn count_old<F, Fut>(what: &str, trial: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    count_old_in_parallel(what, 1, trial).await
}

/// Like [`count_old`], with up to `parallel` trials under way at once,
/// each on its own identity (events about one identity leave the others'
/// cache entries alone); each still warms, writes, then probes.
async fn count_old_in_parallel<F, Fut>(what: &str, parallel: usize, trial: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    use futures::StreamExt;
    let old = futures::stream::iter(0..TRIALS)
        .map(trial)
        .buffer_unordered(parallel)
        .filter(|old| std::future::ready(*old))
        .count()
        .await;
    assert_eq!(
        old, 0,
        "{what}: {old} of {TRIALS} probes on B gave the old answer"
    );
}

/// Trials under way at once for kinds whose trials share nothing.
const PARALLEL: usize = 4;

async fn c0_sign_out_on_a_is_seen_by_b_on_return() {
    let p = pair().await;
    let (_, cred) = p.package().await;
    let (p, cred) = (&p, &cred);
    // Each trial its own identity, so that parallel trials never touch
    // each other's cache stripes.
    count_old_in_parallel("SignOut", PARALLEL, move |i| async move {
        let ada = &p.a.create_identity(&format!("SignedOut{i}")).await;
        let token = p.session(ada, cred).await;
        p.warm_session(&token).await;
        p.a.identity(Some(&token))
            .sign_out(pb::SignOutRequest::default())
            .await
            .expect("sign out on A");
        p.b.session_valid(&token).await
    })
    .await;
}

async fn c0_revoke_identity_on_a_is_seen_by_b_on_return() {
    let p = pair().await;
    let (_, cred) = p.package().await;
    let (p, cred) = (&p, &cred);
    count_old_in_parallel("RevokeIdentity", PARALLEL, move |i| async move {
        let id = p.a.create_identity(&format!("Revoked{i}")).await;
        let token = p.session(&id, cred).await;
        p.warm_session(&token).await;
        p.a.identity(Some(&token))
            .revoke_identity(pb::RevokeIdentityRequest {
                identity_id: id.clone(),
                ..Default::default()
            })
            .await
            .expect("revoke on A");
        p.b.session_valid(&token).await
    })
    .await;
}

async fn c0_detach_identity_on_a_is_seen_by_b_on_return() {
    let p = pair().await;
    let (package, cred) = p.package().await;
    let (p, cred, package) = (&p, &cred, &package);
    count_old_in_parallel("DetachIdentity", PARALLEL, move |i| async move {
        let ada = &p.a.create_identity(&format!("Detached{i}")).await;
        let token = p.session(ada, cred).await;
        p.warm_session(&token).await;
        p.a.svc_license()
            .detach_identity(pb::DetachIdentityRequest {
                request_id: String::new(),
                package_id: package.clone(),
                identity_id: ada.clone(),
            })
            .await
            .expect("detach on A");
        p.b.session_valid(&token).await
    })
    .await;
}

async fn c0_delete_credential_on_a_is_seen_by_b_on_return() {
    let p = pair().await;
    let (package, _) = p.package().await;
    let ada = p.a.create_identity("Ada").await;
    let (p, ada, package) = (&p, &ada, &package);
    // One at a time: a deleted credential drops every cached session, so a
    // parallel trial would leave this one's cache cold.
    count_old("DeleteCredential", move |_| async move {
        let cred = p.credential(package).await;
        let token = p.session(ada, &cred).await;
        p.warm_session(&token).await;
        p.a.svc_license()
            .delete_credential(pb::DeleteCredentialRequest {
                request_id: String::new(),
                credential_id: cred.id.to_string(),
            })
            .await
            .expect("delete credential on A");
        p.b.session_valid(&token).await
    })
    .await;
}

async fn c0_delete_credential_with_many_sessions_is_seen_by_b_on_return() {
    let p = pair().await;
    let (package, _) = p.package().await;
    let mut people = Vec::new();
    for i in 0..MANY {
        people.push(p.a.create_identity(&format!("Many{i}")).await);
    }
    let (p, people, package) = (&p, &people, &package);
    count_old("DeleteCredential with many sessions", move |_| async move {
        let cred = p.credential(package).await;
        let tokens = join_all(people.iter().map(|id| p.session(id, &cred))).await;
        join_all(tokens.iter().map(|t| p.warm_session(t))).await;
        p.a.svc_license()
            .delete_credential(pb::DeleteCredentialRequest {
                request_id: String::new(),
                credential_id: cred.id.to_string(),
            })
            .await
            .expect("delete credential on A");
        let answers = join_all(tokens.iter().map(|t| p.b.session_valid(t))).await;
        answers.contains(&true)
    })
    .await;
}

/// An organization with its admin; returns (org, admin).
async fn org(p: &Pair) -> (String, String) {
    let admin = p.a.create_identity("OrgAdmin").await;
    let package =
        p.a.create_package(pb::Plan::Business, 10_000, &[&admin])
            .await;
    (p.a.create_org(&package, &admin).await, admin)
}

async fn c0_deactivate_and_reactivate_on_a_are_seen_by_b_on_return() {
    let p = pair().await;
    let (org, _) = org(&p).await;
    let ada = p.a.new_member(&org, "Ada", pb::MemberRole::Member).await;
    let stale_denials = Cell::new(0);
    let (p, org, ada, stale) = (&p, &org, &ada, &stale_denials);
    count_old("DeactivateMember", move |_| {
        async move {
            assert!(p.warm_access(ada, org).await.allowed, "active before");
            p.a.svc_membership()
                .deactivate_member(pb::DeactivateMemberRequest {
                    organization_id: org.clone(),
                    identity_id: ada.clone(),
                    ..Default::default()
                })
                .await
                .expect("deactivate on A");
            let old = p.b.access(ada, org, "").await.allowed;
            // ReactivateMember, the mirror image: B must not keep denying.
            assert!(!p.warm_access(ada, org).await.allowed, "deactivated before");
            p.a.svc_membership()
                .reactivate_member(pb::ReactivateMemberRequest {
                    request_id: String::new(),
                    organization_id: org.clone(),
                    identity_id: ada.clone(),
                })
                .await
                .expect("reactivate on A");
            if !p.b.access(ada, org, "").await.allowed {
                stale.set(stale.get() + 1);
            }
            old
        }
    })
    .await;
    let stale_denials = stale_denials.get();
    assert_eq!(
        stale_denials, 0,
        "ReactivateMember: {stale_denials} of {TRIALS} probes on B still denied"
    );
}

async fn c0_remove_member_on_a_is_seen_by_b_on_return() {
    let p = pair().await;
    let (org, _) = org(&p).await;
    let (p, org) = (&p, &org);
    count_old_in_parallel("RemoveMember", PARALLEL, move |i| async move {
        let id =
            p.a.new_member(org, &format!("Leaver{i}"), pb::MemberRole::Member)
                .await;
        assert!(p.warm_access(&id, org).await.allowed, "member before");
        p.a.svc_membership()
            .remove_member(pb::RemoveMemberRequest {
                organization_id: org.clone(),
                identity_id: id.clone(),
                ..Default::default()
            })
            .await
            .expect("remove on A");
        p.b.access(&id, org, "").await.allowed
    })
    .await;
}

async fn c0_demotion_on_a_is_seen_by_b_on_return() {
    let p = pair().await;
    let (org, _) = org(&p).await;
    let ada = p.a.new_member(&org, "Ada", pb::MemberRole::Admin).await;
    let (p, org, ada) = (&p, &org, &ada);
    let set_role = move |role: pb::MemberRole| async move {
        p.a.svc_membership()
            .update_member_role(pb::UpdateMemberRoleRequest {
                request_id: String::new(),
                organization_id: org.clone(),
                identity_id: ada.clone(),
                role: role as i32,
            })
            .await
            .expect("update role on A");
    };
    count_old("UpdateMemberRole (demotion)", move |_| async move {
        assert_eq!(
            p.warm_access(ada, org).await.role,
            pb::MemberRole::Admin as i32,
            "admin before"
        );
        set_role(pb::MemberRole::Member).await;
        let old = p.b.access(ada, org, "").await.role == pb::MemberRole::Admin as i32;
        set_role(pb::MemberRole::Admin).await;
        old
    })
    .await;
}

/// Rooms of the racing-fills kind: every change makes all their cache
/// entries stale, so B's next calls about them are fills.
const ROOMS: usize = 40;
/// Concurrent CheckAccess calls hammering B during each change.
const HAMMERS: usize = 4;

/// The fill rule: a fill whose database read began before a change of its
/// identity and that finishes after B applied the change must not be kept.
/// B is hammered with CheckAccess for Ada's rooms (each change leaves them
/// all to be filled again) while A deactivates or reactivates her; once A
/// answers, every room must give the new answer on B. The test asserts
/// that racing fills occurred (B's `roster_cache_fills_dropped_total`
/// grew), so it cannot pass without testing the race.
async fn c0_fills_racing_with_a_change_are_never_kept() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let p = pair().await;
    let (org, admin) = org(&p).await;
    let ada = p.a.new_member(&org, "Ada", pb::MemberRole::Member).await;
    let mut rooms = Vec::with_capacity(ROOMS);
    for _ in 0..ROOMS {
        let room = p.a.create_room(&org, &admin).await;
        p.a.add_room_member(&room, &ada, pb::RoomRole::Member).await;
        rooms.push(room);
    }
    let dropped_before =
        crate::harness::sample(&p.b.scrape().await, "roster_cache_fills_dropped_total");
    let (p, org, ada, rooms) = (&p, &org, &ada, &rooms);
    let stale_allows = Cell::new(0);
    let stale = &stale_allows;
    count_old(
        "DeactivateMember racing with fills",
        move |trial| async move {
            let deactivate = trial % 2 == 0;
            let stop = AtomicBool::new(false);
            let hammer = |h: usize| {
                let stop = &stop;
                async move {
                    let mut i = h;
                    while !stop.load(Ordering::Relaxed) {
                        p.b.access(ada, org, &rooms[i % ROOMS]).await;
                        i += HAMMERS;
                    }
                }
            };
            let change = async {
                // Let the hammers start filling first.
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                let mut m = p.a.svc_membership();
                if deactivate {
                    m.deactivate_member(pb::DeactivateMemberRequest {
                        organization_id: org.clone(),
                        identity_id: ada.clone(),
                        ..Default::default()
                    })
                    .await
                    .expect("deactivate on A");
                } else {
                    m.reactivate_member(pb::ReactivateMemberRequest {
                        request_id: String::new(),
                        organization_id: org.clone(),
                        identity_id: ada.clone(),
                    })
                    .await
                    .expect("reactivate on A");
                }
                stop.store(true, Ordering::Relaxed);
            };
            futures::join!(change, join_all((0..HAMMERS).map(hammer)));
            let answers = join_all(rooms.iter().map(|r| p.b.access(ada, org, r))).await;
            let old = answers.iter().filter(|a| a.allowed == deactivate).count();
            if !deactivate && old > 0 {
                stale.set(stale.get() + 1);
                return false;
            }
            old > 0
        },
    )
    .await;
    let stale_denials = stale_allows.get();
    assert_eq!(
        stale_denials, 0,
        "ReactivateMember racing with fills: {stale_denials} trials with old denials on B"
    );
    let dropped = crate::harness::sample(&p.b.scrape().await, "roster_cache_fills_dropped_total")
        - dropped_before;
    assert!(
        dropped > 0.0,
        "no fill on B raced with a change in {TRIALS} trials; the test did not test the race"
    );
}

pg_tests!(
    c0_sign_out_on_a_is_seen_by_b_on_return,
    c0_revoke_identity_on_a_is_seen_by_b_on_return,
    c0_detach_identity_on_a_is_seen_by_b_on_return,
    c0_delete_credential_on_a_is_seen_by_b_on_return,
    c0_delete_credential_with_many_sessions_is_seen_by_b_on_return,
    c0_deactivate_and_reactivate_on_a_are_seen_by_b_on_return,
    c0_remove_member_on_a_is_seen_by_b_on_return,
    c0_demotion_on_a_is_seen_by_b_on_return,
    c0_fills_racing_with_a_change_are_never_kept,
);
