//! W3, scheduled changes: ScheduleMemberChange, ListScheduledChanges,
//! CancelScheduledChange. Who may schedule a change is who may make it
//! now: organization admins (with the M2 stand-in) for a deactivation or
//! removal, package admins for an OffboardIdentity; service keys always.

use tonic::{Request, Response, Status};

use super::super::Ctx;
use super::super::authn;
use super::super::authz;
use super::super::convert;
use super::messages::reason_to_pb;
use super::offboarding::{MAX_NOTE, deactivation_reason, offboarding_action};
use super::{checked, successor};
use crate::domain::schedule::schedule_window;
use crate::domain::validate::{self, Violations};
use crate::domain::{
    IdentityId, OrgId, PackageId, Principal, Result, ScheduledAction, ScheduledChange,
    ScheduledChangeId, ScheduledChangeState,
};
use crate::pb;
use crate::store::{NewScheduledChange, OffboardingAction, ScheduleScope};

/// Longest `time_zone` (IANA names are far shorter).
const MAX_TIME_ZONE: usize = 64;

fn state_to_pb(s: ScheduledChangeState) -> pb::ScheduledChangeState {
    match s {
        ScheduledChangeState::Pending => pb::ScheduledChangeState::Pending,
        ScheduledChangeState::Done => pb::ScheduledChangeState::Done,
        ScheduledChangeState::Failed => pb::ScheduledChangeState::Failed,
        ScheduledChangeState::Cancelled => pb::ScheduledChangeState::Cancelled,
    }
}

fn state_from_pb(s: pb::ScheduledChangeState) -> Option<ScheduledChangeState> {
    match s {
        pb::ScheduledChangeState::Unspecified => None,
        pb::ScheduledChangeState::Pending => Some(ScheduledChangeState::Pending),
        pb::ScheduledChangeState::Done => Some(ScheduledChangeState::Done),
        pb::ScheduledChangeState::Failed => Some(ScheduledChangeState::Failed),
        pb::ScheduledChangeState::Cancelled => Some(ScheduledChangeState::Cancelled),
    }
}

fn id_text(id: Option<IdentityId>) -> String {
    id.map(|i| i.to_string()).unwrap_or_default()
}

impl From<ScheduledChange> for pb::ScheduledChange {
    fn from(c: ScheduledChange) -> Self {
        use pb::scheduled_change::Change;
        let org = c.action.org().map(OrgId::to_string).unwrap_or_default();
        let change = match c.action {
            ScheduledAction::Deactivate {
                reason,
                note,
                expected_return_ms,
                successor,
                ..
            } => Change::Deactivate(pb::ScheduledDeactivation {
                reason: reason_to_pb(reason) as i32,
                note,
                expected_return_time: convert::opt_ts(
                    expected_return_ms.map(crate::store::to_time),
                ),
                successor_identity_id: id_text(successor),
            }),
            ScheduledAction::Remove { successor, .. } => Change::Remove(pb::ScheduledRemoval {
                successor_identity_id: id_text(successor),
            }),
            ScheduledAction::OffboardIdentity {
                package,
                action,
                successor,
                transfer_to,
            } => Change::OffboardIdentity(pb::ScheduledOffboarding {
                package_id: package.to_string(),
                action: match action {
                    OffboardingAction::Deactivate => pb::OffboardingAction::Deactivate,
                    OffboardingAction::Remove => pb::OffboardingAction::Remove,
                } as i32,
                successor_identity_id: id_text(successor),
                transfer_assignments_to: id_text(transfer_to),
            }),
        };
        pb::ScheduledChange {
            scheduled_change_id: c.id.to_string(),
            organization_id: org,
            identity_id: c.identity.to_string(),
            change: Some(change),
            schedule_time: convert::ts(c.run_at),
            time_zone: c.time_zone.unwrap_or_default(),
            state: state_to_pb(c.state) as i32,
            failure_reason: c.failure_reason.unwrap_or_default(),
            failure_message: c.failure_message.unwrap_or_default(),
            created_by: Some(c.created_by.into()),
            create_time: convert::ts(c.created_at),
            run_time: convert::opt_ts(c.ran_at),
            cancelled_by: c.cancelled_by.map(Into::into),
            cancel_time: convert::opt_ts(c.cancelled_at),
            package_id: c.package.to_string(),
        }
    }
}

