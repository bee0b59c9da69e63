//! W2: OffboardIdentity — one call offboards an identity from every
//! organization of a package (the parent and its sub-organizations): rooms
//! that would lose their last admin go to the successor, assignments move
//! to the transfer target, its sessions of the package end, the seat is
//! freed exactly once; a preview (validate_only) shows the same plan and
//! writes nothing; any refusal refuses everything.

use roster::domain::EventType;
use roster::pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Backend, TestServer, assert_status};

const MEMBER: pb::MemberRole = pb::MemberRole::Member;

struct World {
    s: TestServer,
    package: String,
    admin_token: String,
    parent: String,
    subs: Vec<String>,
    leaver: String,
    leaver_token: String,
    successor: String,
    /// One room per sub-organization, the leaver its only admin.
    rooms: Vec<String>,
}

/// A package with a parent organization and three sub-organizations; the
/// leaver is a member of all four, the only admin of one room in each
/// sub-organization, holds an assignment in each, and is signed in; the
/// successor is an active member everywhere.
async fn world(b: Backend) -> World {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Enterprise, 50).await;
    let parent = s.create_org(&package, &admin).await;
    let leaver = s.new_member(&parent, "Leaver", MEMBER).await;
    let successor = s.new_member(&parent, "Successor", MEMBER).await;
    let (mut subs, mut rooms) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let sub = s.create_sub_org(&parent, &admin).await;
        s.add_member(&sub, &leaver, MEMBER).await;
        s.add_member(&sub, &successor, MEMBER).await;
        let room = s.create_room(&sub, &leaver).await;
        s.add_room_member(&room, &successor, pb::RoomRole::Member)
            .await;
        s.create_assignment(&room, &leaver, "Ongoing").await;
        subs.push(sub);
        rooms.push(room);
    }
    let (_, user, pass) = s.issue_credential(&package, "leaver").await;
    let leaver_token = s.sign_in(&leaver, &user, &pass).await;
    World {
        s,
        package,
        admin_token,
        parent,
        subs,
        leaver,
        leaver_token,
        successor,
        rooms,
    }
}

fn request(
    w: &World,
    action: pb::OffboardingAction,
    validate_only: bool,
) -> pb::OffboardIdentityRequest {
    pb::OffboardIdentityRequest {
        request_id: String::new(),
        identity_id: w.leaver.clone(),
        package_id: w.package.clone(),
        action: action as i32,
        successor_identity_id: w.successor.clone(),
        transfer_assignments_to: w.successor.clone(),
        validate_only,
    }
}

fn orgs_of(w: &World) -> Vec<String> {
    let mut all = w.subs.clone();
    all.push(w.parent.clone());
    all.sort();
    all
}

async fn w2_removal_everywhere_frees_the_seat_once_and_orphans_no_room(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    let seats = s.seats_used(&w.package).await;
    let mut admin = s.membership(Some(&w.admin_token));

    // The preview: the whole plan, nothing written.
    let plan = admin
        .offboard_identity(request(&w, pb::OffboardingAction::Remove, true))
        .await
        .expect("preview")
        .into_inner();
    assert!(plan.validate_only);
    let planned: Vec<_> = plan
        .organizations
        .iter()
        .map(|o| o.organization_id.clone())
        .collect();
    assert_eq!(planned, orgs_of(&w));
    for o in &plan.organizations {
        assert!(o.blocking_reasons.is_empty(), "{o:?}");
        if o.organization_id == w.parent {
            assert_eq!((o.rooms_left, o.assignments_transferred), (0, 0));
        } else {
            assert_eq!(o.orphaned_room_ids.len(), 1, "{o:?}");
            assert_eq!((o.rooms_left, o.assignments_transferred), (1, 1));
            assert_eq!(o.assignments_dropped, 0);
        }
    }
    assert!(plan.seat_freed);
    assert_eq!(plan.sessions_ended, 1);
    assert_eq!(s.seats_used(&w.package).await, seats);
    assert!(s.session_valid(&w.leaver_token).await);
    for org in orgs_of(&w) {
        assert!(s.member(&org, &w.leaver).await.is_some());
    }

    // The real call does exactly that.
    let events_before = s.org_events(&w.subs[0]).await.len();
    let done = admin
        .offboard_identity(request(&w, pb::OffboardingAction::Remove, false))
        .await
        .expect("offboard")
        .into_inner();
    assert!(!done.validate_only);
    assert_eq!(done.organizations, plan.organizations);
    assert!(done.seat_freed);
    assert_eq!(s.seats_used(&w.package).await, seats - 1, "freed once");
    assert!(!s.session_valid(&w.leaver_token).await, "sessions ended");
    for org in orgs_of(&w) {
        assert!(s.member(&org, &w.leaver).await.is_none(), "{org}");
        let access = s.access(&w.leaver, &org, "").await;
        assert!(!access.allowed, "{org}");
    }
    for room in &w.rooms {
        let members = s.room_members(room).await;
        assert!(
            members
                .iter()
                .any(|m| m.identity_id == w.successor && m.role == pb::RoomRole::Admin as i32),
            "{room} has an admin: {members:?}"
        );
        assert!(members.iter().all(|m| m.identity_id != w.leaver));
    }
    let tasks = s
        .svc_membership()
        .list_assignments(pb::ListAssignmentsRequest {
            organization_id: w.subs[1].clone(),
            assignee_identity_id: w.successor.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        tasks.assignments.len(),
        1,
        "the task moved to the successor"
    );
    // One detachment for the whole call, audited.
    let store_events = s.org_events(&w.subs[0]).await;
    assert!(store_events.len() > events_before);
    let detached = s
        .store()
        .await
        .events_after(0, 10_000, &Default::default())
        .await
        .expect("events")
        .into_iter()
        .filter(|e| {
            e.event_type == EventType::IdentityDetached
                && e.identity_id.as_deref() == Some(w.leaver.as_str())
        })
        .count();
    assert_eq!(detached, 1);
    // Nothing left to do: a second call changes nothing and frees nothing.
    let again = admin
        .offboard_identity(request(&w, pb::OffboardingAction::Remove, false))
        .await
        .expect("again")
        .into_inner();
    assert!(again.organizations.is_empty() && !again.seat_freed);
    assert_eq!(s.seats_used(&w.package).await, seats - 1);
}

async fn w2_one_refusal_refuses_everything(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    // The successor leaves the second sub-organization, where a room needs it.
    s.svc_membership()
        .remove_member(pb::RemoveMemberRequest {
            organization_id: w.subs[1].clone(),
            identity_id: w.successor.clone(),
            ..Default::default()
        })
        .await
        .expect("successor leaves one sub-organization");
    let seats = s.seats_used(&w.package).await;
    let mut admin = s.membership(Some(&w.admin_token));
    let plan = admin
        .offboard_identity(request(&w, pb::OffboardingAction::Deactivate, true))
        .await
        .expect("preview")
        .into_inner();
    let blocked: Vec<_> = plan
        .organizations
        .iter()
        .filter(|o| !o.blocking_reasons.is_empty())
        .collect();
    assert_eq!(blocked.len(), 1, "{plan:?}");
    assert_eq!(blocked[0].organization_id, w.subs[1]);
    let status = admin
        .offboard_identity(request(&w, pb::OffboardingAction::Deactivate, false))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.metadata.get("organization_id"), Some(&w.subs[1]));
    assert_eq!(info.reason, blocked[0].blocking_reasons[0]);
    // Nothing changed anywhere.
    assert_eq!(s.seats_used(&w.package).await, seats);
    assert!(s.session_valid(&w.leaver_token).await);
    for org in orgs_of(&w) {
        let m = s.member(&org, &w.leaver).await.expect("still a member");
        assert_eq!(m.state, pb::MemberState::Active as i32, "{org}");
    }
}

