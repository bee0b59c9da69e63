//! Several replicas on one PostgreSQL database: a change committed on
//! replica A is denied on replica B at once (I6, M11, E2), including while
//! B's event listener is reconnecting.

use std::time::{Duration, Instant};

use roster::pb;

use crate::harness::{Backend, TestServer};

/// Generates PostgreSQL-only tests (SQLite is single-process).
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

/// How long a replica may take to hear of another's commit before a test
/// calls it a stale allow. The benchmark measures the real figure (a few
/// milliseconds); this bound only has to be far above it.
const BOUND: Duration = Duration::from_secs(2);

/// Polls `check` on a replica until it denies; panics past BOUND.
async fn denied_within_bound<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if !check().await {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < BOUND,
            "{what}: replica B still allows after {BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn i6_revocation_on_one_replica_ends_sessions_on_another() {
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.replica().await;
    let ada = a.create_identity("Ada").await;
    let package = a.create_package(pb::Plan::Business, 10, &[&ada]).await;
    let (_, user, pass) = a.issue_credential(&package, "ada").await;
    let token = a.sign_in(&ada, &user, &pass).await;
    // Warm B's cache.
    for _ in 0..3 {
        assert!(b.session_valid(&token).await);
    }
    a.identity(Some(&token))
        .revoke_identity(pb::RevokeIdentityRequest {
            identity_id: ada.clone(),
            ..Default::default()
        })
        .await
        .expect("self revocation");
    denied_within_bound("revoked session", || b.session_valid(&token)).await;
    // And the revoked identity's token no longer authenticates on B.
    let res = b
        .identity(Some(&token))
        .get_identity(pb::GetIdentityRequest {
            identity_id: ada.clone(),
        })
        .await;
    assert_eq!(res.unwrap_err().code(), tonic::Code::Unauthenticated);
}

async fn i6_a_replica_that_lost_its_listener_never_serves_stale_sessions() {
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.replica().await;
    let ada = a.create_identity("Ada").await;
    let package = a.create_package(pb::Plan::Business, 10, &[&ada]).await;
    let (_, user, pass) = a.issue_credential(&package, "ada").await;
    let token = a.sign_in(&ada, &user, &pass).await;
    assert!(b.session_valid(&token).await);

    // Cut every LISTEN connection of this test database, then revoke at
    // once, before the listeners can reconnect.
    let db = b.database_url.rsplit('/').next().unwrap().to_owned();
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&b.database_url).await.unwrap();
    let killed: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = $1 AND query ILIKE 'LISTEN%'",
    )
    .bind(&db)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!killed.is_empty(), "found the listener connections");
    a.identity(Some(&token))
        .revoke_identity(pb::RevokeIdentityRequest {
            identity_id: ada.clone(),
            ..Default::default()
        })
        .await
        .expect("self revocation");
    denied_within_bound("revoked session while B reconnects", || {
        b.session_valid(&token)
    })
    .await;
}

async fn i6_deleting_a_credential_on_one_replica_ends_sessions_on_another() {
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.replica().await;
    let ada = a.create_identity("Ada").await;
    let package = a.create_package(pb::Plan::Business, 10, &[&ada]).await;
    let (credential, user, pass) = a.issue_credential(&package, "ada").await;
    let token = a.sign_in(&ada, &user, &pass).await;
    for _ in 0..3 {
        assert!(b.session_valid(&token).await);
    }
    a.svc_license()
        .delete_credential(pb::DeleteCredentialRequest {
            request_id: String::new(),
            credential_id: credential,
        })
        .await
        .expect("delete credential on A");
    denied_within_bound("session of a deleted credential", || {
        b.session_valid(&token)
    })
    .await;
}

