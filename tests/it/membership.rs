//! MembershipService lifecycle: organizations, members, rooms, deactivate /
//! reactivate / remove and everything the seed says happens after them,
//! re-adding, revocation reaching membership, assignments, seats across
//! sub-organizations (M1–M6, M9, L6, I4, E1, V1).

use roster::domain::EventType;
use roster::pb;
use tonic::Code;

use crate::harness::{Backend, TestServer, assert_invalid, assert_status};

const ADMIN: pb::MemberRole = pb::MemberRole::Admin;
const MEMBER: pb::MemberRole = pb::MemberRole::Member;
const GUEST: pb::MemberRole = pb::MemberRole::Guest;

fn has_event(
    events: &[roster::domain::Event],
    kind: EventType,
    identity: &str,
    reason: &str,
) -> bool {
    events.iter().any(|e| {
        e.event_type == kind
            && e.identity_id.as_deref() == Some(identity)
            && (reason.is_empty() || e.reason == reason)
    })
}

async fn deactivate(
    s: &TestServer,
    org: &str,
    id: &str,
    reason: pb::DeactivationReason,
) -> pb::Member {
    s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.into(),
            identity_id: id.into(),
            reason: reason as i32,
            ..Default::default()
        })
        .await
        .expect("deactivate")
        .into_inner()
}

async fn remove(s: &TestServer, org: &str, id: &str) -> pb::RemoveMemberResponse {
    s.svc_membership()
        .remove_member(pb::RemoveMemberRequest {
            organization_id: org.into(),
            identity_id: id.into(),
            successor_identity_id: String::new(),
            etag: String::new(),
        })
        .await
        .expect("remove")
        .into_inner()
}

