//! W3, scheduled changes: ScheduleMemberChange, ListScheduledChanges,
//! CancelScheduledChange, the scheduler's run of what is due, and the
//! reminder of a deactivation's expected return.
//!
//! **Exactly once across replicas.** A due change is claimed inside the
//! very write transaction that applies it: PostgreSQL `SELECT … FOR UPDATE
//! SKIP LOCKED LIMIT 1` on a PENDING row (a replica never waits for
//! another's claim, and one whose row version became DONE under it is
//! re-checked and skipped), SQLite a plain SELECT under the one writer's
//! `BEGIN IMMEDIATE`. The change runs through the same store steps as
//! DeactivateMember (`plan_and_guard`, `apply_deactivation`), RemoveMember
//! (`plan_and_guard`, `apply_removal`) or OffboardIdentity (`offboard_in`),
//! guards re-checked under their locks, and the row turns DONE in that
//! same transaction: a commit is both, a rollback neither.
//!
//! **No partial effect.** The change runs inside a savepoint. A refusal
//! (a guard, the member gone, a seat rule …) rolls back to it, dropping its
//! writes and events, and the same transaction, still holding the claim,
//! marks the row FAILED with the refusal's reason code and emits
//! SCHEDULED_CHANGE_FAILED. A database fault (unavailable, internal) fails
//! the transaction as a whole: the row stays PENDING for the next poll.
//!
//! Lock order: the scheduled change's row comes first, then the change's
//! own (identities → organizations → license packages).

use sea_orm::{QueryResult, Value};

use super::offboard_identity::{OffboardRequest, offboard_in};
use super::offboarding::{
    DeactivationInput, OffboardingAction, apply_deactivation, apply_removal, plan_and_guard,
};
use super::records::{identity_not_found, load_member, member_not_found, org_not_found};
use super::rows::{one, rows};
use super::{Store, Txn, to_time};
use crate::domain::{
    Actor, ActorKind, DeactivationReason, Error, EventType, IdentityId, NewEvent, OrgId, PackageId,
    Page, PageRequest, Reason, Result, ScheduledAction, ScheduledChange, ScheduledChangeId,
    ScheduledChangeState,
};

/// A change to schedule, already validated.
#[derive(Debug, Clone)]
pub struct NewScheduledChange {
    /// The member (the leaver).
    pub identity: IdentityId,
    /// What to do.
    pub action: ScheduledAction,
    /// When, ms since the epoch (in the future).
    pub run_at_ms: i64,
    /// IANA name, for display.
    pub time_zone: Option<String>,
}

/// Which scheduled changes ListScheduledChanges reads.
#[derive(Debug, Clone)]
pub enum ScheduleScope {
    /// An organization's deactivations and removals.
    Org(OrgId),
    /// A package's OffboardIdentity changes.
    Package(PackageId),
}

/// What one run of the scheduler did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedulerRun {
    /// Changes that ran (DONE).
    pub done: u64,
    /// Changes that could no longer apply (FAILED).
    pub failed: u64,
    /// DEACTIVATION_RETURN_DUE reminders sent.
    pub reminded: u64,
}

/// Reminders sent per transaction.
const REMINDER_BATCH: usize = 100;

const COLS: &str = "id, kind, organization_id, package_id, identity_id, action, \
     deactivation_reason, note, expected_return_at, successor_id, transfer_to, run_at, time_zone, \
     state, failure_reason, failure_message, created_by_kind, created_by_id, created_at, ran_at, \
     cancelled_at, cancelled_by_kind, cancelled_by_id";

fn actor_from(kind: Option<String>, id: Option<String>) -> Option<Actor> {
    Some(Actor {
        kind: ActorKind::from_db(&kind?).unwrap_or(ActorKind::System),
        id: id.unwrap_or_default(),
    })
}

