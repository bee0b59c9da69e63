//! `roster.v1.MembershipService` (M1–M12, L6 for organizations, A2, A3,
//! E1). Each handler: authenticate, validate every field, authorize
//! (`authz`), call the store, convert.

use std::sync::Arc;

use prost_types::Duration as PbDuration;
use tonic::{Request, Response, Status};

use super::Ctx;
use super::authz::{self, OrgCaller};
use super::convert::{self, opt_ts, ts};
use crate::domain::validate::{self, Violations};
use crate::domain::{
    self, AccessDecision, AccessDenial, Error, IdentityId, MemberRole, OrgId, PackageId, Principal,
    Profile, Reason, Result, RoomId, RoomRole,
};
use crate::pb;
use crate::store::{
    AssignmentFilter, DeactivationInput, MemberFilter, NewAssignment, NewOrganization,
    OffboardingAction, OrganizationChanges,
};

/// Implementation of `MembershipService`.
#[derive(Debug, Clone)]
pub struct MembershipApi {
    ctx: Arc<Ctx>,
}

impl MembershipApi {
    /// The service over shared state.
    pub fn new(ctx: Arc<Ctx>) -> Self {
        MembershipApi { ctx }
    }
}

/// Shortest guest inactivity period (one hour).
const MIN_GUEST_INACTIVITY_SECS: i64 = 3600;
/// Longest guest inactivity period (ten years).
const MAX_GUEST_INACTIVITY_SECS: i64 = 10 * 366 * 24 * 3600;
/// Longest deactivation note.
const MAX_NOTE: usize = 500;
/// Longest assignment title.
const MAX_TITLE: usize = 200;

// ---- enum and message conversions -----------------------------------------

fn role_from_pb(r: pb::MemberRole) -> Option<MemberRole> {
    match r {
        pb::MemberRole::Unspecified => None,
        pb::MemberRole::Admin => Some(MemberRole::Admin),
        pb::MemberRole::Member => Some(MemberRole::Member),
        pb::MemberRole::Guest => Some(MemberRole::Guest),
    }
}

fn role_to_pb(r: MemberRole) -> pb::MemberRole {
    match r {
        MemberRole::Admin => pb::MemberRole::Admin,
        MemberRole::Member => pb::MemberRole::Member,
        MemberRole::Guest => pb::MemberRole::Guest,
    }
}

fn state_from_pb(s: pb::MemberState) -> Option<domain::MemberState> {
    match s {
        pb::MemberState::Unspecified => None,
        pb::MemberState::Active => Some(domain::MemberState::Active),
        pb::MemberState::Deactivated => Some(domain::MemberState::Deactivated),
    }
}

fn state_to_pb(s: domain::MemberState) -> pb::MemberState {
    match s {
        domain::MemberState::Active => pb::MemberState::Active,
        domain::MemberState::Deactivated => pb::MemberState::Deactivated,
    }
}

fn room_role_from_pb(r: pb::RoomRole) -> Option<RoomRole> {
    match r {
        pb::RoomRole::Unspecified => None,
        pb::RoomRole::Admin => Some(RoomRole::Admin),
        pb::RoomRole::Member => Some(RoomRole::Member),
    }
}

fn room_role_to_pb(r: RoomRole) -> pb::RoomRole {
    match r {
        RoomRole::Admin => pb::RoomRole::Admin,
        RoomRole::Member => pb::RoomRole::Member,
    }
}

fn reason_to_pb(r: domain::DeactivationReason) -> pb::DeactivationReason {
    use domain::DeactivationReason as D;
    match r {
        D::ParentalLeave => pb::DeactivationReason::ParentalLeave,
        D::Sabbatical => pb::DeactivationReason::Sabbatical,
        D::ProjectPaused => pb::DeactivationReason::ProjectPaused,
        D::Other => pb::DeactivationReason::Other,
        D::Inactivity => pb::DeactivationReason::Inactivity,
    }
}

fn kind_from_pb(k: pb::AssignmentKind) -> Option<domain::AssignmentKind> {
    match k {
        pb::AssignmentKind::Unspecified => None,
        pb::AssignmentKind::Task => Some(domain::AssignmentKind::Task),
        pb::AssignmentKind::Appointment => Some(domain::AssignmentKind::Appointment),
    }
}

fn kind_to_pb(k: domain::AssignmentKind) -> pb::AssignmentKind {
    match k {
        domain::AssignmentKind::Task => pb::AssignmentKind::Task,
        domain::AssignmentKind::Appointment => pb::AssignmentKind::Appointment,
    }
}

fn permissions(can_delete_entries: bool) -> Vec<i32> {
    if can_delete_entries {
        vec![pb::RoomPermission::DeleteEntries as i32]
    } else {
        Vec::new()
    }
}

impl From<domain::Organization> for pb::Organization {
    fn from(o: domain::Organization) -> Self {
        pb::Organization {
            organization_id: o.id.to_string(),
            display_name: o.display_name,
            package_id: o.package_id.to_string(),
            parent_organization_id: o.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            guest_inactivity_deactivation: o
                .guest_inactivity_secs
                .map(|seconds| PbDuration { seconds, nanos: 0 }),
            create_time: ts(o.created_at),
        }
    }
}

