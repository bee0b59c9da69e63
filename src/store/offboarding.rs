//! Offboarding: deactivation (M4), removal (M6), their preview (M8), and
//! the removal from every organization that revocation (I4) uses.

use sea_orm::{ConnectionTrait, Value};

use super::entities::member;
use super::records::{
    has_other_active_admin, load_member, lock_org, lock_orgs, member_event, member_not_found,
    to_member,
};
use super::room_guard::{LAST_ADMIN_ROOMS, hand_over_rooms};
use super::rows::{CHUNK, count, rows};
use super::rules::{HELD_BY, seat_holding_membership};
use super::undo::{forget_identity, keep_for_undo};
use super::{Store, Txn, placeholders, seats, to_time};
use crate::domain::policy::{self, OffboardingFacts, OffboardingPlan, SeatFacts};
use crate::domain::{
    Actor, DeactivationReason, Error, EventType, IdentityId, Member, MemberRole, MemberState,
    NewEvent, OrgId, PackageId, Reason, Result, RoomId, Timestamp,
};

/// What DeactivateMember records.
#[derive(Debug, Clone)]
pub struct DeactivationInput {
    /// Reason code (never INACTIVITY from the API).
    pub reason: DeactivationReason,
    /// Free text (may be empty).
    pub note: String,
    /// Expected return, ms since the epoch.
    pub expected_return_ms: Option<i64>,
}

/// What RemoveMember did (M6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// Rooms the member left.
    pub rooms_left: u64,
    /// Assignments dropped.
    pub assignments_dropped: u64,
    /// Rooms whose admin role went to the successor.
    pub successor_rooms: Vec<RoomId>,
    /// Whether the seat was freed.
    pub seat_freed: bool,
    /// W6: until when UndoRemoveMember can bring the member back; `None`
    /// when the organization's undo window is zero.
    pub undo_until: Option<Timestamp>,
}

pub use crate::domain::policy::OffboardingAction;

/// What an offboarding would do (M8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffboardingPreview {
    /// Rooms that would lose their last active admin.
    pub orphaned_rooms: Vec<RoomId>,
    /// Rooms the member is in.
    pub room_count: u64,
    /// Assignments the member holds in the organization.
    pub assignment_count: u64,
    /// Whether the seat would be freed.
    pub seat_freed: bool,
    /// Other organizations of the package where the identity stays active.
    pub other_active_orgs: Vec<OrgId>,
    /// Reason codes that would make the real call fail.
    pub blocking: Vec<Reason>,
    /// W1: the digest of the facts this preview is based on.
    pub etag: String,
}

/// M6's bulk effect for `identity` in `orgs`: out of every room of those
/// organizations, assignments there dropped (items stay; they held the
/// member's tenure, which ends with its `members` row, so they need no
/// write), member rows deleted. Three statements per 500 organizations.
/// Returns (rooms left, assignments dropped). Shared by RemoveMember and
/// revocation.
pub(super) async fn remove_from_orgs(
    txn: &Txn,
    identity: &IdentityId,
    orgs: &[OrgId],
) -> Result<(u64, u64)> {
    let (mut rooms, mut assignments) = (0, 0);
    for chunk in orgs.chunks(CHUNK) {
        let list = placeholders(chunk.len());
        let values = || -> Vec<Value> {
            std::iter::once(identity.as_str().into())
                .chain(chunk.iter().map(|o| o.as_str().into()))
                .collect()
        };
        rooms += txn
            .exec(
                &format!(
                    "DELETE FROM room_members WHERE identity_id = ? AND organization_id IN ({list})"
                ),
                values(),
            )
            .await?;
        assignments += count(
            txn.conn(),
            &format!(
                "SELECT COUNT(*) AS n FROM members m JOIN assignments a ON {HELD_BY} \
                 WHERE m.identity_id = ? AND m.organization_id IN ({list})"
            ),
            values(),
        )
        .await?;
        txn.exec(
            &format!("DELETE FROM members WHERE identity_id = ? AND organization_id IN ({list})"),
            values(),
        )
        .await?;
    }
    Ok((rooms, assignments))
}

