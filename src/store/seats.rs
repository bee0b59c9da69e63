//! Seats (L6): an identity holds one seat of a package while it is
//! attached (the rule: `domain::policy::seat_held`; in SQL:
//! `rules::seat_holding_membership`). Attaching takes the package row lock and a conditional
//! increment, so N parallel attaches for K free seats give exactly K; a
//! seat is released only when neither a sign-in attachment nor an active
//! membership in any organization bound to the package holds it.

use crate::domain::{
    AttachMethod, CredentialId, Error, EventType, IdentityId, NewEvent, PackageId, Reason, Result,
};

use super::rules::seat_holding_membership;
use super::{Txn, events};

/// Attaches `identity` to `package` if it is not attached yet, taking a
/// seat. With `AttachMethod::SignIn` the attachment also becomes a sign-in
/// attachment (kept until detach or revocation). Returns whether a seat was
/// newly taken. Fails with SEAT_LIMIT_REACHED when none is free; the caller
/// must then drop the transaction.
///
/// On PostgreSQL the statement that decides takes the package row lock
/// itself, before it looks ([`insert_attachment`]): a caller that changed
/// a member row first (ReactivateMember) does not hold the lock over that
/// change's round trip, and so no writer of the package waits for it.
pub async fn attach(
    txn: &mut Txn,
    package: &PackageId,
    identity: &IdentityId,
    method: AttachMethod,
    credential: Option<&CredentialId>,
) -> Result<bool> {
    let not_found = || {
        Error::not_found(
            Reason::PackageNotFound,
            format!("license package {package} does not exist"),
        )
    };
    if txn.backend() != sea_orm::DbBackend::Postgres
        && !txn
            .lock_row("license_packages", "id", package.as_str())
            .await?
    {
        return Err(not_found());
    }
    let now = txn.now_ms();
    let signed_in = method == AttachMethod::SignIn;
    let event = NewEvent::new(EventType::IdentityAttached, identity.as_str())
        .identity(identity)
        .package(package)
        .reason(method.as_str());
    let seat = insert_attachment(txn, package, identity, method, credential, event).await?;
    if !seat.found {
        return Err(not_found());
    }
    if seat.inserted {
        if !seat.took {
            return Err(Error::exhausted(
                Reason::SeatLimitReached,
                format!("license package {package} has no free seat"),
            ));
        }
        if let Some(event) = seat.event {
            txn.emit(event);
        }
    } else if signed_in {
        txn.exec(
            "UPDATE attachments SET signed_in = ?, credential_id = ?, last_seen_at = ? \
             WHERE package_id = ? AND identity_id = ?",
            vec![
                true.into(),
                credential.map(|c| c.to_string()).into(),
                now.into(),
                package.as_str().into(),
                identity.as_str().into(),
            ],
        )
        .await?;
    }
    Ok(seat.inserted)
}

/// Frees `identity`'s seat in `package` when nothing holds it any more: no
/// sign-in attachment and no ACTIVE membership in any organization bound to
/// the package (the enterprise rule). Returns whether the seat was freed.
///
/// The rule is read under the package row lock, with a snapshot taken
/// after it: on PostgreSQL `roster_seat_held` (migration 13) locks and
/// then reads, inside the one statement that deletes the attachment, so
/// of two changes to the same identity in two organizations the later
/// one sees the earlier one's commit, and the lock is held from that
/// statement to the commit only (not over the caller's member update).
pub async fn release_if_unheld(
    txn: &mut Txn,
    package: &PackageId,
    identity: &IdentityId,
    reason: &str,
) -> Result<bool> {
    let event = NewEvent::new(EventType::IdentityDetached, identity.as_str())
        .identity(identity)
        .package(package)
        .reason(reason);
    let event = if txn.backend() == sea_orm::DbBackend::Postgres {
        // One round trip under the package lock (the count follows the
        // deletion); `lk` orders the package lock before the event lock
        // when the statement inserts the events too.
        let values: Vec<sea_orm::Value> = vec![
            package.as_str().into(),
            package.as_str().into(),
            identity.as_str().into(),
            false.into(),
            package.as_str().into(),
            identity.as_str().into(),
            package.as_str().into(),
        ];
        let ctes = "lk AS MATERIALIZED (SELECT roster_lock_package(?) AS ok), \
             d AS (DELETE FROM attachments WHERE package_id = ? AND identity_id = ? \
                   AND signed_in = ? AND NOT roster_seat_held(?, ?) RETURNING 1), \
             u AS (UPDATE license_packages SET seats_used = seats_used - 1 \
                   WHERE id = ? AND EXISTS (SELECT 1 FROM d) RETURNING 1)";
        let cols = "(SELECT COUNT(*) FROM u) AS freed";
        let changed = "EXISTS (SELECT 1 FROM u)";
        let (row, event) = seat_statement(txn, ctes, cols, values, event, changed, true).await?;
        if row.try_get::<i64>("", "freed")? == 0 {
            return Ok(false);
        }
        event
    } else {
        let unheld = format!(
            "DELETE FROM attachments WHERE package_id = ? AND identity_id = ? \
             AND signed_in = ? AND NOT EXISTS (SELECT 1 FROM members m WHERE {} \
             AND m.identity_id = ?)",
            seat_holding_membership("m")
        );
        let values: Vec<sea_orm::Value> = vec![
            package.as_str().into(),
            identity.as_str().into(),
            false.into(),
            package.as_str().into(),
            identity.as_str().into(),
        ];
        let deleted = txn.exec(&unheld, values).await?;
        if deleted == 0 {
            return Ok(false);
        }
        free_seats(txn, package, deleted).await?;
        Some(event)
    };
    if let Some(event) = event {
        txn.emit(event);
    }
    Ok(true)
}