fn from_row(r: &QueryResult) -> Result<ScheduledChange> {
    let get = |c: &str| -> Result<String> { Ok(r.try_get::<String>("", c)?) };
    let opt = |c: &str| -> Result<Option<String>> { Ok(r.try_get::<Option<String>>("", c)?) };
    let ids = |c: &str| -> Result<Option<IdentityId>> { Ok(opt(c)?.map(IdentityId::from_trusted)) };
    let org = || -> Result<OrgId> {
        opt("organization_id")?
            .map(OrgId::from_trusted)
            .ok_or_else(|| Error::Internal("scheduled change without organization".to_owned()))
    };
    let action = match get("kind")?.as_str() {
        "DEACTIVATE" => ScheduledAction::Deactivate {
            org: org()?,
            reason: opt("deactivation_reason")?
                .and_then(|s| DeactivationReason::from_db(&s))
                .unwrap_or(DeactivationReason::Other),
            note: opt("note")?.unwrap_or_default(),
            expected_return_ms: r.try_get("", "expected_return_at")?,
            successor: ids("successor_id")?,
        },
        "REMOVE" => ScheduledAction::Remove {
            org: org()?,
            successor: ids("successor_id")?,
        },
        _ => ScheduledAction::OffboardIdentity {
            package: PackageId::from_trusted(get("package_id")?),
            action: if opt("action")?.as_deref() == Some("REMOVE") {
                OffboardingAction::Remove
            } else {
                OffboardingAction::Deactivate
            },
            successor: ids("successor_id")?,
            transfer_to: ids("transfer_to")?,
        },
    };
    let time = |c: &str| -> Result<Option<crate::domain::Timestamp>> {
        Ok(r.try_get::<Option<i64>>("", c)?.map(to_time))
    };
    Ok(ScheduledChange {
        id: ScheduledChangeId::from_trusted(get("id")?),
        identity: IdentityId::from_trusted(get("identity_id")?),
        package: PackageId::from_trusted(get("package_id")?),
        action,
        run_at: to_time(r.try_get("", "run_at")?),
        time_zone: opt("time_zone")?,
        state: ScheduledChangeState::from_db(&get("state")?)
            .unwrap_or(ScheduledChangeState::Failed),
        failure_reason: opt("failure_reason")?,
        failure_message: opt("failure_message")?,
        created_by: actor_from(Some(get("created_by_kind")?), Some(get("created_by_id")?))
            .unwrap_or_else(Actor::system),
        created_at: to_time(r.try_get("", "created_at")?),
        ran_at: time("ran_at")?,
        cancelled_by: actor_from(opt("cancelled_by_kind")?, opt("cancelled_by_id")?),
        cancelled_at: time("cancelled_at")?,
    })
}

fn not_found(id: &ScheduledChangeId) -> Error {
    Error::not_found(
        Reason::ScheduledChangeNotFound,
        format!("scheduled change {id} does not exist"),
    )
}

/// An event about scheduled change `c`: subject its ID, the member, and
/// the organization (deactivation, removal) or the package (OffboardIdentity),
/// so the admins who may schedule it see it.
fn change_event(kind: EventType, c: &ScheduledChange) -> NewEvent {
    let mut event = NewEvent::new(kind, c.id.as_str())
        .identity(&c.identity)
        .package(&c.package)
        .attr("kind", c.action.kind());
    if let Some(org) = c.action.org() {
        event = event.org(org);
    }
    event
}

/// Whether `e` is a refusal of the change (it fails the scheduled change)
/// rather than a database fault (the change stays PENDING and is tried
/// again).
fn is_refusal(e: &Error) -> bool {
    !matches!(
        e,
        Error::Aborted(_) | Error::Unavailable(_) | Error::Internal(_)
    )
}

/// Runs `c` inside `txn` through the single calls' own steps.
async fn apply(txn: &mut Txn, c: &ScheduledChange) -> Result<()> {
    match &c.action {
        ScheduledAction::Deactivate {
            org,
            reason,
            note,
            expected_return_ms,
            successor,
        } => {
            let (m, package, plan) = plan_and_guard(
                txn,
                OffboardingAction::Deactivate,
                org,
                &c.identity,
                successor.as_ref(),
                None,
            )
            .await?;
            let input = DeactivationInput {
                reason: *reason,
                note: note.clone(),
                expected_return_ms: *expected_return_ms,
            };
            apply_deactivation(txn, m, &package, &plan, &input, successor.as_ref()).await?;
        }
        ScheduledAction::Remove { org, successor } => {
            let (_, package, plan) = plan_and_guard(
                txn,
                OffboardingAction::Remove,
                org,
                &c.identity,
                successor.as_ref(),
                None,
            )
            .await?;
            apply_removal(txn, org, &c.identity, &package, &plan, successor.as_ref()).await?;
        }
        ScheduledAction::OffboardIdentity {
            package,
            action,
            successor,
            transfer_to,
        } => {
            let req = OffboardRequest {
                identity: c.identity.clone(),
                package: package.clone(),
                action: *action,
                successor: successor.clone(),
                transfer_to: transfer_to.clone(),
                validate_only: false,
            };
            offboard_in(txn, &req).await?;
            // An identity with nothing left to offboard is no refusal: the
            // change is DONE, and its SCHEDULED_CHANGE_EXECUTED commits.
            txn.something_changed();
        }
    }
    Ok(())
}

