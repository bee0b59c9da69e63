//! Offboarding: deactivation (M4), removal (M6), their preview (M8), and
//! the removal from every organization that revocation (I4) uses.

use sea_orm::Value;

use super::records::{
    ensure_other_active_admin, has_other_active_admin, load_member, lock_org, lock_orgs,
    member_event, member_not_found, require_active_member, to_member,
};
use super::room_guard::{guard_rooms, orphaned_rooms};
use super::rows::{CHUNK, count, one, rows};
use super::rules::HELD_BY;
use super::{Store, Txn, placeholders, seats};
use crate::domain::{
    Actor, DeactivationReason, Error, EventType, IdentityId, Member, MemberRole, MemberState,
    NewEvent, OrgId, PackageId, Reason, Result, RoomId,
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
}

/// Which offboarding PreviewOffboarding simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffboardingAction {
    /// DeactivateMember.
    Deactivate,
    /// RemoveMember.
    Remove,
}

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

impl Store {
    /// M4 (+M7): deactivates a member: memberships, content and assignments
    /// stay, access ends, the seat is freed per L6.
    pub async fn deactivate_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        input: DeactivationInput,
        successor: Option<&IdentityId>,
    ) -> Result<Member> {
        retrying!(
            self.deactivate_member_once(&actor, org, identity, &input, successor)
                .await
        )
    }

    async fn deactivate_member_once(
        &self,
        actor: &Actor,
        org: &OrgId,
        identity: &IdentityId,
        input: &DeactivationInput,
        successor: Option<&IdentityId>,
    ) -> Result<Member> {
        let mut txn = self.begin(actor.clone()).await?;
        lock_org(&txn, org).await?;
        let mut m = load_member(txn.conn(), org, identity)
            .await?
            .ok_or_else(|| member_not_found(org, identity))?;
        if m.state == MemberState::Deactivated.as_str() {
            return Err(Error::precondition(
                Reason::AlreadyDeactivated,
                format!("{identity} is already deactivated in organization {org}"),
            ));
        }
        if m.role == MemberRole::Admin.as_str() {
            ensure_other_active_admin(txn.conn(), org, identity).await?;
        }
        let handed = guard_rooms(&mut txn, org, identity, true, None, successor).await?;
        let now = txn.now_ms();
        let note = (!input.note.is_empty()).then(|| input.note.clone());
        txn.exec(
            "UPDATE members SET state = 'DEACTIVATED', deactivation_reason = ?, \
             deactivation_note = ?, expected_return_at = ?, deactivated_at = ?, deactivated_by = ? \
             WHERE organization_id = ? AND identity_id = ?",
            vec![
                input.reason.as_str().into(),
                note.clone().into(),
                input.expected_return_ms.into(),
                now.into(),
                actor.id.clone().into(),
                org.as_str().into(),
                identity.as_str().into(),
            ],
        )
        .await?;
        let mut event = member_event(EventType::MemberDeactivated, org, identity)
            .package(&PackageId::from_trusted(m.package_id.clone()))
            .reason(input.reason.as_str());
        if !handed.is_empty() {
            event = event.attr("successor_room_count", handed.len().to_string());
        }
        if let Some(s) = successor.filter(|_| !handed.is_empty()) {
            event = event.attr("successor_identity_id", s.as_str());
        }
        txn.emit(event);
        let package = PackageId::from_trusted(m.package_id.clone());
        seats::release_if_unheld(&mut txn, &package, identity, "MEMBER_DEACTIVATED").await?;
        txn.commit(self).await?;
        m.state = MemberState::Deactivated.as_str().to_owned();
        m.deactivation_reason = Some(input.reason.as_str().to_owned());
        m.deactivation_note = note;
        m.expected_return_at = input.expected_return_ms;
        m.deactivated_at = Some(now);
        m.deactivated_by = Some(actor.id.clone());
        Ok(to_member(m))
    }

    /// M6 (+M7): removes a member: out of the organization and all its
    /// rooms, assignments there dropped, seat freed per L6. A fixed number
    /// of statements whatever the number of rooms and assignments.
    pub async fn remove_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        successor: Option<&IdentityId>,
    ) -> Result<Removal> {
        retrying!(
            self.remove_member_once(&actor, org, identity, successor)
                .await
        )
    }

    async fn remove_member_once(
        &self,
        actor: &Actor,
        org: &OrgId,
        identity: &IdentityId,
        successor: Option<&IdentityId>,
    ) -> Result<Removal> {
        let mut txn = self.begin(actor.clone()).await?;
        lock_org(&txn, org).await?;
        let m = load_member(txn.conn(), org, identity)
            .await?
            .ok_or_else(|| member_not_found(org, identity))?;
        let active = m.state == MemberState::Active.as_str();
        if active && m.role == MemberRole::Admin.as_str() {
            ensure_other_active_admin(txn.conn(), org, identity).await?;
        }
        let handed = guard_rooms(&mut txn, org, identity, active, None, successor).await?;
        let (rooms_left, assignments_dropped) =
            remove_from_orgs(&txn, identity, std::slice::from_ref(org)).await?;
        let package = PackageId::from_trusted(m.package_id);
        let mut event = member_event(EventType::MemberRemoved, org, identity)
            .package(&package)
            .reason("REMOVED")
            .attr("rooms_left", rooms_left.to_string())
            .attr("assignments_dropped", assignments_dropped.to_string());
        if let Some(s) = successor.filter(|_| !handed.is_empty()) {
            event = event
                .attr("successor_identity_id", s.as_str())
                .attr("successor_room_count", handed.len().to_string());
        }
        txn.emit(event);
        let seat_freed =
            seats::release_if_unheld(&mut txn, &package, identity, "MEMBER_REMOVED").await?;
        txn.commit(self).await?;
        Ok(Removal {
            rooms_left,
            assignments_dropped,
            successor_rooms: handed,
            seat_freed,
        })
    }

    /// M8: what deactivating or removing would do, without writing. Five
    /// read queries.
    pub async fn preview_offboarding(
        &self,
        org: &OrgId,
        identity: &IdentityId,
        action: OffboardingAction,
        successor: Option<&IdentityId>,
    ) -> Result<OffboardingPreview> {
        let o = self.get_organization(org).await?;
        let m = load_member(&self.db, org, identity)
            .await?
            .ok_or_else(|| member_not_found(org, identity))?;
        let active = m.state == MemberState::Active.as_str();
        let mut blocking = Vec::new();
        if action == OffboardingAction::Deactivate && !active {
            blocking.push(Reason::AlreadyDeactivated);
        }
        if active
            && m.role == MemberRole::Admin.as_str()
            && !has_other_active_admin(&self.db, org, identity).await?
        {
            blocking.push(Reason::LastOrganizationAdmin);
        }
        if let Some(s) = successor
            && require_active_member(&self.db, org, s, Reason::SuccessorNotActive)
                .await
                .is_err()
        {
            blocking.push(Reason::SuccessorNotActive);
        }
        let orphaned_rooms = if active {
            orphaned_rooms(&self.db, org, identity, None).await?
        } else {
            Vec::new()
        };
        if !orphaned_rooms.is_empty() && successor.is_none() {
            blocking.push(Reason::LastRoomAdmin);
        }
        let counts = one(
            &self.db,
            &format!(
                "SELECT (SELECT COUNT(*) FROM room_members \
                         WHERE organization_id = ? AND identity_id = ?) AS rooms, \
                        (SELECT COUNT(*) FROM members m JOIN assignments a ON {HELD_BY} \
                         WHERE m.organization_id = ? AND m.identity_id = ?) AS assignments, \
                        (SELECT COUNT(*) FROM attachments \
                         WHERE package_id = ? AND identity_id = ? AND signed_in = ?) AS releasable"
            ),
            vec![
                org.as_str().into(),
                identity.as_str().into(),
                org.as_str().into(),
                identity.as_str().into(),
                o.package_id.as_str().into(),
                identity.as_str().into(),
                false.into(),
            ],
        )
        .await?
        .ok_or_else(|| Error::Internal("count query returned no row".to_owned()))?;
        let room_count: i64 = counts.try_get("", "rooms")?;
        let assignment_count: i64 = counts.try_get("", "assignments")?;
        let releasable: i64 = counts.try_get("", "releasable")?;
        let other_active_orgs: Vec<OrgId> = rows(
            &self.db,
            "SELECT organization_id FROM members WHERE package_id = ? AND identity_id = ? \
             AND state = 'ACTIVE' AND organization_id <> ? ORDER BY organization_id",
            vec![
                o.package_id.as_str().into(),
                identity.as_str().into(),
                org.as_str().into(),
            ],
        )
        .await?
        .iter()
        .map(|r| Ok(OrgId::from_trusted(r.try_get("", "organization_id")?)))
        .collect::<Result<_>>()?;
        Ok(OffboardingPreview {
            orphaned_rooms,
            room_count: room_count.max(0) as u64,
            assignment_count: assignment_count.max(0) as u64,
            seat_freed: releasable > 0 && other_active_orgs.is_empty(),
            other_active_orgs,
            blocking,
        })
    }
}