/// Removes `identity` from every organization and room as in M6 (used by
/// revocation, I4): organization rows locked in ID order, then the shared
/// set-based removal, one MEMBER_REMOVED event per organization. Guards do
/// not apply: revocation is irreversible and always wins. Seats are
/// released by the caller (revocation detaches from every package).
/// Returns the organizations it was removed from.
pub(super) async fn purge_identity(
    txn: &mut Txn,
    identity: &IdentityId,
    reason: &str,
) -> Result<Vec<OrgId>> {
    let orgs: Vec<OrgId> = txn
        .query_all(
            "SELECT organization_id FROM members WHERE identity_id = ? ORDER BY organization_id",
            vec![identity.as_str().into()],
        )
        .await?
        .iter()
        .map(|r| Ok(OrgId::from_trusted(r.try_get("", "organization_id")?)))
        .collect::<Result<_>>()?;
    // Never undoable (W6): earlier removals' copies go too.
    forget_identity(txn, identity).await?;
    // The SCIM attributes (userName, e-mail, names) are personal data (I4);
    // the rooms it stewarded lose it with its room memberships.
    for table in ["scim_users", "scim_group_stewards"] {
        txn.exec(
            &format!("DELETE FROM {table} WHERE identity_id = ?"),
            vec![identity.as_str().into()],
        )
        .await?;
    }
    if orgs.is_empty() {
        return Ok(orgs);
    }
    lock_orgs(txn, &orgs).await?;
    remove_from_orgs(txn, identity, &orgs).await?;
    for org in &orgs {
        txn.emit(
            NewEvent::new(EventType::MemberRemoved, identity.as_str())
                .identity(identity)
                .org(org)
                .reason(reason),
        );
    }
    Ok(orgs)
}

/// Gathers what an offboarding of `m` decides on (M2, M4, M6, M7, L6):
/// the same facts for PreviewOffboarding and, under the organization's and
/// the package's locks, for the real call. Returns them with the other
/// organizations of the package where the identity stays ACTIVE. At most
/// three queries, whatever the number of rooms and assignments.
pub(super) async fn offboarding_facts<C: ConnectionTrait>(
    c: &C,
    org: &OrgId,
    m: &member::Model,
    successor: Option<&IdentityId>,
) -> Result<(OffboardingFacts, Vec<OrgId>)> {
    let identity = IdentityId::from_trusted(m.identity_id.clone());
    let active = m.state == MemberState::Active.as_str();
    let admin = m.role == MemberRole::Admin.as_str();
    let other_active_admin =
        !(active && admin) || has_other_active_admin(c, org, &identity).await?;
    let successor_active = match successor {
        None => None,
        Some(s) => Some(
            load_member(c, org, s)
                .await?
                .is_some_and(|s| s.state == MemberState::Active.as_str()),
        ),
    };
    // The counts, the other seat-holding organizations of the package and
    // (for an active member) the rooms it is the last active admin of:
    // one query, one row per count, organization and room.
    let mut sql = format!(
        "SELECT 'count' AS kind, 'rooms' AS id, (SELECT COUNT(*) FROM room_members \
             WHERE organization_id = ? AND identity_id = ?) AS n \
         UNION ALL SELECT 'count', 'assignments', (SELECT COUNT(*) FROM members m \
             JOIN assignments a ON {HELD_BY} WHERE m.organization_id = ? AND m.identity_id = ?) \
         UNION ALL SELECT 'count', 'attached', (SELECT COUNT(*) FROM attachments \
             WHERE package_id = ? AND identity_id = ?) \
         UNION ALL SELECT 'count', 'signed_in', (SELECT COUNT(*) FROM attachments \
             WHERE package_id = ? AND identity_id = ? AND signed_in = ?) \
         UNION ALL SELECT 'org', m.organization_id, 0 FROM members m \
             WHERE {} AND m.identity_id = ? AND m.organization_id <> ?",
        seat_holding_membership("m")
    );
    let mut values: Vec<Value> = vec![
        org.as_str().into(),
        identity.as_str().into(),
        org.as_str().into(),
        identity.as_str().into(),
        m.package_id.as_str().into(),
        identity.as_str().into(),
        m.package_id.as_str().into(),
        identity.as_str().into(),
        true.into(),
        m.package_id.as_str().into(),
        identity.as_str().into(),
        org.as_str().into(),
    ];
    if active {
        sql.push_str(&format!(
            " UNION ALL SELECT 'room', rm.room_id, 0 {LAST_ADMIN_ROOMS}"
        ));
        values.extend([org.as_str().into(), identity.as_str().into()]);
    }
    sql.push_str(" ORDER BY 1, 2");
    let (mut last_admin_rooms, mut other_orgs) = (Vec::new(), Vec::new());
    let mut counts = std::collections::HashMap::new();
    for row in rows(c, &sql, values).await? {
        let (kind, id): (String, String) = (row.try_get("", "kind")?, row.try_get("", "id")?);
        match kind.as_str() {
            "count" => {
                counts.insert(id, row.try_get::<i64>("", "n")?.max(0) as u64);
            }
            "org" => other_orgs.push(OrgId::from_trusted(id)),
            _ => last_admin_rooms.push(RoomId::from_trusted(id)),
        }
    }
    let n = |col: &str| -> Result<u64> {
        counts
            .get(col)
            .copied()
            .ok_or_else(|| Error::Internal(format!("offboarding facts without {col}")))
    };
    let facts = OffboardingFacts {
        active,
        admin,
        other_active_admin,
        successor_active,
        last_admin_rooms,
        room_count: n("rooms")?,
        assignment_count: n("assignments")?,
        seat: SeatFacts {
            attached: n("attached")? > 0,
            signed_in: n("signed_in")? > 0,
            holding_memberships: other_orgs.len() as u64,
        },
    };
    Ok((facts, other_orgs))
}

