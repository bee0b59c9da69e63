//! Seats (L6): an identity holds one seat of a package while it is
//! attached (the rule: `domain::policy::seat_held`; in SQL:
//! `rules::seat_holding_membership`). Attaching takes the package row lock and a conditional
//! increment, so N parallel attaches for K free seats give exactly K; a
//! seat is released only when neither a sign-in attachment nor an active
//! membership in any organization bound to the package holds it.

use crate::domain::{
    AttachMethod, CredentialId, Error, EventType, IdentityId, NewEvent, OrgId, PackageId, Reason,
    Result,
};

use super::rules::seat_holding_membership;
use super::{Txn, events};

/// Updates `identity`'s member row in `org` (`set`: the SET list, binding
/// `set_values`) and, on PostgreSQL, locks `package`'s row in the same
/// statement, for a seat decision made `…_under_lock` right after (SQLite's
/// writer holds the database anyway). Every writer in the package waits
/// from this lock to its commit, so taking it with the member's own update
/// saves them a round trip. The update must change exactly one row (the
/// member was loaded under the organization's lock): otherwise the lock
/// may not have been taken, and the seat must not be decided.
pub(super) async fn update_member_locking_package(
    txn: &Txn,
    package: &PackageId,
    org: &OrgId,
    identity: &IdentityId,
    set: &str,
    set_values: Vec<sea_orm::Value>,
) -> Result<()> {
    let mut values = Vec::with_capacity(set_values.len() + 3);
    // The lock runs only because the WHERE clause refers to it.
    let (lock, locked) = if txn.backend() == sea_orm::DbBackend::Postgres {
        values.push(package.as_str().into());
        (
            "WITH p AS (SELECT 1 FROM license_packages WHERE id = ? FOR UPDATE) ",
            " AND EXISTS (SELECT 1 FROM p)",
        )
    } else {
        ("", "")
    };
    values.extend(set_values);
    values.extend([org.as_str().into(), identity.as_str().into()]);
    let sql = format!(
        "{lock}UPDATE members SET {set} WHERE organization_id = ? AND identity_id = ?{locked}"
    );
    match txn.exec(&sql, values).await? {
        1 => Ok(()),
        n => Err(Error::Internal(format!(
            "member {identity} of {org} changed {n} rows instead of one"
        ))),
    }
}

/// Attaches `identity` to `package` if it is not attached yet, taking a
/// seat. With `AttachMethod::SignIn` the attachment also becomes a sign-in
/// attachment (kept until detach or revocation). Returns whether a seat was
/// newly taken. Fails with SEAT_LIMIT_REACHED when none is free; the caller
/// must then drop the transaction.
pub async fn attach(
    txn: &mut Txn,
    package: &PackageId,
    identity: &IdentityId,
    method: AttachMethod,
    credential: Option<&CredentialId>,
) -> Result<bool> {
    if !txn
        .lock_row("license_packages", "id", package.as_str())
        .await?
    {
        return Err(Error::not_found(
            Reason::PackageNotFound,
            format!("license package {package} does not exist"),
        ));
    }
    attach_under_lock(txn, package, identity, method, credential).await
}