/// PostgreSQL: runs the seat statement `WITH {ctes} SELECT {cols}` and
/// returns its row; `ctes` define `lk`, the package lock, which the event
/// CTEs read first (lock order: package, then events). Where the transaction allows it
/// ([`Txn::may_append_events`], and `may_append`), the same statement also
/// inserts the events emitted so far and `event`, the latter only where
/// `changed` (a condition over `ctes`) holds: the round trip of an event
/// insert of its own, which every writer of the package would wait for, is
/// saved. Returns `event` back when it is the caller's to emit (if the
/// change happened); `None` when the statement wrote it (if it did).
async fn seat_statement(
    txn: &mut Txn,
    ctes: &str,
    cols: &str,
    mut values: Vec<sea_orm::Value>,
    event: NewEvent,
    changed: &str,
    may_append: bool,
) -> Result<(sea_orm::QueryResult, Option<NewEvent>)> {
    let no_row = || Error::Internal("the seat statement returned no row".to_owned());
    if !(may_append && txn.may_append_events()) {
        let row = txn
            .query_one(&format!("WITH {ctes} SELECT {cols}"), values)
            .await?
            .ok_or_else(no_row)?;
        return Ok((row, Some(event)));
    }
    let mut events = txn.take_events();
    events.push(event);
    let (event_ctes, event_cols, event_values) = events::insert_ctes(
        &events,
        txn.actor(),
        txn.now_ms(),
        Some(changed),
        Some("lk"),
    );
    values.extend(event_values);
    let sql = format!("WITH {ctes}, {event_ctes} SELECT {cols}, {event_cols} FROM base");
    let row = txn.query_one(&sql, values).await?.ok_or_else(no_row)?;
    let last: i64 = row.try_get("", "events_last")?;
    let kept: i64 = row.try_get("", "events_kept")?;
    if kept < events.len() as i64 {
        events.pop();
    }
    txn.appended(events, last);
    Ok((row, None))
}

/// [`release_if_unheld`] for many (package, identity) pairs at once (the
/// inactivity sweep): package rows locked in ID order, then per package one
/// `DELETE … RETURNING` per 5,000 identities with the same rule, one
/// seat-count update per package, one IDENTITY_DETACHED event per freed
/// seat. Returns the pairs whose seat was freed.
pub async fn release_all_if_unheld(
    txn: &mut Txn,
    held: &[(PackageId, IdentityId)],
    reason: &str,
) -> Result<Vec<(PackageId, IdentityId)>> {
    let mut by_package: std::collections::BTreeMap<&PackageId, Vec<&IdentityId>> =
        std::collections::BTreeMap::new();
    for (package, identity) in held {
        by_package.entry(package).or_default().push(identity);
    }
    let mut freed = Vec::new();
    for (package, identities) in by_package {
        txn.lock_row("license_packages", "id", package.as_str())
            .await?;
        let mut n = 0;
        for chunk in identities.chunks(5000) {
            // `NOT IN (subquery)` rather than a correlated `NOT EXISTS`: the
            // subquery runs once (hashed), so the plan stays cheap even
            // before PostgreSQL has statistics for freshly loaded tables.
            let list = super::placeholders(chunk.len());
            let sql = format!(
                "DELETE FROM attachments WHERE package_id = ? AND signed_in = ? \
                 AND identity_id IN ({list}) \
                 AND identity_id NOT IN (SELECT m.identity_id FROM members m \
                     WHERE {held} AND m.identity_id IN ({list})) \
                 RETURNING identity_id",
                held = seat_holding_membership("m")
            );
            let ids = chunk.iter().map(|i| sea_orm::Value::from(i.as_str()));
            let mut values: Vec<sea_orm::Value> = vec![package.as_str().into(), false.into()];
            values.extend(ids.clone());
            values.push(package.as_str().into());
            values.extend(ids);
            for row in txn.query_all(&sql, values).await? {
                let identity: String = row.try_get("", "identity_id")?;
                freed.push((package.clone(), IdentityId::from_trusted(identity)));
                n += 1;
            }
        }
        if n > 0 {
            free_seats(txn, package, n).await?;
        }
    }
    freed.sort();
    for (package, identity) in &freed {
        txn.emit(
            NewEvent::new(EventType::IdentityDetached, identity.as_str())
                .identity(identity)
                .package(package)
                .reason(reason),
        );
    }
    Ok(freed)
}

