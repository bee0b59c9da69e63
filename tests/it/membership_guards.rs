//! Offboarding guards: the room-admin guard with and without successor
//! (M7), the last-active-admin guard and its race (M2), and the
//! side-effect-free preview (M8).

use roster::domain::EventType;
use roster::pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Backend, TestServer, assert_status};

const ADMIN: pb::MemberRole = pb::MemberRole::Admin;
const MEMBER: pb::MemberRole = pb::MemberRole::Member;

struct World {
    s: TestServer,
    package: String,
    org: String,
    admin: String,
}

async fn world(b: Backend) -> World {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 50, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    World {
        s,
        package,
        org,
        admin,
    }
}

fn remove_req(org: &str, id: &str, successor: &str) -> pb::RemoveMemberRequest {
    pb::RemoveMemberRequest {
        request_id: String::new(),
        organization_id: org.into(),
        identity_id: id.into(),
        successor_identity_id: successor.into(),
        etag: String::new(),
    }
}

fn deactivate_req(org: &str, id: &str, successor: &str) -> pb::DeactivateMemberRequest {
    pb::DeactivateMemberRequest {
        organization_id: org.into(),
        identity_id: id.into(),
        successor_identity_id: successor.into(),
        ..Default::default()
    }
}

fn room_ids_of(status: &tonic::Status) -> Vec<String> {
    let info = status.get_details_error_info().expect("ErrorInfo");
    let mut ids: Vec<String> = info
        .metadata
        .get("room_ids")
        .expect("room_ids metadata")
        .split(',')
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids
}

fn role_in(room: &[pb::RoomMember], id: &str) -> Option<i32> {
    room.iter().find(|m| m.identity_id == id).map(|m| m.role)
}

async fn m7_remove_and_deactivate_refuse_to_orphan_rooms_and_list_them(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    let leo = s.new_member(&w.org, "Leo", MEMBER).await;
    let mia = s.new_member(&w.org, "Mia", MEMBER).await;
    // Leo is the only admin of r1 and r2; r3 has Mia as a second admin;
    // r4's other admin is deactivated, so it counts for nothing.
    let r1 = s.create_room(&w.org, &leo).await;
    let r2 = s.create_room(&w.org, &leo).await;
    let r3 = s.create_room(&w.org, &leo).await;
    s.add_room_member(&r3, &mia, pb::RoomRole::Admin).await;
    let paused = s.new_member(&w.org, "Paused", MEMBER).await;
    let r4 = s.create_room(&w.org, &leo).await;
    s.add_room_member(&r4, &paused, pb::RoomRole::Admin).await;
    s.svc_membership()
        .deactivate_member(deactivate_req(&w.org, &paused, ""))
        .await
        .unwrap();
    let mut expected = vec![r1.clone(), r2.clone(), r4.clone()];
    expected.sort();

    let err = assert_status(
        s.svc_membership()
            .remove_member(remove_req(&w.org, &leo, ""))
            .await,
        Code::FailedPrecondition,
        Some("LAST_ROOM_ADMIN"),
    );
    assert_eq!(room_ids_of(&err), expected);
    let err = assert_status(
        s.svc_membership()
            .deactivate_member(deactivate_req(&w.org, &leo, ""))
            .await,
        Code::FailedPrecondition,
        Some("LAST_ROOM_ADMIN"),
    );
    assert_eq!(room_ids_of(&err), expected);
    // Nothing changed.
    let m = s.member(&w.org, &leo).await.unwrap();
    assert_eq!(m.state, pb::MemberState::Active as i32);
    for r in [&r1, &r2, &r3, &r4] {
        assert_eq!(
            role_in(&s.room_members(r).await, &leo),
            Some(pb::RoomRole::Admin as i32)
        );
    }
    // A successor who is not an active member is refused.
    for bad in [paused.as_str(), "ZZZZZZZZ"] {
        assert_status(
            s.svc_membership()
                .remove_member(remove_req(&w.org, &leo, bad))
                .await,
            Code::FailedPrecondition,
            Some("SUCCESSOR_NOT_ACTIVE"),
        );
    }
}