async fn i6_detaching_on_one_replica_ends_sessions_on_another() {
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.replica().await;
    let ada = a.create_identity("Ada").await;
    let package = a.create_package(pb::Plan::Business, 10, &[&ada]).await;
    let (_, user, pass) = a.issue_credential(&package, "ada").await;
    let token = a.sign_in(&ada, &user, &pass).await;
    for _ in 0..3 {
        assert!(b.session_valid(&token).await);
    }
    a.svc_license()
        .detach_identity(pb::DetachIdentityRequest {
            request_id: String::new(),
            package_id: package,
            identity_id: ada,
        })
        .await
        .expect("detach on A");
    denied_within_bound("session of a detached identity", || b.session_valid(&token)).await;
}

async fn m11_deactivation_on_one_replica_denies_access_on_another() {
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.replica().await;
    let admin = a.create_identity("Admin").await;
    let package = a.create_package(pb::Plan::Business, 10, &[&admin]).await;
    let org = a.create_org(&package, &admin).await;
    let room = a.create_room(&org, &admin).await;
    let ada = a.create_identity("Ada").await;
    a.add_member(&org, &ada, pb::MemberRole::Member).await;
    a.add_room_member(&room, &ada, pb::RoomRole::Member).await;
    // Warm B's access and profile caches.
    for _ in 0..3 {
        assert!(b.access(&ada, &org, &room).await.allowed);
        assert!(b.access(&ada, &org, "").await.allowed);
        assert_eq!(
            b.profiles(&org, &[&ada]).await[0].status,
            pb::ProfileStatus::Active as i32
        );
    }
    a.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.clone(),
            identity_id: ada.clone(),
            ..Default::default()
        })
        .await
        .expect("deactivate on A");
    denied_within_bound("room access of a deactivated member", || async {
        b.access(&ada, &org, &room).await.allowed
    })
    .await;
    let access = b.access(&ada, &org, "").await;
    assert_eq!(
        (access.allowed, access.denial_reason),
        (false, pb::AccessDenialReason::Deactivated as i32)
    );
    let profile = &b.profiles(&org, &[&ada]).await[0];
    assert_eq!(profile.status, pb::ProfileStatus::Deactivated as i32);
    assert_eq!((profile.badge.as_str(), profile.strikethrough), ("D", true));
}

/// I5: failed sign-ins count across replicas; ten spread over two
/// replicas block the identity and the username on both.
async fn i5_failed_sign_ins_count_across_replicas() {
    use crate::harness::assert_status;
    // Both replicas' clocks start at the system time a moment apart; stay
    // clear of a minute boundary so they share one window.
    use roster::store::Clock;
    let into_minute = roster::store::SystemClock.now_ms() % 60_000;
    if into_minute > 55_000 {
        tokio::time::sleep(Duration::from_millis((60_100 - into_minute) as u64)).await;
    }
    let a = TestServer::start(Backend::Postgres).await;
    let b = a.replica().await;
    let (package, _, _) = a.package_with_admin(pb::Plan::Business, 10).await;
    let ada = a.create_identity("Ada").await;
    let (_, user, pass) = a.issue_credential(&package, "shared").await;
    for i in 0..10 {
        let replica = if i % 2 == 0 { &a } else { &b };
        assert_status(
            replica.try_sign_in(&ada, &user, "not the password").await,
            tonic::Code::Unauthenticated,
            Some("BAD_CREDENTIALS"),
        );
    }
    for replica in [&a, &b] {
        assert_status(
            replica.try_sign_in(&ada, &user, &pass).await,
            tonic::Code::ResourceExhausted,
            Some("RATE_LIMITED"),
        );
    }
}

pg_tests!(
    i5_failed_sign_ins_count_across_replicas,
    m11_deactivation_on_one_replica_denies_access_on_another,
    i6_revocation_on_one_replica_ends_sessions_on_another,
    i6_deleting_a_credential_on_one_replica_ends_sessions_on_another,
    i6_detaching_on_one_replica_ends_sessions_on_another,
    i6_a_replica_that_lost_its_listener_never_serves_stale_sessions,
);