impl From<domain::Member> for pb::Member {
    fn from(m: domain::Member) -> Self {
        pb::Member {
            organization_id: m.org_id.to_string(),
            identity_id: m.identity_id.to_string(),
            role: role_to_pb(m.role) as i32,
            state: state_to_pb(m.state) as i32,
            join_time: ts(m.joined_at),
            last_activity_time: ts(m.last_activity_at),
            deactivation: m.deactivation.map(|d| pb::Deactivation {
                reason: reason_to_pb(d.reason) as i32,
                note: d.note,
                expected_return_time: opt_ts(d.expected_return_at),
                deactivate_time: ts(d.deactivated_at),
                actor_id: d.actor_id,
            }),
        }
    }
}

impl From<domain::Room> for pb::Room {
    fn from(r: domain::Room) -> Self {
        pb::Room {
            room_id: r.id.to_string(),
            organization_id: r.org_id.to_string(),
            display_name: r.display_name,
            create_time: ts(r.created_at),
        }
    }
}

impl From<domain::RoomMember> for pb::RoomMember {
    fn from(m: domain::RoomMember) -> Self {
        pb::RoomMember {
            room_id: m.room_id.to_string(),
            identity_id: m.identity_id.to_string(),
            role: room_role_to_pb(m.role) as i32,
            permissions: permissions(m.can_delete_entries),
            member_state: state_to_pb(m.member_state) as i32,
        }
    }
}

impl From<domain::Assignment> for pb::Assignment {
    fn from(a: domain::Assignment) -> Self {
        pb::Assignment {
            assignment_id: a.id.to_string(),
            organization_id: a.org_id.to_string(),
            room_id: a.room_id.to_string(),
            assignee_identity_id: a.assignee.map(|i| i.to_string()).unwrap_or_default(),
            kind: kind_to_pb(a.kind) as i32,
            title: a.title,
            create_time: ts(a.created_at),
        }
    }
}

/// The name shown for removed, never-member, revoked and unknown IDs.
pub const UNKNOWN_USER: &str = "Unknown user";
/// The badge of a deactivated member.
pub const DEACTIVATED_BADGE: &str = "D";

fn profile_to_pb(id: &IdentityId, p: Profile) -> pb::Profile {
    match p {
        Profile::Active {
            display_name,
            avatar_url,
        } => pb::Profile {
            identity_id: id.to_string(),
            status: pb::ProfileStatus::Active as i32,
            display_name,
            avatar_url,
            strikethrough: false,
            badge: String::new(),
        },
        Profile::Deactivated { display_name } => pb::Profile {
            identity_id: id.to_string(),
            status: pb::ProfileStatus::Deactivated as i32,
            display_name,
            avatar_url: String::new(),
            strikethrough: true,
            badge: DEACTIVATED_BADGE.to_owned(),
        },
        Profile::Unknown => pb::Profile {
            identity_id: id.to_string(),
            status: pb::ProfileStatus::Unknown as i32,
            display_name: UNKNOWN_USER.to_owned(),
            avatar_url: String::new(),
            strikethrough: false,
            badge: String::new(),
        },
    }
}

fn access_to_pb(d: AccessDecision) -> pb::CheckAccessResponse {
    let denied =
        |reason: pb::AccessDenialReason, role: Option<MemberRole>| pb::CheckAccessResponse {
            allowed: false,
            denial_reason: reason as i32,
            role: role.map_or(pb::MemberRole::Unspecified, role_to_pb) as i32,
            room_role: pb::RoomRole::Unspecified as i32,
            room_permissions: Vec::new(),
        };
    match d {
        AccessDecision::Allowed { role, room } => pb::CheckAccessResponse {
            allowed: true,
            denial_reason: pb::AccessDenialReason::Unspecified as i32,
            role: role_to_pb(role) as i32,
            room_role: room.map_or(pb::RoomRole::Unspecified, |(r, _)| room_role_to_pb(r)) as i32,
            room_permissions: room.map(|(_, d)| permissions(d)).unwrap_or_default(),
        },
        AccessDecision::Denied(AccessDenial::NotMember) => {
            denied(pb::AccessDenialReason::NotMember, None)
        }
        AccessDecision::Denied(AccessDenial::Deactivated { role }) => {
            denied(pb::AccessDenialReason::Deactivated, Some(role))
        }
        AccessDecision::Denied(AccessDenial::Revoked) => {
            denied(pb::AccessDenialReason::Revoked, None)
        }
        AccessDecision::Denied(AccessDenial::NotInRoom { role }) => {
            denied(pb::AccessDenialReason::NotInRoom, Some(role))
        }
        AccessDecision::Denied(AccessDenial::UnknownIdentity) => {
            denied(pb::AccessDenialReason::UnknownIdentity, None)
        }
    }
}

// ---- validation helpers ---------------------------------------------------

