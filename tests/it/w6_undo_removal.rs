//! W6: a removal can be undone within the organization's
//! `removal_undo_window` (default seven days): UndoRemoveMember brings back
//! the role, state, room memberships with their roles and permissions, and
//! the assignments nobody took over, if a seat is free; refused after the
//! window, after a re-add and after revocation (which deletes the copy).

use std::time::Duration;

use roster::domain::EventType;
use roster::pb;
use roster::store::Clock;
use tonic::Code;

use crate::db_tests;
use crate::harness::{Backend, TestServer, assert_invalid, assert_status};

const MEMBER: pb::MemberRole = pb::MemberRole::Member;

db_tests!(
    w6_undo_restores_role_rooms_permissions_and_assignments_exactly,
    w6_undo_is_refused_after_the_window_and_when_turned_off,
    w6_revocation_is_never_undoable,
    w6_undo_needs_a_free_seat_and_changes_nothing_without_one,
    w6_a_readded_member_cannot_be_undone,
    w6_a_deactivated_member_comes_back_deactivated_without_a_seat,
    w6_each_organization_of_an_offboarding_is_undone_on_its_own,
    w6_the_window_is_validated_and_pruned_copies_are_gone,
);

async fn remove(s: &TestServer, org: &str, id: &str, successor: &str) -> pb::RemoveMemberResponse {
    s.svc_membership()
        .remove_member(pb::RemoveMemberRequest {
            request_id: String::new(),
            organization_id: org.to_owned(),
            identity_id: id.to_owned(),
            successor_identity_id: successor.to_owned(),
            etag: String::new(),
        })
        .await
        .expect("remove member")
        .into_inner()
}

async fn undo(
    s: &TestServer,
    org: &str,
    id: &str,
) -> Result<pb::UndoRemoveMemberResponse, tonic::Status> {
    s.svc_membership()
        .undo_remove_member(pb::UndoRemoveMemberRequest {
            request_id: String::new(),
            organization_id: org.to_owned(),
            identity_id: id.to_owned(),
        })
        .await
        .map(|r| r.into_inner())
}

/// `id`'s role and permissions in each of `rooms` (None: not in it).
async fn room_standing(s: &TestServer, rooms: &[String], id: &str) -> Vec<Option<(i32, Vec<i32>)>> {
    let mut out = Vec::new();
    for room in rooms {
        out.push(
            s.room_members(room)
                .await
                .into_iter()
                .find(|m| m.identity_id == id)
                .map(|m| (m.role, m.permissions)),
        );
    }
    out
}