/// What happened to one claimed change.
enum Ran {
    Done,
    Failed,
}

impl Store {
    /// W3: records a change to run at `new.run_at_ms` (PENDING) and emits
    /// SCHEDULED_CHANGE_CREATED. The organization and the member (or the
    /// identity and the package) must exist now; everything else is
    /// checked when the change runs.
    pub async fn schedule_change(
        &self,
        actor: Actor,
        new: NewScheduledChange,
    ) -> Result<ScheduledChange> {
        let new = &new;
        self.write(&actor, |mut txn| async move {
            let package = match &new.action {
                ScheduledAction::Deactivate { org, .. } | ScheduledAction::Remove { org, .. } => {
                    let row = one(
                        txn.conn(),
                        "SELECT package_id FROM organizations WHERE id = ?",
                        vec![org.as_str().into()],
                    )
                    .await?
                    .ok_or_else(|| org_not_found(org))?;
                    if load_member(txn.conn(), org, &new.identity).await?.is_none() {
                        return Err(member_not_found(org, &new.identity));
                    }
                    PackageId::from_trusted(row.try_get("", "package_id")?)
                }
                ScheduledAction::OffboardIdentity { package, .. } => {
                    let known = one(
                        txn.conn(),
                        "SELECT (SELECT COUNT(*) FROM identities WHERE id = ?) AS identities, \
                                (SELECT COUNT(*) FROM license_packages WHERE id = ?) AS packages",
                        vec![new.identity.as_str().into(), package.as_str().into()],
                    )
                    .await?
                    .ok_or_else(|| Error::Internal("count query returned no row".to_owned()))?;
                    if known.try_get::<i64>("", "identities")? == 0 {
                        return Err(identity_not_found(&new.identity));
                    }
                    if known.try_get::<i64>("", "packages")? == 0 {
                        return Err(Error::not_found(
                            Reason::PackageNotFound,
                            format!("license package {package} does not exist"),
                        ));
                    }
                    package.clone()
                }
            };
            let now = txn.now_ms();
            let change = ScheduledChange {
                id: ScheduledChangeId::generate(),
                identity: new.identity.clone(),
                package,
                action: new.action.clone(),
                run_at: to_time(new.run_at_ms),
                time_zone: new.time_zone.clone(),
                state: ScheduledChangeState::Pending,
                failure_reason: None,
                failure_message: None,
                created_by: txn.actor().clone(),
                created_at: to_time(now),
                ran_at: None,
                cancelled_by: None,
                cancelled_at: None,
            };
            insert(&txn, &change, new.run_at_ms, now).await?;
            let mut event = change_event(EventType::ScheduledChangeCreated, &change)
                .attr("schedule_time", change.run_at.to_rfc3339());
            if let Some(tz) = &change.time_zone {
                event = event.attr("time_zone", tz.as_str());
            }
            txn.emit(event);
            Ok((txn, change))
        })
        .await
    }

    /// W3: one scheduled change.
    pub async fn get_scheduled_change(&self, id: &ScheduledChangeId) -> Result<ScheduledChange> {
        let row = one(
            &self.db,
            &format!("SELECT {COLS} FROM scheduled_changes WHERE id = ?"),
            vec![id.as_str().into()],
        )
        .await?
        .ok_or_else(|| not_found(id))?;
        from_row(&row)
    }

