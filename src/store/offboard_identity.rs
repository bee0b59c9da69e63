//! W2, offboarding everywhere in one call: deactivate or remove one
//! identity in every organization bound to one license package (parent and
//! sub-organizations), with one successor for the rooms that would lose
//! their last admin, an optional transfer of its assignments, and the
//! package's sessions ended; one transaction, the seat freed once. Each
//! organization is planned by the same `policy::plan_offboarding` as
//! DeactivateMember and RemoveMember.

use super::assignments::move_assignments;
use super::offboarding::{OffboardingAction, offboarding_facts, remove_from_orgs};
use super::records::{load_member, lock_active_identity, lock_orgs, member_event};
use super::room_guard::hand_over_rooms;
use super::rows::count;
use super::undo::keep_for_undo;
use super::{Store, Txn, seats};
use crate::domain::policy::{self, OffboardingPlan};
use crate::domain::{
    Actor, Error, EventType, IdentityId, MemberState, OrgId, PackageId, Reason, Result,
};

/// What OffboardIdentity is asked to do, already validated.
#[derive(Debug, Clone)]
pub struct OffboardRequest {
    /// The leaver.
    pub identity: IdentityId,
    /// The package whose organizations it leaves.
    pub package: PackageId,
    /// Deactivate or remove, in every organization.
    pub action: OffboardingAction,
    /// Takes over rooms that would lose their last admin (must be an
    /// ACTIVE member wherever that happens).
    pub successor: Option<IdentityId>,
    /// Receives the leaver's assignments (must be an ACTIVE member
    /// wherever the leaver holds some).
    pub transfer_to: Option<IdentityId>,
    /// Plan only; write nothing.
    pub validate_only: bool,
}

/// The plan (or outcome) for one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgOffboarding {
    /// The organization.
    pub org: OrgId,
    /// Its plan: blocking reasons, rooms handed to the successor, rooms
    /// left and assignments dropped.
    pub plan: OffboardingPlan,
    /// Assignments moved to `transfer_to` (before a removal could drop
    /// them).
    pub assignments_transferred: u64,
    /// Already deactivated, so a deactivation leaves it as it is.
    pub unchanged: bool,
}

/// What OffboardIdentity did (or, with `validate_only` or when refused,
/// would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityOffboarding {
    /// Every organization of the package the identity is a member of, in
    /// ID order.
    pub orgs: Vec<OrgOffboarding>,
    /// Whether the seat in the package is (would be) freed: once, at the
    /// end.
    pub seat_freed: bool,
    /// Sessions of the package that end(ed).
    pub sessions_ended: u64,
    /// False for `validate_only`.
    pub applied: bool,
}

impl IdentityOffboarding {
    /// The first refusal over all organizations, with the organization
    /// named in the metadata.
    fn refusal(&self, identity: &IdentityId, req: &OffboardRequest) -> Option<Error> {
        self.orgs.iter().find_map(|o| {
            let reason = *o.plan.blocking.first()?;
            let error = if reason == Reason::NotActiveMember {
                Error::precondition(
                    reason,
                    format!(
                        "{} (transfer_assignments_to) is not an active member of organization \
                         {}, where {identity} holds assignments",
                        req.transfer_to.as_ref().map_or("", IdentityId::as_str),
                        o.org
                    ),
                )
            } else {
                o.plan.refusal(&o.org, identity, req.successor.as_ref())?
            };
            Some(match error {
                Error::FailedPrecondition {
                    reason,
                    message,
                    mut metadata,
                } => {
                    metadata.push(("organization_id", o.org.to_string()));
                    Error::FailedPrecondition {
                        reason,
                        message: format!("in organization {}: {message}", o.org),
                        metadata,
                    }
                }
                other => other,
            })
        })
    }
}

/// Plans one organization: the M4/M6/M7 plan, plus the transfer target
/// check (NOT_ACTIVE_MEMBER when it must receive assignments but is not an
/// ACTIVE member there). A deactivation where the identity is already
/// deactivated is no refusal here: that organization stays as it is.
async fn plan_org(txn: &Txn, org: &OrgId, req: &OffboardRequest) -> Result<OrgOffboarding> {
    let m = load_member(txn.conn(), org, &req.identity)
        .await?
        .ok_or_else(|| Error::Internal(format!("membership in {org} vanished under its lock")))?;
    let (facts, _) = offboarding_facts(txn.conn(), org, &m, req.successor.as_ref()).await?;
    let unchanged = req.action == OffboardingAction::Deactivate && !facts.active;
    let mut plan = policy::plan_offboarding(req.action, &facts);
    // Across organizations the successor is needed only where a room
    // would lose its last admin; elsewhere it need not be a member.
    let needs_successor = !plan.last_admin_rooms.is_empty();
    plan.blocking.retain(|r| {
        *r != Reason::AlreadyDeactivated && (needs_successor || *r != Reason::SuccessorNotActive)
    });
    let mut assignments_transferred = 0;
    if let Some(to) = &req.transfer_to
        && facts.assignment_count > 0
    {
        let active = load_member(txn.conn(), org, to)
            .await?
            .is_some_and(|t| t.state == MemberState::Active.as_str());
        if active {
            assignments_transferred = facts.assignment_count;
            plan.assignments_dropped = 0;
        } else {
            plan.blocking.push(Reason::NotActiveMember);
        }
    }
    Ok(OrgOffboarding {
        org: org.clone(),
        plan,
        assignments_transferred,
        unchanged,
    })
}