/// Who may schedule (and cancel) `action`: as for the change itself.
async fn authorize(ctx: &Ctx, principal: &Principal, action: &ScheduledAction) -> Result<()> {
    match action {
        ScheduledAction::Deactivate { org, .. } | ScheduledAction::Remove { org, .. } => {
            authz::require_org_admin(ctx, principal, org).await?;
        }
        ScheduledAction::OffboardIdentity { package, .. } => {
            authz::require_package_admin(ctx, principal, package).await?;
        }
    }
    Ok(())
}

/// Validates the `change` oneof of `scheduled_change` for `member`.
fn action(
    v: &mut Violations,
    sc: &pb::ScheduledChange,
    member: Option<&IdentityId>,
    run_at_ms: Option<i64>,
) -> Option<ScheduledAction> {
    use pb::scheduled_change::Change;
    let org_field = "scheduled_change.organization_id";
    let org = || OrgId::parse(&sc.organization_id);
    match &sc.change {
        None => {
            v.add(
                "scheduled_change.change",
                "set one of deactivate, remove or offboard_identity",
            );
            None
        }
        Some(Change::Deactivate(d)) => {
            let org = v.id(org_field, org());
            let p = "scheduled_change.deactivate";
            let reason = deactivation_reason(v, &format!("{p}.reason"), d.reason);
            let note = validate::note(v, &format!("{p}.note"), &d.note, MAX_NOTE);
            let expected_return_ms = d.expected_return_time.as_ref().and_then(|t| {
                let field = format!("{p}.expected_return_time");
                let ms = convert::from_ts(v, &field, t)?.timestamp_millis();
                if run_at_ms.is_some_and(|at| ms <= at) {
                    v.add(field, "must be after schedule_time");
                }
                Some(ms)
            });
            let successor = successor(
                v,
                &format!("{p}.successor_identity_id"),
                &d.successor_identity_id,
                member,
            );
            Some(ScheduledAction::Deactivate {
                org: org?,
                reason,
                note,
                expected_return_ms,
                successor,
            })
        }
        Some(Change::Remove(r)) => {
            let org = v.id(org_field, org());
            let successor = successor(
                v,
                "scheduled_change.remove.successor_identity_id",
                &r.successor_identity_id,
                member,
            );
            Some(ScheduledAction::Remove {
                org: org?,
                successor,
            })
        }
        Some(Change::OffboardIdentity(o)) => {
            if !sc.organization_id.is_empty() {
                v.add(
                    org_field,
                    "must be empty for offboard_identity (its package names the organizations)",
                );
            }
            let p = "scheduled_change.offboard_identity";
            let package = v.id(&format!("{p}.package_id"), PackageId::parse(&o.package_id));
            let action = offboarding_action(v, &format!("{p}.action"), o.action);
            let successor_id = successor(
                v,
                &format!("{p}.successor_identity_id"),
                &o.successor_identity_id,
                member,
            );
            let transfer_to = successor(
                v,
                &format!("{p}.transfer_assignments_to"),
                &o.transfer_assignments_to,
                member,
            );
            Some(ScheduledAction::OffboardIdentity {
                package: package?,
                action: action?,
                successor: successor_id,
                transfer_to,
            })
        }
    }
}

/// An optional IANA time zone name, checked against the tz database.
fn time_zone(v: &mut Violations, raw: &str) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    let field = "scheduled_change.time_zone";
    if raw.len() > MAX_TIME_ZONE || raw.parse::<chrono_tz::Tz>().is_err() {
        v.add(
            field,
            "must be an IANA time zone name such as Europe/Berlin",
        );
        return None;
    }
    Some(raw.to_owned())
}