    /// W3: the scheduled changes of `scope` by due time (then ID), in
    /// `state` when given.
    pub async fn list_scheduled_changes(
        &self,
        scope: &ScheduleScope,
        state: Option<ScheduledChangeState>,
        page: &PageRequest,
    ) -> Result<Page<ScheduledChange>> {
        let mut sql = format!("SELECT {COLS} FROM scheduled_changes WHERE ");
        let mut values: Vec<Value> = Vec::new();
        match scope {
            ScheduleScope::Org(org) => {
                self.get_organization(org).await?;
                sql.push_str("organization_id = ?");
                values.push(org.as_str().into());
            }
            ScheduleScope::Package(package) => {
                sql.push_str("package_id = ? AND kind = 'OFFBOARD_IDENTITY'");
                values.push(package.as_str().into());
            }
        }
        if let Some(state) = state {
            sql.push_str(" AND state = ?");
            values.push(state.as_str().into());
        }
        // The key: `<run_at>:<id>`.
        if let Some((at, id)) = page
            .after
            .as_deref()
            .and_then(|k| k.split_once(':'))
            .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_owned())))
        {
            sql.push_str(" AND (run_at > ? OR (run_at = ? AND id > ?))");
            values.extend([at.into(), at.into(), id.into()]);
        }
        sql.push_str(" ORDER BY run_at, id LIMIT ?");
        values.push(((page.size + 1) as i64).into());
        let items = rows(&self.db, &sql, values)
            .await?
            .iter()
            .map(from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::from_overfetch(items, page.size, |c| {
            format!("{}:{}", c.run_at.timestamp_millis(), c.id)
        }))
    }

    /// W3: cancels a PENDING change (CANCELLED, SCHEDULED_CHANGE_CANCELLED);
    /// anything else is refused with SCHEDULED_CHANGE_NOT_PENDING. Waits
    /// for a scheduler that holds the row, then sees its outcome.
    pub async fn cancel_scheduled_change(
        &self,
        actor: Actor,
        id: &ScheduledChangeId,
    ) -> Result<ScheduledChange> {
        self.write(&actor, |mut txn| async move {
            let sql = format!(
                "SELECT {COLS} FROM scheduled_changes WHERE id = ?{}",
                txn.for_update()
            );
            let row = txn
                .query_one(&sql, vec![id.as_str().into()])
                .await?
                .ok_or_else(|| not_found(id))?;
            let mut change = from_row(&row)?;
            if change.state != ScheduledChangeState::Pending {
                return Err(Error::FailedPrecondition {
                    reason: Reason::ScheduledChangeNotPending,
                    message: format!(
                        "scheduled change {id} is {}, not PENDING: only a pending change can \
                         be cancelled",
                        change.state.as_str()
                    ),
                    metadata: vec![("state", change.state.as_str().to_owned())],
                });
            }
            let now = txn.now_ms();
            let by = txn.actor().clone();
            txn.exec(
                "UPDATE scheduled_changes SET state = 'CANCELLED', cancelled_at = ?, \
                 cancelled_by_kind = ?, cancelled_by_id = ? WHERE id = ?",
                vec![
                    now.into(),
                    by.kind.as_str().into(),
                    by.id.clone().into(),
                    id.as_str().into(),
                ],
            )
            .await?;
            change.state = ScheduledChangeState::Cancelled;
            change.cancelled_at = Some(to_time(now));
            change.cancelled_by = Some(by);
            txn.emit(change_event(EventType::ScheduledChangeCancelled, &change));
            Ok((txn, change))
        })
        .await
    }

    /// Whether anything is due at the store's now: a change to run or a
    /// reminder to send (one cheap read, outside any transaction, so an
    /// idle poll takes no write lock).
    pub async fn scheduler_has_work(&self) -> Result<bool> {
        let now = self.now_ms();
        let row = one(
            &self.db,
            &format!(
                "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM scheduled_changes \
                         WHERE state = 'PENDING' AND run_at <= ? LIMIT 1) d) AS due, \
                        (SELECT COUNT(*) FROM (SELECT 1 FROM members WHERE {REMINDER_DUE} \
                         LIMIT 1) r) AS reminders"
            ),
            vec![now.into(), now.into()],
        )
        .await?;
        Ok(match row {
            Some(r) => r.try_get::<i64>("", "due")? + r.try_get::<i64>("", "reminders")? > 0,
            None => false,
        })
    }

    /// W3: runs every change due at the store's now, one transaction each
    /// (see the module documentation), then sends the due reminders of
    /// expected returns. Acts as [`Actor::scheduler`].
    pub async fn run_scheduled(&self) -> Result<SchedulerRun> {
        let mut run = SchedulerRun::default();
        let actor = Actor::scheduler();
        loop {
            let ran = self
                .write(&actor, |mut txn| async move {
                    let ran = run_one(&mut txn).await?;
                    if ran.is_none() {
                        txn.nothing_changed();
                    }
                    Ok((txn, ran))
                })
                .await?;
            match ran {
                Some(Ran::Done) => run.done += 1,
                Some(Ran::Failed) => run.failed += 1,
                None => break,
            }
        }
        loop {
            let sent = self
                .write(&actor, |mut txn| async move {
                    let sent = send_reminders(&mut txn).await?;
                    if sent == 0 {
                        txn.nothing_changed();
                    }
                    Ok((txn, sent))
                })
                .await?;
            run.reminded += sent as u64;
            if sent < REMINDER_BATCH {
                break;
            }
        }
        Ok(run)
    }
}