/// Detaches `identity` from `package` whatever holds the seat (L4,
/// revocation) and ends that package's sessions for it. Returns whether it
/// was attached.
pub async fn detach(
    txn: &mut Txn,
    package: &PackageId,
    identity: &IdentityId,
    reason: &str,
) -> Result<bool> {
    txn.lock_row("license_packages", "id", package.as_str())
        .await?;
    let deleted = txn
        .exec(
            "DELETE FROM attachments WHERE package_id = ? AND identity_id = ?",
            vec![package.as_str().into(), identity.as_str().into()],
        )
        .await?;
    txn.exec(
        "DELETE FROM sessions WHERE package_id = ? AND identity_id = ?",
        vec![package.as_str().into(), identity.as_str().into()],
    )
    .await?;
    if deleted == 0 {
        return Ok(false);
    }
    free_seats(txn, package, deleted).await?;
    txn.emit(
        NewEvent::new(EventType::IdentityDetached, identity.as_str())
            .identity(identity)
            .package(package)
            .reason(reason),
    );
    Ok(true)
}

/// What [`insert_attachment`] did.
struct Seat {
    /// The package exists (PostgreSQL; SQLite's caller checked before).
    found: bool,
    inserted: bool,
    took: bool,
    /// The event back when it is the caller's to emit.
    event: Option<NewEvent>,
}

/// Inserts the attachment unless there is one, and takes a seat for a new
/// one if one is free. On PostgreSQL one statement that takes the package
/// row lock first (`roster_lock_package`, migration 13; the insert reads
/// from it, so it runs after the lock) — the round trips under the package
/// lock are what every writer in the package waits for — and which may
/// insert the transaction's events as well ([`seat_statement`]; not for a
/// sign-in, which has a statement to follow).
async fn insert_attachment(
    txn: &mut Txn,
    package: &PackageId,
    identity: &IdentityId,
    method: AttachMethod,
    credential: Option<&CredentialId>,
    event: NewEvent,
) -> Result<Seat> {
    let now = txn.now_ms();
    let signed_in = method == AttachMethod::SignIn;
    let columns = "INSERT INTO attachments \
         (package_id, identity_id, method, signed_in, credential_id, attached_at, last_seen_at)";
    let conflict = "ON CONFLICT (package_id, identity_id) DO NOTHING";
    let mut values: Vec<sea_orm::Value> = vec![
        package.as_str().into(),
        identity.as_str().into(),
        method.as_str().into(),
        signed_in.into(),
        credential.map(|c| c.to_string()).into(),
        now.into(),
        signed_in.then_some(now).into(),
    ];
    let take = "UPDATE license_packages SET seats_used = seats_used + 1 \
         WHERE id = ? AND seats_used < seat_limit";
    if txn.backend() == sea_orm::DbBackend::Postgres {
        values.insert(0, package.as_str().into());
        values.push(package.as_str().into());
        let ctes = format!(
            "lk AS MATERIALIZED (SELECT roster_lock_package(?) AS ok), \
             i AS ({columns} SELECT ?, ?, ?, ?, ?, ?, ? FROM lk WHERE lk.ok {conflict} \
                   RETURNING 1), \
             u AS ({take} AND EXISTS (SELECT 1 FROM i) RETURNING 1)"
        );
        let cols = "(SELECT ok FROM lk) AS found, (SELECT COUNT(*) FROM i) AS inserted, \
             (SELECT COUNT(*) FROM u) AS took";
        let changed = "EXISTS (SELECT 1 FROM u)";
        let (row, event) =
            seat_statement(txn, &ctes, cols, values, event, changed, !signed_in).await?;
        let n = |col: &str| -> Result<bool> { Ok(row.try_get::<i64>("", col)? > 0) };
        return Ok(Seat {
            found: row.try_get("", "found")?,
            inserted: n("inserted")?,
            took: n("took")?,
            event,
        });
    }
    let insert = format!("{columns} VALUES (?, ?, ?, ?, ?, ?, ?) {conflict}");
    let inserted = txn.exec(&insert, values).await? == 1;
    let took = inserted && txn.exec(take, vec![package.as_str().into()]).await? == 1;
    Ok(Seat {
        found: true,
        inserted,
        took,
        event: Some(event),
    })
}

async fn free_seats(txn: &Txn, package: &PackageId, n: u64) -> Result<()> {
    txn.exec(
        "UPDATE license_packages SET seats_used = seats_used - ? WHERE id = ?",
        vec![(n as i64).into(), package.as_str().into()],
    )
    .await?;
    Ok(())
}
