//! W4, batches: BatchAddMembers, BatchDeactivateMembers,
//! BatchRemoveMembers. The whole request is validated first (at most
//! 1,000 items, checked before any per-item work; each identity once),
//! then authorized like the single calls (`authz::require_org_admin`),
//! then run by `Store::batch_members`. Each item's refusal becomes its
//! result through the one status mapping (`grpc/status.rs`); an atomic
//! batch with a refused item fails as a whole (AIP-233).

use std::collections::HashMap;

use prost::Message;
use tonic::{Request, Response, Status};

use super::super::Ctx;
use super::super::authn;
use super::super::authz;
use super::super::convert;
use super::super::status::batch_item_failure;
use super::messages::role_from_pb;
use super::{checked, successor};
use crate::domain::validate::{self, Violations};
use crate::domain::{self, IdentityId, MemberRole, OrgId, Principal, Result};
use crate::pb;
use crate::store::{BatchItem, BatchMode, BatchOutcome, DeactivationInput, ItemDone};

/// Longest deactivation note (as DeactivateMember).
const MAX_NOTE: usize = 500;

/// Checks the number of items (1 to [`MAX_BATCH`]); false when the items
/// must not be looked at.
fn item_count(v: &mut Violations, len: usize) -> bool {
    validate::batch_len(v, "items", len)
}

/// `items[i].identity_id`, refusing an identity named twice.
fn item_identity(
    v: &mut Violations,
    seen: &mut HashMap<String, usize>,
    i: usize,
    raw: &str,
) -> Option<IdentityId> {
    let field = format!("items[{i}].identity_id");
    let id = v.id(&field, IdentityId::parse(raw))?;
    if let Some(first) = seen.insert(id.to_string(), i) {
        v.add(field, format!("names the same identity as items[{first}]"));
        return None;
    }
    Some(id)
}

/// The organization, validated and authorized.
async fn organization(
    ctx: &Ctx,
    principal: &Principal,
    org: Option<OrgId>,
) -> Result<OrgId, Status> {
    let org = checked(org, "organization_id")?;
    authz::require_org_admin(ctx, principal, &org).await?;
    Ok(org)
}

/// The item's status and outcome: OK, or the status the single call
/// would answer (code, message, ErrorInfo/BadRequest details) as a
/// google.rpc.Status compatible message.
fn split(result: Result<ItemDone>) -> (pb::ItemStatus, Option<ItemDone>) {
    let err = match result {
        Ok(done) => return (pb::ItemStatus::default(), Some(done)),
        Err(e) => e,
    };
    let status = Status::from(err);
    // `details()` is an encoded google.rpc.Status (code, message,
    // details); ItemStatus has the same fields and numbers.
    let item = pb::ItemStatus::decode(status.details()).unwrap_or_else(|_| pb::ItemStatus {
        code: status.code() as i32,
        message: status.message().to_owned(),
        details: Vec::new(),
    });
    (item, None)
}

/// Runs the batch and shapes the results; an atomic batch (not
/// validate_only) with a refused item fails with that item's status.
async fn run<R>(
    ctx: &Ctx,
    principal: &Principal,
    org: &OrgId,
    items: Vec<BatchItem>,
    mode: BatchMode,
    mut result: impl FnMut(pb::ItemStatus, Option<ItemDone>) -> R,
) -> Result<(Vec<R>, pb::BatchSummary, bool), Status> {
    let BatchOutcome { items, applied } = ctx
        .store
        .batch_members(principal.actor(), org, &items, mode)
        .await?;
    let outcome = BatchOutcome { items, applied };
    let failed = outcome.failed();
    let mut items = outcome.items;
    if mode.atomic
        && !mode.validate_only
        && let Some(&first) = failed.first()
        && let Some(Err(err)) = items.drain(first..).next()
    {
        return Err(batch_item_failure(err, first, &failed));
    }
    let summary = pb::BatchSummary {
        succeeded: (items.len() - failed.len()) as i32,
        failed: failed.len() as i32,
    };
    let results = items
        .into_iter()
        .map(|r| {
            let (status, done) = split(r);
            result(status, done)
        })
        .collect();
    Ok((results, summary, !applied))
}

fn member(done: Option<ItemDone>) -> Option<pb::Member> {
    match done {
        Some(ItemDone::Member(m)) => Some(m.into()),
        _ => None,
    }
}

/// W4: BatchAddMembers.
pub(super) async fn batch_add_members(
    ctx: &Ctx,
    request: Request<pb::BatchAddMembersRequest>,
) -> Result<Response<pb::BatchAddMembersResponse>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let org = v.id("organization_id", OrgId::parse(&req.organization_id));
    let mut items = Vec::new();
    if item_count(&mut v, req.items.len()) {
        let mut seen = HashMap::with_capacity(req.items.len());
        for (i, item) in req.items.iter().enumerate() {
            let id = item_identity(&mut v, &mut seen, i, &item.identity_id);
            let role = convert::optional_enum(
                &mut v,
                &format!("items[{i}].role"),
                item.role,
                role_from_pb,
            )
            .unwrap_or(MemberRole::Member);
            if let Some(identity) = id {
                items.push(BatchItem::Add { identity, role });
            }
        }
    }
    v.finish()?;
    let org = organization(ctx, &principal, org).await?;
    let mode = BatchMode {
        atomic: req.atomic,
        validate_only: req.validate_only,
    };
    let (results, summary, validate_only) =
        run(ctx, &principal, &org, items, mode, |status, done| {
            pb::AddMemberResult {
                status: Some(status),
                member: member(done),
            }
        })
        .await?;
    Ok(Response::new(pb::BatchAddMembersResponse {
        results,
        summary: Some(summary),
        validate_only,
    }))
}