/// Inside a write: locks the organization, loads the member, locks its
/// package (organizations → license packages), gathers the facts and
/// plans `action`; refuses with ETAG_MISMATCH when `etag` (from a preview)
/// no longer matches the facts (W1), then with the plan's first blocking
/// reason. Otherwise hands the rooms that would lose their last admin to
/// `successor` (M7). Returns the member row, its package and the plan.
/// Shared by Deactivate/RemoveMember and their scheduled runs (W3).
pub(super) async fn plan_and_guard(
    txn: &mut Txn,
    action: OffboardingAction,
    org: &OrgId,
    identity: &IdentityId,
    successor: Option<&IdentityId>,
    etag: Option<&str>,
) -> Result<(member::Model, PackageId, OffboardingPlan)> {
    let (m, package) = lock_member(txn, org, identity).await?;
    let plan = plan_locked(txn, action, org, &m, successor, etag).await?;
    Ok((m, package, plan))
}

/// Locks the organization and loads the member: the start of every
/// offboarding guard. The package is not locked here: every writer in a
/// package would queue behind the whole of this transaction. The seat is
/// decided again where it changes ([`apply_seat`]), under the package lock.
async fn lock_member(
    txn: &mut Txn,
    org: &OrgId,
    identity: &IdentityId,
) -> Result<(member::Model, PackageId)> {
    lock_org(txn, org).await?;
    let m = load_member(txn.conn(), org, identity)
        .await?
        .ok_or_else(|| member_not_found(org, identity))?;
    let package = PackageId::from_trusted(m.package_id.clone());
    Ok((m, package))
}

/// [`plan_and_guard`] for automated provisioning (SCIM, issue 15), after
/// the caller handed the rooms to the organization's other active admins:
/// what still needs an admin nobody can be goes ahead
/// ([`policy::provisioning_plan`]) and is returned, for the caller's
/// LEFT_WITHOUT_ADMIN event. No successor, no etag.
pub(super) async fn plan_for_provisioning(
    txn: &mut Txn,
    action: OffboardingAction,
    org: &OrgId,
    identity: &IdentityId,
) -> Result<(
    member::Model,
    PackageId,
    OffboardingPlan,
    policy::LeftWithoutAdmin,
)> {
    let (m, package) = lock_member(txn, org, identity).await?;
    let (facts, _) = offboarding_facts(txn.conn(), org, &m, None).await?;
    let (plan, left) = policy::provisioning_plan(policy::plan_offboarding(action, &facts));
    if let Some(refusal) = plan.refusal(org, identity, None) {
        return Err(refusal);
    }
    Ok((m, package, plan, left))
}

