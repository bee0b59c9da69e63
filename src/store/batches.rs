//! W4, batches: add, deactivate or remove up to 1,000 members of one
//! organization in one call, with one result per item.
//!
//! Each item is decided by the same rules as its single call: the M4/M6/M7
//! plan (`offboarding_facts` + `policy::plan_offboarding`), the L6 seat
//! rule (`seats::attach`, `seats::release_if_unheld`), the set-based M6
//! removal (`remove_from_orgs`). Per item a fixed number of statements,
//! whatever its rooms and assignments (a removal: about a dozen).
//!
//! Two ways to run a batch:
//! - **one transaction** (`atomic`, and every `validate_only`): the
//!   identity rows of the items (adds only), the organization row and the
//!   package row are locked once, in that order (identities →
//!   organizations → license packages); each item runs inside a savepoint,
//!   so a refused item leaves no trace and the items after it see the
//!   state without it. The transaction commits only when it is atomic,
//!   not validate_only and every item succeeded; otherwise it rolls back.
//! - **one transaction per item** (not atomic): each item is its own
//!   [`Store::write`] taking the same locks for itself, so one refused
//!   item does not stop the others.
//!
//! Refusals (NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION,
//! RESOURCE_EXHAUSTED, …) become the item's result. A database fault
//! (deadlock, serialization failure: retried by `Store::write`; the
//! database unavailable; an internal error) is never an item's refusal in
//! the one-transaction mode: it fails the whole call.

use std::collections::HashMap;

use super::offboarding::{
    DeactivationInput, OffboardingAction, Removal, apply_deactivation, apply_removal, plan_locked,
};
use super::records::{
    identity_not_found, identity_revoked, insert_member, load_member, lock_org, member_event,
    member_not_found,
};
use super::rows::CHUNK;
use super::{Store, Txn, placeholders, seats};
use crate::domain::policy;
use crate::domain::{
    Actor, AttachMethod, Error, EventType, IdentityId, IdentityState, Member, MemberRole, OrgId,
    PackageId, Result,
};

/// One item of a batch, already validated.
#[derive(Debug, Clone)]
pub enum BatchItem {
    /// AddMember (M2): an ACTIVE member with this role, taking a seat.
    Add {
        /// The identity to add.
        identity: IdentityId,
        /// Its role.
        role: MemberRole,
    },
    /// DeactivateMember (M4, M7).
    Deactivate {
        /// The member.
        identity: IdentityId,
        /// Reason, note, expected return.
        input: DeactivationInput,
        /// Takes over the rooms that would lose their last admin.
        successor: Option<IdentityId>,
    },
    /// RemoveMember (M6, M7).
    Remove {
        /// The member.
        identity: IdentityId,
        /// Takes over the rooms that would lose their last admin.
        successor: Option<IdentityId>,
    },
}

impl BatchItem {
    fn identity(&self) -> &IdentityId {
        match self {
            BatchItem::Add { identity, .. }
            | BatchItem::Deactivate { identity, .. }
            | BatchItem::Remove { identity, .. } => identity,
        }
    }
}

/// What one item did (or, when not applied, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemDone {
    /// The member as added or deactivated.
    Member(Member),
    /// What the removal did.
    Removal(Removal),
}

/// How to run a batch.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchMode {
    /// All items in one transaction, committed only if every item succeeds.
    pub atomic: bool,
    /// Write nothing; report what each item would do.
    pub validate_only: bool,
}

/// The outcome of a batch: one result per item, in request order.
#[derive(Debug)]
pub struct BatchOutcome {
    /// Each item's outcome or refusal.
    pub items: Vec<Result<ItemDone>>,
    /// Whether the successful items were written (false for
    /// `validate_only` and for an atomic batch with a refused item).
    pub applied: bool,
}

impl BatchOutcome {
    /// Indexes of the refused items.
    pub fn failed(&self) -> Vec<usize> {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_err())
            .map(|(i, _)| i)
            .collect()
    }
}

