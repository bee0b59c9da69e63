//! W6: undoing a removal. RemoveMember (and OffboardIdentity's removal)
//! keeps a copy of the member row and its room memberships while the
//! organization's `removal_undo_window` lasts; UndoRemoveMember puts them
//! back. The member row keeps its tenure, so the assignments the member
//! held and nobody took over since count as its own again (see
//! [`super::rules::HELD_BY`]). Revocation (I4) deletes the copies at once.

use sea_orm::Value;

use super::records::{
    MEMBER_COLS, load_member, lock_active_identity, lock_org, member_event, to_member,
};
use super::rows::{CHUNK, count, one};
use super::rules::HELD_BY;
use super::{Store, Txn, placeholders, seats};
use crate::domain::{
    Actor, AttachMethod, Error, EventType, IdentityId, Member, MemberState, OrgId, PackageId,
    Reason, Result,
};

/// What UndoRemoveMember restored (W6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restoration {
    /// The member as it was when removed (role, state, deactivation).
    pub member: Member,
    /// Room memberships restored, with their roles and permissions.
    pub rooms_restored: u64,
    /// Rooms the member was in that no longer exist.
    pub rooms_gone: u64,
    /// Assignments the member holds again (those nobody took over).
    pub assignments_restored: u64,
    /// Whether a seat was taken (an ACTIVE member without one).
    pub seat_taken: bool,
}

/// Before M6 deletes `identity`'s rows in `orgs`: copies the member rows
/// and room memberships of the organizations whose undo window is not
/// zero, replacing an older copy. Three statements per 500 organizations.
/// Returns the end of the window per organization copied (ms).
pub(super) async fn keep_for_undo(
    txn: &Txn,
    identity: &IdentityId,
    orgs: &[OrgId],
) -> Result<Vec<(OrgId, i64)>> {
    let now = txn.now_ms();
    let mut kept = Vec::new();
    for chunk in orgs.chunks(CHUNK) {
        let list = placeholders(chunk.len());
        let values = |lead: Vec<Value>| -> Vec<Value> {
            lead.into_iter()
                .chain(std::iter::once(identity.as_str().into()))
                .chain(chunk.iter().map(|o| o.as_str().into()))
                .collect()
        };
        forget(txn, identity, chunk).await?;
        txn.exec(
            &format!(
                "INSERT INTO removed_members ({MEMBER_COLS}, removed_at, undo_until) \
                 SELECT {cols}, ?, ? + o.removal_undo_window_ms \
                 FROM members m JOIN organizations o ON o.id = m.organization_id \
                 WHERE o.removal_undo_window_ms > 0 \
                 AND m.identity_id = ? AND m.organization_id IN ({list})",
                cols = prefixed("m", MEMBER_COLS),
            ),
            values(vec![now.into(), now.into()]),
        )
        .await?;
        txn.exec(
            &format!(
                "INSERT INTO removed_room_members \
                 (room_id, identity_id, organization_id, role, can_delete_entries, added_at) \
                 SELECT rm.room_id, rm.identity_id, rm.organization_id, rm.role, \
                        rm.can_delete_entries, rm.added_at \
                 FROM room_members rm JOIN removed_members r \
                   ON r.organization_id = rm.organization_id AND r.identity_id = rm.identity_id \
                 WHERE rm.identity_id = ? AND rm.organization_id IN ({list})"
            ),
            values(Vec::new()),
        )
        .await?;
        for row in txn
            .query_all(
                &format!(
                    "SELECT organization_id, undo_until FROM removed_members \
                     WHERE identity_id = ? AND organization_id IN ({list}) \
                     ORDER BY organization_id"
                ),
                values(Vec::new()),
            )
            .await?
        {
            kept.push((
                OrgId::from_trusted(row.try_get("", "organization_id")?),
                row.try_get("", "undo_until")?,
            ));
        }
    }
    Ok(kept)
}