/// The columns that depend on the kind of change.
#[derive(Default)]
struct KindColumns<'a> {
    reason: Option<&'static str>,
    note: Option<String>,
    expected_return: Option<i64>,
    successor: Option<&'a IdentityId>,
    transfer_to: Option<&'a IdentityId>,
    action: Option<&'static str>,
}

async fn insert(txn: &Txn, c: &ScheduledChange, run_at: i64, now: i64) -> Result<()> {
    let KindColumns {
        reason,
        note,
        expected_return,
        successor,
        transfer_to,
        action,
    } = match &c.action {
        ScheduledAction::Deactivate {
            reason,
            note,
            expected_return_ms,
            successor,
            ..
        } => KindColumns {
            reason: Some(reason.as_str()),
            note: (!note.is_empty()).then(|| note.clone()),
            expected_return: *expected_return_ms,
            successor: successor.as_ref(),
            ..Default::default()
        },
        ScheduledAction::Remove { successor, .. } => KindColumns {
            successor: successor.as_ref(),
            ..Default::default()
        },
        ScheduledAction::OffboardIdentity {
            action,
            successor,
            transfer_to,
            ..
        } => KindColumns {
            successor: successor.as_ref(),
            transfer_to: transfer_to.as_ref(),
            action: Some(match action {
                OffboardingAction::Deactivate => "DEACTIVATE",
                OffboardingAction::Remove => "REMOVE",
            }),
            ..Default::default()
        },
    };
    let id_text = |i: Option<&IdentityId>| -> Value { i.map(|i| i.to_string()).into() };
    txn.exec(
        "INSERT INTO scheduled_changes (id, kind, organization_id, package_id, identity_id, \
         action, deactivation_reason, note, expected_return_at, successor_id, transfer_to, \
         run_at, time_zone, state, created_by_kind, created_by_id, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', ?, ?, ?)",
        vec![
            c.id.as_str().into(),
            c.action.kind().into(),
            c.action.org().map(|o| o.to_string()).into(),
            c.package.as_str().into(),
            c.identity.as_str().into(),
            action.map(str::to_owned).into(),
            reason.map(str::to_owned).into(),
            note.into(),
            expected_return.into(),
            id_text(successor),
            id_text(transfer_to),
            run_at.into(),
            c.time_zone.clone().into(),
            c.created_by.kind.as_str().into(),
            c.created_by.id.clone().into(),
            now.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Claims the next due PENDING change and runs it (see the module
/// documentation); `None` when nothing is due.
async fn run_one(txn: &mut Txn) -> Result<Option<Ran>> {
    let skip_locked = if txn.for_update().is_empty() {
        ""
    } else {
        " FOR UPDATE SKIP LOCKED"
    };
    let sql = format!(
        "SELECT {COLS} FROM scheduled_changes WHERE state = 'PENDING' AND run_at <= ? \
         ORDER BY run_at, id LIMIT 1{skip_locked}"
    );
    let Some(row) = txn.query_one(&sql, vec![txn.now_ms().into()]).await? else {
        return Ok(None);
    };
    let change = from_row(&row)?;
    let scheduled_by = change.created_by.label();
    let events = txn.events_pending();
    txn.exec("SAVEPOINT w3_change", Vec::new()).await?;
    let outcome = apply(txn, &change).await;
    let now = txn.now_ms();
    match outcome {
        Ok(()) => {
            txn.exec("RELEASE SAVEPOINT w3_change", Vec::new()).await?;
            txn.tag_events_since(events, "scheduled_change_id", change.id.as_str());
            txn.tag_events_since(events, "scheduled_by", &scheduled_by);
            txn.exec(
                "UPDATE scheduled_changes SET state = 'DONE', ran_at = ? WHERE id = ?",
                vec![now.into(), change.id.as_str().into()],
            )
            .await?;
            txn.emit(
                change_event(EventType::ScheduledChangeExecuted, &change)
                    .attr("scheduled_by", scheduled_by),
            );
            tracing::info!(scheduled_change = %change.id, kind = change.action.kind(), "scheduled change ran");
            Ok(Some(Ran::Done))
        }
        Err(e) if is_refusal(&e) => {
            txn.exec("ROLLBACK TO SAVEPOINT w3_change", Vec::new())
                .await?;
            txn.exec("RELEASE SAVEPOINT w3_change", Vec::new()).await?;
            txn.rewind_events(events);
            txn.something_changed();
            let reason = e.reason().unwrap_or(Reason::Internal).as_str();
            let message = e.to_string();
            txn.exec(
                "UPDATE scheduled_changes SET state = 'FAILED', ran_at = ?, failure_reason = ?, \
                 failure_message = ? WHERE id = ?",
                vec![
                    now.into(),
                    reason.into(),
                    message.clone().into(),
                    change.id.as_str().into(),
                ],
            )
            .await?;
            txn.emit(
                change_event(EventType::ScheduledChangeFailed, &change)
                    .reason(reason)
                    .attr("message", message)
                    .attr("scheduled_by", scheduled_by),
            );
            tracing::warn!(scheduled_change = %change.id, reason, "scheduled change could no longer apply");
            Ok(Some(Ran::Failed))
        }
        Err(fault) => Err(fault),
    }
}

/// Deactivated members whose expected return has passed (`?`: now) and
/// whose deactivation has had no reminder yet.
const REMINDER_DUE: &str = "state = 'DEACTIVATED' AND expected_return_at IS NOT NULL \
     AND expected_return_at <= ? \
     AND (return_reminded_at IS NULL OR return_reminded_at < deactivated_at)";

/// Sends up to [`REMINDER_BATCH`] DEACTIVATION_RETURN_DUE reminders, each
/// member row claimed like a scheduled change (PostgreSQL `SKIP LOCKED`,
/// the condition re-checked on the row's newest version) and marked sent.
async fn send_reminders(txn: &mut Txn) -> Result<usize> {
    let skip_locked = if txn.for_update().is_empty() {
        ""
    } else {
        " FOR UPDATE SKIP LOCKED"
    };
    let now = txn.now_ms();
    let due = txn
        .query_all(
            &format!(
                "SELECT organization_id, identity_id, package_id, expected_return_at, \
                 deactivation_reason FROM members WHERE {REMINDER_DUE} \
                 ORDER BY expected_return_at, organization_id, identity_id LIMIT ?{skip_locked}"
            ),
            vec![now.into(), (REMINDER_BATCH as i64).into()],
        )
        .await?;
    for row in &due {
        let org = OrgId::from_trusted(row.try_get("", "organization_id")?);
        let identity = IdentityId::from_trusted(row.try_get("", "identity_id")?);
        let package = PackageId::from_trusted(row.try_get("", "package_id")?);
        let expected: i64 = row.try_get("", "expected_return_at")?;
        let reason: Option<String> = row.try_get("", "deactivation_reason")?;
        txn.exec(
            "UPDATE members SET return_reminded_at = ? \
             WHERE organization_id = ? AND identity_id = ?",
            vec![now.into(), org.as_str().into(), identity.as_str().into()],
        )
        .await?;
        txn.emit(
            NewEvent::new(EventType::DeactivationReturnDue, identity.as_str())
                .identity(&identity)
                .org(&org)
                .package(&package)
                .reason(reason.unwrap_or_default())
                .attr("expected_return_time", to_time(expected).to_rfc3339()),
        );
    }
    Ok(due.len())
}
