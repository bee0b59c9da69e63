//! The inactive-guest sweep (M12).

use sea_orm::{FromQueryResult, Value};

use super::entities::member;
use super::records::{lock_orgs, member_from_row, prefixed_member_cols, to_member};
use super::rows::{CHUNK, rows};
use super::rules::idle_guest;
use super::{Store, Txn, placeholders, seats};
use crate::domain::{
    Actor, DeactivationReason, EventType, IdentityId, Member, NewEvent, OrgId, PackageId, Result,
};

/// At most this many members are returned by the inactivity sweep.
pub const MAX_SWEEP_MEMBERS: usize = 1000;

/// Result of an inactivity sweep (M12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Deactivated (or, dry run, would-be deactivated) guests, at most
    /// [`MAX_SWEEP_MEMBERS`], ordered by organization and identity.
    pub members: Vec<Member>,
    /// How many in total.
    pub count: u64,
}

impl Store {
    /// M12: deactivates ACTIVE GUEST members idle longer than their
    /// organization's `guest_inactivity` (organizations without one are
    /// skipped), each audited as MEMBER_DEACTIVATED with reason INACTIVITY,
    /// seats released per L6. Set-based: one selection of the organizations
    /// concerned, their rows locked, one `UPDATE … RETURNING` per 500
    /// organizations, one seat statement per 500 guests. With `dry_run`
    /// only the selection runs. The room-admin guard (M7) does not stop
    /// the sweep: the organization's setting is the admins' decision, and
    /// organization admins still manage such rooms.
    pub async fn run_inactivity_sweep(
        &self,
        actor: Actor,
        org: Option<&OrgId>,
        dry_run: bool,
    ) -> Result<SweepOutcome> {
        if let Some(org) = org {
            self.get_organization(org).await?;
        }
        if dry_run {
            return self.sweep_candidates(org).await;
        }
        self.write(&actor, |txn| self.sweep(txn, org)).await
    }

    async fn sweep_candidates(&self, org: Option<&OrgId>) -> Result<SweepOutcome> {
        let now = self.now_ms();
        let mut sql = format!(
            "SELECT {} FROM members m JOIN organizations o ON o.id = m.organization_id WHERE {}",
            prefixed_member_cols("m"),
            idle_guest("m", "o")
        );
        let mut values: Vec<Value> = vec![now.into()];
        if let Some(org) = org {
            sql.push_str(" AND m.organization_id = ?");
            values.push(org.as_str().into());
        }
        sql.push_str(" ORDER BY m.organization_id, m.identity_id");
        let mut members = rows(&self.db, &sql, values)
            .await?
            .iter()
            .map(member_from_row)
            .collect::<Result<Vec<_>>>()?;
        let count = members.len() as u64;
        members.truncate(MAX_SWEEP_MEMBERS);
        Ok(SweepOutcome { members, count })
    }

    /// The sweep inside the transaction [`Store::write`] runs it in.
    async fn sweep(&self, mut txn: Txn, org: Option<&OrgId>) -> Result<(Txn, SweepOutcome)> {
        let none = SweepOutcome {
            members: Vec::new(),
            count: 0,
        };
        let now = txn.now_ms();
        let mut sql = format!(
            "SELECT DISTINCT m.organization_id AS organization_id FROM members m \
             JOIN organizations o ON o.id = m.organization_id WHERE {}",
            idle_guest("m", "o")
        );
        let mut values: Vec<Value> = vec![now.into()];
        if let Some(org) = org {
            sql.push_str(" AND m.organization_id = ?");
            values.push(org.as_str().into());
        }
        let mut orgs: Vec<OrgId> = txn
            .query_all(&sql, values)
            .await?
            .iter()
            .map(|r| Ok(OrgId::from_trusted(r.try_get("", "organization_id")?)))
            .collect::<Result<_>>()?;
        if orgs.is_empty() {
            txn.nothing_changed();
            return Ok((txn, none));
        }
        orgs.sort();
        lock_orgs(&txn, &orgs).await?;
        let mut members = Vec::new();
        let actor_id = txn.actor().id.clone();
        for chunk in orgs.chunks(CHUNK) {
            let mut values: Vec<Value> = vec![now.into(), actor_id.clone().into()];
            values.extend(chunk.iter().map(|o| o.as_str().into()));
            values.push(now.into());
            // A join, not a correlated subquery: PostgreSQL then uses the
            // sweep index with each organization's cutoff (and no JIT).
            let sql = format!(
                "UPDATE members SET state = 'DEACTIVATED', deactivation_reason = 'INACTIVITY', \
                 deactivation_note = NULL, expected_return_at = NULL, deactivated_at = ?, \
                 deactivated_by = ? \
                 FROM organizations o \
                 WHERE o.id = members.organization_id AND members.organization_id IN ({}) \
                 AND {} RETURNING {}",
                placeholders(chunk.len()),
                idle_guest("members", "o"),
                prefixed_member_cols("members")
            );
            for r in txn.query_all(&sql, values).await? {
                members.push(member::Model::from_query_result(&r, "")?);
            }
        }
        members.sort_by(|a, b| {
            (&a.organization_id, &a.identity_id).cmp(&(&b.organization_id, &b.identity_id))
        });
        let held: Vec<(PackageId, IdentityId)> = members
            .iter()
            .map(|m| {
                (
                    PackageId::from_trusted(m.package_id.clone()),
                    IdentityId::from_trusted(m.identity_id.clone()),
                )
            })
            .collect();
        for m in &members {
            txn.emit(
                NewEvent::new(EventType::MemberDeactivated, m.identity_id.as_str())
                    .identity(&IdentityId::from_trusted(m.identity_id.clone()))
                    .org(&OrgId::from_trusted(m.organization_id.clone()))
                    .package(&PackageId::from_trusted(m.package_id.clone()))
                    .reason(DeactivationReason::Inactivity.as_str()),
            );
        }
        if members.is_empty() {
            txn.nothing_changed();
            return Ok((txn, none));
        }
        seats::release_all_if_unheld(&mut txn, &held, DeactivationReason::Inactivity.as_str())
            .await?;
        let count = members.len() as u64;
        let members = members
            .into_iter()
            .take(MAX_SWEEP_MEMBERS)
            .map(to_member)
            .collect();
        Ok((txn, SweepOutcome { members, count }))
    }
}