/// [`attach`] for a caller whose transaction holds the package row lock
/// already (PostgreSQL: [`update_member_locking_package`] right before).
pub(super) async fn attach_under_lock(
    txn: &mut Txn,
    package: &PackageId,
    identity: &IdentityId,
    method: AttachMethod,
    credential: Option<&CredentialId>,
) -> Result<bool> {
    let now = txn.now_ms();
    let signed_in = method == AttachMethod::SignIn;
    let event = NewEvent::new(EventType::IdentityAttached, identity.as_str())
        .identity(identity)
        .package(package)
        .reason(method.as_str());
    let (inserted, took, event) =
        insert_attachment(txn, package, identity, method, credential, event).await?;
    if inserted {
        if !took {
            return Err(Error::exhausted(
                Reason::SeatLimitReached,
                format!("license package {package} has no free seat"),
            ));
        }
        if let Some(event) = event {
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
    Ok(inserted)
}

/// Frees `identity`'s seat in `package` when nothing holds it any more: no
/// sign-in attachment and no ACTIVE membership in any organization bound to
/// the package (the enterprise rule). Returns whether the seat was freed.
pub async fn release_if_unheld(
    txn: &mut Txn,
    package: &PackageId,
    identity: &IdentityId,
    reason: &str,
) -> Result<bool> {
    txn.lock_row("license_packages", "id", package.as_str())
        .await?;
    release_if_unheld_under_lock(txn, package, identity, reason).await
}

/// [`release_if_unheld`] for a caller whose transaction holds the package
/// row lock already (PostgreSQL: [`update_member_locking_package`] right
/// before, so the rule below reads a snapshot taken after the lock).
pub(super) async fn release_if_unheld_under_lock(
    txn: &mut Txn,
    package: &PackageId,
    identity: &IdentityId,
    reason: &str,
) -> Result<bool> {
    let unheld = format!(
        "DELETE FROM attachments WHERE package_id = ? AND identity_id = ? \
         AND signed_in = ? AND NOT EXISTS (SELECT 1 FROM members m WHERE {} \
         AND m.identity_id = ?)",
        seat_holding_membership("m")
    );
    let mut values: Vec<sea_orm::Value> = vec![
        package.as_str().into(),
        identity.as_str().into(),
        false.into(),
        package.as_str().into(),
        identity.as_str().into(),
    ];
    let event = NewEvent::new(EventType::IdentityDetached, identity.as_str())
        .identity(identity)
        .package(package)
        .reason(reason);
    let event = if txn.backend() == sea_orm::DbBackend::Postgres {
        // One round trip under the package lock instead of two (the
        // count follows the deletion).
        values.push(package.as_str().into());
        let ctes = format!(
            "d AS ({unheld} RETURNING 1), \
             u AS (UPDATE license_packages SET seats_used = seats_used - 1 \
                   WHERE id = ? AND EXISTS (SELECT 1 FROM d) RETURNING 1)"
        );
        let cols = "(SELECT COUNT(*) FROM u) AS freed";
        let changed = "EXISTS (SELECT 1 FROM u)";
        let (row, event) = seat_statement(txn, &ctes, cols, values, event, changed, true).await?;
        if row.try_get::<i64>("", "freed")? == 0 {
            return Ok(false);
        }
        event
    } else {
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
/// returns its row. Where the transaction allows it
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
    let (event_ctes, event_cols, event_values) =
        events::insert_ctes(&events, txn.actor(), txn.now_ms(), Some(changed));
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

/// Inserts the attachment unless there is one, and takes a seat for a new
/// one if one is free: (inserted, seat taken, `event` back when it is the
/// caller's to emit). On PostgreSQL one statement (the round trips under
/// the package lock are what every writer in the package waits for),
/// which may insert the transaction's events as well ([`seat_statement`];
/// not for a sign-in, which has a statement to follow).
async fn insert_attachment(
    txn: &mut Txn,
    package: &PackageId,
    identity: &IdentityId,
    method: AttachMethod,
    credential: Option<&CredentialId>,
    event: NewEvent,
) -> Result<(bool, bool, Option<NewEvent>)> {
    let now = txn.now_ms();
    let signed_in = method == AttachMethod::SignIn;
    let insert = "INSERT INTO attachments \
         (package_id, identity_id, method, signed_in, credential_id, attached_at, last_seen_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (package_id, identity_id) DO NOTHING";
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
        values.push(package.as_str().into());
        let ctes = format!(
            "i AS ({insert} RETURNING 1), \
             u AS ({take} AND EXISTS (SELECT 1 FROM i) RETURNING 1)"
        );
        let cols = "(SELECT COUNT(*) FROM i) AS inserted, (SELECT COUNT(*) FROM u) AS took";
        let changed = "EXISTS (SELECT 1 FROM u)";
        let (row, event) =
            seat_statement(txn, &ctes, cols, values, event, changed, !signed_in).await?;
        let n = |col: &str| -> Result<bool> { Ok(row.try_get::<i64>("", col)? > 0) };
        return Ok((n("inserted")?, n("took")?, event));
    }
    let inserted = txn.exec(insert, values).await? == 1;
    let took = inserted && txn.exec(take, vec![package.as_str().into()]).await? == 1;
    Ok((inserted, took, Some(event)))
}

async fn free_seats(txn: &Txn, package: &PackageId, n: u64) -> Result<()> {
    txn.exec(
        "UPDATE license_packages SET seats_used = seats_used - ? WHERE id = ?",
        vec![(n as i64).into(), package.as_str().into()],
    )
    .await?;
    Ok(())
}
