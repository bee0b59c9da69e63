//! [`Txn`]: an open write transaction with the audit events it commits
//! (E1). Only [`Store::write`](super::Store::write) begins one.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, QueryResult, Value};

use super::{Store, events, statement};
use crate::domain::{Actor, Error, Event, NewEvent, Result};

/// An open write transaction with the audit events it will commit.
pub struct Txn {
    pub(super) inner: DatabaseTransaction,
    pub(super) actor: Actor,
    pub(super) events: Vec<NewEvent>,
    pub(super) now_ms: i64,
    /// Set by [`Txn::nothing_changed`].
    pub(super) unchanged: bool,
    /// Whether the last statement may insert the events
    /// ([`Txn::events_with_last_statement`]).
    pub(super) append_last: bool,
    /// The events that statement inserted ([`Txn::appended`]).
    pub(super) written: Option<Vec<Event>>,
}

impl Txn {
    /// The connection to run statements on.
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.inner
    }

    /// The time this transaction acts at (one value for all its rows).
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// Who this transaction acts for.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Records an audit event to commit with the change.
    pub fn emit(&mut self, event: NewEvent) {
        self.events.push(event);
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    /// The suffix that makes a SELECT lock its rows: ` FOR UPDATE` on
    /// PostgreSQL, nothing on SQLite (its writer already holds the lock).
    pub fn for_update(&self) -> &'static str {
        if self.backend() == DbBackend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        }
    }

    /// Runs a raw statement with `?` placeholders (rewritten to `$n` for
    /// PostgreSQL) and returns the number of rows affected.
    pub async fn exec(&self, sql: &str, values: Vec<Value>) -> Result<u64> {
        let stmt = statement(self.backend(), sql, values);
        Ok(self.inner.execute_raw(stmt).await?.rows_affected())
    }

    /// Runs a raw query with `?` placeholders and returns all rows.
    pub async fn query_all(&self, sql: &str, values: Vec<Value>) -> Result<Vec<QueryResult>> {
        let stmt = statement(self.backend(), sql, values);
        Ok(self.inner.query_all_raw(stmt).await?)
    }

    /// Runs a raw query with `?` placeholders and returns the first row.
    pub async fn query_one(&self, sql: &str, values: Vec<Value>) -> Result<Option<QueryResult>> {
        let stmt = statement(self.backend(), sql, values);
        Ok(self.inner.query_one_raw(stmt).await?)
    }

    /// Lets the transaction's last statement insert its events (PostgreSQL),
    /// saving the round trip of the insert of their own while every other
    /// writer of the package waits: DeactivateMember, RemoveMember and
    /// ReactivateMember end with their seat statement. Only for a whole
    /// transaction, never for work inside a savepoint.
    pub(super) fn events_with_last_statement(&mut self) {
        self.append_last = true;
    }

    /// Whether this statement may insert the events (see
    /// [`Txn::events_with_last_statement`]): then the caller adds
    /// [`events::insert_ctes`] of [`Txn::take_events`] to it and reports
    /// back with [`Txn::appended`].
    pub(super) fn may_append_events(&self) -> bool {
        self.append_last && self.written.is_none() && self.backend() == DbBackend::Postgres
    }

    /// The events emitted so far, for the statement that inserts them.
    pub(super) fn take_events(&mut self) -> Vec<NewEvent> {
        std::mem::take(&mut self.events)
    }

    /// Records that a statement inserted `events` after seq `last`; the
    /// commit then appends nothing more.
    pub(super) fn appended(&mut self, events: Vec<NewEvent>, last: i64) {
        self.written = Some(events::numbered(events, &self.actor, self.now_ms, last));
    }

    /// Locks a row against concurrent writers until commit (PostgreSQL
    /// `SELECT … FOR UPDATE`; SQLite already holds the database write
    /// lock). Returns whether the row exists.
    pub async fn lock_row(
        &self,
        table: &'static str,
        key_col: &'static str,
        key: &str,
    ) -> Result<bool> {
        let sql = format!(
            "SELECT 1 FROM {table} WHERE {key_col} = ?{}",
            self.for_update()
        );
        let stmt = statement(self.backend(), &sql, vec![key.into()]);
        Ok(self.inner.query_one_raw(stmt).await?.is_some())
    }

    /// Writes the audit rows (in commit order), commits, and tells this
    /// process's observer. A transaction without any audit event is a bug:
    /// it is rolled back and reported as an internal error.
    pub async fn commit(self, store: &Store) -> Result<Vec<Event>> {
        if let Some(written) = self.written {
            if !self.events.is_empty() {
                self.inner.rollback().await?;
                return Err(Error::Internal(
                    "events emitted after the statement that inserted them".to_owned(),
                ));
            }
            return finish(self.inner, store, written).await;
        }
        if self.events.is_empty() && self.unchanged {
            self.inner.rollback().await?;
            return Ok(Vec::new());
        }
        if self.events.is_empty() {
            self.inner.rollback().await?;
            return Err(Error::Internal(
                "state change without an audit event".to_owned(),
            ));
        }
        let written = events::append(&self.inner, &self.actor, self.now_ms, self.events).await?;
        finish(self.inner, store, written).await
    }

    /// Says that the operation found nothing to change (SignOut of a
    /// session that already ended): [`Store::write`] then rolls the
    /// transaction back instead of refusing it for want of an event.
    pub fn nothing_changed(&mut self) {
        self.unchanged = true;
    }

    /// How many events this transaction has emitted so far.
    pub fn events_pending(&self) -> usize {
        self.events.len()
    }

    /// Drops the events emitted after the first `n` (work rolled back to
    /// a savepoint: a refused batch item, a refused scheduled change).
    pub(super) fn rewind_events(&mut self, n: usize) {
        self.events.truncate(n);
    }

    /// Adds the detail `key` = `value` to every event emitted after the
    /// first `n` (a scheduled change records who scheduled it, W3).
    pub(super) fn tag_events_since(&mut self, n: usize, key: &str, value: &str) {
        for event in self.events.iter_mut().skip(n) {
            event.attributes.push((key.to_owned(), value.to_owned()));
        }
    }

    /// Takes back [`Txn::nothing_changed`]: what follows does change
    /// something.
    pub(super) fn something_changed(&mut self) {
        self.unchanged = false;
    }
}

/// Commits `txn`, whose events are `written`, tells this process's
/// observer and waits for the other replicas (C0).
async fn finish(
    txn: DatabaseTransaction,
    store: &Store,
    written: Vec<Event>,
) -> Result<Vec<Event>> {
    txn.commit().await?;
    store.notify_committed(&written);
    if let Some(last) = written.last() {
        store.await_replicas(last.seq).await?;
    }
    Ok(written)
}
