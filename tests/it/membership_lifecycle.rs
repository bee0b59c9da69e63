//! Membership lifecycle through the API: deactivation (M4), reactivation
//! (M5), removal (M6), revocation's removal (I4), assignments (M9) and the
//! seat across sub-organizations (L6).

use roster::domain::EventType;
use roster::pb;
use tonic::Code;

use crate::harness::{Backend, TestServer, assert_status};
use crate::membership::{GUEST, MEMBER, assignments_of, deactivate, has_event, reactivate, remove};

/// The seed's "what happens after deactivating", row by row.
async fn m4_deactivated_member_keeps_rooms_content_assignments_but_loses_access(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 10, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    let eva = s.new_member(&org, "Eva", MEMBER).await;
    let room = s.create_room(&org, &admin).await;
    s.add_room_member(&room, &eva, pb::RoomRole::Member).await;
    let task = s.create_assignment(&room, &eva, "Write the report").await;
    assert_eq!(s.seats_used(&package).await, 2);

    let back = prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + 300 * 86400,
        nanos: 0,
    };
    let m = s
        .svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            identity_id: eva.clone(),
            reason: pb::DeactivationReason::ParentalLeave as i32,
            note: "back in spring".into(),
            expected_return_time: Some(back),
            successor_identity_id: String::new(),
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.state, pb::MemberState::Deactivated as i32);
    let d = m.deactivation.expect("deactivation");
    assert_eq!(d.reason, pb::DeactivationReason::ParentalLeave as i32);
    assert_eq!(d.note, "back in spring");
    assert_eq!(
        d.expected_return_time.map(|t| t.seconds),
        Some(back.seconds)
    );
    assert_eq!(d.actor_id, "test");
    // Stays in the organization …
    assert_eq!(
        s.member(&org, &eva).await.map(|m| m.state),
        Some(pb::MemberState::Deactivated as i32)
    );
    // … and in its rooms, shown as deactivated there …
    let in_room = s.room_members(&room).await;
    let eva_in_room = in_room
        .iter()
        .find(|m| m.identity_id == eva)
        .expect("still in room");
    assert_eq!(
        eva_in_room.member_state,
        pb::MemberState::Deactivated as i32
    );
    // … content and assignments stay …
    let kept = assignments_of(&s, &org, &eva).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].assignment_id, task);
    // … no access to the organization or its rooms …
    let access = s.access(&eva, &org, &room).await;
    assert!(!access.allowed);
    assert_eq!(
        access.denial_reason,
        pb::AccessDenialReason::Deactivated as i32
    );
    // … name struck through, no avatar, grey "D" …
    let p = &s.profiles(&org, &[&eva]).await[0];
    assert_eq!(p.status, pb::ProfileStatus::Deactivated as i32);
    assert_eq!(p.display_name, "Eva");
    assert!(p.strikethrough);
    assert!(p.avatar_url.is_empty());
    assert_eq!(p.badge, "D");
    // … and the license is free again.
    assert_eq!(s.seats_used(&package).await, 1);
    // Deactivating twice is refused.
    assert_status(
        s.svc_membership()
            .deactivate_member(pb::DeactivateMemberRequest {
                organization_id: org.clone(),
                identity_id: eva.clone(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("ALREADY_DEACTIVATED"),
    );
    let events = s.org_events(&org).await;
    assert!(has_event(
        &events,
        EventType::MemberDeactivated,
        &eva,
        "PARENTAL_LEAVE"
    ));
}

async fn m4_deactivated_session_loses_access_to_rooms(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let eva = s.new_member(&org, "Eva", MEMBER).await;
    let room = s.create_room(&org, &admin).await;
    s.add_room_member(&room, &eva, pb::RoomRole::Member).await;
    let token = s.token_for(&package, &eva).await;
    let list = || {
        let token = token.clone();
        let room = room.clone();
        let s = &s;
        async move {
            s.membership(Some(&token))
                .list_room_members(pb::ListRoomMembersRequest {
                    room_id: room,
                    page_size: 0,
                    page_token: String::new(),
                })
                .await
        }
    };
    assert!(list().await.is_ok());
    deactivate(&s, &org, &eva, pb::DeactivationReason::Sabbatical).await;
    assert_status(list().await, Code::PermissionDenied, None);
    assert_status(
        s.membership(Some(&token))
            .resolve_profiles(pb::ResolveProfilesRequest {
                organization_id: org.clone(),
                identity_ids: vec![admin.clone()],
            })
            .await,
        Code::PermissionDenied,
        None,
    );
    // Signed in, so the sign-in attachment keeps holding the seat (L6).
    assert_eq!(s.seats_used(&package).await, 2);
}

async fn m5_reactivation_restores_rooms_and_takes_a_seat(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 10, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    let eva = s.new_member(&org, "Eva", MEMBER).await;
    let room = s.create_room(&org, &admin).await;
    s.add_room_member(&room, &eva, pb::RoomRole::Member).await;
    assert_status(
        s.svc_membership()
            .reactivate_member(pb::ReactivateMemberRequest {
                request_id: String::new(),
                organization_id: org.clone(),
                identity_id: eva.clone(),
            })
            .await,
        Code::FailedPrecondition,
        Some("NOT_DEACTIVATED"),
    );
    deactivate(&s, &org, &eva, pb::DeactivationReason::ParentalLeave).await;
    assert_eq!(s.seats_used(&package).await, 1);
    let m = s
        .svc_membership()
        .reactivate_member(pb::ReactivateMemberRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            identity_id: eva.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.state, pb::MemberState::Active as i32);
    assert!(m.deactivation.is_none());
    // Every old room is accessible again without a new invitation.
    let access = s.access(&eva, &org, &room).await;
    assert!(access.allowed, "{access:?}");
    assert_eq!(access.room_role, pb::RoomRole::Member as i32);
    assert_eq!(s.seats_used(&package).await, 2);
    let p = &s.profiles(&org, &[&eva]).await[0];
    assert_eq!(p.status, pb::ProfileStatus::Active as i32);
    assert_eq!(p.avatar_url, "https://example.com/Eva.png");
    let events = s.org_events(&org).await;
    assert!(has_event(&events, EventType::MemberReactivated, &eva, ""));
}

async fn m5_reactivation_needs_a_free_seat(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 2, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    let eva = s.new_member(&org, "Eva", MEMBER).await;
    deactivate(&s, &org, &eva, pb::DeactivationReason::ParentalLeave).await;
    // The freed seat goes to someone else meanwhile.
    s.new_member(&org, "Temp", MEMBER).await;
    assert_eq!(s.seats_used(&package).await, 2);
    assert_status(
        s.svc_membership()
            .reactivate_member(pb::ReactivateMemberRequest {
                request_id: String::new(),
                organization_id: org.clone(),
                identity_id: eva.clone(),
            })
            .await,
        Code::ResourceExhausted,
        Some("SEAT_LIMIT_REACHED"),
    );
    // Nothing was half-written.
    assert_eq!(
        s.member(&org, &eva).await.map(|m| m.state),
        Some(pb::MemberState::Deactivated as i32)
    );
    assert_eq!(s.seats_used(&package).await, 2);
}

async fn m5_only_admins_of_that_sub_organization_reactivate(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, top_admin, top_token) = s.package_with_admin(pb::Plan::Enterprise, 20).await;
    let top = s.create_org(&package, &top_admin).await;
    let sub_admin = s.create_identity("SubAdmin").await;
    let sub = s.create_sub_org(&top, &sub_admin).await;
    let sub_token = s.token_for(&package, &sub_admin).await;
    let eva = s.new_member(&sub, "Eva", MEMBER).await;
    deactivate(&s, &sub, &eva, pb::DeactivationReason::Sabbatical).await;
    let req = || pb::ReactivateMemberRequest {
        request_id: String::new(),
        organization_id: sub.clone(),
        identity_id: eva.clone(),
    };
    // The parent organization's admin is no admin of the sub-organization.
    assert_status(
        s.membership(Some(&top_token))
            .reactivate_member(req())
            .await,
        Code::PermissionDenied,
        Some("NOT_ORGANIZATION_ADMIN"),
    );
    let m = s
        .membership(Some(&sub_token))
        .reactivate_member(req())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(m.state, pb::MemberState::Active as i32);
}

/// The seed's "what happens after removing", row by row.
async fn m6_removed_member_leaves_every_room_loses_assignments_and_is_unknown(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 10, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    let other_org = s.create_org(&package, &admin).await;
    let leo = s.new_member(&org, "Leo", MEMBER).await;
    s.add_member(&other_org, &leo, MEMBER).await;
    let r1 = s.create_room(&org, &admin).await;
    let r2 = s.create_room(&org, &admin).await;
    let elsewhere = s.create_room(&other_org, &admin).await;
    for r in [&r1, &r2] {
        s.add_room_member(r, &leo, pb::RoomRole::Member).await;
        s.create_assignment(r, &leo, "Task").await;
    }
    s.add_room_member(&elsewhere, &leo, pb::RoomRole::Member)
        .await;
    let kept = s
        .create_assignment(&elsewhere, &leo, "Other org task")
        .await;

    let res = remove(&s, &org, &leo).await;
    assert_eq!(res.rooms_left, 2);
    assert_eq!(res.assignments_dropped, 2);
    assert!(res.successor_room_ids.is_empty());
    // Still active in the other organization of the package: seat kept.
    assert!(!res.seat_freed);
    // Out of the member administration of the organization and its rooms.
    assert!(s.member(&org, &leo).await.is_none());
    for r in [&r1, &r2] {
        assert!(s.room_members(r).await.iter().all(|m| m.identity_id != leo));
    }
    // Assignments removed; the items themselves stay.
    let all = s
        .svc_membership()
        .list_assignments(pb::ListAssignmentsRequest {
            organization_id: org.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|a| a.assignee_identity_id.is_empty()));
    // Named "Unknown user" in the stream; no access.
    let p = &s.profiles(&org, &[&leo]).await[0];
    assert_eq!(p.status, pb::ProfileStatus::Unknown as i32);
    assert_eq!(p.display_name, "Unknown user");
    assert!(p.avatar_url.is_empty() && !p.strikethrough && p.badge.is_empty());
    let access = s.access(&leo, &org, "").await;
    assert_eq!(
        access.denial_reason,
        pb::AccessDenialReason::NotMember as i32
    );
    // The other organization is untouched.
    assert!(s.access(&leo, &other_org, &elsewhere).await.allowed);
    assert_eq!(
        assignments_of(&s, &other_org, &leo).await[0].assignment_id,
        kept
    );
    // Removed there too: now the seat is free.
    assert!(remove(&s, &other_org, &leo).await.seat_freed);
    assert_eq!(s.seats_used(&package).await, 1);
    let events = s.org_events(&org).await;
    let removed = events
        .iter()
        .find(|e| e.event_type == EventType::MemberRemoved)
        .expect("MEMBER_REMOVED audited");
    assert_eq!(removed.identity_id.as_deref(), Some(leo.as_str()));
    assert!(
        removed
            .attributes
            .contains(&("rooms_left".into(), "2".into()))
    );
}

async fn m6_readding_after_removal_restores_no_rooms_or_assignments_but_content_resolves_again(
    b: Backend,
) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 10, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    let leo = s.new_member(&org, "Leo", MEMBER).await;
    let room = s.create_room(&org, &admin).await;
    s.add_room_member(&room, &leo, pb::RoomRole::Member).await;
    let old_task = s.create_assignment(&room, &leo, "Before leaving").await;
    assert_eq!(remove(&s, &org, &leo).await.assignments_dropped, 1);
    assert_eq!(
        s.profiles(&org, &[&leo]).await[0].display_name,
        "Unknown user"
    );
    // Back at the job: same identity added again.
    let m = s.add_member(&org, &leo, MEMBER).await;
    assert_eq!(m.state, pb::MemberState::Active as i32);
    // Old content resolves to them again …
    let p = &s.profiles(&org, &[&leo]).await[0];
    assert_eq!(
        (p.status, p.display_name.as_str()),
        (pb::ProfileStatus::Active as i32, "Leo")
    );
    // … but every room needs a new invitation.
    let access = s.access(&leo, &org, &room).await;
    assert_eq!(
        access.denial_reason,
        pb::AccessDenialReason::NotInRoom as i32
    );
    assert!(
        s.room_members(&room)
            .await
            .iter()
            .all(|r| r.identity_id != leo)
    );
    assert_eq!(s.seats_used(&package).await, 2);
    // Dropped assignments stay dropped: not listed, counted or moved for
    // the new membership.
    assert!(assignments_of(&s, &org, &leo).await.is_empty());
    let preview = |s: &TestServer| {
        let mut c = s.svc_membership();
        let (org, leo) = (org.clone(), leo.clone());
        async move {
            c.preview_offboarding(pb::PreviewOffboardingRequest {
                organization_id: org,
                identity_id: leo,
                action: pb::OffboardingAction::Remove as i32,
                successor_identity_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .assignment_count
        }
    };
    assert_eq!(preview(&s).await, 0);
    let moved = s
        .svc_membership()
        .transfer_assignments(pb::TransferAssignmentsRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            from_identity_id: leo.clone(),
            to_identity_id: admin.clone(),
            room_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.transferred_count, 0);
    // New assignments belong to the new membership only.
    s.add_room_member(&room, &leo, pb::RoomRole::Member).await;
    let new_task = s.create_assignment(&room, &leo, "After returning").await;
    let held: Vec<String> = assignments_of(&s, &org, &leo)
        .await
        .into_iter()
        .map(|a| a.assignment_id)
        .collect();
    assert_eq!(held, vec![new_task]);
    assert_eq!(preview(&s).await, 1);
    assert_eq!(remove(&s, &org, &leo).await.assignments_dropped, 1);
    let all = s
        .svc_membership()
        .list_assignments(pb::ListAssignmentsRequest {
            organization_id: org.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|a| a.assignment_id == old_task));
    assert!(all.iter().all(|a| a.assignee_identity_id.is_empty()));
}

async fn i4_revocation_removes_from_every_organization_and_cannot_be_readded(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let org2 = s.create_org(&package, &admin).await;
    let leo = s.new_member(&org, "Leo", MEMBER).await;
    s.add_member(&org2, &leo, GUEST).await;
    let room = s.create_room(&org, &admin).await;
    s.add_room_member(&room, &leo, pb::RoomRole::Member).await;
    let task = s.create_assignment(&room, &leo, "Task").await;
    let token = s.token_for(&package, &leo).await;
    s.identity(Some(&token))
        .revoke_identity(pb::RevokeIdentityRequest {
            identity_id: leo.clone(),
            ..Default::default()
        })
        .await
        .expect("self revocation");
    for o in [&org, &org2] {
        assert!(s.member(o, &leo).await.is_none());
        let p = &s.profiles(o, &[&leo]).await[0];
        assert_eq!(p.display_name, "Unknown user");
        assert_eq!(
            s.access(&leo, o, "").await.denial_reason,
            pb::AccessDenialReason::Revoked as i32
        );
        assert!(has_event(
            &s.org_events(o).await,
            EventType::MemberRemoved,
            &leo,
            "SELF_REVOCATION"
        ));
    }
    assert!(
        s.room_members(&room)
            .await
            .iter()
            .all(|r| r.identity_id != leo)
    );
    let all = s
        .svc_membership()
        .list_assignments(pb::ListAssignmentsRequest {
            organization_id: org.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    assert_eq!(all[0].assignment_id, task);
    assert!(all[0].assignee_identity_id.is_empty());
    assert_status(
        s.svc_membership()
            .add_member(pb::AddMemberRequest {
                request_id: String::new(),
                organization_id: org.clone(),
                identity_id: leo.clone(),
                role: 0,
            })
            .await,
        Code::FailedPrecondition,
        Some("IDENTITY_REVOKED"),
    );
    assert_eq!(s.seats_used(&package).await, 1);
}

async fn m9_assignments_are_created_listed_and_transferred(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 20).await;
    let org = s.create_org(&package, &admin).await;
    let leo = s.new_member(&org, "Leo", MEMBER).await;
    let mia = s.new_member(&org, "Mia", MEMBER).await;
    let r1 = s.create_room(&org, &admin).await;
    let r2 = s.create_room(&org, &admin).await;
    for r in [&r1, &r2] {
        s.add_room_member(r, &leo, pb::RoomRole::Member).await;
    }
    s.add_room_member(&r1, &mia, pb::RoomRole::Member).await;
    for i in 0..3 {
        s.create_assignment(&r1, &leo, &format!("r1-{i}")).await;
    }
    s.create_assignment(&r2, &leo, "r2").await;
    // The assignee must be an active member of the room.
    assert_status(
        s.svc_membership()
            .create_assignment(pb::CreateAssignmentRequest {
                request_id: String::new(),
                assignment: Some(pb::Assignment {
                    room_id: r2.clone(),
                    assignee_identity_id: mia.clone(),
                    kind: pb::AssignmentKind::Appointment as i32,
                    title: "Meeting".into(),
                    ..Default::default()
                }),
            })
            .await,
        Code::FailedPrecondition,
        Some("NOT_ROOM_MEMBER"),
    );
    // Members list their own assignments only.
    let mia_token = s.token_for(&package, &mia).await;
    let own = s
        .membership(Some(&mia_token))
        .list_assignments(pb::ListAssignmentsRequest {
            organization_id: org.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignments;
    assert!(own.is_empty());
    assert_status(
        s.membership(Some(&mia_token))
            .list_assignments(pb::ListAssignmentsRequest {
                organization_id: org.clone(),
                assignee_identity_id: leo.clone(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        None,
    );
    // Filter by room, paginate.
    let page = s
        .svc_membership()
        .list_assignments(pb::ListAssignmentsRequest {
            organization_id: org.clone(),
            room_id: r1.clone(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.assignments.len(), 2);
    assert!(!page.next_page_token.is_empty());
    // Transfer one room's assignments, then the rest.
    let moved = s
        .svc_membership()
        .transfer_assignments(pb::TransferAssignmentsRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            from_identity_id: leo.clone(),
            to_identity_id: mia.clone(),
            room_id: r1.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.transferred_count, 3);
    assert_eq!(assignments_of(&s, &org, &leo).await.len(), 1);
    // Only to an active member.
    deactivate(&s, &org, &mia, pb::DeactivationReason::Other).await;
    assert_status(
        s.svc_membership()
            .transfer_assignments(pb::TransferAssignmentsRequest {
                request_id: String::new(),
                organization_id: org.clone(),
                from_identity_id: leo.clone(),
                to_identity_id: mia.clone(),
                room_id: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        Some("SUCCESSOR_NOT_ACTIVE"),
    );
    let moved = s
        .svc_membership()
        .transfer_assignments(pb::TransferAssignmentsRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            from_identity_id: leo.clone(),
            to_identity_id: admin.clone(),
            room_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.transferred_count, 1);
    assert!(assignments_of(&s, &org, &leo).await.is_empty());
    let events = s.org_events(&org).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == EventType::AssignmentsTransferred)
            .count(),
        2
    );
}

/// The enterprise rule: a member of two sub-organizations frees the seat
/// only once deactivated in both.
async fn l6_seat_is_freed_only_after_deactivating_in_every_sub_organization(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Enterprise, 10, &[&admin]).await;
    let top = s.create_org(&package, &admin).await;
    let sales = s.create_sub_org(&top, &admin).await;
    let support = s.create_sub_org(&top, &admin).await;
    let eva = s.create_identity("Eva").await;
    s.add_member(&sales, &eva, MEMBER).await;
    s.add_member(&support, &eva, MEMBER).await;
    assert_eq!(s.seats_used(&package).await, 2, "one seat for Eva");
    let preview = s
        .svc_membership()
        .preview_offboarding(pb::PreviewOffboardingRequest {
            organization_id: sales.clone(),
            identity_id: eva.clone(),
            action: pb::OffboardingAction::Deactivate as i32,
            successor_identity_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!preview.seat_freed);
    assert_eq!(preview.other_active_organization_ids, vec![support.clone()]);
    deactivate(&s, &sales, &eva, pb::DeactivationReason::Sabbatical).await;
    assert_eq!(s.seats_used(&package).await, 2, "still active in support");
    deactivate(&s, &support, &eva, pb::DeactivationReason::Sabbatical).await;
    assert_eq!(s.seats_used(&package).await, 1, "freed after the second");
    // Reactivating in one takes the seat again; the other stays paused.
    reactivate(&s, &sales, &eva).await;
    assert_eq!(s.seats_used(&package).await, 2);
    // Removing from sales (active) while paused in support frees it too.
    assert!(remove(&s, &sales, &eva).await.seat_freed);
    assert_eq!(s.seats_used(&package).await, 1);
    let detached = detached_events(&s, &eva).await;
    assert_eq!(detached.len(), 2);
}

/// `identity`'s IDENTITY_DETACHED events, oldest first.
async fn detached_events(s: &TestServer, identity: &str) -> Vec<roster::domain::Event> {
    identity_events(s, identity, vec![EventType::IdentityDetached]).await
}

/// `identity`'s events of `types` (all when empty), oldest first.
async fn identity_events(
    s: &TestServer,
    identity: &str,
    types: Vec<EventType>,
) -> Vec<roster::domain::Event> {
    let mut events = s
        .store()
        .await
        .list_events(
            &roster::store::EventQuery {
                identity_id: Some(identity.to_owned()),
                types,
                ..Default::default()
            },
            &roster::domain::PageRequest {
                size: 100,
                after: None,
            },
        )
        .await
        .unwrap()
        .items;
    events.sort_by_key(|e| e.seq);
    events
}

/// An enterprise package whose organization has two sub-organizations:
/// (package, sales, support).
async fn two_sub_orgs(s: &TestServer) -> (String, String, String) {
    let admin = s.create_identity("Admin").await;
    let package = s
        .create_package(pb::Plan::Enterprise, 1_000, &[&admin])
        .await;
    let top = s.create_org(&package, &admin).await;
    let sales = s.create_sub_org(&top, &admin).await;
    let support = s.create_sub_org(&top, &admin).await;
    (package, sales, support)
}

async fn l6_signed_in_identity_keeps_its_seat_after_deactivation(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 10, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    let eva = s.new_member(&org, "Eva", MEMBER).await;
    s.token_for(&package, &eva).await;
    assert_eq!(s.seats_used(&package).await, 2);
    let preview = s
        .svc_membership()
        .preview_offboarding(pb::PreviewOffboardingRequest {
            organization_id: org.clone(),
            identity_id: eva.clone(),
            action: pb::OffboardingAction::Remove as i32,
            successor_identity_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!preview.seat_freed);
    assert!(!remove(&s, &org, &eva).await.seat_freed);
    assert_eq!(s.seats_used(&package).await, 2);
}

/// Trials of the parallel-offboarding seat race.
const SEAT_RACE_TRIALS: usize = 40;

/// L6 under concurrency: Eva is active in two sub-organizations of one
/// enterprise package, and both memberships end at the same instant
/// (deactivated in one while deactivated or removed in the other). Each
/// change alone sees the other membership still active, yet exactly one
/// of them must free her seat: afterwards she holds none and the
/// package's count is back where it was, in every trial.
async fn l6_parallel_offboarding_in_two_sub_organizations_frees_the_seat_once(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, sales, support) = two_sub_orgs(&s).await;
    let baseline = s.seats_used(&package).await;
    let mut freed_twice = 0;
    for trial in 0..SEAT_RACE_TRIALS {
        let eva = s.create_identity(&format!("Eva{trial}")).await;
        s.add_member(&sales, &eva, MEMBER).await;
        s.add_member(&support, &eva, MEMBER).await;
        assert_eq!(s.seats_used(&package).await, baseline + 1, "trial {trial}");
        let in_sales = async {
            deactivate(&s, &sales, &eva, pb::DeactivationReason::Sabbatical).await;
            false
        };
        let in_support = async {
            if trial % 2 == 0 {
                deactivate(&s, &support, &eva, pb::DeactivationReason::Sabbatical).await;
                false
            } else {
                remove(&s, &support, &eva).await.seat_freed
            }
        };
        let (_, removal_freed) = tokio::join!(in_sales, in_support);
        assert_eq!(
            s.seats_used(&package).await,
            baseline,
            "trial {trial}: Eva's seat must be free once neither membership is active"
        );
        let detached = detached_events(&s, &eva).await;
        if detached.len() != 1 {
            freed_twice += 1;
        }
        // A removal reports whether it freed the seat; it must say so
        // exactly when its IDENTITY_DETACHED is the one in the log.
        if trial % 2 == 1 {
            let by_removal = detached.iter().any(|e| e.reason == "MEMBER_REMOVED");
            assert_eq!(
                removal_freed, by_removal,
                "trial {trial}: seat_freed of the removal"
            );
        }
    }
    assert_eq!(
        freed_twice, 0,
        "trials whose seat was not freed exactly once"
    );
}

/// L6 under concurrency, the other race: Eva is active in one
/// sub-organization and deactivated in the other; at the same instant the
/// first membership is deactivated and the second reactivated (the roles
/// alternate per trial). The reactivation finds her still attached; the
/// deactivation may find the other membership still deactivated. Whatever
/// the order, she ends active in one organization and so must hold her
/// seat, counted once, in every trial.
async fn l6_parallel_deactivation_and_reactivation_keep_the_seat(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, sales, support) = two_sub_orgs(&s).await;
    let mut lost = 0;
    for trial in 0..SEAT_RACE_TRIALS {
        let (leaving, returning) = if trial % 2 == 0 {
            (&sales, &support)
        } else {
            (&support, &sales)
        };
        // Every trial leaves its Eva holding a seat.
        let baseline = s.seats_used(&package).await;
        let eva = s.create_identity(&format!("Eva{trial}")).await;
        s.add_member(leaving, &eva, MEMBER).await;
        s.add_member(returning, &eva, MEMBER).await;
        deactivate(&s, returning, &eva, pb::DeactivationReason::Sabbatical).await;
        assert_eq!(s.seats_used(&package).await, baseline + 1, "trial {trial}");
        tokio::join!(
            deactivate(&s, leaving, &eva, pb::DeactivationReason::Sabbatical),
            reactivate(&s, returning, &eva),
        );
        let attached = crate::db::scalar_i64(
            &s,
            "SELECT COUNT(*) FROM attachments WHERE package_id = ? AND identity_id = ?",
            vec![package.clone().into(), eva.clone().into()],
        )
        .await;
        if attached != 1 || s.seats_used(&package).await != baseline + 1 {
            lost += 1;
        }
    }
    assert_eq!(
        lost, 0,
        "trials after which the active member held no seat (or it was miscounted)"
    );
}

/// L6 when the seat stays: Eva is active in two sub-organizations of one
/// enterprise package; deactivating her in one frees nothing and
/// reactivating her there takes nothing. The log then holds exactly the
/// two membership events and no seat event, without a hole in the sequence (the seat
/// statement writes the events, and keeps the seat's only when the seat
/// changed).
async fn l6_a_seat_held_elsewhere_gives_no_seat_events(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, sales, support) = two_sub_orgs(&s).await;
    let eva = s.create_identity("Eva").await;
    s.add_member(&sales, &eva, MEMBER).await;
    s.add_member(&support, &eva, MEMBER).await;
    let used = s.seats_used(&package).await;
    let before = identity_events(&s, &eva, Vec::new()).await.len();
    deactivate(&s, &sales, &eva, pb::DeactivationReason::Sabbatical).await;
    assert_eq!(s.seats_used(&package).await, used);
    reactivate(&s, &sales, &eva).await;
    assert_eq!(s.seats_used(&package).await, used);
    let events = identity_events(&s, &eva, Vec::new()).await;
    let new: Vec<_> = events[before..]
        .iter()
        .map(|e| (e.event_type, e.seq))
        .collect();
    assert_eq!(new.len(), 2, "{new:?}");
    assert_eq!(new[0].0, EventType::MemberDeactivated);
    assert_eq!(new[1].0, EventType::MemberReactivated);
    // And the log has no hole where a seat event was left out.
    let rows = crate::db::scalar_i64(&s, "SELECT COUNT(*) FROM events", vec![]).await;
    let last = crate::db::scalar_i64(&s, "SELECT MAX(seq) FROM events", vec![]).await;
    assert_eq!(rows, last, "contiguous seq");
}

crate::db_tests!(
    l6_a_seat_held_elsewhere_gives_no_seat_events,
    m4_deactivated_member_keeps_rooms_content_assignments_but_loses_access,
    m4_deactivated_session_loses_access_to_rooms,
    m5_reactivation_restores_rooms_and_takes_a_seat,
    m5_reactivation_needs_a_free_seat,
    m5_only_admins_of_that_sub_organization_reactivate,
    m6_removed_member_leaves_every_room_loses_assignments_and_is_unknown,
    m6_readding_after_removal_restores_no_rooms_or_assignments_but_content_resolves_again,
    i4_revocation_removes_from_every_organization_and_cannot_be_readded,
    m9_assignments_are_created_listed_and_transferred,
    l6_seat_is_freed_only_after_deactivating_in_every_sub_organization,
    l6_signed_in_identity_keeps_its_seat_after_deactivation,
    l6_parallel_offboarding_in_two_sub_organizations_frees_the_seat_once,
    l6_parallel_deactivation_and_reactivation_keep_the_seat,
);
