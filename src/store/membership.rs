//! Organizations, members, rooms and assignments (M1–M12).

use crate::domain::{EventType, IdentityId, NewEvent, OrgId, Result};

use super::Txn;

/// Removes `identity` from every organization and room as in M6 (used by
/// revocation, I4): room memberships deleted, assignments dropped, member
/// rows deleted, one MEMBER_REMOVED event per organization. Set-based: a
/// fixed number of statements whatever the number of rooms. Returns the
/// organizations it was removed from.
pub(super) async fn purge_identity(
    txn: &mut Txn,
    identity: &IdentityId,
    reason: &str,
) -> Result<Vec<OrgId>> {
    let rows = txn
        .query_all(
            "SELECT organization_id FROM members WHERE identity_id = ? ORDER BY organization_id",
            vec![identity.as_str().into()],
        )
        .await?;
    let mut orgs = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("", "organization_id")?;
        orgs.push(OrgId::from_trusted(id));
    }
    let id = identity.as_str();
    txn.exec(
        "DELETE FROM room_members WHERE identity_id = ?",
        vec![id.into()],
    )
    .await?;
    txn.exec(
        "UPDATE assignments SET assignee_id = NULL WHERE assignee_id = ?",
        vec![id.into()],
    )
    .await?;
    txn.exec("DELETE FROM members WHERE identity_id = ?", vec![id.into()])
        .await?;
    for org in &orgs {
        txn.emit(
            NewEvent::new(EventType::MemberRemoved, id)
                .identity(identity)
                .org(org)
                .reason(reason),
        );
    }
    Ok(orgs)
}

impl super::Store {
    /// Whether `identity` is an ACTIVE ADMIN member of `org`.
    pub async fn is_active_org_admin(&self, org: &OrgId, identity: &IdentityId) -> Result<bool> {
        Ok(self
            .query_one(
                "SELECT 1 AS one FROM members WHERE organization_id = ? AND identity_id = ? \
                 AND role = 'ADMIN' AND state = 'ACTIVE'",
                vec![org.as_str().into(), identity.as_str().into()],
            )
            .await?
            .is_some())
    }
}