/// The guard of [`plan_and_guard`] for a member whose organization and
/// package rows the caller has locked already (a batch locks them once):
/// facts, the etag check, the plan, its refusal, the hand-over.
pub(super) async fn plan_locked(
    txn: &mut Txn,
    action: OffboardingAction,
    org: &OrgId,
    m: &member::Model,
    successor: Option<&IdentityId>,
    etag: Option<&str>,
) -> Result<OffboardingPlan> {
    let identity = &IdentityId::from_trusted(m.identity_id.clone());
    let (facts, _) = offboarding_facts(txn.conn(), org, m, successor).await?;
    if let Some(expected) = etag
        && policy::offboarding_etag(action, successor, &facts) != expected
    {
        return Err(Error::StaleEtag(format!(
            "the state the preview of offboarding {identity} in {org} looked at has changed \
             (etag {expected}); preview again and confirm the new plan"
        )));
    }
    let plan = policy::plan_offboarding(action, &facts);
    if let Some(refusal) = plan.refusal(org, identity, successor) {
        return Err(refusal);
    }
    if let Some(s) = successor {
        let rooms = plan.handed_to_successor(successor);
        if !rooms.is_empty() {
            hand_over_rooms(txn, org, s, rooms, "SUCCESSOR").await?;
        }
    }
    Ok(plan)
}

/// The seat effect of a deactivation or removal (L6): the seat is released
/// when nothing holds it any more (the rule in SQL, `release_if_unheld`).
/// Returns whether the seat was freed.
///
/// Whatever the plan's `seat_freed` said: the plan's facts were read before the
/// package lock, and another organization's change (Eva deactivated in two
/// sub-organizations at once: each plan sees the other membership still
/// active) may have changed them. `release_if_unheld` applies the same
/// rule under the package lock, after this transaction's own change and
/// until its commit, so of two such changes the later one sees the earlier
/// one's commit and frees the seat — exactly once
/// (`l6_parallel_offboarding_in_two_sub_organizations_frees_the_seat_once`).
async fn apply_seat(
    txn: &mut Txn,
    package: &PackageId,
    identity: &IdentityId,
    reason: &str,
) -> Result<bool> {
    seats::release_if_unheld(txn, package, identity, reason).await
}

/// M4's effect once planned (shared by DeactivateMember and the batches):
/// the member row deactivated, MEMBER_DEACTIVATED, the seat per the plan.
pub(super) async fn apply_deactivation(
    txn: &mut Txn,
    mut m: member::Model,
    package: &PackageId,
    plan: &OffboardingPlan,
    input: &DeactivationInput,
    successor: Option<&IdentityId>,
) -> Result<Member> {
    let org = &OrgId::from_trusted(m.organization_id.clone());
    let identity = &IdentityId::from_trusted(m.identity_id.clone());
    let handed = plan.handed_to_successor(successor);
    let now = txn.now_ms();
    let note = (!input.note.is_empty()).then(|| input.note.clone());
    super::members::update_member(
        txn,
        org,
        identity,
        "state = 'DEACTIVATED', deactivation_reason = ?, deactivation_note = ?, \
         expected_return_at = ?, deactivated_at = ?, deactivated_by = ?",
        vec![
            input.reason.as_str().into(),
            note.clone().into(),
            input.expected_return_ms.into(),
            now.into(),
            txn.actor().id.clone().into(),
        ],
    )
    .await?;
    let mut event = member_event(EventType::MemberDeactivated, org, identity)
        .package(package)
        .reason(input.reason.as_str());
    if !handed.is_empty() {
        event = event.attr("successor_room_count", handed.len().to_string());
    }
    if let Some(s) = successor.filter(|_| !handed.is_empty()) {
        event = event.attr("successor_identity_id", s.as_str());
    }
    txn.emit(event);
    seats::release_if_unheld(txn, package, identity, "MEMBER_DEACTIVATED").await?;
    m.state = MemberState::Deactivated.as_str().to_owned();
    m.deactivation_reason = Some(input.reason.as_str().to_owned());
    m.deactivation_note = note;
    m.expected_return_at = input.expected_return_ms;
    m.deactivated_at = Some(now);
    m.deactivated_by = Some(txn.actor().id.clone());
    Ok(to_member(m))
}