/// A database fault, never a refusal of one item.
fn is_fault(e: &Error) -> bool {
    matches!(
        e,
        Error::Aborted(_) | Error::Unavailable(_) | Error::Internal(_)
    )
}

/// What the batch locked: the organization's package and the states of the
/// identities of the items that add members.
struct Locked {
    package: PackageId,
    identity_states: HashMap<String, String>,
}

/// Locks, in the global order: the identity rows of `adds` (ID order, one
/// statement per 500), the organization row, its package row.
async fn lock_batch(txn: &Txn, org: &OrgId, adds: &[&IdentityId]) -> Result<Locked> {
    let mut ids: Vec<&str> = adds.iter().map(|i| i.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut identity_states = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let sql = format!(
            "SELECT id, state FROM identities WHERE id IN ({}) ORDER BY id{}",
            placeholders(chunk.len()),
            txn.for_update()
        );
        for row in txn
            .query_all(&sql, chunk.iter().map(|s| (*s).into()).collect())
            .await?
        {
            identity_states.insert(row.try_get("", "id")?, row.try_get("", "state")?);
        }
    }
    let o = lock_org(txn, org).await?;
    let package = PackageId::from_trusted(o.package_id);
    txn.lock_row("license_packages", "id", package.as_str())
        .await?;
    Ok(Locked {
        package,
        identity_states,
    })
}

/// Runs one item under the batch's locks; an `Err` may leave partial
/// writes (the caller rolls back its savepoint or transaction).
async fn run_item(
    txn: &mut Txn,
    org: &OrgId,
    locked: &Locked,
    item: &BatchItem,
) -> Result<ItemDone> {
    match item {
        BatchItem::Add { identity, role } => add(txn, org, locked, identity, *role)
            .await
            .map(ItemDone::Member),
        BatchItem::Deactivate {
            identity,
            input,
            successor,
        } => deactivate(txn, org, locked, identity, input, successor.as_ref())
            .await
            .map(ItemDone::Member),
        BatchItem::Remove {
            identity,
            successor,
        } => remove(txn, org, locked, identity, successor.as_ref())
            .await
            .map(ItemDone::Removal),
    }
}

/// AddMember's rules (M2, L6) under the batch's locks.
async fn add(
    txn: &mut Txn,
    org: &OrgId,
    locked: &Locked,
    identity: &IdentityId,
    role: MemberRole,
) -> Result<Member> {
    match locked.identity_states.get(identity.as_str()) {
        None => return Err(identity_not_found(identity)),
        Some(state) if state != IdentityState::Active.as_str() => {
            return Err(identity_revoked(identity));
        }
        Some(_) => {}
    }
    if let Some(existing) = load_member(txn.conn(), org, identity).await? {
        return Err(Error::already_exists(
            crate::domain::Reason::AlreadyMember,
            format!(
                "{identity} is already a member of organization {org} ({})",
                existing.state
            ),
        ));
    }
    let package = &locked.package;
    let member = insert_member(txn, org, identity, package, role).await?;
    txn.emit(
        member_event(EventType::MemberAdded, org, identity)
            .package(package)
            .attr("role", role.as_str()),
    );
    seats::attach(txn, package, identity, AttachMethod::Membership, None).await?;
    Ok(member)
}

/// The M4/M6/M7 plan of one member under the batch's locks (the same
/// guard as Deactivate/RemoveMember: refused with its first blocking
/// reason, else the rooms that would lose their last admin handed to
/// `successor`).
async fn planned(
    txn: &mut Txn,
    action: OffboardingAction,
    org: &OrgId,
    identity: &IdentityId,
    successor: Option<&IdentityId>,
) -> Result<(super::entities::member::Model, policy::OffboardingPlan)> {
    let m = load_member(txn.conn(), org, identity)
        .await?
        .ok_or_else(|| member_not_found(org, identity))?;
    let plan = plan_locked(txn, action, org, &m, successor, None).await?;
    Ok((m, plan))
}