async fn m7_successor_becomes_admin_of_exactly_the_orphaned_rooms(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    let leo = s.new_member(&w.org, "Leo", MEMBER).await;
    let mia = s.new_member(&w.org, "Mia", MEMBER).await;
    let sam = s.new_member(&w.org, "Sam", MEMBER).await;
    let r1 = s.create_room(&w.org, &leo).await; // Sam not in it yet
    let r2 = s.create_room(&w.org, &leo).await; // Sam a plain member
    s.add_room_member(&r2, &sam, pb::RoomRole::Member).await;
    let r3 = s.create_room(&w.org, &leo).await; // Mia co-admin: not orphaned
    s.add_room_member(&r3, &mia, pb::RoomRole::Admin).await;
    s.create_assignment(&r1, &leo, "Handover").await;

    let res = s
        .svc_membership()
        .remove_member(remove_req(&w.org, &leo, &sam))
        .await
        .unwrap()
        .into_inner();
    let mut handed = res.successor_room_ids.clone();
    handed.sort();
    let mut expected = vec![r1.clone(), r2.clone()];
    expected.sort();
    assert_eq!(handed, expected);
    assert_eq!(res.rooms_left, 3);
    assert_eq!(res.assignments_dropped, 1);
    assert!(res.seat_freed);
    for r in [&r1, &r2] {
        let members = s.room_members(r).await;
        assert_eq!(role_in(&members, &sam), Some(pb::RoomRole::Admin as i32));
        assert_eq!(role_in(&members, &leo), None);
    }
    let r3_members = s.room_members(&r3).await;
    assert_eq!(
        role_in(&r3_members, &sam),
        None,
        "r3 kept Mia and got nobody"
    );
    assert_eq!(role_in(&r3_members, &mia), Some(pb::RoomRole::Admin as i32));
    let events = s.org_events(&w.org).await;
    let added = events
        .iter()
        .filter(|e| e.identity_id.as_deref() == Some(sam.as_str()) && e.reason == "SUCCESSOR")
        .map(|e| (e.event_type, e.room_id.clone().unwrap_or_default()))
        .collect::<Vec<_>>();
    assert!(added.contains(&(EventType::RoomMemberAdded, r1.clone())));
    assert!(added.contains(&(EventType::RoomMemberUpdated, r2.clone())));
}

async fn m7_deactivation_with_successor_keeps_the_member_in_the_rooms(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    let eva = s.new_member(&w.org, "Eva", MEMBER).await;
    let sam = s.new_member(&w.org, "Sam", MEMBER).await;
    let room = s.create_room(&w.org, &eva).await;
    let m = s
        .svc_membership()
        .deactivate_member(deactivate_req(&w.org, &eva, &sam))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.state, pb::MemberState::Deactivated as i32);
    let members = s.room_members(&room).await;
    // Eva stays (as room admin, without access); Sam now runs the room.
    assert_eq!(role_in(&members, &eva), Some(pb::RoomRole::Admin as i32));
    assert_eq!(role_in(&members, &sam), Some(pb::RoomRole::Admin as i32));
    // Reactivated, Eva is back with her old room role.
    s.svc_membership()
        .reactivate_member(pb::ReactivateMemberRequest {
            request_id: String::new(),
            organization_id: w.org.clone(),
            identity_id: eva.clone(),
        })
        .await
        .unwrap();
    let access = s.access(&eva, &w.org, &room).await;
    assert!(access.allowed);
    assert_eq!(access.room_role, pb::RoomRole::Admin as i32);
}