/// A value that validation already guaranteed (never fails after
/// `v.finish()?`; no `unwrap` on a request path).
fn checked<T>(value: Option<T>, field: &str) -> Result<T> {
    value.ok_or_else(|| Error::invalid(field, "is required"))
}

fn guest_inactivity(v: &mut Violations, field: &str, d: Option<&PbDuration>) -> Option<i64> {
    let d = d?;
    if d.nanos < 0 || d.nanos >= 1_000_000_000 || d.seconds < MIN_GUEST_INACTIVITY_SECS {
        v.add(field, "must be at least one hour (leave unset for never)");
        None
    } else if d.seconds > MAX_GUEST_INACTIVITY_SECS {
        v.add(field, "must be at most ten years");
        None
    } else {
        Some(d.seconds)
    }
}

/// Most entries of a `permissions` list (there is one permission; some
/// room for repeats and future ones).
const MAX_PERMISSIONS: usize = 16;

/// Reads room permissions: every entry must be a known permission.
fn room_permissions(v: &mut Violations, field: &str, raw: &[i32]) -> bool {
    let mut delete = false;
    if raw.len() > MAX_PERMISSIONS {
        v.add(
            field,
            format!("must list at most {MAX_PERMISSIONS} permissions"),
        );
        return false;
    }
    for (i, p) in raw.iter().enumerate() {
        match pb::RoomPermission::try_from(*p) {
            Ok(pb::RoomPermission::DeleteEntries) => delete = true,
            _ => v.add(format!("{field}[{i}]"), "must be a known permission"),
        }
    }
    delete
}

/// W1: an optional etag from PreviewOffboarding (empty: none).
fn etag<'a>(v: &mut Violations, raw: &'a str) -> Option<&'a str> {
    if raw.is_empty() {
        return None;
    }
    if !domain::policy::is_offboarding_etag(raw) {
        v.add("etag", "is not an etag returned by PreviewOffboarding");
    }
    Some(raw)
}

fn successor(
    v: &mut Violations,
    field: &str,
    raw: &str,
    member: Option<&IdentityId>,
) -> Option<IdentityId> {
    let s = v.optional_id(field, raw, IdentityId::parse)?;
    if member == Some(&s) {
        v.add(field, "must differ from the member being offboarded");
        return None;
    }
    Some(s)
}

/// Update-mask paths, each checked against `allowed`. An omitted mask
/// means the populated fields (`populated`, AIP-134); `*` means every
/// allowed field.
fn mask_paths<'a>(
    v: &mut Violations,
    mask: Option<&'a prost_types::FieldMask>,
    allowed: &[&'static str],
    populated: &[bool],
) -> Vec<&'static str> {
    let raw: &'a [String] = mask.map(|m| &m.paths[..]).unwrap_or_default();
    if raw.is_empty() {
        return allowed
            .iter()
            .zip(populated)
            .filter(|(_, set)| **set)
            .map(|(a, _)| *a)
            .collect();
    }
    if raw == ["*"] {
        return allowed.to_vec();
    }
    let mut out = Vec::new();
    for (i, p) in validate::mask_paths(v, raw) {
        match allowed.iter().find(|a| **a == p) {
            Some(a) => out.push(*a),
            None => v.add(
                format!("update_mask.paths[{i}]"),
                format!("must be one of: {}", allowed.join(", ")),
            ),
        }
    }
    out
}

fn require_session(principal: &Principal) -> Result<&IdentityId> {
    principal.identity_id().ok_or_else(|| {
        Error::denied(
            Reason::NotAuthorized,
            "this call acts for the signed-in identity; use a session token",
        )
    })
}

