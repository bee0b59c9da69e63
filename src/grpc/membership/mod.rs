//! `roster.v1.MembershipService` (M1–M12, L6 for organizations, A2, A3,
//! E1, W1–W4). The service impl delegates to one file per area; each handler:
//! take the principal (authenticated by the `authn` layer), validate every
//! field, authorize (`authz`), call the store, convert.

mod access;
mod assignments;
mod batches;
mod messages;
mod offboarding;
mod organizations;
mod rooms;
mod scheduled;
mod scim_tokens;

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::Ctx;
use crate::domain::validate::{self, Violations};
use crate::domain::{Error, IdentityId, Principal, Reason, Result};
use crate::pb;

pub use messages::{DEACTIVATED_BADGE, UNKNOWN_USER};

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

// ---- validation helpers ---------------------------------------------------

/// A value that validation already guaranteed (never fails after
/// `v.finish()?`; no `unwrap` on a request path).
fn checked<T>(value: Option<T>, field: &str) -> Result<T> {
    value.ok_or_else(|| Error::invalid(field, "is required"))
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
        organizations::create_organization(&self.ctx, request).await
    }

    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        organizations::get_organization(&self.ctx, request).await
    }

    async fn update_organization_settings(
        &self,
        request: Request<pb::UpdateOrganizationSettingsRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        organizations::update_organization_settings(&self.ctx, request).await
    }

    async fn add_member(
        &self,
        request: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        organizations::add_member(&self.ctx, request).await
    }

    async fn update_member_role(
        &self,
        request: Request<pb::UpdateMemberRoleRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        organizations::update_member_role(&self.ctx, request).await
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        organizations::list_members(&self.ctx, request).await
    }

    async fn create_room(
        &self,
        request: Request<pb::CreateRoomRequest>,
    ) -> Result<Response<pb::Room>, Status> {
        rooms::create_room(&self.ctx, request).await
    }

    async fn add_room_member(
        &self,
        request: Request<pb::AddRoomMemberRequest>,
    ) -> Result<Response<pb::RoomMember>, Status> {
        rooms::add_room_member(&self.ctx, request).await
    }

    async fn update_room_member(
        &self,
        request: Request<pb::UpdateRoomMemberRequest>,
    ) -> Result<Response<pb::RoomMember>, Status> {
        rooms::update_room_member(&self.ctx, request).await
    }

    async fn remove_room_member(
        &self,
        request: Request<pb::RemoveRoomMemberRequest>,
    ) -> Result<Response<()>, Status> {
        rooms::remove_room_member(&self.ctx, request).await
    }

    async fn delete_room(
        &self,
        request: Request<pb::DeleteRoomRequest>,
    ) -> Result<Response<()>, Status> {
        rooms::delete_room(&self.ctx, request).await
    }

    async fn leave_room(
        &self,
        request: Request<pb::LeaveRoomRequest>,
    ) -> Result<Response<()>, Status> {
        rooms::leave_room(&self.ctx, request).await
    }

    async fn list_room_members(
        &self,
        request: Request<pb::ListRoomMembersRequest>,
    ) -> Result<Response<pb::ListRoomMembersResponse>, Status> {
        rooms::list_room_members(&self.ctx, request).await
    }

    async fn deactivate_member(
        &self,
        request: Request<pb::DeactivateMemberRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        offboarding::deactivate_member(&self.ctx, request).await
    }

    async fn reactivate_member(
        &self,
        request: Request<pb::ReactivateMemberRequest>,
    ) -> Result<Response<pb::Member>, Status> {
        offboarding::reactivate_member(&self.ctx, request).await
    }

    async fn remove_member(
        &self,
        request: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::RemoveMemberResponse>, Status> {
        offboarding::remove_member(&self.ctx, request).await
    }

    async fn undo_remove_member(
        &self,
        request: Request<pb::UndoRemoveMemberRequest>,
    ) -> Result<Response<pb::UndoRemoveMemberResponse>, Status> {
        offboarding::undo_remove_member(&self.ctx, request).await
    }

    async fn offboard_identity(
        &self,
        request: Request<pb::OffboardIdentityRequest>,
    ) -> Result<Response<pb::OffboardIdentityResponse>, Status> {
        offboarding::offboard_identity(&self.ctx, request).await
    }

    async fn batch_add_members(
        &self,
        request: Request<pb::BatchAddMembersRequest>,
    ) -> Result<Response<pb::BatchAddMembersResponse>, Status> {
        batches::batch_add_members(&self.ctx, request).await
    }

    async fn batch_deactivate_members(
        &self,
        request: Request<pb::BatchDeactivateMembersRequest>,
    ) -> Result<Response<pb::BatchDeactivateMembersResponse>, Status> {
        batches::batch_deactivate_members(&self.ctx, request).await
    }

    async fn batch_remove_members(
        &self,
        request: Request<pb::BatchRemoveMembersRequest>,
    ) -> Result<Response<pb::BatchRemoveMembersResponse>, Status> {
        batches::batch_remove_members(&self.ctx, request).await
    }

    async fn preview_offboarding(
        &self,
        request: Request<pb::PreviewOffboardingRequest>,
    ) -> Result<Response<pb::PreviewOffboardingResponse>, Status> {
        offboarding::preview_offboarding(&self.ctx, request).await
    }

    async fn create_assignment(
        &self,
        request: Request<pb::CreateAssignmentRequest>,
    ) -> Result<Response<pb::Assignment>, Status> {
        assignments::create_assignment(&self.ctx, request).await
    }

    async fn list_assignments(
        &self,
        request: Request<pb::ListAssignmentsRequest>,
    ) -> Result<Response<pb::ListAssignmentsResponse>, Status> {
        assignments::list_assignments(&self.ctx, request).await
    }

    async fn transfer_assignments(
        &self,
        request: Request<pb::TransferAssignmentsRequest>,
    ) -> Result<Response<pb::TransferAssignmentsResponse>, Status> {
        assignments::transfer_assignments(&self.ctx, request).await
    }

    async fn resolve_profiles(
        &self,
        request: Request<pb::ResolveProfilesRequest>,
    ) -> Result<Response<pb::ResolveProfilesResponse>, Status> {
        access::resolve_profiles(&self.ctx, request).await
    }

    async fn check_access(
        &self,
        request: Request<pb::CheckAccessRequest>,
    ) -> Result<Response<pb::CheckAccessResponse>, Status> {
        access::check_access(&self.ctx, request).await
    }

    async fn record_activity(
        &self,
        request: Request<pb::RecordActivityRequest>,
    ) -> Result<Response<()>, Status> {
        access::record_activity(&self.ctx, request).await
    }

    async fn run_inactivity_sweep(
        &self,
        request: Request<pb::RunInactivitySweepRequest>,
    ) -> Result<Response<pb::RunInactivitySweepResponse>, Status> {
        access::run_inactivity_sweep(&self.ctx, request).await
    }

    async fn schedule_member_change(
        &self,
        request: Request<pb::ScheduleMemberChangeRequest>,
    ) -> Result<Response<pb::ScheduledChange>, Status> {
        scheduled::schedule_member_change(&self.ctx, request).await
    }

    async fn list_scheduled_changes(
        &self,
        request: Request<pb::ListScheduledChangesRequest>,
    ) -> Result<Response<pb::ListScheduledChangesResponse>, Status> {
        scheduled::list_scheduled_changes(&self.ctx, request).await
    }

    async fn cancel_scheduled_change(
        &self,
        request: Request<pb::CancelScheduledChangeRequest>,
    ) -> Result<Response<pb::ScheduledChange>, Status> {
        scheduled::cancel_scheduled_change(&self.ctx, request).await
    }

    async fn create_scim_token(
        &self,
        request: Request<pb::CreateScimTokenRequest>,
    ) -> Result<Response<pb::CreateScimTokenResponse>, Status> {
        scim_tokens::create_scim_token(&self.ctx, request).await
    }

    async fn list_scim_tokens(
        &self,
        request: Request<pb::ListScimTokensRequest>,
    ) -> Result<Response<pb::ListScimTokensResponse>, Status> {
        scim_tokens::list_scim_tokens(&self.ctx, request).await
    }

    async fn revoke_scim_token(
        &self,
        request: Request<pb::RevokeScimTokenRequest>,
    ) -> Result<Response<pb::ScimToken>, Status> {
        scim_tokens::revoke_scim_token(&self.ctx, request).await
    }
}
