//! Offboarding (M4–M8): deactivate, reactivate, remove, preview.

use tonic::{Request, Response, Status};

use super::super::Ctx;
use super::super::authn;
use super::super::authz;
use super::super::convert;
use super::{checked, successor};
use crate::domain::validate::{self, Violations};
use crate::domain::{self, IdentityId, OrgId, PackageId};
use crate::pb;
use crate::store::{DeactivationInput, OffboardingAction};

/// Longest deactivation note.
pub(super) const MAX_NOTE: usize = 500;

/// A deactivation reason from the API (unset: OTHER; INACTIVITY is the
/// sweep's alone).
pub(super) fn deactivation_reason(
    v: &mut Violations,
    field: &str,
    raw: i32,
) -> domain::DeactivationReason {
    match pb::DeactivationReason::try_from(raw) {
        Ok(pb::DeactivationReason::Unspecified | pb::DeactivationReason::Other) => {
            domain::DeactivationReason::Other
        }
        Ok(pb::DeactivationReason::ParentalLeave) => domain::DeactivationReason::ParentalLeave,
        Ok(pb::DeactivationReason::Sabbatical) => domain::DeactivationReason::Sabbatical,
        Ok(pb::DeactivationReason::ProjectPaused) => domain::DeactivationReason::ProjectPaused,
        Ok(pb::DeactivationReason::Inactivity) => {
            v.add(field, "INACTIVITY is reserved for the inactivity sweep");
            domain::DeactivationReason::Other
        }
        Err(_) => {
            v.add(field, "is not a known value");
            domain::DeactivationReason::Other
        }
    }
}

/// OffboardIdentity's action (required).
pub(super) fn offboarding_action(
    v: &mut Violations,
    field: &str,
    raw: i32,
) -> Option<OffboardingAction> {
    convert::required_enum(v, field, raw, |a| match a {
        pb::OffboardingAction::Unspecified => None,
        pb::OffboardingAction::Deactivate => Some(OffboardingAction::Deactivate),
        pb::OffboardingAction::Remove => Some(OffboardingAction::Remove),
    })
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

pub(super) async fn deactivate_member(
    ctx: &Ctx,
    request: Request<pb::DeactivateMemberRequest>,
) -> Result<Response<pb::Member>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let org = v.id("organization_id", OrgId::parse(&req.organization_id));
    let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
    let reason = deactivation_reason(&mut v, "reason", req.reason);
    let note = validate::note(&mut v, "note", &req.note, MAX_NOTE);
    let expected_return_ms = req.expected_return_time.as_ref().and_then(|t| {
        let at = convert::from_ts(&mut v, "expected_return_time", t)?;
        let ms = at.timestamp_millis();
        if ms <= ctx.store.now_ms() {
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
    authz::require_org_admin(ctx, &principal, &org).await?;
    let member = ctx
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

pub(super) async fn reactivate_member(
    ctx: &Ctx,
    request: Request<pb::ReactivateMemberRequest>,
) -> Result<Response<pb::Member>, Status> {
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
    authz::require_org_admin(ctx, &principal, &org).await?;
    let member = ctx
        .store
        .reactivate_member(principal.actor(), &org, &id)
        .await?;
    Ok(Response::new(member.into()))
}

pub(super) async fn remove_member(
    ctx: &Ctx,
    request: Request<pb::RemoveMemberRequest>,
) -> Result<Response<pb::RemoveMemberResponse>, Status> {
    let principal = authn::principal(&request)?;
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
    authz::require_org_admin(ctx, &principal, &org).await?;
    let removal = ctx
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
        undo_expire_time: convert::opt_ts(removal.undo_until),
    }))
}

pub(super) async fn undo_remove_member(
    ctx: &Ctx,
    request: Request<pb::UndoRemoveMemberRequest>,
) -> Result<Response<pb::UndoRemoveMemberResponse>, Status> {
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
    authz::require_org_admin(ctx, &principal, &org).await?;
    let r = ctx
        .store
        .undo_remove_member(principal.actor(), &org, &id)
        .await?;
    let n = |x: u64| x.min(i32::MAX as u64) as i32;
    Ok(Response::new(pb::UndoRemoveMemberResponse {
        member: Some(r.member.into()),
        rooms_restored: n(r.rooms_restored),
        rooms_gone: n(r.rooms_gone),
        assignments_restored: n(r.assignments_restored),
        seat_taken: r.seat_taken,
    }))
}

pub(super) async fn preview_offboarding(
    ctx: &Ctx,
    request: Request<pb::PreviewOffboardingRequest>,
) -> Result<Response<pb::PreviewOffboardingResponse>, Status> {
    let principal = authn::principal(&request)?;
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
    authz::require_org_admin(ctx, &principal, &org).await?;
    let p = ctx
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

/// W2: OffboardIdentity.
pub(super) async fn offboard_identity(
    ctx: &Ctx,
    request: Request<pb::OffboardIdentityRequest>,
) -> Result<Response<pb::OffboardIdentityResponse>, Status> {
    let principal = authn::principal(&request)?;
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
    authz::require_package_admin(ctx, &principal, &package).await?;
    let done = ctx
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
