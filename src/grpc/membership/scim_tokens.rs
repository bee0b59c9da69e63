//! SCIM provisioning tokens (issue 15): CreateScimToken, ListScimTokens,
//! RevokeScimToken. Organization admins (with the M2 stand-in) and service
//! keys; the SCIM listener itself is `src/scim/`.

use tonic::{Request, Response, Status};

use super::super::Ctx;
use super::super::authn;
use super::super::authz;
use super::super::convert;
use super::checked;
use crate::domain::validate::{self, Violations};
use crate::domain::{OrgId, ScimToken, ScimTokenId, secrets};
use crate::pb;

/// Longest token description.
const MAX_DESCRIPTION: usize = 200;

fn token_to_pb(t: ScimToken) -> pb::ScimToken {
    pb::ScimToken {
        scim_token_id: t.id.to_string(),
        organization_id: t.org_id.to_string(),
        include_sub_organizations: t.include_sub_organizations,
        description: t.description,
        created_by: t.created_by,
        create_time: convert::ts(t.created_at),
        revoke_time: convert::opt_ts(t.revoked_at),
    }
}

pub(super) async fn create_scim_token(
    ctx: &Ctx,
    request: Request<pb::CreateScimTokenRequest>,
) -> Result<Response<pb::CreateScimTokenResponse>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let org = v.id("organization_id", OrgId::parse(&req.organization_id));
    let description = validate::note(&mut v, "description", &req.description, MAX_DESCRIPTION);
    v.finish()?;
    let org = checked(org, "organization_id")?;
    authz::require_org_admin(ctx, &principal, &org).await?;
    let token = secrets::new_scim_token();
    let created = ctx
        .store
        .create_scim_token(
            principal.actor(),
            &org,
            req.include_sub_organizations,
            &description,
            &secrets::token_hash(&token),
        )
        .await?;
    Ok(Response::new(pb::CreateScimTokenResponse {
        scim_token: Some(token_to_pb(created)),
        token,
    }))
}

pub(super) async fn list_scim_tokens(
    ctx: &Ctx,
    request: Request<pb::ListScimTokensRequest>,
) -> Result<Response<pb::ListScimTokensResponse>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let org = v.id("organization_id", OrgId::parse(&req.organization_id));
    v.finish()?;
    let org = checked(org, "organization_id")?;
    authz::require_org_admin(ctx, &principal, &org).await?;
    let tokens = ctx.store.list_scim_tokens(&org).await?;
    Ok(Response::new(pb::ListScimTokensResponse {
        scim_tokens: tokens.into_iter().map(token_to_pb).collect(),
    }))
}

pub(super) async fn revoke_scim_token(
    ctx: &Ctx,
    request: Request<pb::RevokeScimTokenRequest>,
) -> Result<Response<pb::ScimToken>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let org = v.id("organization_id", OrgId::parse(&req.organization_id));
    let id = v.id("scim_token_id", ScimTokenId::parse(&req.scim_token_id));
    v.finish()?;
    let (org, id) = (
        checked(org, "organization_id")?,
        checked(id, "scim_token_id")?,
    );
    authz::require_org_admin(ctx, &principal, &org).await?;
    let token = ctx
        .store
        .revoke_scim_token(principal.actor(), &org, &id)
        .await?;
    Ok(Response::new(token_to_pb(token)))
}
