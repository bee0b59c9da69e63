//! Organizations and their members (M1, M2): create, read, settings,
//! add, change role, list.

use prost_types::Duration as PbDuration;
use tonic::{Request, Response, Status};

use super::super::Ctx;
use super::super::authn;
use super::super::authz;
use super::super::convert;
use super::messages::{role_from_pb, state_from_pb};
use super::{checked, mask_paths};
use crate::domain::validate::{self, Violations};
use crate::domain::{Error, IdentityId, MemberRole, OrgId, PackageId};
use crate::pb;
use crate::store::{MemberFilter, NewOrganization, OrganizationChanges};

/// Shortest guest inactivity period (one hour).
const MIN_GUEST_INACTIVITY_SECS: i64 = 3600;
/// Longest guest inactivity period (ten years).
const MAX_GUEST_INACTIVITY_SECS: i64 = 10 * 366 * 24 * 3600;

/// Longest undo window of a removal (W6): 90 days.
const MAX_REMOVAL_UNDO_WINDOW_SECS: i64 = 90 * 24 * 3600;

/// W6: an undo window in whole seconds, 0 to 90 days; unset means the
/// default (seven days).
fn removal_undo_window(v: &mut Violations, field: &str, d: Option<&PbDuration>) -> Option<i64> {
    let Some(d) = d else {
        return Some(crate::store::DEFAULT_REMOVAL_UNDO_WINDOW_SECS);
    };
    if d.nanos != 0 || d.seconds < 0 {
        v.add(
            field,
            "must be whole seconds, zero or more (zero turns undo off)",
        );
        None
    } else if d.seconds > MAX_REMOVAL_UNDO_WINDOW_SECS {
        v.add(field, "must be at most 90 days");
        None
    } else {
        Some(d.seconds)
    }
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

pub(super) async fn create_organization(
    ctx: &Ctx,
    request: Request<pb::CreateOrganizationRequest>,
) -> Result<Response<pb::Organization>, Status> {
    let principal = authn::principal(&request)?;
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
    let undo_window = removal_undo_window(
        &mut v,
        "organization.removal_undo_window",
        o.removal_undo_window.as_ref(),
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
            authz::require_org_admin(ctx, &principal, parent).await?;
        }
        (None, Some(package)) => {
            authz::require_package_admin(ctx, &principal, package).await?;
        }
        (None, None) => {
            return Err(Error::invalid("organization.package_id", "is required").into());
        }
    }
    let (org, _) = ctx
        .store
        .create_organization(
            principal.actor(),
            NewOrganization {
                display_name,
                package_id: package,
                parent_id: parent,
                guest_inactivity_secs: period,
                removal_undo_window_secs: undo_window,
                admin,
            },
        )
        .await?;
    Ok(Response::new(org.into()))
}

pub(super) async fn get_organization(
    ctx: &Ctx,
    request: Request<pb::GetOrganizationRequest>,
) -> Result<Response<pb::Organization>, Status> {
    let principal = authn::principal(&request)?;
    let org = convert::org_id("organization_id", &request.get_ref().organization_id)?;
    authz::require_org_member(ctx, &principal, &org, true).await?;
    Ok(Response::new(
        ctx.store.get_organization(&org).await?.into(),
    ))
}

pub(super) async fn update_organization_settings(
    ctx: &Ctx,
    request: Request<pb::UpdateOrganizationSettingsRequest>,
) -> Result<Response<pb::Organization>, Status> {
    let principal = authn::principal(&request)?;
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
        &[
            "display_name",
            "guest_inactivity_deactivation",
            "removal_undo_window",
        ],
        &[
            !o.display_name.is_empty(),
            o.guest_inactivity_deactivation.is_some(),
            o.removal_undo_window.is_some(),
        ],
    ) {
        if path == "display_name" {
            changes.display_name = Some(validate::display_name(
                &mut v,
                "organization.display_name",
                &o.display_name,
                100,
            ));
        } else if path == "removal_undo_window" {
            changes.removal_undo_window_secs = removal_undo_window(
                &mut v,
                "organization.removal_undo_window",
                o.removal_undo_window.as_ref(),
            );
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
    authz::require_org_admin(ctx, &principal, &org).await?;
    let updated = ctx
        .store
        .update_organization_settings(principal.actor(), &org, changes)
        .await?;
    Ok(Response::new(updated.into()))
}

pub(super) async fn add_member(
    ctx: &Ctx,
    request: Request<pb::AddMemberRequest>,
) -> Result<Response<pb::Member>, Status> {
    let principal = authn::principal(&request)?;
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
    authz::require_org_admin(ctx, &principal, &org).await?;
    let member = ctx
        .store
        .add_member(principal.actor(), &org, &id, role)
        .await?;
    Ok(Response::new(member.into()))
}

pub(super) async fn update_member_role(
    ctx: &Ctx,
    request: Request<pb::UpdateMemberRoleRequest>,
) -> Result<Response<pb::Member>, Status> {
    let principal = authn::principal(&request)?;
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
    authz::require_org_admin(ctx, &principal, &org).await?;
    let member = ctx
        .store
        .update_member_role(principal.actor(), &org, &id, checked(role, "role")?)
        .await?;
    Ok(Response::new(member.into()))
}

pub(super) async fn list_members(
    ctx: &Ctx,
    request: Request<pb::ListMembersRequest>,
) -> Result<Response<pb::ListMembersResponse>, Status> {
    let principal = authn::principal(&request)?;
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
    authz::require_org_admin(ctx, &principal, &org).await?;
    let page = ctx.store.list_members(&org, filter, &page).await?;
    Ok(Response::new(pb::ListMembersResponse {
        members: page.items.into_iter().map(Into::into).collect(),
        next_page_token: convert::page_token(page.next),
    }))
}