/// M6's effect once planned (shared by RemoveMember and the batches): the
/// set-based removal, MEMBER_REMOVED, the seat per the plan.
pub(super) async fn apply_removal(
    txn: &mut Txn,
    org: &OrgId,
    identity: &IdentityId,
    package: &PackageId,
    plan: &OffboardingPlan,
    successor: Option<&IdentityId>,
) -> Result<Removal> {
    let handed = plan.handed_to_successor(successor).to_vec();
    let undo_until_ms = keep_for_undo(txn, identity, std::slice::from_ref(org))
        .await?
        .first()
        .map(|(_, until)| *until);
    let (rooms_left, assignments_dropped) =
        remove_from_orgs(txn, identity, std::slice::from_ref(org)).await?;
    let mut event = member_event(EventType::MemberRemoved, org, identity)
        .package(package)
        .reason("REMOVED")
        .attr("rooms_left", rooms_left.to_string())
        .attr("assignments_dropped", assignments_dropped.to_string());
    if let Some(s) = successor.filter(|_| !handed.is_empty()) {
        event = event
            .attr("successor_identity_id", s.as_str())
            .attr("successor_room_count", handed.len().to_string());
    }
    if let Some(until) = undo_until_ms {
        event = event.attr("undo_until_ms", until.to_string());
    }
    txn.emit(event);
    let seat_freed = apply_seat(txn, package, identity, "MEMBER_REMOVED").await?;
    let removal = Removal {
        rooms_left,
        assignments_dropped,
        successor_rooms: handed,
        seat_freed,
        undo_until: undo_until_ms.map(to_time),
    };
    Ok(removal)
}

impl Store {
    /// M4 (+M7): deactivates a member: memberships, content and assignments
    /// stay, access ends, the seat is freed per L6. Decided by
    /// [`policy::plan_offboarding`], like its preview.
    pub async fn deactivate_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        input: DeactivationInput,
        successor: Option<&IdentityId>,
        etag: Option<&str>,
    ) -> Result<Member> {
        let input = &input;
        self.write(&actor, |mut txn| async move {
            // The seat statement comes last and inserts the events.
            txn.events_with_last_statement();
            let (m, package, plan) = plan_and_guard(
                &mut txn,
                OffboardingAction::Deactivate,
                org,
                identity,
                successor,
                etag,
            )
            .await?;
            let member = apply_deactivation(&mut txn, m, &package, &plan, input, successor).await?;
            Ok((txn, member))
        })
        .await
    }

    /// M6 (+M7): removes a member: out of the organization and all its
    /// rooms, assignments there dropped, seat freed per L6. A fixed number
    /// of statements whatever the number of rooms and assignments. Decided
    /// by [`policy::plan_offboarding`], like its preview.
    pub async fn remove_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        successor: Option<&IdentityId>,
        etag: Option<&str>,
    ) -> Result<Removal> {
        self.write(&actor, |mut txn| async move {
            // The seat statement comes last and inserts the events.
            txn.events_with_last_statement();
            let (_, package, plan) = plan_and_guard(
                &mut txn,
                OffboardingAction::Remove,
                org,
                identity,
                successor,
                etag,
            )
            .await?;
            let removal =
                apply_removal(&mut txn, org, identity, &package, &plan, successor).await?;
            Ok((txn, removal))
        })
        .await
    }

    /// M8: what deactivating or removing would do, without writing: the
    /// same facts and the same [`policy::plan_offboarding`] as the real
    /// call. At most five read queries.
    pub async fn preview_offboarding(
        &self,
        org: &OrgId,
        identity: &IdentityId,
        action: OffboardingAction,
        successor: Option<&IdentityId>,
    ) -> Result<OffboardingPreview> {
        self.get_organization(org).await?;
        let m = load_member(&self.db, org, identity)
            .await?
            .ok_or_else(|| member_not_found(org, identity))?;
        let (facts, other_active_orgs) = offboarding_facts(&self.db, org, &m, successor).await?;
        let plan = policy::plan_offboarding(action, &facts);
        let etag = policy::offboarding_etag(action, successor, &facts);
        Ok(OffboardingPreview {
            etag,
            orphaned_rooms: plan.last_admin_rooms,
            room_count: facts.room_count,
            assignment_count: facts.assignment_count,
            seat_freed: plan.seat_freed,
            other_active_orgs,
            blocking: plan.blocking,
        })
    }
}