async fn m7_room_guard_applies_to_leave_remove_and_demote(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    let leo = s.new_member(&w.org, "Leo", MEMBER).await;
    let sam = s.new_member(&w.org, "Sam", MEMBER).await;
    let room = s.create_room(&w.org, &leo).await;
    s.add_room_member(&room, &sam, pb::RoomRole::Member).await;
    let leo_token = s.token_for(&w.package, &leo).await;
    let mut leo_c = s.membership(Some(&leo_token));
    let demote = pb::UpdateRoomMemberRequest {
        request_id: String::new(),
        room_member: Some(pb::RoomMember {
            room_id: room.clone(),
            identity_id: leo.clone(),
            role: pb::RoomRole::Member as i32,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["role".into()],
        }),
    };
    let err = assert_status(
        leo_c.update_room_member(demote.clone()).await,
        Code::FailedPrecondition,
        Some("LAST_ROOM_ADMIN"),
    );
    assert_eq!(room_ids_of(&err), vec![room.clone()]);
    assert_status(
        s.svc_membership()
            .remove_room_member(pb::RemoveRoomMemberRequest {
                request_id: String::new(),
                room_id: room.clone(),
                identity_id: leo.clone(),
            })
            .await,
        Code::FailedPrecondition,
        Some("LAST_ROOM_ADMIN"),
    );
    assert_status(
        leo_c
            .leave_room(pb::LeaveRoomRequest {
                request_id: String::new(),
                room_id: room.clone(),
                successor_identity_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        Some("LAST_ROOM_ADMIN"),
    );
    // Leaving with a successor hands the room over in the same call.
    leo_c
        .leave_room(pb::LeaveRoomRequest {
            request_id: String::new(),
            room_id: room.clone(),
            successor_identity_id: sam.clone(),
        })
        .await
        .unwrap();
    let members = s.room_members(&room).await;
    assert_eq!(role_in(&members, &leo), None);
    assert_eq!(role_in(&members, &sam), Some(pb::RoomRole::Admin as i32));
    // With a second active admin, demotion is fine.
    s.add_room_member(&room, &leo, pb::RoomRole::Admin).await;
    let demoted = s
        .svc_membership()
        .update_room_member(demote)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(demoted.role, pb::RoomRole::Member as i32);
}

async fn m2_organization_never_loses_its_last_active_admin(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    let c = || s.svc_membership();
    assert_status(
        c().remove_member(remove_req(&w.org, &w.admin, "")).await,
        Code::FailedPrecondition,
        Some("LAST_ORGANIZATION_ADMIN"),
    );
    assert_status(
        c().deactivate_member(deactivate_req(&w.org, &w.admin, ""))
            .await,
        Code::FailedPrecondition,
        Some("LAST_ORGANIZATION_ADMIN"),
    );
    assert_status(
        c().update_member_role(pb::UpdateMemberRoleRequest {
            request_id: String::new(),
            organization_id: w.org.clone(),
            identity_id: w.admin.clone(),
            role: MEMBER as i32,
        })
        .await,
        Code::FailedPrecondition,
        Some("LAST_ORGANIZATION_ADMIN"),
    );
    // A deactivated second admin does not count.
    let second = s.new_member(&w.org, "Second", ADMIN).await;
    c().deactivate_member(deactivate_req(&w.org, &second, ""))
        .await
        .unwrap();
    assert_status(
        c().remove_member(remove_req(&w.org, &w.admin, "")).await,
        Code::FailedPrecondition,
        Some("LAST_ORGANIZATION_ADMIN"),
    );
    // Once it is active again, the first admin may go.
    c().reactivate_member(pb::ReactivateMemberRequest {
        request_id: String::new(),
        organization_id: w.org.clone(),
        identity_id: second.clone(),
    })
    .await
    .unwrap();
    c().remove_member(remove_req(&w.org, &w.admin, ""))
        .await
        .unwrap();
    let admins = c()
        .list_members(pb::ListMembersRequest {
            organization_id: w.org.clone(),
            state: pb::MemberState::Active as i32,
            role: ADMIN as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .members;
    assert_eq!(admins.len(), 1);
    assert_eq!(admins[0].identity_id, second);
}

/// Two admins removing each other at the same moment: one wins, the other
/// is refused, the organization keeps exactly one active admin. Run with
/// the admins' own sessions (the loser is refused as last admin or, if the
/// winner committed before its check, as no longer an admin) and with a
/// service key (both calls get past authorization, so the guard decides).
async fn m2_concurrent_admins_removing_each_other_leave_one_admin(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    for round in 0..4 {
        let org = s.create_org(&w.package, &w.admin).await;
        let a = s.new_member(&org, &format!("A{round}"), ADMIN).await;
        let b2 = s.new_member(&org, &format!("B{round}"), ADMIN).await;
        s.svc_membership()
            .remove_member(remove_req(&org, &w.admin, ""))
            .await
            .unwrap();
        let use_sessions = round % 2 == 0;
        let (mut ca, mut cb) = if use_sessions {
            (
                s.membership(Some(&s.token_for(&w.package, &a).await)),
                s.membership(Some(&s.token_for(&w.package, &b2).await)),
            )
        } else {
            (s.svc_membership(), s.svc_membership())
        };
        let (ra, rb) = tokio::join!(
            ca.remove_member(remove_req(&org, &b2, "")),
            cb.remove_member(remove_req(&org, &a, "")),
        );
        let outcomes = [ra.map(|_| ()), rb.map(|_| ())];
        let won = outcomes.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "exactly one removal wins: {outcomes:?}");
        for r in outcomes.into_iter().filter_map(Result::err) {
            let reason = r
                .get_details_error_info()
                .map(|i| i.reason)
                .unwrap_or_default();
            if use_sessions {
                assert!(
                    reason == "LAST_ORGANIZATION_ADMIN" || reason == "NOT_ORGANIZATION_ADMIN",
                    "{r:?}"
                );
            } else {
                assert_eq!(r.code(), Code::FailedPrecondition, "{r:?}");
                assert_eq!(reason, "LAST_ORGANIZATION_ADMIN");
            }
        }
        let admins = s
            .svc_membership()
            .list_members(pb::ListMembersRequest {
                organization_id: org.clone(),
                state: pb::MemberState::Active as i32,
                role: ADMIN as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .members;
        assert_eq!(admins.len(), 1, "round {round}");
    }
}

async fn m8_preview_offboarding_shows_all_effects_and_writes_nothing(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    let leo = s.new_member(&w.org, "Leo", MEMBER).await;
    let sam = s.new_member(&w.org, "Sam", MEMBER).await;
    let r1 = s.create_room(&w.org, &leo).await;
    let r2 = s.create_room(&w.org, &w.admin).await;
    s.add_room_member(&r2, &leo, pb::RoomRole::Member).await;
    for r in [&r1, &r2] {
        s.create_assignment(r, &leo, "Task").await;
    }
    s.create_assignment(&r1, &leo, "Another").await;
    let events_before = s.org_events(&w.org).await.len();
    let seats_before = s.seats_used(&w.package).await;
    let preview = |action: pb::OffboardingAction, successor: &str, who: &str| {
        let req = pb::PreviewOffboardingRequest {
            organization_id: w.org.clone(),
            identity_id: who.into(),
            action: action as i32,
            successor_identity_id: successor.into(),
        };
        let s = &w.s;
        async move {
            s.svc_membership()
                .preview_offboarding(req)
                .await
                .unwrap()
                .into_inner()
        }
    };
    let p = preview(pb::OffboardingAction::Remove, "", &leo).await;
    assert_eq!(p.orphaned_room_ids, vec![r1.clone()]);
    assert_eq!(p.room_count, 2);
    assert_eq!(p.assignment_count, 3);
    assert!(p.seat_freed);
    assert!(p.other_active_organization_ids.is_empty());
    assert_eq!(p.blocking_reasons, vec!["LAST_ROOM_ADMIN".to_owned()]);
    let p = preview(pb::OffboardingAction::Deactivate, &sam, &leo).await;
    assert!(p.blocking_reasons.is_empty(), "{p:?}");
    assert_eq!(p.orphaned_room_ids, vec![r1.clone()]);
    let p = preview(pb::OffboardingAction::Remove, "", &w.admin).await;
    assert!(
        p.blocking_reasons
            .contains(&"LAST_ORGANIZATION_ADMIN".to_owned())
    );
    // Nothing was written.
    assert_eq!(s.org_events(&w.org).await.len(), events_before);
    assert_eq!(s.seats_used(&w.package).await, seats_before);
    assert_eq!(
        s.member(&w.org, &leo).await.unwrap().state,
        pb::MemberState::Active as i32
    );
    assert_eq!(s.room_members(&r1).await.len(), 1);
    // And the real call does what the preview said.
    let res = s
        .svc_membership()
        .remove_member(remove_req(&w.org, &leo, &sam))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(res.successor_room_ids, vec![r1.clone()]);
    assert_eq!(
        (res.rooms_left, res.assignments_dropped, res.seat_freed),
        (2, 3, true)
    );
    assert_status(
        s.svc_membership()
            .preview_offboarding(pb::PreviewOffboardingRequest {
                organization_id: w.org.clone(),
                identity_id: leo.clone(),
                action: pb::OffboardingAction::Remove as i32,
                successor_identity_id: String::new(),
            })
            .await,
        Code::NotFound,
        Some("MEMBER_NOT_FOUND"),
    );
}

crate::db_tests!(
    m7_remove_and_deactivate_refuse_to_orphan_rooms_and_list_them,
    m7_successor_becomes_admin_of_exactly_the_orphaned_rooms,
    m7_deactivation_with_successor_keeps_the_member_in_the_rooms,
    m7_room_guard_applies_to_leave_remove_and_demote,
    m2_organization_never_loses_its_last_active_admin,
    m2_concurrent_admins_removing_each_other_leave_one_admin,
    m8_preview_offboarding_shows_all_effects_and_writes_nothing,
);