/// The assignment IDs `id` holds in `org`.
async fn assignments_of(s: &TestServer, org: &str, id: &str) -> Vec<String> {
    let mut ids: Vec<String> = s
        .svc_membership()
        .list_assignments(pb::ListAssignmentsRequest {
            organization_id: org.to_owned(),
            assignee_identity_id: id.to_owned(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list assignments")
        .into_inner()
        .assignments
        .into_iter()
        .map(|a| a.assignment_id)
        .collect();
    ids.sort();
    ids
}

async fn set_window(s: &TestServer, org: &str, window: Option<Duration>) {
    s.svc_membership()
        .update_organization_settings(pb::UpdateOrganizationSettingsRequest {
            request_id: String::new(),
            organization: Some(pb::Organization {
                organization_id: org.to_owned(),
                removal_undo_window: window.map(|d| prost_types::Duration {
                    seconds: d.as_secs() as i64,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["removal_undo_window".to_owned()],
            }),
        })
        .await
        .expect("set the undo window");
}

/// Rows of W6's copies for `id` (any organization).
async fn copies_of(s: &TestServer, id: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let store = s.store().await;
    let db = store.db().clone();
    let mut n = 0;
    for table in ["removed_members", "removed_room_members"] {
        let sql = match s.backend {
            Backend::Sqlite => format!("SELECT COUNT(*) AS n FROM {table} WHERE identity_id = ?"),
            Backend::Postgres => {
                format!("SELECT COUNT(*) AS n FROM {table} WHERE identity_id = $1")
            }
        };
        let row = db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                db.get_database_backend(),
                sql,
                [id.into()],
            ))
            .await
            .expect("count copies")
            .expect("a row");
        n += row.try_get::<i64>("", "n").expect("count");
    }
    let _ = db.close().await;
    n
}

async fn w6_undo_restores_role_rooms_permissions_and_assignments_exactly(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let leaver = s.new_member(&org, "Leaver", pb::MemberRole::Admin).await;
    let successor = s.new_member(&org, "Successor", MEMBER).await;
    // Three rooms: the leaver is the only admin of the first, a member
    // without permissions of the second, a plain member of the third.
    let sole = s.create_room(&org, &leaver).await;
    let bare = s.create_room(&org, &admin).await;
    s.svc_membership()
        .add_room_member(pb::AddRoomMemberRequest {
            request_id: String::new(),
            room_id: bare.clone(),
            identity_id: leaver.clone(),
            role: pb::RoomRole::Member as i32,
            permissions: Vec::new(),
            without_permissions: true,
        })
        .await
        .expect("add without permissions");
    let plain = s.create_room(&org, &admin).await;
    s.add_room_member(&plain, &leaver, pb::RoomRole::Member)
        .await;
    let rooms = vec![sole.clone(), bare.clone(), plain.clone()];
    let a1 = s.create_assignment(&sole, &leaver, "Budget").await;
    let a2 = s.create_assignment(&bare, &leaver, "Review").await;
    let mut held = vec![a1.clone(), a2.clone()];
    held.sort();

    let member_before = s.member(&org, &leaver).await.expect("member");
    let rooms_before = room_standing(&s, &rooms, &leaver).await;
    assert!(rooms_before.iter().all(Option::is_some));
    assert_eq!(assignments_of(&s, &org, &leaver).await, held);
    let seats_before = s.seats_used(&package).await;

    let removed = remove(&s, &org, &leaver, &successor).await;
    assert_eq!(removed.rooms_left, 3);
    assert_eq!(removed.assignments_dropped, 2);
    assert_eq!(removed.successor_room_ids, vec![sole.clone()]);
    assert!(removed.seat_freed);
    let until = removed.undo_expire_time.expect("undo_expire_time");
    let now_s = s.clock.now_ms() / 1000;
    assert!(
        (until.seconds - now_s - 7 * 24 * 3600).abs() <= 1,
        "the default window is seven days: {until:?} vs now {now_s}"
    );
    // The removal took effect at once, as without undo (M6).
    assert!(s.member(&org, &leaver).await.is_none());
    assert!(!s.access(&leaver, &org, "").await.allowed);
    assert_eq!(
        room_standing(&s, &rooms, &leaver).await,
        vec![None, None, None]
    );
    assert!(assignments_of(&s, &org, &leaver).await.is_empty());
    assert_eq!(s.seats_used(&package).await, seats_before - 1);

    let restored = undo(&s, &org, &leaver).await.expect("undo");
    assert_eq!(restored.rooms_restored, 3);
    assert_eq!(restored.rooms_gone, 0);
    assert_eq!(restored.assignments_restored, 2);
    assert!(restored.seat_taken);
    assert_eq!(restored.member.as_ref(), Some(&member_before));
    assert_eq!(s.member(&org, &leaver).await, Some(member_before));
    assert_eq!(room_standing(&s, &rooms, &leaver).await, rooms_before);
    assert_eq!(assignments_of(&s, &org, &leaver).await, held);
    assert!(s.access(&leaver, &org, &bare).await.allowed);
    assert_eq!(s.seats_used(&package).await, seats_before);
    // The successor keeps the room it took over.
    let successor_in_sole = room_standing(&s, std::slice::from_ref(&sole), &successor).await;
    assert_eq!(
        successor_in_sole[0].as_ref().map(|(role, _)| *role),
        Some(pb::RoomRole::Admin as i32)
    );
    // One audited event; the copy is gone, so a second undo finds nothing.
    let restored_events = s
        .org_events(&org)
        .await
        .into_iter()
        .filter(|e| e.event_type == EventType::MemberRestored)
        .count();
    assert_eq!(restored_events, 1);
    assert_eq!(copies_of(&s, &leaver).await, 0);
    assert_status(
        undo(&s, &org, &leaver).await,
        Code::AlreadyExists,
        Some("ALREADY_MEMBER"),
    );
}

async fn w6_undo_is_refused_after_the_window_and_when_turned_off(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    set_window(&s, &org, Some(Duration::from_secs(3600))).await;
    let got = s
        .svc_membership()
        .get_organization(pb::GetOrganizationRequest {
            organization_id: org.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.removal_undo_window.map(|d| d.seconds), Some(3600));
    let leaver = s.new_member(&org, "Leaver", MEMBER).await;
    remove(&s, &org, &leaver, "").await;
    s.clock.advance(Duration::from_secs(3600));
    assert_status(
        undo(&s, &org, &leaver).await,
        Code::FailedPrecondition,
        Some("UNDO_WINDOW_PASSED"),
    );
    assert!(s.member(&org, &leaver).await.is_none());
    // Just inside the window it works.
    let other = s.new_member(&org, "Other", MEMBER).await;
    remove(&s, &org, &other, "").await;
    s.clock.advance(Duration::from_secs(3599));
    undo(&s, &org, &other)
        .await
        .expect("undo inside the window");

    // Zero turns undo off: no copy, no expiry time, nothing to undo.
    set_window(&s, &org, Some(Duration::ZERO)).await;
    let third = s.new_member(&org, "Third", MEMBER).await;
    let removed = remove(&s, &org, &third, "").await;
    assert!(removed.undo_expire_time.is_none());
    assert_eq!(copies_of(&s, &third).await, 0);
    assert_status(
        undo(&s, &org, &third).await,
        Code::NotFound,
        Some("NO_REMOVAL_TO_UNDO"),
    );
    // Unset in the mask means the default again.
    set_window(&s, &org, None).await;
    let got = s
        .svc_membership()
        .get_organization(pb::GetOrganizationRequest {
            organization_id: org.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        got.removal_undo_window.map(|d| d.seconds),
        Some(7 * 24 * 3600)
    );
}

async fn w6_revocation_is_never_undoable(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let room = s.create_room(&org, &admin).await;
    let leaver = s.new_member(&org, "Leaver", MEMBER).await;
    s.add_room_member(&room, &leaver, pb::RoomRole::Member)
        .await;
    let token = s.token_for(&package, &leaver).await;
    s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.clone(),
            identity_id: leaver.clone(),
            note: "Parental leave".to_owned(),
            ..Default::default()
        })
        .await
        .expect("deactivate");
    remove(&s, &org, &leaver, "").await;
    assert!(copies_of(&s, &leaver).await >= 2, "member and room copies");
    s.identity(Some(&token))
        .revoke_identity(pb::RevokeIdentityRequest {
            identity_id: leaver.clone(),
            ..Default::default()
        })
        .await
        .expect("revoke");
    // The copy (with its deactivation note) went with the revocation.
    assert_eq!(copies_of(&s, &leaver).await, 0);
    assert_status(
        undo(&s, &org, &leaver).await,
        Code::FailedPrecondition,
        Some("IDENTITY_REVOKED"),
    );
    assert!(s.member(&org, &leaver).await.is_none());
}

async fn w6_undo_needs_a_free_seat_and_changes_nothing_without_one(b: Backend) {
    let s = TestServer::start(b).await;
    // Two seats: the admin's and one more.
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 2).await;
    let org = s.create_org(&package, &admin).await;
    let room = s.create_room(&org, &admin).await;
    let leaver = s.new_member(&org, "Leaver", MEMBER).await;
    s.add_room_member(&room, &leaver, pb::RoomRole::Member)
        .await;
    remove(&s, &org, &leaver, "").await;
    let newcomer = s.new_member(&org, "Newcomer", MEMBER).await;
    assert_eq!(s.seats_used(&package).await, 2);
    assert_status(
        undo(&s, &org, &leaver).await,
        Code::ResourceExhausted,
        Some("SEAT_LIMIT_REACHED"),
    );
    assert!(s.member(&org, &leaver).await.is_none());
    assert!(
        s.room_members(&room)
            .await
            .iter()
            .all(|m| m.identity_id != leaver)
    );
    assert_eq!(s.seats_used(&package).await, 2);
    // With the seat free again, the kept copy still works.
    remove(&s, &org, &newcomer, "").await;
    let restored = undo(&s, &org, &leaver).await.expect("undo");
    assert_eq!(restored.rooms_restored, 1);
    assert_eq!(s.seats_used(&package).await, 2);
}

async fn w6_a_readded_member_cannot_be_undone(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let room = s.create_room(&org, &admin).await;
    let leaver = s.new_member(&org, "Leaver", MEMBER).await;
    s.add_room_member(&room, &leaver, pb::RoomRole::Member)
        .await;
    let task = s.create_assignment(&room, &leaver, "Old task").await;
    remove(&s, &org, &leaver, "").await;
    s.add_member(&org, &leaver, pb::MemberRole::Guest).await;
    assert_status(
        undo(&s, &org, &leaver).await,
        Code::AlreadyExists,
        Some("ALREADY_MEMBER"),
    );
    // The new membership is a new tenure: the old task stays unassigned.
    assert_eq!(
        s.member(&org, &leaver).await.map(|m| m.role),
        Some(pb::MemberRole::Guest as i32)
    );
    assert!(!assignments_of(&s, &org, &leaver).await.contains(&task));
}

async fn w6_a_deactivated_member_comes_back_deactivated_without_a_seat(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let leaver = s.new_member(&org, "Leaver", MEMBER).await;
    s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.clone(),
            identity_id: leaver.clone(),
            note: "Sabbatical".to_owned(),
            ..Default::default()
        })
        .await
        .expect("deactivate");
    let before = s.member(&org, &leaver).await.expect("member");
    let seats = s.seats_used(&package).await;
    remove(&s, &org, &leaver, "").await;
    let restored = undo(&s, &org, &leaver).await.expect("undo");
    assert!(!restored.seat_taken);
    assert_eq!(s.member(&org, &leaver).await, Some(before));
    assert_eq!(s.seats_used(&package).await, seats);
    assert!(!s.access(&leaver, &org, "").await.allowed);
}

