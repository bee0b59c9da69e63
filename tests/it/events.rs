//! EventService: the audit log (E1) and the live stream (E2) — order,
//! resume from a cursor, nothing for rolled-back changes, filters,
//! retention, authorization — and cross-replica propagation over
//! PostgreSQL (I6, E2).

use std::time::{Duration, Instant};

use roster::pb;
use tonic::Code;
use tonic::codec::Streaming;

use crate::harness::{Backend, SERVICE_KEY, TestServer, assert_invalid, assert_status};

/// Opens a watch stream and waits for its first (heartbeat) message, so
/// the caller knows the stream is live before changing anything.
async fn watch(
    s: &TestServer,
    token: &str,
    filter: pb::EventFilter,
    cursor: &str,
) -> (Streaming<pb::WatchEventsResponse>, String) {
    let mut stream = s
        .events(Some(token))
        .watch_events(pb::WatchEventsRequest {
            cursor: cursor.to_owned(),
            filter: Some(filter),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("first message in time")
        .expect("stream ok")
        .expect("stream open");
    assert!(first.event.is_none(), "the first message is a heartbeat");
    (stream, first.cursor)
}

/// The next event (skipping heartbeats), or None after `wait`.
async fn next_event(
    stream: &mut Streaming<pb::WatchEventsResponse>,
    wait: Duration,
) -> Option<pb::Event> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.message()).await {
            Err(_) => return None,
            Ok(msg) => {
                if let Some(e) = msg.expect("stream ok").expect("stream open").event {
                    return Some(e);
                }
            }
        }
    }
}

