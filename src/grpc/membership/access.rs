//! Hot-path reads and activity (M10–M12): profiles, access checks,
//! activity, the inactivity sweep.

use tonic::{Request, Response, Status};

use super::super::Ctx;
use super::super::authn;
use super::super::authz;
use super::checked;
use super::messages::{access_to_pb, profile_to_pb};
use crate::domain::validate::{self, Violations};
use crate::domain::{IdentityId, OrgId, RoomId};
use crate::pb;

pub(super) async fn resolve_profiles(
    ctx: &Ctx,
    request: Request<pb::ResolveProfilesRequest>,
) -> Result<Response<pb::ResolveProfilesResponse>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let org = v.id("organization_id", OrgId::parse(&req.organization_id));
    let ids: Vec<IdentityId> =
        validate::batch_ids(&mut v, "identity_ids", &req.identity_ids, IdentityId::parse);
    v.finish()?;
    let org = checked(org, "organization_id")?;
    authz::require_org_member(ctx, &principal, &org, false).await?;
    let profiles = ctx.resolve_profiles(&org, &ids).await?;
    Ok(Response::new(pb::ResolveProfilesResponse {
        profiles: ids
            .iter()
            .zip(profiles)
            .map(|(id, p)| profile_to_pb(id, p))
            .collect(),
    }))
}

pub(super) async fn check_access(
    ctx: &Ctx,
    request: Request<pb::CheckAccessRequest>,
) -> Result<Response<pb::CheckAccessResponse>, Status> {
    let principal = authn::principal(&request)?;
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
    let decision = ctx.check_access(&id, &org, room.as_ref()).await?;
    Ok(Response::new(access_to_pb(decision)))
}

pub(super) async fn record_activity(
    ctx: &Ctx,
    request: Request<pb::RecordActivityRequest>,
) -> Result<Response<()>, Status> {
    let principal = authn::principal(&request)?;
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
    ctx.store.record_activity(&org, &id).await?;
    Ok(Response::new(()))
}

pub(super) async fn run_inactivity_sweep(
    ctx: &Ctx,
    request: Request<pb::RunInactivitySweepRequest>,
) -> Result<Response<pb::RunInactivitySweepResponse>, Status> {
    let principal = authn::principal(&request)?;
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
        authz::require_org_admin(ctx, &principal, org).await?;
    } else {
        authz::require_service(&principal)?;
    }
    let outcome = ctx
        .store
        .run_inactivity_sweep(principal.actor(), org.as_ref(), req.dry_run)
        .await?;
    Ok(Response::new(pb::RunInactivitySweepResponse {
        deactivated_members: outcome.members.into_iter().map(Into::into).collect(),
        deactivated_count: outcome.count.min(i32::MAX as u64) as i32,
    }))
}