async fn w6_each_organization_of_an_offboarding_is_undone_on_its_own(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Enterprise, 20).await;
    let parent = s.create_org(&package, &admin).await;
    let leaver = s.new_member(&parent, "Leaver", MEMBER).await;
    let mut subs = Vec::new();
    for _ in 0..3 {
        let sub = s.create_sub_org(&parent, &admin).await;
        s.add_member(&sub, &leaver, MEMBER).await;
        let room = s.create_room(&sub, &admin).await;
        s.add_room_member(&room, &leaver, pb::RoomRole::Member)
            .await;
        subs.push((sub, room));
    }
    s.svc_membership()
        .offboard_identity(pb::OffboardIdentityRequest {
            identity_id: leaver.clone(),
            package_id: package.clone(),
            action: pb::OffboardingAction::Remove as i32,
            ..Default::default()
        })
        .await
        .expect("offboard");
    let (sub, room) = &subs[1];
    let restored = undo(&s, sub, &leaver).await.expect("undo in one");
    assert_eq!(restored.rooms_restored, 1);
    assert!(s.access(&leaver, sub, room).await.allowed);
    for (other, _) in [&subs[0], &subs[2]] {
        assert!(s.member(other, &leaver).await.is_none());
    }
    assert!(s.member(&parent, &leaver).await.is_none());
    undo(&s, &parent, &leaver)
        .await
        .expect("undo in the parent");
    assert!(s.member(&parent, &leaver).await.is_some());
}