fn event_type(e: &pb::Event) -> pb::EventType {
    pb::EventType::try_from(e.r#type).expect("known type")
}

async fn audit(s: &TestServer, filter: pb::EventFilter) -> Vec<pb::Event> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = s
            .svc_events()
            .list_audit_events(pb::ListAuditEventsRequest {
                filter: Some(filter.clone()),
                page_size: 3,
                page_token: token,
            })
            .await
            .expect("list audit events")
            .into_inner();
        out.extend(page.events);
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

fn by_identity(id: &str) -> pb::EventFilter {
    pb::EventFilter {
        identity_id: id.to_owned(),
        ..Default::default()
    }
}

async fn e1_every_change_writes_an_audit_row_with_actor_and_reason(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let ada = s.create_identity("Ada").await;
    let (_, user, pass) = s.issue_credential(&package, "ada").await;
    s.sign_in(&ada, &user, &pass).await;
    s.identity(Some(&admin_token))
        .revoke_identity(pb::RevokeIdentityRequest {
            identity_id: ada.clone(),
            ..Default::default()
        })
        .await
        .expect("admin revokes");

    // Newest first, across pages of 3.
    let events = audit(&s, by_identity(&ada)).await;
    let types: Vec<_> = events.iter().map(event_type).collect();
    assert_eq!(
        types,
        vec![
            pb::EventType::IdentityRevoked,
            pb::EventType::IdentityDetached,
            pb::EventType::SessionStarted,
            pb::EventType::IdentityAttached,
            pb::EventType::IdentityCreated,
        ]
    );
    let revoked = &events[0];
    assert_eq!(revoked.reason, "ADMIN_REVOCATION");
    let actor = revoked.actor.as_ref().unwrap();
    assert_eq!(
        (actor.r#type, actor.id.as_str()),
        (pb::ActorType::Identity as i32, admin.as_str())
    );
    assert!(revoked.commit_time.is_some());
    let created = events.last().unwrap();
    assert_eq!(
        created.actor.as_ref().unwrap().r#type,
        pb::ActorType::Service as i32
    );
    assert_eq!(created.actor.as_ref().unwrap().id, "test");

    // The package's log holds its own changes.
    let package_events = audit(
        &s,
        pb::EventFilter {
            package_id: package.clone(),
            ..Default::default()
        },
    )
    .await;
    assert!(
        package_events
            .iter()
            .any(|e| event_type(e) == pb::EventType::PackageCreated)
    );
    assert!(package_events.iter().all(|e| e.package_id == package));
}

async fn e1_a_failed_change_writes_nothing(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _admin, _token) = s.package_with_admin(pb::Plan::Business, 1).await;
    let ada = s.create_identity("Ada").await;
    let (_, user, pass) = s.issue_credential(&package, "ada").await;
    let before = audit(
        &s,
        pb::EventFilter {
            package_id: package.clone(),
            ..Default::default()
        },
    )
    .await;
    // The only seat is the admin's: this sign-in fails half-way through.
    assert_status(
        s.try_sign_in(&ada, &user, &pass).await,
        Code::ResourceExhausted,
        Some("SEAT_LIMIT_REACHED"),
    );
    let after = audit(
        &s,
        pb::EventFilter {
            package_id: package.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(before.len(), after.len());
    assert!(
        audit(&s, by_identity(&ada))
            .await
            .iter()
            .all(|e| event_type(e) == pb::EventType::IdentityCreated)
    );
}

async fn e2_watch_delivers_committed_events_in_order(b: Backend) {
    let s = TestServer::start(b).await;
    let (mut stream, _) = watch(&s, SERVICE_KEY, pb::EventFilter::default(), "").await;
    let mut created = Vec::new();
    for name in ["A", "B", "C", "D"] {
        created.push(s.create_identity(name).await);
    }
    let mut seen = Vec::new();
    let mut cursors = Vec::new();
    while seen.len() < 4 {
        let e = next_event(&mut stream, Duration::from_secs(5))
            .await
            .expect("event in time");
        assert_eq!(event_type(&e), pb::EventType::IdentityCreated);
        seen.push(e.identity_id.clone());
        cursors.push(e.cursor.clone());
    }
    assert_eq!(seen, created);
    cursors.dedup();
    assert_eq!(cursors.len(), 4, "every event has its own cursor");
}

async fn e2_watch_resumes_from_a_cursor_without_gaps_or_loss(b: Backend) {
    let s = TestServer::start(b).await;
    let (mut stream, _) = watch(&s, SERVICE_KEY, pb::EventFilter::default(), "").await;
    let first = s.create_identity("First").await;
    let e = next_event(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(e.identity_id, first);
    let resume_at = e.cursor.clone();
    drop(stream);

    // Changes while nobody is listening.
    let mut missed = Vec::new();
    for name in ["B", "C", "D"] {
        missed.push(s.create_identity(name).await);
    }
    let (mut stream, _) = watch(&s, SERVICE_KEY, pb::EventFilter::default(), &resume_at).await;
    let later = s.create_identity("Live").await;
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(
            next_event(&mut stream, Duration::from_secs(5))
                .await
                .unwrap()
                .identity_id,
        );
    }
    missed.push(later);
    assert_eq!(got, missed);
    assert!(
        next_event(&mut stream, Duration::from_millis(300))
            .await
            .is_none(),
        "no duplicates"
    );
}

async fn e2_no_event_for_a_rolled_back_change(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _admin, _token) = s.package_with_admin(pb::Plan::Business, 1).await;
    let ada = s.create_identity("Ada").await;
    let (_, user, pass) = s.issue_credential(&package, "ada").await;
    let (mut stream, _) = watch(&s, SERVICE_KEY, pb::EventFilter::default(), "").await;
    // Rolled back after locking rows and inserting the attachment.
    assert_status(
        s.try_sign_in(&ada, &user, &pass).await,
        Code::ResourceExhausted,
        None,
    );
    let marker = s.create_identity("Marker").await;
    let e = next_event(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (event_type(&e), e.identity_id.as_str()),
        (pb::EventType::IdentityCreated, marker.as_str())
    );
}

async fn e2_filters_select_by_identity_package_and_type(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _admin, _token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let ada = s.create_identity("Ada").await;
    let bob = s.create_identity("Bob").await;
    let (_, user, pass) = s.issue_credential(&package, "shared").await;
    let (mut only_ada, _) = watch(&s, SERVICE_KEY, by_identity(&ada), "").await;
    let (mut only_sessions, _) = watch(
        &s,
        SERVICE_KEY,
        pb::EventFilter {
            package_id: package.clone(),
            types: vec![pb::EventType::SessionStarted as i32],
            ..Default::default()
        },
        "",
    )
    .await;
    s.sign_in(&bob, &user, &pass).await;
    s.sign_in(&ada, &user, &pass).await;

    let e = next_event(&mut only_ada, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (event_type(&e), e.identity_id.as_str()),
        (pb::EventType::IdentityAttached, ada.as_str())
    );
    let e = next_event(&mut only_ada, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (event_type(&e), e.identity_id.as_str()),
        (pb::EventType::SessionStarted, ada.as_str())
    );

    let e = next_event(&mut only_sessions, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (event_type(&e), e.identity_id.as_str()),
        (pb::EventType::SessionStarted, bob.as_str())
    );
    let e = next_event(&mut only_sessions, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (event_type(&e), e.identity_id.as_str()),
        (pb::EventType::SessionStarted, ada.as_str())
    );
    assert!(
        next_event(&mut only_sessions, Duration::from_millis(300))
            .await
            .is_none()
    );
}

async fn e2_a_cursor_past_retention_is_refused_clearly(b: Backend) {
    let s = TestServer::start(b).await;
    s.create_identity("Old").await;
    let (_, old_cursor) = watch(&s, SERVICE_KEY, pb::EventFilter::default(), "").await;
    s.create_identity("Newer").await;
    s.create_identity("Newest").await;
    // Prune the way the retention job does, on the same database.
    let config = roster::config::Config::with_database(s.database_url.clone());
    let store = roster::open_store(&config, s.clock.clone()).await.unwrap();
    assert!(store.prune_events(i64::MAX).await.unwrap() >= 2);
    let res = s
        .svc_events()
        .watch_events(pb::WatchEventsRequest {
            cursor: old_cursor,
            filter: None,
        })
        .await;
    assert_status(res, Code::OutOfRange, Some("CURSOR_EXPIRED"));
    let res = s
        .svc_events()
        .watch_events(pb::WatchEventsRequest {
            cursor: "not-a-cursor".into(),
            filter: None,
        })
        .await;
    assert_invalid(res, "cursor");
}

async fn e2_people_watch_only_what_they_may_see(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let ada = s.create_identity("Ada").await;
    let (_, user, pass) = s.issue_credential(&package, "ada").await;
    let ada_token = s.sign_in(&ada, &user, &pass).await;
    // Own identity, and the admin's own package: allowed.
    watch(&s, &ada_token, by_identity(&ada), "").await;
    watch(
        &s,
        &admin_token,
        pb::EventFilter {
            package_id: package.clone(),
            ..Default::default()
        },
        "",
    )
    .await;
    // Someone else's identity, a package one does not administer, no filter.
    for (token, filter) in [
        (&ada_token, by_identity(&admin)),
        (
            &ada_token,
            pb::EventFilter {
                package_id: package.clone(),
                ..Default::default()
            },
        ),
        (&ada_token, pb::EventFilter::default()),
    ] {
        let res = s
            .events(Some(token))
            .watch_events(pb::WatchEventsRequest {
                cursor: String::new(),
                filter: Some(filter.clone()),
            })
            .await;
        assert_status(res, Code::PermissionDenied, None);
        let res = s
            .events(Some(token))
            .list_audit_events(pb::ListAuditEventsRequest {
                filter: Some(filter),
                ..Default::default()
            })
            .await;
        assert!(matches!(
            res.map_err(|e| e.code()),
            Err(Code::PermissionDenied | Code::InvalidArgument)
        ));
    }
    let res = s
        .events(None)
        .watch_events(pb::WatchEventsRequest::default())
        .await;
    assert_status(res, Code::Unauthenticated, None);
}

/// Rounds of concurrent writers in the ordering test.
const ORDER_ROUNDS: usize = 6;
/// Members churned concurrently per round.
const ORDER_WRITERS: usize = 8;

/// E2 under concurrent writers: sequence numbers are commit order, so a
/// watcher reading the log by sequence misses nothing. Members of one
/// package are deactivated and reactivated all at once (writers that take
/// the event writers' lock with their seat statement) while identities
/// are created (writers that take it on its own). A watcher of the package
/// on another replica (PostgreSQL; the same server on SQLite) must then
/// have received exactly the package's audit log since it started, in the
/// same order.
async fn e2_concurrent_writers_are_watched_in_commit_order_without_gaps(b: Backend) {
    let a = TestServer::start(b).await;
    let (package, admin, _) = a.package_with_admin(pb::Plan::Enterprise, 1_000).await;
    let org = a.create_org(&package, &admin).await;
    let mut members = Vec::new();
    for i in 0..ORDER_WRITERS {
        members.push(
            a.new_member(&org, &format!("M{i}"), pb::MemberRole::Member)
                .await,
        );
    }
    let b_replica = match b {
        Backend::Postgres => Some(a.replica().await),
        Backend::Sqlite => None,
    };
    let watcher = b_replica.as_ref().unwrap_or(&a);
    let of_package = pb::EventFilter {
        package_id: package.clone(),
        ..Default::default()
    };
    let (mut stream, _) = watch(watcher, SERVICE_KEY, of_package.clone(), "").await;
    for round in 0..ORDER_ROUNDS {
        for deactivating in [true, false] {
            let creations = (0..ORDER_WRITERS / 2).map(|i| {
                let name = format!("C{round}{deactivating}{i}");
                let a = &a;
                async move { a.create_identity(&name).await }
            });
            tokio::join!(
                change_all(&a, &org, &members, deactivating),
                futures::future::join_all(creations)
            );
        }
    }
    // Per round: each member deactivated (MEMBER_DEACTIVATED and
    // IDENTITY_DETACHED) and reactivated (MEMBER_REACTIVATED and
    // IDENTITY_ATTACHED); the identities created in between belong to no
    // package, but take sequence numbers among them.
    let expected = ORDER_ROUNDS * 4 * ORDER_WRITERS;
    // The audit log lists the newest first.
    let mut logged: Vec<String> = audit(&a, of_package)
        .await
        .into_iter()
        .take(expected)
        .map(|e| e.cursor)
        .collect();
    logged.reverse();
    let mut watched = Vec::new();
    while watched.len() < expected {
        match next_event(&mut stream, Duration::from_secs(10)).await {
            Some(e) => watched.push(e.cursor),
            None => break,
        }
    }
    assert_eq!(watched.len(), expected, "events watched");
    assert_eq!(watched, logged, "the watcher saw the log, in its order");
}

/// Deactivates (or reactivates) every one of `members` of `org` on `s`, all
/// at once; each change must succeed.
pub(crate) async fn change_all(s: &TestServer, org: &str, members: &[String], deactivating: bool) {
    let changes = members.iter().map(|id| {
        let mut m = s.svc_membership();
        let (org, id) = (org.to_owned(), id.clone());
        async move {
            if deactivating {
                m.deactivate_member(pb::DeactivateMemberRequest {
                    organization_id: org,
                    identity_id: id,
                    ..Default::default()
                })
                .await
                .map(drop)
            } else {
                m.reactivate_member(pb::ReactivateMemberRequest {
                    request_id: String::new(),
                    organization_id: org,
                    identity_id: id,
                })
                .await
                .map(drop)
            }
        }
    });
    for r in futures::future::join_all(changes).await {
        r.expect("member change");
    }
}

crate::db_tests!(
    e1_every_change_writes_an_audit_row_with_actor_and_reason,
    e1_a_failed_change_writes_nothing,
    e2_watch_delivers_committed_events_in_order,
    e2_concurrent_writers_are_watched_in_commit_order_without_gaps,
    e2_watch_resumes_from_a_cursor_without_gaps_or_loss,
    e2_no_event_for_a_rolled_back_change,
    e2_filters_select_by_identity_package_and_type,
    e2_a_cursor_past_retention_is_refused_clearly,
    e2_people_watch_only_what_they_may_see,
);
