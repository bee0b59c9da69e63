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

/// How many transactions a replica of the previous release writes in
/// [`e2_writers_of_the_previous_release_keep_the_log_contiguous`].
const OLD_WRITES: usize = 60;

/// A rolling upgrade: a replica of the release before migration 12 takes
/// the event writers' advisory lock in a statement of its own and numbers
/// its events after `MAX(seq)`; this release takes the same lock inside its
/// insert (`roster_events_last_seq()`). While both write at once, every
/// write succeeds and the log stays one contiguous sequence, each
/// transaction's events together.
async fn e2_writers_of_the_previous_release_keep_the_log_contiguous() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let a = TestServer::start(Backend::Postgres).await;
    let store = a.store().await;
    let (package, admin, _) = a.package_with_admin(pb::Plan::Enterprise, 1_000).await;
    let org = a.create_org(&package, &admin).await;
    let mut members = Vec::new();
    for i in 0..8 {
        members.push(
            a.new_member(&org, &format!("M{i}"), pb::MemberRole::Member)
                .await,
        );
    }
    let old_release = async {
        for i in 0..OLD_WRITES {
            let txn = store.db().begin().await.expect("begin");
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(1919906676)")
                .await
                .expect("the writers' lock");
            // Two rows per transaction, as a change with its seat event.
            txn.execute_unprepared(&format!(
                "INSERT INTO events (seq, event_type, actor_kind, actor_id, subject_id, \
                 reason, occurred_at, attributes) \
                 SELECT last + n, 'IDENTITY_CREATED', 'SYSTEM', '', 'old-{i}-' || n, '', 0, '{{}}' \
                 FROM (SELECT COALESCE(MAX(seq), 0) AS last FROM events) base, \
                      generate_series(1, 2) AS n"
            ))
            .await
            .expect("the previous release's insert");
            txn.commit().await.expect("commit");
        }
    };
    let this_release = async {
        for _ in 0..OLD_WRITES / 8 {
            for deactivating in [true, false] {
                crate::events::change_all(&a, &org, &members, deactivating).await;
            }
        }
    };
    tokio::join!(old_release, this_release);
    let rows = store
        .db()
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT seq, subject_id FROM events ORDER BY seq",
        ))
        .await
        .expect("the log");
    let seqs: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get::<i64>("", "seq").expect("seq"))
        .collect();
    let contiguous: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, contiguous, "one contiguous sequence");
    let subjects: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "subject_id").expect("subject"))
        .collect();
    let old: Vec<usize> = (0..subjects.len())
        .filter(|&i| subjects[i].starts_with("old-"))
        .collect();
    assert_eq!(old.len(), 2 * OLD_WRITES, "every old write landed");
    for pair in old.chunks(2) {
        assert_eq!(pair[1], pair[0] + 1, "a transaction's events are adjacent");
    }
    // Per round, every member: MEMBER_DEACTIVATED, IDENTITY_DETACHED,
    // MEMBER_REACTIVATED, IDENTITY_ATTACHED.
    let changes = a
        .org_events(&org)
        .await
        .into_iter()
        .filter(|e| {
            matches!(
                e.event_type,
                roster::domain::EventType::MemberDeactivated
                    | roster::domain::EventType::MemberReactivated
            )
        })
        .count();
    assert_eq!(changes, OLD_WRITES / 8 * 2 * members.len());
}

pg_tests!(
    e2_writers_of_the_previous_release_keep_the_log_contiguous,
    i5_failed_sign_ins_count_across_replicas,
    m11_deactivation_on_one_replica_denies_access_on_another,
    i6_revocation_on_one_replica_ends_sessions_on_another,
    i6_deleting_a_credential_on_one_replica_ends_sessions_on_another,
    i6_detaching_on_one_replica_ends_sessions_on_another,
    i6_a_replica_that_lost_its_listener_never_serves_stale_sessions,
);