async fn assignments_of(s: &TestServer, org: &str, assignee: &str) -> Vec<pb::Assignment> {
    s.svc_membership()
        .list_assignments(pb::ListAssignmentsRequest {
            organization_id: org.into(),
            assignee_identity_id: assignee.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list assignments")
        .into_inner()
        .assignments
}

async fn m1_create_get_and_update_organization(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let mut c = s.membership(Some(&admin_token));
    // A package admin creates an organization; the caller is its first admin.
    let org = c
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: "Acme".into(),
                package_id: package.clone(),
                ..Default::default()
            }),
            admin_identity_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(org.organization_id.starts_with("org_"));
    assert_eq!(org.package_id, package);
    assert!(
        org.guest_inactivity_deactivation.is_none(),
        "default: never"
    );
    assert!(org.create_time.is_some());
    let me = s.member(&org.organization_id, &admin).await.unwrap();
    assert_eq!(
        (me.role, me.state),
        (ADMIN as i32, pb::MemberState::Active as i32)
    );

    // Someone who administers no package cannot.
    let other = s.create_identity("Other").await;
    let other_token = s.token_for(&package, &other).await;
    assert_status(
        s.membership(Some(&other_token))
            .create_organization(pb::CreateOrganizationRequest {
                organization: Some(pb::Organization {
                    display_name: "Mine".into(),
                    package_id: package.clone(),
                    ..Default::default()
                }),
                admin_identity_id: String::new(),
            })
            .await,
        Code::PermissionDenied,
        Some("NOT_PACKAGE_ADMIN"),
    );

    // Update with a mask: only the named field changes.
    let updated = c
        .update_organization_settings(pb::UpdateOrganizationSettingsRequest {
            organization: Some(pb::Organization {
                organization_id: org.organization_id.clone(),
                display_name: "Acme GmbH".into(),
                guest_inactivity_deactivation: Some(prost_types::Duration {
                    seconds: 7 * 86400,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["guest_inactivity_deactivation".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.display_name, "Acme");
    assert_eq!(
        updated.guest_inactivity_deactivation.map(|d| d.seconds),
        Some(7 * 86400)
    );
    let got = c
        .get_organization(pb::GetOrganizationRequest {
            organization_id: org.organization_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, updated);
    // Without a mask only the populated fields change.
    let renamed = c
        .update_organization_settings(pb::UpdateOrganizationSettingsRequest {
            organization: Some(pb::Organization {
                organization_id: org.organization_id.clone(),
                display_name: "Acme AG".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(renamed.display_name, "Acme AG");
    assert_eq!(
        renamed.guest_inactivity_deactivation.map(|d| d.seconds),
        Some(7 * 86400)
    );
    // Shorter than an hour, unknown mask paths: refused, naming the field.
    assert_invalid(
        c.update_organization_settings(pb::UpdateOrganizationSettingsRequest {
            organization: Some(pb::Organization {
                organization_id: org.organization_id.clone(),
                guest_inactivity_deactivation: Some(prost_types::Duration {
                    seconds: 60,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["guest_inactivity_deactivation".into()],
            }),
        })
        .await,
        "organization.guest_inactivity_deactivation",
    );
    assert_invalid(
        c.update_organization_settings(pb::UpdateOrganizationSettingsRequest {
            organization: Some(pb::Organization {
                organization_id: org.organization_id.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["package_id".into()],
            }),
        })
        .await,
        "update_mask.paths[0]",
    );
    // Unset again: never.
    let never = c
        .update_organization_settings(pb::UpdateOrganizationSettingsRequest {
            organization: Some(pb::Organization {
                organization_id: org.organization_id.clone(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["guest_inactivity_deactivation".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(never.guest_inactivity_deactivation.is_none());
    // Unknown organization for a service: NOT_FOUND.
    assert_status(
        s.svc_membership()
            .get_organization(pb::GetOrganizationRequest {
                organization_id: "org_0000000000000000".into(),
            })
            .await,
        Code::NotFound,
        Some("ORGANIZATION_NOT_FOUND"),
    );
    let events = s.org_events(&org.organization_id).await;
    for kind in [
        EventType::OrganizationCreated,
        EventType::MemberAdded,
        EventType::OrganizationUpdated,
    ] {
        assert!(
            events.iter().any(|e| e.event_type == kind),
            "{kind:?} audited"
        );
    }
}

async fn m1_sub_organizations_need_an_enterprise_parent_and_share_its_package(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let business = s.create_package(pb::Plan::Business, 10, &[&admin]).await;
    let enterprise = s.create_package(pb::Plan::Enterprise, 10, &[&admin]).await;
    let small = s.create_org(&business, &admin).await;
    let big = s.create_org(&enterprise, &admin).await;
    let sub_req = |parent: &str, package: &str| pb::CreateOrganizationRequest {
        organization: Some(pb::Organization {
            display_name: "Department".into(),
            parent_organization_id: parent.into(),
            package_id: package.into(),
            ..Default::default()
        }),
        admin_identity_id: admin.clone(),
    };
    assert_status(
        s.svc_membership()
            .create_organization(sub_req(&small, ""))
            .await,
        Code::FailedPrecondition,
        Some("ENTERPRISE_PLAN_REQUIRED"),
    );
    assert_invalid(
        s.svc_membership()
            .create_organization(sub_req(&big, &business))
            .await,
        "organization.package_id",
    );
    let sub = s
        .svc_membership()
        .create_organization(sub_req(&big, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sub.package_id, enterprise);
    assert_eq!(sub.parent_organization_id, big);
    // The same admin in parent and sub-organization holds one seat.
    assert_eq!(s.seats_used(&enterprise).await, 1);
}

async fn v1_membership_requests_name_their_bad_fields(b: Backend) {
    let s = TestServer::start(b).await;
    let c = || s.svc_membership();
    assert_invalid(
        c().create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization::default()),
            admin_identity_id: String::new(),
        })
        .await,
        "organization.display_name",
    );
    assert_invalid(
        c().create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: "X".into(),
                ..Default::default()
            }),
            admin_identity_id: String::new(),
        })
        .await,
        "admin_identity_id",
    );
    assert_invalid(
        c().add_member(pb::AddMemberRequest {
            organization_id: "nope".into(),
            identity_id: "ABCDEFGH".into(),
            role: 0,
        })
        .await,
        "organization_id",
    );
    assert_invalid(
        c().add_member(pb::AddMemberRequest {
            organization_id: "org_0000000000000000".into(),
            identity_id: "abc".into(),
            role: 99,
        })
        .await,
        "role",
    );
    assert_invalid(
        c().deactivate_member(pb::DeactivateMemberRequest {
            organization_id: "org_0000000000000000".into(),
            identity_id: "ABCDEFGH".into(),
            reason: pb::DeactivationReason::Inactivity as i32,
            note: "x".repeat(501),
            ..Default::default()
        })
        .await,
        "reason",
    );
    assert_invalid(
        c().deactivate_member(pb::DeactivateMemberRequest {
            organization_id: "org_0000000000000000".into(),
            identity_id: "ABCDEFGH".into(),
            note: "x".repeat(501),
            ..Default::default()
        })
        .await,
        "note",
    );
    assert_invalid(
        c().remove_member(pb::RemoveMemberRequest {
            organization_id: "org_0000000000000000".into(),
            identity_id: "ABCDEFGH".into(),
            successor_identity_id: "ABCDEFGH".into(),
            etag: String::new(),
        })
        .await,
        "successor_identity_id",
    );
    assert_invalid(
        c().resolve_profiles(pb::ResolveProfilesRequest {
            organization_id: "org_0000000000000000".into(),
            identity_ids: vec!["ABCDEFGH".into(), "bad".into()],
        })
        .await,
        "identity_ids[1]",
    );
    assert_invalid(
        c().list_members(pb::ListMembersRequest {
            organization_id: "org_0000000000000000".into(),
            page_size: -1,
            ..Default::default()
        })
        .await,
        "page_size",
    );
    assert_invalid(
        c().create_assignment(pb::CreateAssignmentRequest {
            assignment: Some(pb::Assignment {
                room_id: "room_0000000000000000".into(),
                assignee_identity_id: "ABCDEFGH".into(),
                kind: 0,
                title: "t".into(),
                ..Default::default()
            }),
        })
        .await,
        "assignment.kind",
    );
}

async fn m2_add_member_takes_a_seat_and_refuses_duplicates_unknown_and_full(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 3, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    assert_eq!(s.seats_used(&package).await, 1);
    let ada = s.create_identity("Ada").await;
    let added = s.add_member(&org, &ada, MEMBER).await;
    assert_eq!(added.role, MEMBER as i32);
    assert_eq!(added.state, pb::MemberState::Active as i32);
    assert!(added.join_time.is_some() && added.last_activity_time.is_some());
    assert_eq!(s.seats_used(&package).await, 2);
    let again = s
        .svc_membership()
        .add_member(pb::AddMemberRequest {
            organization_id: org.clone(),
            identity_id: ada.clone(),
            role: GUEST as i32,
        })
        .await;
    assert_status(again, Code::AlreadyExists, Some("ALREADY_MEMBER"));
    assert_status(
        s.svc_membership()
            .add_member(pb::AddMemberRequest {
                organization_id: org.clone(),
                identity_id: "ZZZZZZZZ".into(),
                role: 0,
            })
            .await,
        Code::NotFound,
        Some("IDENTITY_NOT_FOUND"),
    );
    // Default role is MEMBER; the third seat goes.
    let bob = s.create_identity("Bob").await;
    let bob_member = s
        .svc_membership()
        .add_member(pb::AddMemberRequest {
            organization_id: org.clone(),
            identity_id: bob.clone(),
            role: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(bob_member.role, MEMBER as i32);
    // No seat left: RESOURCE_EXHAUSTED, nothing written.
    let cy = s.create_identity("Cy").await;
    assert_status(
        s.svc_membership()
            .add_member(pb::AddMemberRequest {
                organization_id: org.clone(),
                identity_id: cy.clone(),
                role: 0,
            })
            .await,
        Code::ResourceExhausted,
        Some("SEAT_LIMIT_REACHED"),
    );
    assert!(s.member(&org, &cy).await.is_none());
    assert_eq!(s.seats_used(&package).await, 3);
    let events = s.org_events(&org).await;
    assert!(has_event(&events, EventType::MemberAdded, &ada, ""));
    assert!(!has_event(&events, EventType::MemberAdded, &cy, ""));
}

async fn m2_update_member_role_and_list_members_with_filters_and_pages(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 20, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    let mut ids = vec![admin.clone()];
    for i in 0..5 {
        ids.push(s.new_member(&org, &format!("M{i}"), MEMBER).await);
    }
    let guest = s.new_member(&org, "Guest", GUEST).await;
    ids.push(guest.clone());
    ids.sort();
    deactivate(&s, &org, &guest, pb::DeactivationReason::ProjectPaused).await;
    let promoted = s
        .svc_membership()
        .update_member_role(pb::UpdateMemberRoleRequest {
            organization_id: org.clone(),
            identity_id: ids
                .iter()
                .find(|i| **i != admin && **i != guest)
                .unwrap()
                .clone(),
            role: ADMIN as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(promoted.role, ADMIN as i32);
    assert_status(
        s.svc_membership()
            .update_member_role(pb::UpdateMemberRoleRequest {
                organization_id: org.clone(),
                identity_id: "ZZZZZZZZ".into(),
                role: ADMIN as i32,
            })
            .await,
        Code::NotFound,
        Some("MEMBER_NOT_FOUND"),
    );
    // Pages of 3, ordered by identity ID.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = s
            .svc_membership()
            .list_members(pb::ListMembersRequest {
                organization_id: org.clone(),
                page_size: 3,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(page.members.len() <= 3);
        seen.extend(page.members.into_iter().map(|m| m.identity_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, ids);
    let filtered = |state: pb::MemberState, role: pb::MemberRole| {
        let org = org.clone();
        let s = &s;
        async move {
            s.svc_membership()
                .list_members(pb::ListMembersRequest {
                    organization_id: org,
                    state: state as i32,
                    role: role as i32,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .members
        }
    };
    let deactivated = filtered(pb::MemberState::Deactivated, pb::MemberRole::Unspecified).await;
    assert_eq!(deactivated.len(), 1);
    assert_eq!(deactivated[0].identity_id, guest);
    let d = deactivated[0]
        .deactivation
        .as_ref()
        .expect("deactivation details");
    assert_eq!(d.reason, pb::DeactivationReason::ProjectPaused as i32);
    assert_eq!(
        filtered(pb::MemberState::Active, ADMIN).await.len(),
        2,
        "two active admins"
    );
    assert_eq!(filtered(pb::MemberState::Unspecified, GUEST).await.len(), 1);
    let events = s.org_events(&org).await;
    assert!(
        events
            .iter()
            .any(|e| e.event_type == EventType::MemberRoleUpdated)
    );
}

async fn m3_rooms_members_permissions_and_leaving(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 20).await;
    let org = s.create_org(&package, &admin).await;
    let ada = s.new_member(&org, "Ada", MEMBER).await;
    let bob = s.new_member(&org, "Bob", MEMBER).await;
    let guest = s.new_member(&org, "Guest", GUEST).await;
    let ada_token = s.token_for(&package, &ada).await;
    let guest_token = s.token_for(&package, &guest).await;
    // A member creates a room and becomes its admin; a guest may not.
    let room = s
        .membership(Some(&ada_token))
        .create_room(pb::CreateRoomRequest {
            room: Some(pb::Room {
                organization_id: org.clone(),
                display_name: "Project".into(),
                ..Default::default()
            }),
            admin_identity_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(room.room_id.starts_with("room_"));
    assert_status(
        s.membership(Some(&guest_token))
            .create_room(pb::CreateRoomRequest {
                room: Some(pb::Room {
                    organization_id: org.clone(),
                    display_name: "Mine".into(),
                    ..Default::default()
                }),
                admin_identity_id: String::new(),
            })
            .await,
        Code::PermissionDenied,
        None,
    );
    let room = room.room_id;
    let mut ada_c = s.membership(Some(&ada_token));
    // The room admin adds members; delete_entries is granted by default.
    let added = ada_c
        .add_room_member(pb::AddRoomMemberRequest {
            room_id: room.clone(),
            identity_id: bob.clone(),
            role: 0,
            permissions: vec![],
            without_permissions: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.role, pb::RoomRole::Member as i32);
    assert_eq!(
        added.permissions,
        vec![pb::RoomPermission::DeleteEntries as i32]
    );
    assert_status(
        ada_c
            .add_room_member(pb::AddRoomMemberRequest {
                room_id: room.clone(),
                identity_id: bob.clone(),
                role: 0,
                permissions: vec![],
                without_permissions: false,
            })
            .await,
        Code::AlreadyExists,
        Some("ALREADY_ROOM_MEMBER"),
    );
    let outsider = s.create_identity("Outsider").await;
    assert_status(
        ada_c
            .add_room_member(pb::AddRoomMemberRequest {
                room_id: room.clone(),
                identity_id: outsider.clone(),
                role: 0,
                permissions: vec![],
                without_permissions: false,
            })
            .await,
        Code::FailedPrecondition,
        Some("NOT_ACTIVE_MEMBER"),
    );
    // The seed's tip: withdraw delete_entries once a resignation is known.
    let updated = ada_c
        .update_room_member(pb::UpdateRoomMemberRequest {
            room_member: Some(pb::RoomMember {
                room_id: room.clone(),
                identity_id: bob.clone(),
                permissions: vec![],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["permissions".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(updated.permissions.is_empty());
    assert_eq!(updated.role, pb::RoomRole::Member as i32);
    let access = s.access(&bob, &org, &room).await;
    assert!(access.allowed && access.room_permissions.is_empty());
    // Members list the room; ordered by identity.
    let listed = s.room_members(&room).await;
    let mut expect = vec![ada.clone(), bob.clone()];
    expect.sort();
    assert_eq!(
        listed
            .iter()
            .map(|m| m.identity_id.clone())
            .collect::<Vec<_>>(),
        expect
    );
    // Bob leaves by himself; the guest is added and removed by the admin.
    let bob_token = s.token_for(&package, &bob).await;
    s.membership(Some(&bob_token))
        .leave_room(pb::LeaveRoomRequest {
            room_id: room.clone(),
            successor_identity_id: String::new(),
        })
        .await
        .unwrap();
    assert_status(
        s.membership(Some(&bob_token))
            .leave_room(pb::LeaveRoomRequest {
                room_id: room.clone(),
                successor_identity_id: String::new(),
            })
            .await,
        Code::NotFound,
        Some("ROOM_MEMBER_NOT_FOUND"),
    );
    s.add_room_member(&room, &guest, pb::RoomRole::Member).await;
    ada_c
        .remove_room_member(pb::RemoveRoomMemberRequest {
            room_id: room.clone(),
            identity_id: guest.clone(),
        })
        .await
        .unwrap();
    assert_eq!(s.room_members(&room).await.len(), 1);
    let events = s.org_events(&org).await;
    assert!(has_event(
        &events,
        EventType::RoomMemberRemoved,
        &bob,
        "LEFT"
    ));
    assert!(has_event(
        &events,
        EventType::RoomMemberRemoved,
        &guest,
        "REMOVED"
    ));
    assert!(has_event(&events, EventType::RoomMemberUpdated, &bob, ""));
    assert!(
        events
            .iter()
            .any(|e| e.event_type == EventType::RoomCreated)
    );
    // No permission at all can be asked for at once; not together with a list.
    let carl = s.new_member(&org, "Carl", MEMBER).await;
    assert_invalid(
        ada_c
            .add_room_member(pb::AddRoomMemberRequest {
                room_id: room.clone(),
                identity_id: carl.clone(),
                role: 0,
                permissions: vec![pb::RoomPermission::DeleteEntries as i32],
                without_permissions: true,
            })
            .await,
        "permissions",
    );
    let bare = ada_c
        .add_room_member(pb::AddRoomMemberRequest {
            room_id: room.clone(),
            identity_id: carl.clone(),
            role: 0,
            permissions: vec![],
            without_permissions: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(bare.permissions.is_empty());
    let access = s.access(&carl, &org, &room).await;
    assert!(access.allowed && access.room_permissions.is_empty());
}

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
    s.svc_membership()
        .reactivate_member(pb::ReactivateMemberRequest {
            organization_id: sales.clone(),
            identity_id: eva.clone(),
        })
        .await
        .unwrap();
    assert_eq!(s.seats_used(&package).await, 2);
    // Removing from sales (active) while paused in support frees it too.
    assert!(remove(&s, &sales, &eva).await.seat_freed);
    assert_eq!(s.seats_used(&package).await, 1);
    let events = s.store().await;
    let detached = events
        .list_events(
            &roster::store::EventQuery {
                identity_id: Some(eva.clone()),
                types: vec![EventType::IdentityDetached],
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
    assert_eq!(detached.len(), 2);
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

crate::db_tests!(
    m1_create_get_and_update_organization,
    m1_sub_organizations_need_an_enterprise_parent_and_share_its_package,
    v1_membership_requests_name_their_bad_fields,
    m2_add_member_takes_a_seat_and_refuses_duplicates_unknown_and_full,
    m2_update_member_role_and_list_members_with_filters_and_pages,
    m3_rooms_members_permissions_and_leaving,
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
);