async fn w6_the_window_is_validated_and_pruned_copies_are_gone(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    for seconds in [-1, 90 * 24 * 3600 + 1] {
        let res = s
            .svc_membership()
            .update_organization_settings(pb::UpdateOrganizationSettingsRequest {
                request_id: String::new(),
                organization: Some(pb::Organization {
                    organization_id: org.clone(),
                    removal_undo_window: Some(prost_types::Duration { seconds, nanos: 0 }),
                    ..Default::default()
                }),
                update_mask: None,
            })
            .await;
        assert_invalid(res, "organization.removal_undo_window");
    }
    assert_invalid(undo(&s, "nope", "ZZZZZZZZ").await, "organization_id");
    // A copy whose window has passed is deleted by the pruning.
    set_window(&s, &org, Some(Duration::from_secs(60))).await;
    let leaver = s.new_member(&org, "Leaver", MEMBER).await;
    remove(&s, &org, &leaver, "").await;
    assert!(copies_of(&s, &leaver).await > 0);
    let store = s.store().await;
    assert_eq!(
        store
            .prune_removal_copies(s.clock.now_ms())
            .await
            .expect("prune"),
        0,
        "inside the window nothing is pruned"
    );
    s.clock.advance(Duration::from_secs(61));
    assert_eq!(
        store
            .prune_removal_copies(s.clock.now_ms())
            .await
            .expect("prune"),
        1
    );
    let _ = store.db().clone().close().await;
    assert_eq!(copies_of(&s, &leaver).await, 0);
    assert_status(
        undo(&s, &org, &leaver).await,
        Code::NotFound,
        Some("NO_REMOVAL_TO_UNDO"),
    );
}
