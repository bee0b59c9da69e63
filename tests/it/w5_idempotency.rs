//! W5: a mutating request that carries a `request_id` takes effect once: a
//! retry within 24 hours (on any replica, even at the same moment) returns
//! the first response and changes nothing; the same ID with another
//! request is refused; a refused request leaves nothing behind.

use std::time::Duration;

use roster::domain::EventType;
use roster::pb;
use tonic::Code;

use crate::db_tests;
use crate::harness::{Backend, TestServer, assert_invalid, assert_status};

db_tests!(
    w5_a_retry_returns_the_first_response_and_changes_nothing,
    w5_the_same_id_with_another_request_or_caller_is_refused,
    w5_concurrent_twins_on_two_replicas_take_effect_once,
    w5_a_refused_request_leaves_nothing_and_can_be_retried,
    w5_an_id_is_forgotten_after_24_hours,
);

/// A random version-4 UUID.
fn uuid() -> String {
    use rand::RngExt;
    let b: [u8; 16] = rand::rand_core::UnwrapErr(rand::rngs::SysRng).random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn count(events: &[roster::domain::Event], t: EventType, identity: &str) -> usize {
    events
        .iter()
        .filter(|e| e.event_type == t && e.identity_id.as_deref() == Some(identity))
        .count()
}

fn add(org: &str, id: &str, request_id: &str) -> pb::AddMemberRequest {
    pb::AddMemberRequest {
        organization_id: org.to_owned(),
        identity_id: id.to_owned(),
        role: pb::MemberRole::Member as i32,
        request_id: request_id.to_owned(),
    }
}

async fn w5_a_retry_returns_the_first_response_and_changes_nothing(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    // CreateIdentity: a retry does not create a second identity.
    let rid = uuid();
    let create = || pb::CreateIdentityRequest {
        identity: Some(pb::Identity {
            display_name: "Retried".to_owned(),
            ..Default::default()
        }),
        request_id: rid.clone(),
    };
    let first = s
        .svc_identity()
        .create_identity(create())
        .await
        .expect("create");
    let again = s
        .svc_identity()
        .create_identity(create())
        .await
        .expect("retry");
    assert_eq!(first.get_ref(), again.get_ref());
    let id = first.into_inner().identity_id;

    // AddMember: the retry answers the first Member, not ALREADY_MEMBER.
    let rid = uuid();
    let a = s
        .svc_membership()
        .add_member(add(&org, &id, &rid))
        .await
        .expect("add");
    let b2 = s
        .svc_membership()
        .add_member(add(&org, &id, &rid))
        .await
        .expect("retry");
    assert_eq!(a.get_ref(), b2.get_ref());
    // RemoveMember: the retry answers the first response, not NOT_FOUND.
    let rid = uuid();
    let remove = || pb::RemoveMemberRequest {
        organization_id: org.clone(),
        identity_id: id.clone(),
        request_id: rid.clone(),
        ..Default::default()
    };
    let r1 = s
        .svc_membership()
        .remove_member(remove())
        .await
        .expect("remove");
    let r2 = s
        .svc_membership()
        .remove_member(remove())
        .await
        .expect("retry");
    assert_eq!(r1.get_ref(), r2.get_ref());
    assert!(r1.get_ref().undo_expire_time.is_some());
    // Without an ID the same call acts again (and is refused now).
    assert_status(
        s.svc_membership()
            .remove_member(pb::RemoveMemberRequest {
                request_id: String::new(),
                ..remove()
            })
            .await,
        Code::NotFound,
        Some("MEMBER_NOT_FOUND"),
    );
    let events = s.org_events(&org).await;
    assert_eq!(count(&events, EventType::MemberAdded, &id), 1);
    assert_eq!(count(&events, EventType::MemberRemoved, &id), 1);
    // An Empty response replays too (SignOut by the session itself).
    let token = s.token_for(&package, &admin).await;
    let rid = uuid();
    let sign_out = || pb::SignOutRequest {
        session_token: token.clone(),
        request_id: rid.clone(),
    };
    s.identity(Some(&token))
        .sign_out(sign_out())
        .await
        .expect("sign out");
    s.svc_identity().sign_out(sign_out()).await.map(drop).ok();
    assert!(!s.session_valid(&token).await);
}

async fn w5_the_same_id_with_another_request_or_caller_is_refused(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let one = s.create_identity("One").await;
    let two = s.create_identity("Two").await;
    let rid = uuid();
    s.svc_membership()
        .add_member(add(&org, &one, &rid))
        .await
        .expect("add");
    // Another body under the same ID.
    assert_invalid(
        s.svc_membership().add_member(add(&org, &two, &rid)).await,
        "request_id",
    );
    assert!(s.member(&org, &two).await.is_none());
    // Another caller under the same ID (the org admin, not the service).
    assert_invalid(
        s.membership(Some(&admin_token))
            .add_member(add(&org, &one, &rid))
            .await,
        "request_id",
    );
    // Another method under the same ID.
    assert_invalid(
        s.svc_membership()
            .reactivate_member(pb::ReactivateMemberRequest {
                organization_id: org.clone(),
                identity_id: one.clone(),
                request_id: rid.clone(),
            })
            .await,
        "request_id",
    );
    // Not a UUID.
    for bad in ["retry-1", "123e4567e89b12d3a456426614174000", " "] {
        assert_invalid(
            s.svc_membership().add_member(add(&org, &two, bad)).await,
            "request_id",
        );
    }
    assert!(s.member(&org, &two).await.is_none());
}

async fn w5_concurrent_twins_on_two_replicas_take_effect_once(b: Backend) {
    let a = TestServer::start(b).await;
    let r = a.replica().await;
    let (package, admin, _) = a.package_with_admin(pb::Plan::Business, 10).await;
    let org = a.create_org(&package, &admin).await;
    let trials = 20;
    let mut rooms = Vec::new();
    for trial in 0..trials {
        let rid = uuid();
        let request = pb::CreateRoomRequest {
            room: Some(pb::Room {
                organization_id: org.clone(),
                display_name: format!("Room {trial}"),
                ..Default::default()
            }),
            admin_identity_id: admin.clone(),
            request_id: rid,
        };
        let calls = (0..4).map(|i| {
            let mut c = if i % 2 == 0 {
                a.svc_membership()
            } else {
                r.svc_membership()
            };
            let req = request.clone();
            tokio::spawn(async move { c.create_room(req).await.map(|r| r.into_inner()) })
        });
        let mut ids = Vec::new();
        for call in calls {
            let room = call.await.expect("join").expect("create room");
            ids.push(room.room_id);
        }
        ids.dedup();
        assert_eq!(
            ids.len(),
            1,
            "trial {trial}: twins answered different rooms {ids:?}"
        );
        rooms.push(ids.remove(0));
    }
    let created = a
        .org_events(&org)
        .await
        .into_iter()
        .filter(|e| e.event_type == EventType::RoomCreated)
        .count();
    assert_eq!(created, trials, "one ROOM_CREATED per request ID");
    rooms.sort();
    rooms.dedup();
    assert_eq!(rooms.len(), trials);
}

async fn w5_a_refused_request_leaves_nothing_and_can_be_retried(b: Backend) {
    let s = TestServer::start(b).await;
    // One seat, taken by the admin.
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 1).await;
    let org = s.create_org(&package, &admin).await;
    let newcomer = s.create_identity("Newcomer").await;
    let rid = uuid();
    assert_status(
        s.svc_membership()
            .add_member(add(&org, &newcomer, &rid))
            .await,
        Code::ResourceExhausted,
        Some("SEAT_LIMIT_REACHED"),
    );
    s.svc_license()
        .update_license_package(pb::UpdateLicensePackageRequest {
            license_package: Some(pb::LicensePackage {
                package_id: package.clone(),
                seat_limit: 2,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["seat_limit".to_owned()],
            }),
            request_id: String::new(),
        })
        .await
        .expect("raise the limit");
    let m = s
        .svc_membership()
        .add_member(add(&org, &newcomer, &rid))
        .await
        .expect("the retry acts now");
    assert_eq!(m.get_ref().identity_id, newcomer);
}

async fn w5_an_id_is_forgotten_after_24_hours(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let id = s.create_identity("Later").await;
    let rid = uuid();
    s.svc_membership()
        .add_member(add(&org, &id, &rid))
        .await
        .expect("add");
    s.clock.advance(Duration::from_secs(24 * 3600 - 1));
    s.svc_membership()
        .add_member(add(&org, &id, &rid))
        .await
        .expect("still remembered");
    s.clock.advance(Duration::from_secs(2));
    assert_status(
        s.svc_membership().add_member(add(&org, &id, &rid)).await,
        Code::AlreadyExists,
        Some("ALREADY_MEMBER"),
    );
}