#[tonic::async_trait]
impl pb::membership_service_server::MembershipService for MembershipApi {
    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let Some(o) = req.organization else {
            return Err(Error::invalid("organization", "is required").into());
        };
        let mut v = Violations::new();
        let display_name =
            validate::display_name(&mut v, "organization.display_name", &o.display_name, 100);
        let package = v.optional_id("organization.package_id", &o.package_id, PackageId::parse);
        let parent = v.optional_id(
            "organization.parent_organization_id",
            &o.parent_organization_id,
            OrgId::parse,
        );
        if o.package_id.is_empty() && o.parent_organization_id.is_empty() {
            v.add(
                "organization.package_id",
                "is required for a top-level organization",
            );
        }
        let period = guest_inactivity(
            &mut v,
            "organization.guest_inactivity_deactivation",
            o.guest_inactivity_deactivation.as_ref(),
        );
        let admin = v.optional_id(
            "admin_identity_id",
            &req.admin_identity_id,
            IdentityId::parse,
        );
        if req.admin_identity_id.is_empty() && principal.is_service() {
            v.add("admin_identity_id", "is required for service keys");
        }
        v.finish()?;
        let admin = checked(
            admin.or_else(|| principal.identity_id().cloned()),
            "admin_identity_id",
        )?;
        match (&parent, &package) {
            (Some(parent), _) => {
                authz::require_org_admin(&self.ctx, &principal, parent).await?;
            }
            (None, Some(package)) => {
                authz::require_package_admin(&self.ctx, &principal, package).await?;
            }
            (None, None) => {
                return Err(Error::invalid("organization.package_id", "is required").into());
            }
        }
        let (org, _) = self
            .ctx
            .store
            .create_organization(
                principal.actor(),
                NewOrganization {
                    display_name,
                    package_id: package,
                    parent_id: parent,
                    guest_inactivity_secs: period,
                    admin,
                },
            )
            .await?;
        Ok(Response::new(org.into()))
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let org = convert::org_id("organization_id", &request.get_ref().organization_id)?;
        authz::require_org_member(&self.ctx, &principal, &org, true).await?;
        Ok(Response::new(
            self.ctx.store.get_organization(&org).await?.into(),
        ))
    }

    async fn update_organization_settings(
        &self,
        request: Request<pb::UpdateOrganizationSettingsRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let Some(o) = req.organization else {
            return Err(Error::invalid("organization", "is required").into());
        };
        let mut v = Violations::new();
        let org = v.id(
            "organization.organization_id",
            OrgId::parse(&o.organization_id),
        );
        let mut changes = OrganizationChanges::default();
        for path in mask_paths(
            &mut v,
            req.update_mask.as_ref(),
            &["display_name", "guest_inactivity_deactivation"],
            &[
                !o.display_name.is_empty(),
                o.guest_inactivity_deactivation.is_some(),
            ],
        ) {
            if path == "display_name" {
                changes.display_name = Some(validate::display_name(
                    &mut v,
                    "organization.display_name",
                    &o.display_name,
                    100,
                ));
            } else {
                changes.guest_inactivity_secs = Some(guest_inactivity(
                    &mut v,
                    "organization.guest_inactivity_deactivation",
                    o.guest_inactivity_deactivation.as_ref(),
                ));
            }
        }
        v.finish()?;
        let org = checked(org, "organization.organization_id")?;
        authz::require_org_admin(&self.ctx, &principal, &org).await?;
        let updated = self
            .ctx
            .store
            .update_organization_settings(principal.actor(), &org, changes)
            .await?;
        Ok(Response::new(updated.into()))
    }

    async fn add_member(
        &self,
        request: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        let role = convert::optional_enum(&mut v, "role", req.role, role_from_pb)
            .unwrap_or(MemberRole::Member);
        v.finish()?;
        let (org, id) = (
            checked(org, "organization_id")?,
            checked(id, "identity_id")?,
        );
        authz::require_org_admin(&self.ctx, &principal, &org).await?;
        let member = self
            .ctx
            .store
            .add_member(principal.actor(), &org, &id, role)
            .await?;
        Ok(Response::new(member.into()))
    }

    async fn update_member_role(
        &self,
        request: Request<pb::UpdateMemberRoleRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        let role = convert::required_enum(&mut v, "role", req.role, role_from_pb);
        v.finish()?;
        let (org, id) = (
            checked(org, "organization_id")?,
            checked(id, "identity_id")?,
        );
        authz::require_org_admin(&self.ctx, &principal, &org).await?;
        let member = self
            .ctx
            .store
            .update_member_role(principal.actor(), &org, &id, checked(role, "role")?)
            .await?;
        Ok(Response::new(member.into()))
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let filter = MemberFilter {
            state: convert::optional_enum(&mut v, "state", req.state, state_from_pb),
            role: convert::optional_enum(&mut v, "role", req.role, role_from_pb),
        };
        let page = convert::page_request(&mut v, req.page_size, &req.page_token);
        v.finish()?;
        let org = checked(org, "organization_id")?;
        authz::require_org_admin(&self.ctx, &principal, &org).await?;
        let page = self.ctx.store.list_members(&org, filter, &page).await?;
        Ok(Response::new(pb::ListMembersResponse {
            members: page.items.into_iter().map(Into::into).collect(),
            next_page_token: convert::page_token(page.next),
        }))
    }

    async fn create_room(
        &self,
        request: Request<pb::CreateRoomRequest>,
    ) -> Result<Response<pb::Room>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let Some(r) = req.room else {
            return Err(Error::invalid("room", "is required").into());
        };
        let mut v = Violations::new();
        let org = v.id("room.organization_id", OrgId::parse(&r.organization_id));
        let display_name =
            validate::display_name(&mut v, "room.display_name", &r.display_name, 100);
        let admin = v.optional_id(
            "admin_identity_id",
            &req.admin_identity_id,
            IdentityId::parse,
        );
        if req.admin_identity_id.is_empty() && principal.is_service() {
            v.add("admin_identity_id", "is required for service keys");
        }
        v.finish()?;
        let org = checked(org, "room.organization_id")?;
        let caller = authz::org_caller(&self.ctx, &principal, &org).await?;
        let admin = match &caller {
            OrgCaller::Service => checked(admin, "admin_identity_id")?,
            _ if caller.is_admin() => checked(
                admin.or_else(|| caller.identity().cloned()),
                "admin_identity_id",
            )?,
            OrgCaller::Identity {
                id,
                standing: Some((MemberRole::Member, domain::MemberState::Active)),
            } => match admin {
                Some(a) if a != *id => {
                    return Err(Error::denied(
                        Reason::NotOrganizationAdmin,
                        "only organization admins may name someone else as the room admin",
                    )
                    .into());
                }
                _ => id.clone(),
            },
            OrgCaller::Identity { .. } => {
                return Err(Error::denied(
                    Reason::NotAuthorized,
                    format!(
                        "only active members (not guests) of organization {org} may create rooms"
                    ),
                )
                .into());
            }
        };
        let room = self
            .ctx
            .store
            .create_room(principal.actor(), &org, &display_name, &admin)
            .await?;
        Ok(Response::new(room.into()))
    }

    async fn add_room_member(
        &self,
        request: Request<pb::AddRoomMemberRequest>,
    ) -> Result<Response<pb::RoomMember>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let room = v.id("room_id", RoomId::parse(&req.room_id));
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        let role = convert::optional_enum(&mut v, "role", req.role, room_role_from_pb)
            .unwrap_or(RoomRole::Member);
        let delete = if req.without_permissions {
            if !req.permissions.is_empty() {
                v.add(
                    "permissions",
                    "must be empty when without_permissions is set",
                );
            }
            false
        } else {
            req.permissions.is_empty() || room_permissions(&mut v, "permissions", &req.permissions)
        };
        v.finish()?;
        let (room, id) = (checked(room, "room_id")?, checked(id, "identity_id")?);
        authz::require_room_admin(&self.ctx, &principal, &room).await?;
        let member = self
            .ctx
            .store
            .add_room_member(principal.actor(), &room, &id, role, delete)
            .await?;
        Ok(Response::new(member.into()))
    }

    async fn update_room_member(
        &self,
        request: Request<pb::UpdateRoomMemberRequest>,
    ) -> Result<Response<pb::RoomMember>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let Some(m) = req.room_member else {
            return Err(Error::invalid("room_member", "is required").into());
        };
        let mut v = Violations::new();
        let room = v.id("room_member.room_id", RoomId::parse(&m.room_id));
        let id = v.id("room_member.identity_id", IdentityId::parse(&m.identity_id));
        let (mut role, mut delete) = (None, None);
        for path in mask_paths(
            &mut v,
            req.update_mask.as_ref(),
            &["role", "permissions"],
            &[m.role != 0, !m.permissions.is_empty()],
        ) {
            if path == "role" {
                role =
                    convert::required_enum(&mut v, "room_member.role", m.role, room_role_from_pb);
            } else {
                delete = Some(room_permissions(
                    &mut v,
                    "room_member.permissions",
                    &m.permissions,
                ));
            }
        }
        if role.is_none() && delete.is_none() && v.is_empty() {
            v.add(
                "update_mask",
                "names nothing to change: set role or permissions, or name them in \
                 update_mask (withdrawing every permission needs update_mask: permissions)",
            );
        }
        v.finish()?;
        let (room, id) = (
            checked(room, "room_member.room_id")?,
            checked(id, "room_member.identity_id")?,
        );
        authz::require_room_admin(&self.ctx, &principal, &room).await?;
        let updated = self
            .ctx
            .store
            .update_room_member(principal.actor(), &room, &id, role, delete)
            .await?;
        Ok(Response::new(updated.into()))
    }

    async fn remove_room_member(
        &self,
        request: Request<pb::RemoveRoomMemberRequest>,
    ) -> Result<Response<()>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let room = v.id("room_id", RoomId::parse(&req.room_id));
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        v.finish()?;
        let (room, id) = (checked(room, "room_id")?, checked(id, "identity_id")?);
        authz::require_room_admin(&self.ctx, &principal, &room).await?;
        self.ctx
            .store
            .remove_room_member(principal.actor(), &room, &id, None, false)
            .await?;
        Ok(Response::new(()))
    }

    async fn leave_room(
        &self,
        request: Request<pb::LeaveRoomRequest>,
    ) -> Result<Response<()>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let room = v.id("room_id", RoomId::parse(&req.room_id));
        let successor = successor(
            &mut v,
            "successor_identity_id",
            &req.successor_identity_id,
            principal.identity_id(),
        );
        v.finish()?;
        let room = checked(room, "room_id")?;
        let me = require_session(&principal)?;
        match self
            .ctx
            .store
            .remove_room_member(principal.actor(), &room, me, successor.as_ref(), true)
            .await
        {
            Ok(()) => Ok(Response::new(())),
            // Whether a room exists is nobody's business outside it (A3).
            Err(Error::NotFound { .. }) => Err(Error::not_found(
                Reason::RoomMemberNotFound,
                format!("you are not a member of room {room}"),
            )
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_room_members(
        &self,
        request: Request<pb::ListRoomMembersRequest>,
    ) -> Result<Response<pb::ListRoomMembersResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let room = v.id("room_id", RoomId::parse(&req.room_id));
        let page = convert::page_request(&mut v, req.page_size, &req.page_token);
        v.finish()?;
        let room = checked(room, "room_id")?;
        if !authz::room_caller(&self.ctx, &principal, &room)
            .await?
            .uses_room()
        {
            return Err(Error::denied(
                Reason::NotAuthorized,
                format!(
                    "only active members of room {room} or admins of its organization may list it"
                ),
            )
            .into());
        }
        let page = self.ctx.store.list_room_members(&room, &page).await?;
        Ok(Response::new(pb::ListRoomMembersResponse {
            room_members: page.items.into_iter().map(Into::into).collect(),
            next_page_token: convert::page_token(page.next),
        }))
    }

    async fn deactivate_member(
        &self,
        request: Request<pb::DeactivateMemberRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        let reason = match pb::DeactivationReason::try_from(req.reason) {
            Ok(pb::DeactivationReason::Unspecified | pb::DeactivationReason::Other) => {
                domain::DeactivationReason::Other
            }
            Ok(pb::DeactivationReason::ParentalLeave) => domain::DeactivationReason::ParentalLeave,
            Ok(pb::DeactivationReason::Sabbatical) => domain::DeactivationReason::Sabbatical,
            Ok(pb::DeactivationReason::ProjectPaused) => domain::DeactivationReason::ProjectPaused,
            Ok(pb::DeactivationReason::Inactivity) => {
                v.add("reason", "INACTIVITY is reserved for the inactivity sweep");
                domain::DeactivationReason::Other
            }
            Err(_) => {
                v.add("reason", "is not a known value");
                domain::DeactivationReason::Other
            }
        };
        let note = validate::note(&mut v, "note", &req.note, MAX_NOTE);
        let expected_return_ms = req.expected_return_time.as_ref().and_then(|t| {
            let at = convert::from_ts(&mut v, "expected_return_time", t)?;
            let ms = at.timestamp_millis();
            if ms <= self.ctx.store.now_ms() {
                v.add("expected_return_time", "must be in the future");
            }
            Some(ms)
        });
        let successor = successor(
            &mut v,
            "successor_identity_id",
            &req.successor_identity_id,
            id.as_ref(),
        );
        let etag = etag(&mut v, &req.etag);
        v.finish()?;
        let (org, id) = (
            checked(org, "organization_id")?,
            checked(id, "identity_id")?,
        );
        authz::require_org_admin(&self.ctx, &principal, &org).await?;
        let member = self
            .ctx
            .store
            .deactivate_member(
                principal.actor(),
                &org,
                &id,
                DeactivationInput {
                    reason,
                    note,
                    expected_return_ms,
                },
                successor.as_ref(),
                etag,
            )
            .await?;
        Ok(Response::new(member.into()))
    }

    async fn reactivate_member(
        &self,
        request: Request<pb::ReactivateMemberRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        v.finish()?;
        let (org, id) = (
            checked(org, "organization_id")?,
            checked(id, "identity_id")?,
        );
        authz::require_org_admin(&self.ctx, &principal, &org).await?;
        let member = self
            .ctx
            .store
            .reactivate_member(principal.actor(), &org, &id)
            .await?;
        Ok(Response::new(member.into()))
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::RemoveMemberResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        let successor = successor(
            &mut v,
            "successor_identity_id",
            &req.successor_identity_id,
            id.as_ref(),
        );
        let etag = etag(&mut v, &req.etag);
        v.finish()?;
        let (org, id) = (
            checked(org, "organization_id")?,
            checked(id, "identity_id")?,
        );
        authz::require_org_admin(&self.ctx, &principal, &org).await?;
        let removal = self
            .ctx
            .store
            .remove_member(principal.actor(), &org, &id, successor.as_ref(), etag)
            .await?;
        Ok(Response::new(pb::RemoveMemberResponse {
            rooms_left: removal.rooms_left.min(i32::MAX as u64) as i32,
            assignments_dropped: removal.assignments_dropped.min(i32::MAX as u64) as i32,
            successor_room_ids: removal
                .successor_rooms
                .into_iter()
                .map(|r| r.to_string())
                .collect(),
            seat_freed: removal.seat_freed,
        }))
    }

    async fn offboard_identity(
        &self,
        request: Request<pb::OffboardIdentityRequest>,
    ) -> Result<Response<pb::OffboardIdentityResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        let package = v.id("package_id", PackageId::parse(&req.package_id));
        let action = convert::required_enum(&mut v, "action", req.action, |a| match a {
            pb::OffboardingAction::Unspecified => None,
            pb::OffboardingAction::Deactivate => Some(OffboardingAction::Deactivate),
            pb::OffboardingAction::Remove => Some(OffboardingAction::Remove),
        });
        let successor_id = successor(
            &mut v,
            "successor_identity_id",
            &req.successor_identity_id,
            id.as_ref(),
        );
        let transfer_to = successor(
            &mut v,
            "transfer_assignments_to",
            &req.transfer_assignments_to,
            id.as_ref(),
        );
        v.finish()?;
        let (id, package) = (checked(id, "identity_id")?, checked(package, "package_id")?);
        authz::require_package_admin(&self.ctx, &principal, &package).await?;
        let done = self
            .ctx
            .store
            .offboard_identity(
                principal.actor(),
                crate::store::OffboardRequest {
                    identity: id,
                    package,
                    action: checked(action, "action")?,
                    successor: successor_id,
                    transfer_to,
                    validate_only: req.validate_only,
                },
            )
            .await?;
        let n = |x: u64| x.min(i32::MAX as u64) as i32;
        Ok(Response::new(pb::OffboardIdentityResponse {
            organizations: done
                .orgs
                .into_iter()
                .map(|o| pb::OrganizationOffboarding {
                    organization_id: o.org.to_string(),
                    orphaned_room_ids: o
                        .plan
                        .last_admin_rooms
                        .iter()
                        .map(|r| r.to_string())
                        .collect(),
                    rooms_left: n(o.plan.rooms_left),
                    assignments_dropped: n(o.plan.assignments_dropped),
                    assignments_transferred: n(o.assignments_transferred),
                    blocking_reasons: o
                        .plan
                        .blocking
                        .iter()
                        .map(|r| r.as_str().to_owned())
                        .collect(),
                    unchanged: o.unchanged,
                })
                .collect(),
            seat_freed: done.seat_freed,
            sessions_ended: n(done.sessions_ended),
            validate_only: !done.applied,
        }))
    }

    async fn preview_offboarding(
        &self,
        request: Request<pb::PreviewOffboardingRequest>,
    ) -> Result<Response<pb::PreviewOffboardingResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        let action = convert::required_enum(&mut v, "action", req.action, |a| match a {
            pb::OffboardingAction::Unspecified => None,
            pb::OffboardingAction::Deactivate => Some(OffboardingAction::Deactivate),
            pb::OffboardingAction::Remove => Some(OffboardingAction::Remove),
        });
        let successor = successor(
            &mut v,
            "successor_identity_id",
            &req.successor_identity_id,
            id.as_ref(),
        );
        v.finish()?;
        let (org, id) = (
            checked(org, "organization_id")?,
            checked(id, "identity_id")?,
        );
        authz::require_org_admin(&self.ctx, &principal, &org).await?;
        let p = self
            .ctx
            .store
            .preview_offboarding(&org, &id, checked(action, "action")?, successor.as_ref())
            .await?;
        Ok(Response::new(pb::PreviewOffboardingResponse {
            orphaned_room_ids: p
                .orphaned_rooms
                .into_iter()
                .map(|r| r.to_string())
                .collect(),
            room_count: p.room_count.min(i32::MAX as u64) as i32,
            assignment_count: p.assignment_count.min(i32::MAX as u64) as i32,
            seat_freed: p.seat_freed,
            other_active_organization_ids: p
                .other_active_orgs
                .into_iter()
                .map(|o| o.to_string())
                .collect(),
            blocking_reasons: p
                .blocking
                .into_iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            etag: p.etag,
        }))
    }

    async fn create_assignment(
        &self,
        request: Request<pb::CreateAssignmentRequest>,
    ) -> Result<Response<pb::Assignment>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let Some(a) = req.assignment else {
            return Err(Error::invalid("assignment", "is required").into());
        };
        let mut v = Violations::new();
        let room = v.id("assignment.room_id", RoomId::parse(&a.room_id));
        let assignee = v.id(
            "assignment.assignee_identity_id",
            IdentityId::parse(&a.assignee_identity_id),
        );
        let kind = convert::required_enum(&mut v, "assignment.kind", a.kind, kind_from_pb);
        let title = validate::display_name(&mut v, "assignment.title", &a.title, MAX_TITLE);
        v.finish()?;
        let room = checked(room, "assignment.room_id")?;
        if !authz::room_caller(&self.ctx, &principal, &room)
            .await?
            .uses_room()
        {
            return Err(Error::denied(
                Reason::NotAuthorized,
                format!(
                    "only active members of room {room} or admins of its organization may do this"
                ),
            )
            .into());
        }
        let created = self
            .ctx
            .store
            .create_assignment(
                principal.actor(),
                NewAssignment {
                    room_id: room,
                    assignee: checked(assignee, "assignment.assignee_identity_id")?,
                    kind: checked(kind, "assignment.kind")?,
                    title,
                },
            )
            .await?;
        Ok(Response::new(created.into()))
    }

    async fn list_assignments(
        &self,
        request: Request<pb::ListAssignmentsRequest>,
    ) -> Result<Response<pb::ListAssignmentsResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let mut filter = AssignmentFilter {
            assignee: v.optional_id(
                "assignee_identity_id",
                &req.assignee_identity_id,
                IdentityId::parse,
            ),
            room: v.optional_id("room_id", &req.room_id, RoomId::parse),
        };
        let page = convert::page_request(&mut v, req.page_size, &req.page_token);
        v.finish()?;
        let org = checked(org, "organization_id")?;
        let caller = authz::require_org_member(&self.ctx, &principal, &org, false).await?;
        if let Some(room) = &filter.room
            && self.ctx.store.get_room(room).await?.org_id != org
        {
            // As elsewhere: another organization's room does not exist here.
            return Err(Error::not_found(
                Reason::RoomNotFound,
                format!("room {room} does not exist in organization {org}"),
            )
            .into());
        }
        if !caller.is_admin() {
            // Members see their own assignments only.
            let me = caller.identity().cloned();
            match &filter.assignee {
                None => filter.assignee = me,
                Some(a) if Some(a) == me.as_ref() => {}
                Some(_) => {
                    return Err(Error::denied(
                        Reason::NotOrganizationAdmin,
                        "members may list only their own assignments",
                    )
                    .into());
                }
            }
        }
        let page = self
            .ctx
            .store
            .list_assignments(&org, &filter, &page)
            .await?;
        Ok(Response::new(pb::ListAssignmentsResponse {
            assignments: page.items.into_iter().map(Into::into).collect(),
            next_page_token: convert::page_token(page.next),
        }))
    }

    async fn transfer_assignments(
        &self,
        request: Request<pb::TransferAssignmentsRequest>,
    ) -> Result<Response<pb::TransferAssignmentsResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let from = v.id("from_identity_id", IdentityId::parse(&req.from_identity_id));
        let to = v.id("to_identity_id", IdentityId::parse(&req.to_identity_id));
        if from.is_some() && from == to {
            v.add("to_identity_id", "must differ from from_identity_id");
        }
        let room = v.optional_id("room_id", &req.room_id, RoomId::parse);
        v.finish()?;
        let org = checked(org, "organization_id")?;
        authz::require_org_admin(&self.ctx, &principal, &org).await?;
        let moved = self
            .ctx
            .store
            .transfer_assignments(
                principal.actor(),
                &org,
                &checked(from, "from_identity_id")?,
                &checked(to, "to_identity_id")?,
                room.as_ref(),
            )
            .await?;
        Ok(Response::new(pb::TransferAssignmentsResponse {
            transferred_count: moved.min(i32::MAX as u64) as i32,
        }))
    }

    async fn resolve_profiles(
        &self,
        request: Request<pb::ResolveProfilesRequest>,
    ) -> Result<Response<pb::ResolveProfilesResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let ids: Vec<IdentityId> =
            validate::batch_ids(&mut v, "identity_ids", &req.identity_ids, IdentityId::parse);
        v.finish()?;
        let org = checked(org, "organization_id")?;
        authz::require_org_member(&self.ctx, &principal, &org, false).await?;
        let profiles = self.ctx.resolve_profiles(&org, &ids).await?;
        Ok(Response::new(pb::ResolveProfilesResponse {
            profiles: ids
                .iter()
                .zip(profiles)
                .map(|(id, p)| profile_to_pb(id, p))
                .collect(),
        }))
    }

    async fn check_access(
        &self,
        request: Request<pb::CheckAccessRequest>,
    ) -> Result<Response<pb::CheckAccessResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let room = v.optional_id("room_id", &req.room_id, RoomId::parse);
        v.finish()?;
        let (id, org) = (
            checked(id, "identity_id")?,
            checked(org, "organization_id")?,
        );
        authz::require_service_or_self(&principal, &id)?;
        let decision = self.ctx.check_access(&id, &org, room.as_ref()).await?;
        Ok(Response::new(access_to_pb(decision)))
    }

    async fn record_activity(
        &self,
        request: Request<pb::RecordActivityRequest>,
    ) -> Result<Response<()>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.id("organization_id", OrgId::parse(&req.organization_id));
        let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
        v.finish()?;
        let (org, id) = (
            checked(org, "organization_id")?,
            checked(id, "identity_id")?,
        );
        authz::require_service_or_self(&principal, &id)?;
        self.ctx.store.record_activity(&org, &id).await?;
        Ok(Response::new(()))
    }

    async fn run_inactivity_sweep(
        &self,
        request: Request<pb::RunInactivitySweepRequest>,
    ) -> Result<Response<pb::RunInactivitySweepResponse>, Status> {
        let principal = self.ctx.principal(&request).await?;
        let req = request.into_inner();
        let mut v = Violations::new();
        let org = v.optional_id("organization_id", &req.organization_id, OrgId::parse);
        if req.organization_id.is_empty() && !principal.is_service() {
            v.add(
                "organization_id",
                "is required for sessions (only service keys sweep every organization)",
            );
        }
        v.finish()?;
        if let Some(org) = &org {
            authz::require_org_admin(&self.ctx, &principal, org).await?;
        } else {
            authz::require_service(&principal)?;
        }
        let outcome = self
            .ctx
            .store
            .run_inactivity_sweep(principal.actor(), org.as_ref(), req.dry_run)
            .await?;
        Ok(Response::new(pb::RunInactivitySweepResponse {
            deactivated_members: outcome.members.into_iter().map(Into::into).collect(),
            deactivated_count: outcome.count.min(i32::MAX as u64) as i32,
        }))
    }
}