fn deactivation_reason(v: &mut Violations, field: &str, raw: i32) -> domain::DeactivationReason {
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

/// W4: BatchDeactivateMembers.
pub(super) async fn batch_deactivate_members(
    ctx: &Ctx,
    request: Request<pb::BatchDeactivateMembersRequest>,
) -> Result<Response<pb::BatchDeactivateMembersResponse>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let org = v.id("organization_id", OrgId::parse(&req.organization_id));
    let mut items = Vec::new();
    if item_count(&mut v, req.items.len()) {
        let now = ctx.store.now_ms();
        let mut seen = HashMap::with_capacity(req.items.len());
        for (i, item) in req.items.iter().enumerate() {
            let id = item_identity(&mut v, &mut seen, i, &item.identity_id);
            let reason = deactivation_reason(&mut v, &format!("items[{i}].reason"), item.reason);
            let note = validate::note(&mut v, &format!("items[{i}].note"), &item.note, MAX_NOTE);
            let field = format!("items[{i}].expected_return_time");
            let expected_return_ms = item.expected_return_time.as_ref().and_then(|t| {
                let ms = convert::from_ts(&mut v, &field, t)?.timestamp_millis();
                if ms <= now {
                    v.add(&field, "must be in the future");
                }
                Some(ms)
            });
            let successor = successor(
                &mut v,
                &format!("items[{i}].successor_identity_id"),
                &item.successor_identity_id,
                id.as_ref(),
            );
            if let Some(identity) = id {
                items.push(BatchItem::Deactivate {
                    identity,
                    input: DeactivationInput {
                        reason,
                        note,
                        expected_return_ms,
                    },
                    successor,
                });
            }
        }
    }
    v.finish()?;
    let org = organization(ctx, &principal, org).await?;
    let mode = BatchMode {
        atomic: req.atomic,
        validate_only: req.validate_only,
    };
    let (results, summary, validate_only) =
        run(ctx, &principal, &org, items, mode, |status, done| {
            pb::DeactivateMemberResult {
                status: Some(status),
                member: member(done),
            }
        })
        .await?;
    Ok(Response::new(pb::BatchDeactivateMembersResponse {
        results,
        summary: Some(summary),
        validate_only,
    }))
}

/// W4: BatchRemoveMembers.
pub(super) async fn batch_remove_members(
    ctx: &Ctx,
    request: Request<pb::BatchRemoveMembersRequest>,
) -> Result<Response<pb::BatchRemoveMembersResponse>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let org = v.id("organization_id", OrgId::parse(&req.organization_id));
    let mut items = Vec::new();
    if item_count(&mut v, req.items.len()) {
        let mut seen = HashMap::with_capacity(req.items.len());
        for (i, item) in req.items.iter().enumerate() {
            let id = item_identity(&mut v, &mut seen, i, &item.identity_id);
            let successor = successor(
                &mut v,
                &format!("items[{i}].successor_identity_id"),
                &item.successor_identity_id,
                id.as_ref(),
            );
            if let Some(identity) = id {
                items.push(BatchItem::Remove {
                    identity,
                    successor,
                });
            }
        }
    }
    v.finish()?;
    let org = organization(ctx, &principal, org).await?;
    let mode = BatchMode {
        atomic: req.atomic,
        validate_only: req.validate_only,
    };
    let n = |x: u64| x.min(i32::MAX as u64) as i32;
    let (results, summary, validate_only) =
        run(ctx, &principal, &org, items, mode, |status, done| {
            pb::RemoveMemberResult {
                status: Some(status),
                removal: match done {
                    Some(ItemDone::Removal(r)) => Some(pb::RemoveMemberResponse {
                        rooms_left: n(r.rooms_left),
                        assignments_dropped: n(r.assignments_dropped),
                        successor_room_ids: r
                            .successor_rooms
                            .into_iter()
                            .map(|r| r.to_string())
                            .collect(),
                        seat_freed: r.seat_freed,
                        undo_expire_time: convert::opt_ts(r.undo_until),
                    }),
                    _ => None,
                },
            }
        })
        .await?;
    Ok(Response::new(pb::BatchRemoveMembersResponse {
        results,
        summary: Some(summary),
        validate_only,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate::MAX_BATCH;

    #[test]
    fn w4_duplicate_identity_names_the_repeat() {
        let mut v = Violations::new();
        let mut seen = HashMap::new();
        assert!(item_identity(&mut v, &mut seen, 0, "ABCD1234").is_some());
        assert!(item_identity(&mut v, &mut seen, 1, "ABCD1235").is_some());
        assert!(item_identity(&mut v, &mut seen, 2, "ABCD1234").is_none());
        let err = v.finish().unwrap_err().to_string();
        assert!(err.contains("items[2].identity_id"), "{err}");
    }

    #[test]
    fn w4_more_than_the_maximum_is_refused_before_the_items() {
        let mut v = Violations::new();
        assert!(!item_count(&mut v, MAX_BATCH + 1));
        assert!(item_count(&mut Violations::new(), MAX_BATCH));
    }
}