/// `a.x, a.y, …` for the columns `x, y, …`.
fn prefixed(alias: &str, cols: &str) -> String {
    cols.split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deletes the undo copies of `identity` in `orgs`.
async fn forget(txn: &Txn, identity: &IdentityId, orgs: &[OrgId]) -> Result<()> {
    let list = placeholders(orgs.len());
    let values = || -> Vec<Value> {
        std::iter::once(identity.as_str().into())
            .chain(orgs.iter().map(|o| o.as_str().into()))
            .collect()
    };
    txn.exec(
        &format!(
            "DELETE FROM removed_room_members WHERE identity_id = ? AND organization_id IN ({list})"
        ),
        values(),
    )
    .await?;
    txn.exec(
        &format!(
            "DELETE FROM removed_members WHERE identity_id = ? AND organization_id IN ({list})"
        ),
        values(),
    )
    .await?;
    Ok(())
}

/// I4: revocation is never undoable; deletes every undo copy of
/// `identity` (they hold its deactivation notes).
pub(super) async fn forget_identity(txn: &Txn, identity: &IdentityId) -> Result<()> {
    txn.exec(
        "DELETE FROM removed_room_members WHERE identity_id = ?",
        vec![identity.as_str().into()],
    )
    .await?;
    txn.exec(
        "DELETE FROM removed_members WHERE identity_id = ?",
        vec![identity.as_str().into()],
    )
    .await?;
    Ok(())
}

fn nothing_to_undo(org: &OrgId, identity: &IdentityId) -> Error {
    Error::not_found(
        Reason::NoRemovalToUndo,
        format!(
            "there is no removal of {identity} from organization {org} to undo (none, \
             revoked since, or its undo window has passed and the copy was deleted)"
        ),
    )
}

impl Store {
    /// W6: puts a removed member back as it was (role, state, deactivation,
    /// tenure, room memberships with roles and permissions) within the
    /// organization's undo window; takes a seat for an ACTIVE member (L6,
    /// refused when none is free). Rooms deleted since are skipped and
    /// counted; assignments taken over by someone else stay theirs.
    pub async fn undo_remove_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
    ) -> Result<Restoration> {
        self.write(&actor, |mut txn| async move {
            lock_active_identity(&txn, identity).await?;
            lock_org(&txn, org).await?;
            let key = || -> Vec<Value> { vec![org.as_str().into(), identity.as_str().into()] };
            if load_member(txn.conn(), org, identity).await?.is_some() {
                return Err(Error::already_exists(
                    Reason::AlreadyMember,
                    format!(
                        "{identity} is a member of organization {org} (never removed, \
                         undone already or added again since): nothing to undo"
                    ),
                ));
            }
            let copy = one(
                txn.conn(),
                "SELECT undo_until, package_id, state FROM removed_members \
                 WHERE organization_id = ? AND identity_id = ?",
                key(),
            )
            .await?
            .ok_or_else(|| nothing_to_undo(org, identity))?;
            let undo_until: i64 = copy.try_get("", "undo_until")?;
            if undo_until <= txn.now_ms() {
                return Err(Error::precondition(
                    Reason::UndoWindowPassed,
                    format!(
                        "the removal of {identity} from organization {org} could be undone \
                         until {}; add the identity again instead",
                        super::to_time(undo_until).to_rfc3339()
                    ),
                ));
            }
            let package = PackageId::from_trusted(copy.try_get("", "package_id")?);
            let state: String = copy.try_get("", "state")?;
            txn.exec(
                &format!(
                    "INSERT INTO members ({MEMBER_COLS}) SELECT {MEMBER_COLS} FROM removed_members \
                     WHERE organization_id = ? AND identity_id = ?"
                ),
                key(),
            )
            .await?;
            let rooms_restored = txn
                .exec(
                    "INSERT INTO room_members \
                     (room_id, identity_id, organization_id, role, can_delete_entries, added_at) \
                     SELECT r.room_id, r.identity_id, r.organization_id, r.role, \
                            r.can_delete_entries, r.added_at \
                     FROM removed_room_members r JOIN rooms ON rooms.id = r.room_id \
                     WHERE r.organization_id = ? AND r.identity_id = ?",
                    key(),
                )
                .await?;
            let rooms_kept = count(
                txn.conn(),
                "SELECT COUNT(*) AS n FROM removed_room_members \
                 WHERE organization_id = ? AND identity_id = ?",
                key(),
            )
            .await?;
            let assignments_restored = count(
                txn.conn(),
                &format!(
                    "SELECT COUNT(*) AS n FROM members m JOIN assignments a ON {HELD_BY} \
                     WHERE m.organization_id = ? AND m.identity_id = ?"
                ),
                key(),
            )
            .await?;
            forget(&txn, identity, std::slice::from_ref(org)).await?;
            let rooms_gone = rooms_kept.saturating_sub(rooms_restored);
            let m = load_member(txn.conn(), org, identity)
                .await?
                .ok_or_else(|| Error::Internal("restored member row is missing".to_owned()))?;
            txn.emit(
                member_event(EventType::MemberRestored, org, identity)
                    .package(&package)
                    .attr("role", m.role.clone())
                    .attr("state", m.state.clone())
                    .attr("rooms_restored", rooms_restored.to_string())
                    .attr("rooms_gone", rooms_gone.to_string())
                    .attr("assignments_restored", assignments_restored.to_string()),
            );
            let seat_taken = if state == MemberState::Active.as_str() {
                seats::attach(&mut txn, &package, identity, AttachMethod::Membership, None).await?
            } else {
                false
            };
            Ok((
                txn,
                Restoration {
                    member: to_member(m),
                    rooms_restored,
                    rooms_gone,
                    assignments_restored,
                    seat_taken,
                },
            ))
        })
        .await
    }

    /// W6: deletes the undo copies whose window has passed (housekeeping,
    /// no audit event: the removals themselves were audited); returns how
    /// many removals can no longer be undone. Room copies go first, so an
    /// interruption leaves nothing orphaned that a later run misses.
    pub async fn prune_removal_copies(&self, now_ms: i64) -> Result<u64> {
        use sea_orm::ConnectionTrait;
        self.db
            .execute_raw(super::statement(
                self.backend(),
                "DELETE FROM removed_room_members WHERE EXISTS (SELECT 1 FROM removed_members r \
                 WHERE r.organization_id = removed_room_members.organization_id \
                 AND r.identity_id = removed_room_members.identity_id AND r.undo_until <= ?)",
                vec![now_ms.into()],
            ))
            .await?;
        let res = self
            .db
            .execute_raw(super::statement(
                self.backend(),
                "DELETE FROM removed_members WHERE undo_until <= ?",
                vec![now_ms.into()],
            ))
            .await?;
        Ok(res.rows_affected())
    }
}