/// Applies one organization's plan (deactivation; a removal's member rows
/// go in one statement for all organizations afterwards).
async fn apply_org(txn: &mut Txn, o: &OrgOffboarding, req: &OffboardRequest) -> Result<()> {
    let identity = &req.identity;
    if let Some(to) = req
        .transfer_to
        .as_ref()
        .filter(|_| o.assignments_transferred > 0)
    {
        move_assignments(txn, &o.org, identity, to, None).await?;
    }
    if let Some(s) = &req.successor {
        let rooms = o.plan.handed_to_successor(Some(s));
        if !rooms.is_empty() {
            hand_over_rooms(txn, &o.org, s, rooms, "SUCCESSOR").await?;
        }
    }
    if o.unchanged {
        return Ok(());
    }
    let mut event = match req.action {
        OffboardingAction::Deactivate => {
            let now = txn.now_ms();
            let actor = txn.actor().id.clone();
            txn.exec(
                "UPDATE members SET state = 'DEACTIVATED', deactivation_reason = 'OTHER', \
                 deactivation_note = NULL, expected_return_at = NULL, deactivated_at = ?, \
                 deactivated_by = ? WHERE organization_id = ? AND identity_id = ?",
                vec![
                    now.into(),
                    actor.into(),
                    o.org.as_str().into(),
                    identity.as_str().into(),
                ],
            )
            .await?;
            member_event(EventType::MemberDeactivated, &o.org, identity).reason("OFFBOARDED")
        }
        OffboardingAction::Remove => member_event(EventType::MemberRemoved, &o.org, identity)
            .reason("OFFBOARDED")
            .attr("rooms_left", o.plan.rooms_left.to_string())
            .attr(
                "assignments_dropped",
                o.plan.assignments_dropped.to_string(),
            ),
    };
    event = event.package(&req.package);
    let handed = o.plan.handed_to_successor(req.successor.as_ref());
    if let Some(s) = req.successor.as_ref().filter(|_| !handed.is_empty()) {
        event = event
            .attr("successor_identity_id", s.as_str())
            .attr("successor_room_count", handed.len().to_string());
    }
    txn.emit(event);
    Ok(())
}

impl Store {
    /// W2: offboards `req.identity` from every organization bound to
    /// `req.package`, in one transaction: the identity row, the
    /// organization rows (ID order) and the package row are locked, each
    /// organization is planned ([`policy::plan_offboarding`]); any refusal
    /// refuses the whole call (FAILED_PRECONDITION naming the
    /// organization) unless `validate_only`, which returns the plans and
    /// writes nothing. Then per organization: assignments transferred,
    /// rooms handed to the successor, the member deactivated; removals in
    /// one statement set for all organizations; finally the identity is
    /// detached from the package, which ends its sessions there and frees
    /// the seat once.
    pub async fn offboard_identity(
        &self,
        actor: Actor,
        req: OffboardRequest,
    ) -> Result<IdentityOffboarding> {
        let req = &req;
        self.write(&actor, |mut txn| async move {
            let outcome = offboard_in(&mut txn, req).await?;
            Ok((txn, outcome))
        })
        .await
    }
}

/// W2 inside a write (OffboardIdentity and its scheduled run, W3): see
/// [`Store::offboard_identity`]. With `validate_only`, or when there is
/// nothing to do, it marks the transaction [`Txn::nothing_changed`].
pub(super) async fn offboard_in(
    txn: &mut Txn,
    req: &OffboardRequest,
) -> Result<IdentityOffboarding> {
    let identity = &req.identity;
    lock_active_identity(txn, identity).await?;
    let orgs: Vec<OrgId> = txn
        .query_all(
            "SELECT organization_id FROM members WHERE identity_id = ? AND package_id = ? \
             ORDER BY organization_id",
            vec![identity.as_str().into(), req.package.as_str().into()],
        )
        .await?
        .iter()
        .map(|r| Ok(OrgId::from_trusted(r.try_get("", "organization_id")?)))
        .collect::<Result<_>>()?;
    lock_orgs(txn, &orgs).await?;
    if !txn
        .lock_row("license_packages", "id", req.package.as_str())
        .await?
    {
        return Err(Error::not_found(
            Reason::PackageNotFound,
            format!("license package {} does not exist", req.package),
        ));
    }
    let mut planned = Vec::with_capacity(orgs.len());
    for org in &orgs {
        planned.push(plan_org(txn, org, req).await?);
    }
    let attached = count(
        txn.conn(),
        "SELECT COUNT(*) AS n FROM attachments WHERE package_id = ? AND identity_id = ?",
        vec![req.package.as_str().into(), identity.as_str().into()],
    )
    .await?;
    let sessions_ended = count(
        txn.conn(),
        "SELECT COUNT(*) AS n FROM sessions WHERE package_id = ? AND identity_id = ?",
        vec![req.package.as_str().into(), identity.as_str().into()],
    )
    .await?;
    let mut outcome = IdentityOffboarding {
        orgs: planned,
        seat_freed: attached > 0,
        sessions_ended,
        applied: !req.validate_only,
    };
    if req.validate_only {
        txn.nothing_changed();
        return Ok(outcome);
    }
    if let Some(refusal) = outcome.refusal(identity, req) {
        return Err(refusal);
    }
    for o in &outcome.orgs {
        apply_org(txn, o, req).await?;
    }
    if req.action == OffboardingAction::Remove && !orgs.is_empty() {
        // W6: each organization's removal can be undone on its own.
        keep_for_undo(txn, identity, &orgs).await?;
        remove_from_orgs(txn, identity, &orgs).await?;
    }
    outcome.seat_freed = seats::detach(txn, &req.package, identity, "OFFBOARDED").await?;
    if txn.events_pending() == 0 {
        // Nothing to do: no membership, no seat, no session.
        txn.nothing_changed();
    }
    Ok(outcome)
}