async fn w2_deactivation_everywhere_keeps_memberships_and_skips_the_deactivated(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    // Already deactivated in the parent (it admins no room there).
    s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: w.parent.clone(),
            identity_id: w.leaver.clone(),
            ..Default::default()
        })
        .await
        .expect("deactivate in the parent");
    let seats = s.seats_used(&w.package).await;
    let done = s
        .membership(Some(&w.admin_token))
        .offboard_identity(request(&w, pb::OffboardingAction::Deactivate, false))
        .await
        .expect("offboard")
        .into_inner();
    let parent = done
        .organizations
        .iter()
        .find(|o| o.organization_id == w.parent)
        .expect("parent planned");
    assert!(parent.unchanged);
    assert!(done.seat_freed, "the sign-in no longer holds it either");
    assert_eq!(s.seats_used(&w.package).await, seats - 1);
    for org in orgs_of(&w) {
        let m = s.member(&org, &w.leaver).await.expect("kept");
        assert_eq!(m.state, pb::MemberState::Deactivated as i32, "{org}");
    }
    for room in &w.rooms {
        let members = s.room_members(room).await;
        assert!(
            members.iter().any(|m| m.identity_id == w.leaver),
            "rooms are kept"
        );
    }
    // Reactivation stays possible and takes the seat again (M5).
    s.svc_membership()
        .reactivate_member(pb::ReactivateMemberRequest {
            request_id: String::new(),
            organization_id: w.subs[0].clone(),
            identity_id: w.leaver.clone(),
        })
        .await
        .expect("reactivate");
    assert_eq!(s.seats_used(&w.package).await, seats);
}

async fn w2_only_package_admins_and_service_keys_offboard(b: Backend) {
    let w = world(b).await;
    let s = &w.s;
    // The leaver itself (signed in, a member everywhere) administers no package.
    assert_status(
        s.membership(Some(&w.leaver_token))
            .offboard_identity(request(&w, pb::OffboardingAction::Remove, true))
            .await,
        Code::PermissionDenied,
        Some("NOT_PACKAGE_ADMIN"),
    );
    let mut bad = request(&w, pb::OffboardingAction::Unspecified, true);
    bad.transfer_assignments_to = w.leaver.clone();
    let status = s
        .svc_membership()
        .offboard_identity(bad)
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    let fields: Vec<_> = status
        .get_details_bad_request()
        .expect("BadRequest")
        .field_violations
        .into_iter()
        .map(|f| f.field)
        .collect();
    assert_eq!(fields, vec!["action", "transfer_assignments_to"]);
    s.svc_membership()
        .offboard_identity(request(&w, pb::OffboardingAction::Remove, true))
        .await
        .expect("a service key may");
}

crate::db_tests!(
    w2_removal_everywhere_frees_the_seat_once_and_orphans_no_room,
    w2_one_refusal_refuses_everything,
    w2_deactivation_everywhere_keeps_memberships_and_skips_the_deactivated,
    w2_only_package_admins_and_service_keys_offboard,
);
