//! MembershipService lifecycle: organizations, members, rooms, deactivate /
//! reactivate / remove and everything the seed says happens after them,
//! re-adding, revocation reaching membership, assignments, seats across
//! sub-organizations (M1–M6, M9, L6, I4, E1, V1).

use roster::domain::EventType;
use roster::pb;
use tonic::Code;

use crate::harness::{Backend, TestServer, assert_invalid, assert_status};

const ADMIN: pb::MemberRole = pb::MemberRole::Admin;
pub(crate) const MEMBER: pb::MemberRole = pb::MemberRole::Member;
pub(crate) const GUEST: pb::MemberRole = pb::MemberRole::Guest;

pub(crate) fn has_event(
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

pub(crate) async fn deactivate(
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

pub(crate) async fn reactivate(s: &TestServer, org: &str, id: &str) -> pb::Member {
    s.svc_membership()
        .reactivate_member(pb::ReactivateMemberRequest {
            request_id: String::new(),
            organization_id: org.into(),
            identity_id: id.into(),
        })
        .await
        .expect("reactivate")
        .into_inner()
}

pub(crate) async fn remove(s: &TestServer, org: &str, id: &str) -> pb::RemoveMemberResponse {
    s.svc_membership()
        .remove_member(pb::RemoveMemberRequest {
            request_id: String::new(),
            organization_id: org.into(),
            identity_id: id.into(),
            successor_identity_id: String::new(),
            etag: String::new(),
        })
        .await
        .expect("remove")
        .into_inner()
}

pub(crate) async fn assignments_of(
    s: &TestServer,
    org: &str,
    assignee: &str,
) -> Vec<pb::Assignment> {
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
            request_id: String::new(),
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
                request_id: String::new(),
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
            request_id: String::new(),
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
            request_id: String::new(),
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
            request_id: String::new(),
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
            request_id: String::new(),
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
            request_id: String::new(),
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
        request_id: String::new(),
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
            request_id: String::new(),
            organization: Some(pb::Organization::default()),
            admin_identity_id: String::new(),
        })
        .await,
        "organization.display_name",
    );
    assert_invalid(
        c().create_organization(pb::CreateOrganizationRequest {
            request_id: String::new(),
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
            request_id: String::new(),
            organization_id: "nope".into(),
            identity_id: "ABCDEFGH".into(),
            role: 0,
        })
        .await,
        "organization_id",
    );
    assert_invalid(
        c().add_member(pb::AddMemberRequest {
            request_id: String::new(),
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
            request_id: String::new(),
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
            request_id: String::new(),
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
            request_id: String::new(),
            organization_id: org.clone(),
            identity_id: ada.clone(),
            role: GUEST as i32,
        })
        .await;
    assert_status(again, Code::AlreadyExists, Some("ALREADY_MEMBER"));
    assert_status(
        s.svc_membership()
            .add_member(pb::AddMemberRequest {
                request_id: String::new(),
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
            request_id: String::new(),
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
                request_id: String::new(),
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
            request_id: String::new(),
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
                request_id: String::new(),
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
            request_id: String::new(),
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
                request_id: String::new(),
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
            request_id: String::new(),
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
                request_id: String::new(),
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
                request_id: String::new(),
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
            request_id: String::new(),
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
            request_id: String::new(),
            room_id: room.clone(),
            successor_identity_id: String::new(),
        })
        .await
        .unwrap();
    assert_status(
        s.membership(Some(&bob_token))
            .leave_room(pb::LeaveRoomRequest {
                request_id: String::new(),
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
            request_id: String::new(),
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
                request_id: String::new(),
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
            request_id: String::new(),
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

/// DeleteRoom (M3): room admins, organization admins and service keys may
/// delete a room; its room members and assignments go with it in one
/// transaction with ROOM_DELETED (counts in the attributes). An unknown
/// room is ROOM_NOT_FOUND, for everyone.
async fn m3_delete_room_takes_its_members_and_assignments(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 20).await;
    let org = s.create_org(&package, &admin).await;
    let ada = s.new_member(&org, "Ada", MEMBER).await;
    let bob = s.new_member(&org, "Bob", MEMBER).await;
    let room = s.create_room(&org, &ada).await;
    let other_room = s.create_room(&org, &ada).await;
    s.add_room_member(&room, &bob, pb::RoomRole::Member).await;
    s.add_room_member(&other_room, &bob, pb::RoomRole::Member)
        .await;
    s.create_assignment(&room, &bob, "Gone with the room").await;
    let kept = s.create_assignment(&other_room, &bob, "Stays").await;
    assert!(s.access(&bob, &org, &room).await.allowed);

    // Bob is only a member of the room: refused.
    let bob_token = s.token_for(&package, &bob).await;
    let delete = |room: &str| pb::DeleteRoomRequest {
        room_id: room.to_owned(),
        request_id: String::new(),
    };
    assert_status(
        s.membership(Some(&bob_token))
            .delete_room(delete(&room))
            .await,
        Code::PermissionDenied,
        Some("NOT_ROOM_ADMIN"),
    );
    // Another organization's admin: refused too.
    let (other_package, other_admin, _) = s.package_with_admin(pb::Plan::Business, 5).await;
    s.create_org(&other_package, &other_admin).await;
    let other_token = s.token_for(&other_package, &other_admin).await;
    assert_status(
        s.membership(Some(&other_token))
            .delete_room(delete(&room))
            .await,
        Code::PermissionDenied,
        None,
    );
    assert_invalid(
        s.svc_membership().delete_room(delete("nope")).await,
        "room_id",
    );
    assert_status(
        s.svc_membership()
            .delete_room(delete("room_zzzzzzzzzzzzzzzz"))
            .await,
        Code::NotFound,
        Some("ROOM_NOT_FOUND"),
    );

    // The room admin deletes it.
    let ada_token = s.token_for(&package, &ada).await;
    s.membership(Some(&ada_token))
        .delete_room(delete(&room))
        .await
        .expect("delete room");
    assert_status(
        s.svc_membership()
            .check_access(pb::CheckAccessRequest {
                identity_id: bob.clone(),
                organization_id: org.clone(),
                room_id: room.clone(),
            })
            .await,
        Code::NotFound,
        Some("ROOM_NOT_FOUND"),
    );
    assert_status(
        s.svc_membership()
            .list_room_members(pb::ListRoomMembersRequest {
                room_id: room.clone(),
                page_size: 10,
                page_token: String::new(),
            })
            .await,
        Code::NotFound,
        Some("ROOM_NOT_FOUND"),
    );
    let left: Vec<String> = assignments_of(&s, &org, &bob)
        .await
        .into_iter()
        .map(|a| a.assignment_id)
        .collect();
    assert_eq!(left, vec![kept]);
    assert_eq!(s.room_members(&other_room).await.len(), 2);
    let events = s.org_events(&org).await;
    let deleted: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == EventType::RoomDeleted)
        .collect();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    let e = deleted[0];
    assert_eq!(e.subject_id, room);
    assert_eq!(e.room_id.as_deref(), Some(room.as_str()));
    assert_eq!(e.actor.id, ada);
    let attr = |k: &str| {
        e.attributes
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(attr("room_members_removed").as_deref(), Some("2"));
    assert_eq!(attr("assignments_deleted").as_deref(), Some("1"));
    // Gone: a second delete and an add to it are ROOM_NOT_FOUND.
    assert_status(
        s.svc_membership().delete_room(delete(&room)).await,
        Code::NotFound,
        Some("ROOM_NOT_FOUND"),
    );
    assert_status(
        s.svc_membership()
            .add_room_member(pb::AddRoomMemberRequest {
                request_id: String::new(),
                room_id: room.clone(),
                identity_id: bob.clone(),
                role: 0,
                permissions: vec![],
                without_permissions: false,
            })
            .await,
        Code::NotFound,
        Some("ROOM_NOT_FOUND"),
    );
    // An organization admin who is not in the room may delete it.
    let admin_token = s.token_for(&package, &admin).await;
    s.membership(Some(&admin_token))
        .delete_room(delete(&other_room))
        .await
        .expect("org admin deletes a room");
    assert!(assignments_of(&s, &org, &bob).await.is_empty());
}

crate::db_tests!(
    m1_create_get_and_update_organization,
    m1_sub_organizations_need_an_enterprise_parent_and_share_its_package,
    v1_membership_requests_name_their_bad_fields,
    m2_add_member_takes_a_seat_and_refuses_duplicates_unknown_and_full,
    m2_update_member_role_and_list_members_with_filters_and_pages,
    m3_rooms_members_permissions_and_leaving,
    m3_delete_room_takes_its_members_and_assignments,
);