pub(super) async fn schedule_member_change(
    ctx: &Ctx,
    request: Request<pb::ScheduleMemberChangeRequest>,
) -> Result<Response<pb::ScheduledChange>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let Some(sc) = req.scheduled_change else {
        return Err(crate::domain::Error::invalid("scheduled_change", "is required").into());
    };
    let identity = v.id(
        "scheduled_change.identity_id",
        IdentityId::parse(&sc.identity_id),
    );
    let run_at_ms = match &sc.schedule_time {
        None => {
            v.add("scheduled_change.schedule_time", "is required");
            None
        }
        Some(t) => convert::from_ts(&mut v, "scheduled_change.schedule_time", t).and_then(|at| {
            let ms = at.timestamp_millis();
            match schedule_window(ctx.store.now_ms(), ms) {
                Some(problem) => {
                    v.add("scheduled_change.schedule_time", problem);
                    None
                }
                None => Some(ms),
            }
        }),
    };
    let action = action(&mut v, &sc, identity.as_ref(), run_at_ms);
    let time_zone = time_zone(&mut v, &sc.time_zone);
    v.finish()?;
    let action = checked(action, "scheduled_change.change")?;
    authorize(ctx, &principal, &action).await?;
    let change = ctx
        .store
        .schedule_change(
            principal.actor(),
            NewScheduledChange {
                identity: checked(identity, "scheduled_change.identity_id")?,
                action,
                run_at_ms: checked(run_at_ms, "scheduled_change.schedule_time")?,
                time_zone,
            },
        )
        .await?;
    Ok(Response::new(change.into()))
}

pub(super) async fn list_scheduled_changes(
    ctx: &Ctx,
    request: Request<pb::ListScheduledChangesRequest>,
) -> Result<Response<pb::ListScheduledChangesResponse>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let scope = match (req.organization_id.is_empty(), req.package_id.is_empty()) {
        (false, true) => v
            .id("organization_id", OrgId::parse(&req.organization_id))
            .map(ScheduleScope::Org),
        (true, false) => v
            .id("package_id", PackageId::parse(&req.package_id))
            .map(ScheduleScope::Package),
        _ => {
            v.add(
                "organization_id",
                "set exactly one of organization_id and package_id",
            );
            None
        }
    };
    let state = convert::optional_enum(&mut v, "state", req.state, state_from_pb);
    let page = convert::page_request(&mut v, req.page_size, &req.page_token);
    v.finish()?;
    let scope = checked(scope, "organization_id")?;
    match &scope {
        ScheduleScope::Org(org) => {
            authz::require_org_admin(ctx, &principal, org).await?;
        }
        ScheduleScope::Package(package) => {
            authz::require_package_admin(ctx, &principal, package).await?;
        }
    }
    let page = ctx
        .store
        .list_scheduled_changes(&scope, state, &page)
        .await?;
    Ok(Response::new(pb::ListScheduledChangesResponse {
        scheduled_changes: page.items.into_iter().map(Into::into).collect(),
        next_page_token: convert::page_token(page.next),
    }))
}

pub(super) async fn cancel_scheduled_change(
    ctx: &Ctx,
    request: Request<pb::CancelScheduledChangeRequest>,
) -> Result<Response<pb::ScheduledChange>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let id = v.id(
        "scheduled_change_id",
        ScheduledChangeId::parse(&req.scheduled_change_id),
    );
    v.finish()?;
    let id = checked(id, "scheduled_change_id")?;
    let change = ctx.store.get_scheduled_change(&id).await?;
    authorize(ctx, &principal, &change.action).await?;
    let change = ctx
        .store
        .cancel_scheduled_change(principal.actor(), &id)
        .await?;
    Ok(Response::new(change.into()))
}
