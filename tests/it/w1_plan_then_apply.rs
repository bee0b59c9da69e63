//! W1: plan, then apply exactly the plan. PreviewOffboarding returns an
//! etag of the state it looked at; Remove/DeactivateMember given it apply
//! the plan while nothing it depends on changed, and answer ABORTED
//! (ETAG_MISMATCH), changing nothing, when something did: a room got a new
//! admin, an assignment appeared, the seat moved, a successor left.

use roster::pb;
use tonic::Code;

use crate::harness::{Backend, TestServer, assert_invalid, assert_status};

const MEMBER: pb::MemberRole = pb::MemberRole::Member;

struct World {
    s: TestServer,
    package: String,
    org: String,
    leaver: String,
    successor: String,
    room: String,
}

/// An organization where `leaver` is the only admin of one room and holds
/// an assignment there; `successor` is an active member.
async fn world(b: Backend) -> World {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Enterprise, 50, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    let leaver = s.new_member(&org, "Leaver", MEMBER).await;
    let successor = s.new_member(&org, "Successor", MEMBER).await;
    let room = s.create_room(&org, &leaver).await;
    s.add_room_member(&room, &successor, pb::RoomRole::Member)
        .await;
    s.create_assignment(&room, &leaver, "Hand over").await;
    World {
        s,
        package,
        org,
        leaver,
        successor,
        room,
    }
}

async fn preview(w: &World, action: pb::OffboardingAction, successor: &str) -> String {
    let p =
        w.s.svc_membership()
            .preview_offboarding(pb::PreviewOffboardingRequest {
                organization_id: w.org.clone(),
                identity_id: w.leaver.clone(),
                action: action as i32,
                successor_identity_id: successor.into(),
            })
            .await
            .expect("preview")
            .into_inner();
    assert_eq!(p.etag.len(), 24, "{p:?}");
    p.etag
}

async fn remove(
    w: &World,
    successor: &str,
    etag: &str,
) -> Result<pb::RemoveMemberResponse, tonic::Status> {
    w.s.svc_membership()
        .remove_member(pb::RemoveMemberRequest {
            request_id: String::new(),
            organization_id: w.org.clone(),
            identity_id: w.leaver.clone(),
            successor_identity_id: successor.into(),
            etag: etag.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn deactivate(w: &World, successor: &str, etag: &str) -> Result<pb::Member, tonic::Status> {
    w.s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: w.org.clone(),
            identity_id: w.leaver.clone(),
            successor_identity_id: successor.into(),
            etag: etag.into(),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

/// The same state gives the same etag, and the call applies the plan.
async fn w1_an_unchanged_plan_is_applied(b: Backend) {
    let w = world(b).await;
    let first = preview(&w, pb::OffboardingAction::Remove, &w.successor).await;
    let again = preview(&w, pb::OffboardingAction::Remove, &w.successor).await;
    assert_eq!(first, again, "nothing changed in between");
    // Another action or successor is another plan.
    assert_ne!(
        first,
        preview(&w, pb::OffboardingAction::Deactivate, &w.successor).await
    );
    assert_ne!(first, preview(&w, pb::OffboardingAction::Remove, "").await);
    let removal = remove(&w, &w.successor, &first).await.expect("applied");
    assert_eq!(removal.successor_room_ids, vec![w.room.clone()]);
    assert_eq!((removal.rooms_left, removal.assignments_dropped), (1, 1));
}

/// Every kind of change the plan depends on makes the confirmed call
/// answer ABORTED / ETAG_MISMATCH, and such a refusal changes nothing.
async fn w1_a_changed_state_aborts_the_confirmed_call(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    type Change = for<'a> fn(&'a World) -> futures::future::BoxFuture<'a, ()>;
    let changes: Vec<(&str, Change)> = vec![
        ("a room got a new admin", |w| {
            Box::pin(async move {
                w.s.svc_membership()
                    .update_room_member(pb::UpdateRoomMemberRequest {
                        request_id: String::new(),
                        room_member: Some(pb::RoomMember {
                            room_id: w.room.clone(),
                            identity_id: w.successor.clone(),
                            role: pb::RoomRole::Admin as i32,
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["role".into()],
                        }),
                    })
                    .await
                    .expect("promote");
            })
        }),
        ("an assignment appeared", |w| {
            Box::pin(async move {
                w.s.create_assignment(&w.room, &w.leaver, "One more").await;
            })
        }),
        ("the seat moved", |w| {
            Box::pin(async move {
                let other = w.s.create_org(&w.package, &w.successor).await;
                w.s.add_member(&other, &w.leaver, MEMBER).await;
            })
        }),
        ("the leaver joined another room", |w| {
            Box::pin(async move {
                let room = w.s.create_room(&w.org, &w.successor).await;
                w.s.add_room_member(&room, &w.leaver, pb::RoomRole::Member)
                    .await;
            })
        }),
    ];
    let n = changes.len();
    for (what, change) in changes {
        let etag = preview(&w, pb::OffboardingAction::Remove, &w.successor).await;
        let deactivation_etag = preview(&w, pb::OffboardingAction::Deactivate, &w.successor).await;
        change(&w).await;
        let seats = s.seats_used(&w.package).await;
        let rooms = s.room_members(&w.room).await;
        assert_status(
            remove(&w, &w.successor, &etag).await,
            Code::Aborted,
            Some("ETAG_MISMATCH"),
        );
        assert_status(
            deactivate(&w, &w.successor, &deactivation_etag).await,
            Code::Aborted,
            Some("ETAG_MISMATCH"),
        );
        // Nothing changed: still an active member, same rooms, same seats.
        let m = s.member(&w.org, &w.leaver).await.expect(what);
        assert_eq!(m.state, pb::MemberState::Active as i32, "{what}");
        assert_eq!(s.room_members(&w.room).await, rooms, "{what}");
        assert_eq!(s.seats_used(&w.package).await, seats, "{what}");
    }
    assert_eq!(n, 4);
    // A fresh preview gives the plan of the new state, which applies.
    let etag = preview(&w, pb::OffboardingAction::Deactivate, &w.successor).await;
    deactivate(&w, &w.successor, &etag)
        .await
        .expect("fresh plan");
}

/// Without an etag the calls behave as before; a malformed one is the
/// caller's mistake.
async fn w1_the_etag_is_optional_and_checked_for_shape(b: Backend) {
    let w = world(b).await;
    assert_invalid(remove(&w, &w.successor, "not-an-etag").await, "etag");
    assert_invalid(
        deactivate(&w, &w.successor, "0123456789ABCDEF01234567").await,
        "etag",
    );
    let etag = preview(&w, pb::OffboardingAction::Remove, &w.successor).await;
    // A well-formed etag of another plan (deactivation) is a mismatch.
    let other = preview(&w, pb::OffboardingAction::Deactivate, &w.successor).await;
    assert_ne!(etag, other);
    assert_status(
        remove(&w, &w.successor, &other).await,
        Code::Aborted,
        Some("ETAG_MISMATCH"),
    );
    remove(&w, &w.successor, "")
        .await
        .expect("no etag, no check");
}

crate::db_tests!(
    w1_an_unchanged_plan_is_applied,
    w1_a_changed_state_aborts_the_confirmed_call,
    w1_the_etag_is_optional_and_checked_for_shape,
);
