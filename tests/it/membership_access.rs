//! Hot paths and who may call what: ResolveProfiles (M10), CheckAccess
//! (M11), the authorization matrix over every mutating RPC (A2) and tenant
//! isolation of the reads (A3).

use roster::pb;
use roster::pb::membership_service_client::MembershipServiceClient;
use tonic::{Code, Status};

use crate::harness::{Authed, Backend, TestServer, assert_invalid, assert_status};

const MEMBER: pb::MemberRole = pb::MemberRole::Member;

async fn m10_resolve_profiles_renders_every_state_in_one_call(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 20).await;
    let org = s.create_org(&package, &admin).await;
    let active = s.new_member(&org, "Active", MEMBER).await;
    let paused = s.new_member(&org, "Paused", MEMBER).await;
    let removed = s.new_member(&org, "Removed", MEMBER).await;
    let revoked = s.new_member(&org, "Revoked", MEMBER).await;
    let never = s.create_identity("Never").await;
    let elsewhere = s.create_org(&package, &admin).await;
    s.add_member(&elsewhere, &never, MEMBER).await;
    s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.clone(),
            identity_id: paused.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    s.svc_membership()
        .remove_member(pb::RemoveMemberRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            identity_id: removed.clone(),
            successor_identity_id: String::new(),
            etag: String::new(),
        })
        .await
        .unwrap();
    let token = s.token_for(&package, &revoked).await;
    s.identity(Some(&token))
        .revoke_identity(pb::RevokeIdentityRequest {
            identity_id: revoked.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let ids = [
        active.as_str(),
        paused.as_str(),
        removed.as_str(),
        revoked.as_str(),
        never.as_str(),
        "UNKNOWN1",
        active.as_str(),
    ];
    let profiles = s.profiles(&org, &ids).await;
    assert_eq!(
        profiles
            .iter()
            .map(|p| p.identity_id.as_str())
            .collect::<Vec<_>>(),
        ids,
        "one profile per requested ID, in order"
    );
    let p = &profiles[0];
    assert_eq!(p.status, pb::ProfileStatus::Active as i32);
    assert_eq!(p.display_name, "Active");
    assert_eq!(p.avatar_url, "https://example.com/Active.png");
    assert!(!p.strikethrough && p.badge.is_empty());
    let p = &profiles[1];
    assert_eq!(p.status, pb::ProfileStatus::Deactivated as i32);
    assert_eq!(p.display_name, "Paused");
    assert!(p.avatar_url.is_empty() && p.strikethrough);
    assert_eq!(p.badge, "D");
    for p in &profiles[2..6] {
        assert_eq!(p.status, pb::ProfileStatus::Unknown as i32, "{p:?}");
        assert_eq!(p.display_name, "Unknown user");
        assert!(p.avatar_url.is_empty() && !p.strikethrough && p.badge.is_empty());
    }
    assert_eq!(profiles[6], profiles[0]);

    // Up to 1,000 IDs in one call; more is refused; an unknown
    // organization is NOT_FOUND.
    let many: Vec<String> = (0..1000).map(|i| format!("X{i:07}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let resolved = s.profiles(&org, &refs).await;
    assert_eq!(resolved.len(), 1000);
    let mut too_many = many.clone();
    too_many.push(active.clone());
    assert_invalid(
        s.svc_membership()
            .resolve_profiles(pb::ResolveProfilesRequest {
                organization_id: org.clone(),
                identity_ids: too_many,
            })
            .await,
        "identity_ids",
    );
    assert_status(
        s.svc_membership()
            .resolve_profiles(pb::ResolveProfilesRequest {
                organization_id: "org_0000000000000000".into(),
                identity_ids: vec![active.clone()],
            })
            .await,
        Code::NotFound,
        Some("ORGANIZATION_NOT_FOUND"),
    );
}

async fn m11_check_access_allows_or_names_the_reason(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 20).await;
    let org = s.create_org(&package, &admin).await;
    let other = s.create_org(&package, &admin).await;
    let ada = s.new_member(&org, "Ada", MEMBER).await;
    let paused = s.new_member(&org, "Paused", pb::MemberRole::Guest).await;
    let outsider = s.create_identity("Outsider").await;
    let room = s.create_room(&org, &ada).await;
    let lobby = s.create_room(&org, &admin).await;
    let foreign = s.create_room(&other, &admin).await;
    s.add_room_member(&room, &paused, pb::RoomRole::Member)
        .await;
    s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.clone(),
            identity_id: paused.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    let ok = s.access(&ada, &org, &room).await;
    assert!(ok.allowed);
    assert_eq!(ok.denial_reason, 0);
    assert_eq!(ok.role, MEMBER as i32);
    assert_eq!(ok.room_role, pb::RoomRole::Admin as i32);
    assert_eq!(
        ok.room_permissions,
        vec![pb::RoomPermission::DeleteEntries as i32]
    );
    let org_only = s.access(&ada, &org, "").await;
    assert!(org_only.allowed && org_only.room_role == 0);
    let reason = |r: pb::CheckAccessResponse| {
        assert!(!r.allowed);
        pb::AccessDenialReason::try_from(r.denial_reason).unwrap()
    };
    assert_eq!(
        reason(s.access(&ada, &org, &lobby).await),
        pb::AccessDenialReason::NotInRoom
    );
    assert_eq!(
        reason(s.access(&paused, &org, &room).await),
        pb::AccessDenialReason::Deactivated
    );
    assert_eq!(
        reason(s.access(&outsider, &org, "").await),
        pb::AccessDenialReason::NotMember
    );
    assert_eq!(
        reason(s.access("ZZZZZZZZ", &org, "").await),
        pb::AccessDenialReason::UnknownIdentity
    );
    let token = s.token_for(&package, &outsider).await;
    s.identity(Some(&token))
        .revoke_identity(pb::RevokeIdentityRequest {
            identity_id: outsider.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        reason(s.access(&outsider, &org, "").await),
        pb::AccessDenialReason::Revoked
    );
    let check = |identity: &str, org: &str, room: &str| pb::CheckAccessRequest {
        identity_id: identity.into(),
        organization_id: org.into(),
        room_id: room.into(),
    };
    assert_status(
        s.svc_membership()
            .check_access(check(&ada, "org_0000000000000000", ""))
            .await,
        Code::NotFound,
        Some("ORGANIZATION_NOT_FOUND"),
    );
    // A room of another organization does not exist for this one.
    assert_status(
        s.svc_membership()
            .check_access(check(&ada, &org, &foreign))
            .await,
        Code::NotFound,
        Some("ROOM_NOT_FOUND"),
    );
    // A session may ask about itself only.
    let ada_token = s.token_for(&package, &ada).await;
    let mut mine = s.membership(Some(&ada_token));
    assert!(
        mine.check_access(check(&ada, &org, &room))
            .await
            .unwrap()
            .into_inner()
            .allowed
    );
    assert_status(
        mine.check_access(check(&admin, &org, "")).await,
        Code::PermissionDenied,
        Some("NOT_SELF"),
    );
}

// ---- authorization matrix -------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Guest,
    Member,
    RoomAdmin,
    OrgAdmin,
    DeactivatedAdmin,
    OtherOrgAdmin,
    SubOrgAdmin,
    Service,
}

use Who::*;

const EVERYONE: &[Who] = &[
    Guest,
    Member,
    RoomAdmin,
    OrgAdmin,
    DeactivatedAdmin,
    OtherOrgAdmin,
    SubOrgAdmin,
    Service,
];

struct Matrix {
    s: TestServer,
    org: String,
    room: String,
    org_admin: String,
    room_admin: String,
    clients: Vec<(Who, String, MembershipServiceClient<Authed>)>,
}

/// One organization with a guest and a member (the guest is in the room,
/// the member is not), a room admin, an admin, a deactivated admin, a
/// sub-organization with its own admin, another organization's admin, and
/// the service key.
async fn matrix(b: Backend) -> Matrix {
    let s = TestServer::start(b).await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Enterprise, 100).await;
    let org_admin = s.create_identity("OrgAdmin").await;
    let org = s.create_org(&package, &org_admin).await;
    let guest = s.new_member(&org, "Guest", pb::MemberRole::Guest).await;
    let member = s.new_member(&org, "Member", MEMBER).await;
    let room_admin = s.new_member(&org, "RoomAdmin", MEMBER).await;
    let room = s.create_room(&org, &room_admin).await;
    s.add_room_member(&room, &guest, pb::RoomRole::Member).await;
    let paused_admin = s.new_member(&org, "Paused", pb::MemberRole::Admin).await;
    s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.clone(),
            identity_id: paused_admin.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let other_admin = s.create_identity("OtherAdmin").await;
    s.create_org(&package, &other_admin).await;
    let sub_admin = s.create_identity("SubAdmin").await;
    s.create_sub_org(&org, &sub_admin).await;
    let mut clients = Vec::new();
    for (who, id) in [
        (Guest, &guest),
        (Member, &member),
        (RoomAdmin, &room_admin),
        (OrgAdmin, &org_admin),
        (DeactivatedAdmin, &paused_admin),
        (OtherOrgAdmin, &other_admin),
        (SubOrgAdmin, &sub_admin),
    ] {
        let token = s.token_for(&package, id).await;
        clients.push((who, id.clone(), s.membership(Some(&token))));
    }
    clients.push((Service, String::new(), s.svc_membership()));
    Matrix {
        s,
        org,
        room,
        org_admin,
        room_admin,
        clients,
    }
}

const NOBODY: &str = "ZZZZZZZZ";

#[derive(Debug, Clone, Copy)]
enum Rpc {
    CreateSubOrganization,
    UpdateOrganizationSettings,
    AddMember,
    UpdateMemberRole,
    CreateRoom,
    AddRoomMember,
    UpdateRoomMember,
    RemoveRoomMember,
    DeleteRoom,
    DeactivateMember,
    ReactivateMember,
    RemoveMember,
    UndoRemoveMember,
    CreateAssignment,
    TransferAssignments,
    RecordActivity,
    RunInactivitySweep,
    GetOrganization,
    ListMembers,
    ListRoomMembers,
    ListAssignments,
    PreviewOffboarding,
    ResolveProfiles,
    CheckAccess,
}

/// Calls `rpc` so that an authorized caller changes nothing that matters
/// (it targets an identity that does not exist, or creates something new).
async fn call(
    m: &Matrix,
    rpc: Rpc,
    c: &mut MembershipServiceClient<Authed>,
    service: bool,
) -> Result<(), Status> {
    let org = m.org.clone();
    let room = m.room.clone();
    let admin_for_service = if service {
        m.org_admin.clone()
    } else {
        String::new()
    };
    match rpc {
        Rpc::CreateSubOrganization => c
            .create_organization(pb::CreateOrganizationRequest {
                request_id: String::new(),
                organization: Some(pb::Organization {
                    display_name: "Sub".into(),
                    parent_organization_id: org,
                    ..Default::default()
                }),
                admin_identity_id: admin_for_service,
            })
            .await
            .map(drop),
        Rpc::UpdateOrganizationSettings => c
            .update_organization_settings(pb::UpdateOrganizationSettingsRequest {
                request_id: String::new(),
                organization: Some(pb::Organization {
                    organization_id: org,
                    display_name: "Renamed".into(),
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["display_name".into()],
                }),
            })
            .await
            .map(drop),
        Rpc::AddMember => c
            .add_member(pb::AddMemberRequest {
                request_id: String::new(),
                organization_id: org,
                identity_id: NOBODY.into(),
                role: 0,
            })
            .await
            .map(drop),
        Rpc::UpdateMemberRole => c
            .update_member_role(pb::UpdateMemberRoleRequest {
                request_id: String::new(),
                organization_id: org,
                identity_id: NOBODY.into(),
                role: MEMBER as i32,
            })
            .await
            .map(drop),
        Rpc::CreateRoom => c
            .create_room(pb::CreateRoomRequest {
                request_id: String::new(),
                room: Some(pb::Room {
                    organization_id: org,
                    display_name: "New room".into(),
                    ..Default::default()
                }),
                admin_identity_id: admin_for_service,
            })
            .await
            .map(drop),
        Rpc::AddRoomMember => c
            .add_room_member(pb::AddRoomMemberRequest {
                request_id: String::new(),
                room_id: room,
                identity_id: NOBODY.into(),
                role: 0,
                permissions: vec![],
                without_permissions: false,
            })
            .await
            .map(drop),
        Rpc::UpdateRoomMember => c
            .update_room_member(pb::UpdateRoomMemberRequest {
                request_id: String::new(),
                room_member: Some(pb::RoomMember {
                    room_id: room,
                    identity_id: NOBODY.into(),
                    role: pb::RoomRole::Admin as i32,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["role".into()],
                }),
            })
            .await
            .map(drop),
        Rpc::RemoveRoomMember => c
            .remove_room_member(pb::RemoveRoomMemberRequest {
                request_id: String::new(),
                room_id: room,
                identity_id: NOBODY.into(),
            })
            .await
            .map(drop),
        // A fresh room of the room admin each time: an authorized caller
        // deletes only that.
        Rpc::DeleteRoom => {
            let fresh = m.s.create_room(&m.org, &m.room_admin).await;
            c.delete_room(pb::DeleteRoomRequest {
                room_id: fresh,
                request_id: String::new(),
            })
            .await
            .map(drop)
        }
        Rpc::DeactivateMember => c
            .deactivate_member(pb::DeactivateMemberRequest {
                organization_id: org,
                identity_id: NOBODY.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::ReactivateMember => c
            .reactivate_member(pb::ReactivateMemberRequest {
                request_id: String::new(),
                organization_id: org,
                identity_id: NOBODY.into(),
            })
            .await
            .map(drop),
        Rpc::RemoveMember => c
            .remove_member(pb::RemoveMemberRequest {
                request_id: String::new(),
                organization_id: org,
                identity_id: NOBODY.into(),
                successor_identity_id: String::new(),
                etag: String::new(),
            })
            .await
            .map(drop),
        Rpc::UndoRemoveMember => c
            .undo_remove_member(pb::UndoRemoveMemberRequest {
                request_id: String::new(),
                organization_id: org,
                identity_id: NOBODY.into(),
            })
            .await
            .map(drop),
        Rpc::CreateAssignment => c
            .create_assignment(pb::CreateAssignmentRequest {
                request_id: String::new(),
                assignment: Some(pb::Assignment {
                    room_id: room,
                    assignee_identity_id: NOBODY.into(),
                    kind: pb::AssignmentKind::Task as i32,
                    title: "Task".into(),
                    ..Default::default()
                }),
            })
            .await
            .map(drop),
        Rpc::TransferAssignments => c
            .transfer_assignments(pb::TransferAssignmentsRequest {
                request_id: String::new(),
                organization_id: org,
                from_identity_id: NOBODY.into(),
                to_identity_id: "ZZZZZZZY".into(),
                room_id: String::new(),
            })
            .await
            .map(drop),
        Rpc::RecordActivity => c
            .record_activity(pb::RecordActivityRequest {
                organization_id: org,
                identity_id: m.org_admin.clone(),
            })
            .await
            .map(drop),
        Rpc::RunInactivitySweep => c
            .run_inactivity_sweep(pb::RunInactivitySweepRequest {
                request_id: String::new(),
                organization_id: org,
                dry_run: false,
            })
            .await
            .map(drop),
        Rpc::GetOrganization => c
            .get_organization(pb::GetOrganizationRequest {
                organization_id: org,
            })
            .await
            .map(drop),
        Rpc::ListMembers => c
            .list_members(pb::ListMembersRequest {
                organization_id: org,
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::ListRoomMembers => c
            .list_room_members(pb::ListRoomMembersRequest {
                room_id: room,
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .map(drop),
        Rpc::ListAssignments => c
            .list_assignments(pb::ListAssignmentsRequest {
                organization_id: org,
                ..Default::default()
            })
            .await
            .map(drop),
        Rpc::PreviewOffboarding => c
            .preview_offboarding(pb::PreviewOffboardingRequest {
                organization_id: org,
                identity_id: NOBODY.into(),
                action: pb::OffboardingAction::Remove as i32,
                successor_identity_id: String::new(),
            })
            .await
            .map(drop),
        Rpc::ResolveProfiles => c
            .resolve_profiles(pb::ResolveProfilesRequest {
                organization_id: org,
                identity_ids: vec![m.org_admin.clone()],
            })
            .await
            .map(drop),
        Rpc::CheckAccess => c
            .check_access(pb::CheckAccessRequest {
                identity_id: m.org_admin.clone(),
                organization_id: org,
                room_id: String::new(),
            })
            .await
            .map(drop),
    }
}

async fn run_matrix(m: &mut Matrix, cases: &[(Rpc, &[Who])]) {
    let mut failures = Vec::new();
    let mut clients = std::mem::take(&mut m.clients);
    for (rpc, allowed) in cases {
        for (who, _, client) in clients.iter_mut() {
            let res = call(m, *rpc, client, *who == Service).await;
            let denied = matches!(&res, Err(s) if s.code() == Code::PermissionDenied);
            if allowed.contains(who) == denied {
                failures.push(format!(
                    "{rpc:?} by {who:?}: expected {}, got {:?}",
                    if allowed.contains(who) {
                        "allowed"
                    } else {
                        "PERMISSION_DENIED"
                    },
                    res.map_err(|s| (s.code(), s.message().to_owned()))
                ));
            }
        }
    }
    m.clients = clients;
    assert!(
        failures.is_empty(),
        "authorization matrix:\n{}",
        failures.join("\n")
    );
}

/// Every mutating RPC against every kind of caller (A2).
async fn a2_authorization_matrix_over_every_mutating_rpc(b: Backend) {
    let mut m = matrix(b).await;
    let admins: &[Who] = &[OrgAdmin, Service];
    let cases: &[(Rpc, &[Who])] = &[
        (Rpc::CreateSubOrganization, admins),
        (Rpc::UpdateOrganizationSettings, admins),
        (Rpc::AddMember, admins),
        (Rpc::UpdateMemberRole, admins),
        (Rpc::CreateRoom, &[Member, RoomAdmin, OrgAdmin, Service]),
        (Rpc::AddRoomMember, &[RoomAdmin, OrgAdmin, Service]),
        (Rpc::UpdateRoomMember, &[RoomAdmin, OrgAdmin, Service]),
        (Rpc::RemoveRoomMember, &[RoomAdmin, OrgAdmin, Service]),
        (Rpc::DeleteRoom, &[RoomAdmin, OrgAdmin, Service]),
        (Rpc::DeactivateMember, admins),
        (Rpc::ReactivateMember, admins),
        (Rpc::RemoveMember, admins),
        (Rpc::UndoRemoveMember, admins),
        (
            Rpc::CreateAssignment,
            &[Guest, RoomAdmin, OrgAdmin, Service],
        ),
        (Rpc::TransferAssignments, admins),
        (Rpc::RecordActivity, admins),
        (Rpc::RunInactivitySweep, admins),
    ];
    run_matrix(&mut m, cases).await;
    // LeaveRoom acts for the session itself: a service key cannot use it,
    // and someone outside the room learns nothing.
    let room = m.room.clone();
    for (who, _, c) in m.clients.iter_mut() {
        let res = c
            .leave_room(pb::LeaveRoomRequest {
                request_id: String::new(),
                room_id: room.clone(),
                successor_identity_id: String::new(),
            })
            .await;
        match who {
            Service => {
                assert_status(res, Code::PermissionDenied, None);
            }
            Member | OrgAdmin | OtherOrgAdmin | SubOrgAdmin | DeactivatedAdmin => {
                assert_status(res, Code::NotFound, Some("ROOM_MEMBER_NOT_FOUND"));
            }
            RoomAdmin => {
                assert_status(res, Code::FailedPrecondition, Some("LAST_ROOM_ADMIN"));
            }
            Guest => assert!(res.is_ok(), "{res:?}"),
        }
    }
}

/// Every read against every kind of caller; nobody sees another
/// organization, and an unknown organization looks the same as someone
/// else's to people (A3).
async fn a3_tenant_isolation_of_reads(b: Backend) {
    let mut m = matrix(b).await;
    let active: &[Who] = &[Guest, Member, RoomAdmin, OrgAdmin, Service];
    let cases: &[(Rpc, &[Who])] = &[
        (
            Rpc::GetOrganization,
            &[
                Guest,
                Member,
                RoomAdmin,
                OrgAdmin,
                DeactivatedAdmin,
                Service,
            ],
        ),
        (Rpc::ListMembers, &[OrgAdmin, Service]),
        (Rpc::ListRoomMembers, &[Guest, RoomAdmin, OrgAdmin, Service]),
        (Rpc::ListAssignments, active),
        (Rpc::PreviewOffboarding, &[OrgAdmin, Service]),
        (Rpc::ResolveProfiles, active),
        (Rpc::CheckAccess, &[OrgAdmin, Service]),
    ];
    run_matrix(&mut m, cases).await;
    assert_eq!(EVERYONE.len(), m.clients.len());
    let unknown = "org_0000000000000000".to_owned();
    for (who, _, c) in m.clients.iter_mut() {
        let res = c
            .get_organization(pb::GetOrganizationRequest {
                organization_id: unknown.clone(),
            })
            .await;
        let code = if *who == Service {
            Code::NotFound
        } else {
            Code::PermissionDenied
        };
        assert_status(res, code, None);
    }
    // The other organization's admin sees nothing of this one's members.
    let (_, _, other) = m
        .clients
        .iter_mut()
        .find(|(w, _, _)| *w == OtherOrgAdmin)
        .unwrap();
    assert_status(
        other
            .list_room_members(pb::ListRoomMembersRequest {
                room_id: m.room.clone(),
                page_size: 0,
                page_token: String::new(),
            })
            .await,
        Code::PermissionDenied,
        None,
    );
    let _ = &m.s;
}

crate::db_tests!(
    m10_resolve_profiles_renders_every_state_in_one_call,
    m11_check_access_allows_or_names_the_reason,
    a2_authorization_matrix_over_every_mutating_rpc,
    a3_tenant_isolation_of_reads,
);