/// DeactivateMember's effect (M4) under the batch's locks.
async fn deactivate(
    txn: &mut Txn,
    org: &OrgId,
    locked: &Locked,
    identity: &IdentityId,
    input: &DeactivationInput,
    successor: Option<&IdentityId>,
) -> Result<Member> {
    let (m, plan) = planned(txn, OffboardingAction::Deactivate, org, identity, successor).await?;
    apply_deactivation(txn, m, &locked.package, &plan, input, successor).await
}

/// RemoveMember's effect (M6) under the batch's locks: the set-based
/// removal of `remove_from_orgs` (three statements whatever the rooms and
/// assignments).
async fn remove(
    txn: &mut Txn,
    org: &OrgId,
    locked: &Locked,
    identity: &IdentityId,
    successor: Option<&IdentityId>,
) -> Result<Removal> {
    let (_, plan) = planned(txn, OffboardingAction::Remove, org, identity, successor).await?;
    apply_removal(txn, org, identity, &locked.package, &plan, successor).await
}

impl Store {
    /// W4: runs `items` against `org` in request order (see the module
    /// documentation for the two modes). The organization must exist
    /// (ORGANIZATION_NOT_FOUND otherwise, for the whole call).
    pub async fn batch_members(
        &self,
        actor: Actor,
        org: &OrgId,
        items: &[BatchItem],
        mode: BatchMode,
    ) -> Result<BatchOutcome> {
        if mode.atomic || mode.validate_only {
            return self.batch_in_one_txn(actor, org, items, mode).await;
        }
        self.get_organization(org).await?;
        let mut results = Vec::with_capacity(items.len());
        let mut unavailable = false;
        for item in items {
            if unavailable {
                results.push(Err(Error::Unavailable(
                    "not attempted: the database became unavailable".to_owned(),
                )));
                continue;
            }
            let adds: Vec<&IdentityId> = match item {
                BatchItem::Add { identity, .. } => vec![identity],
                _ => Vec::new(),
            };
            let adds = &adds;
            let result = self
                .write(&actor, |mut txn| async move {
                    let locked = lock_batch(&txn, org, adds).await?;
                    let done = run_item(&mut txn, org, &locked, item).await?;
                    Ok((txn, done))
                })
                .await;
            unavailable = matches!(result, Err(Error::Unavailable(_)));
            results.push(result);
        }
        Ok(BatchOutcome {
            items: results,
            applied: true,
        })
    }

    /// The one-transaction mode: locks once, one savepoint per item,
    /// committed only for an atomic batch whose items all succeeded.
    async fn batch_in_one_txn(
        &self,
        actor: Actor,
        org: &OrgId,
        items: &[BatchItem],
        mode: BatchMode,
    ) -> Result<BatchOutcome> {
        let adds: Vec<&IdentityId> = items
            .iter()
            .filter(|i| matches!(i, BatchItem::Add { .. }))
            .map(BatchItem::identity)
            .collect();
        let adds = &adds;
        self.write(&actor, |mut txn| async move {
            let locked = lock_batch(&txn, org, adds).await?;
            let mut results = Vec::with_capacity(items.len());
            for item in items {
                let events = txn.events_pending();
                txn.exec("SAVEPOINT w4_item", Vec::new()).await?;
                match run_item(&mut txn, org, &locked, item).await {
                    Ok(done) => results.push(Ok(done)),
                    Err(e) if is_fault(&e) => return Err(e),
                    Err(e) => {
                        txn.exec("ROLLBACK TO SAVEPOINT w4_item", Vec::new())
                            .await?;
                        txn.rewind_events(events);
                        results.push(Err(e));
                    }
                }
                txn.exec("RELEASE SAVEPOINT w4_item", Vec::new()).await?;
            }
            let applied = mode.atomic && !mode.validate_only && results.iter().all(Result::is_ok);
            if !applied {
                // Rolled back: nothing of the batch is written.
                txn.rewind_events(0);
                txn.nothing_changed();
            }
            Ok((
                txn,
                BatchOutcome {
                    items: results,
                    applied,
                },
            ))
        })
        .await
    }
}
