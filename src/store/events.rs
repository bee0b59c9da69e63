//! The `events` table: audit log and transactional outbox in one. Rows get
//! contiguous sequence numbers in commit order, so a watcher that has seen
//! `seq = n` knows exactly what comes next.

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::entities::event;
use super::{Store, statement};
use crate::domain::{
    Actor, ActorKind, Error, Event, EventType, NewEvent, Page, PageRequest, Result,
};

/// PostgreSQL channel woken on every commit that wrote events.
pub const NOTIFY_CHANNEL: &str = "roster_events";

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only this identity's events.
    pub identity_id: Option<String>,
    /// Only this organization's events.
    pub org_id: Option<String>,
    /// Only this package's events.
    pub package_id: Option<String>,
    /// Only these types (all when empty).
    pub types: Vec<EventType>,
}

impl EventQuery {
    /// Whether an event passes this filter.
    pub fn matches(&self, e: &Event) -> bool {
        fn eq(want: &Option<String>, got: &Option<String>) -> bool {
            want.as_ref().is_none_or(|w| got.as_ref() == Some(w))
        }
        eq(&self.identity_id, &e.identity_id)
            && eq(&self.org_id, &e.org_id)
            && eq(&self.package_id, &e.package_id)
            && (self.types.is_empty() || self.types.contains(&e.event_type))
    }

    fn apply<S: QueryFilter>(&self, mut q: S) -> S {
        if let Some(id) = &self.identity_id {
            q = q.filter(event::Column::IdentityId.eq(id.clone()));
        }
        if let Some(id) = &self.org_id {
            q = q.filter(event::Column::OrganizationId.eq(id.clone()));
        }
        if let Some(id) = &self.package_id {
            q = q.filter(event::Column::PackageId.eq(id.clone()));
        }
        if !self.types.is_empty() {
            q = q.filter(event::Column::EventType.is_in(self.types.iter().map(|t| t.as_str())));
        }
        q
    }
}

/// `events` as written after seq `last`, in order.
pub(super) fn numbered(events: Vec<NewEvent>, actor: &Actor, now_ms: i64, last: i64) -> Vec<Event> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, e)| Event {
            seq: last + 1 + i as i64,
            event_type: e.event_type,
            actor: actor.clone(),
            subject_id: e.subject_id,
            reason: e.reason,
            occurred_at: chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default(),
            identity_id: e.identity_id,
            org_id: e.org_id,
            package_id: e.package_id,
            room_id: e.room_id,
            credential_id: e.credential_id,
            attributes: e.attributes,
        })
        .collect()
}

/// Writes `events` inside `txn` with the next sequence numbers.
pub(super) async fn append(
    txn: &DatabaseTransaction,
    actor: &Actor,
    now_ms: i64,
    events: Vec<NewEvent>,
) -> Result<Vec<Event>> {
    let backend = txn.get_database_backend();
    if backend == DbBackend::Postgres {
        // Every writer passes here in turn, from the lock to its commit, so
        // this is the one place where all writes queue behind each other:
        // two round trips (this statement, the commit) and nothing else.
        // The lock is held until commit and the last seq read after it
        // (`roster_events_last_seq()`, with a snapshot of its own), so that
        // read sees the previous holder's commit and seq order is commit
        // order.
        let (ctes, cols, values) = insert_ctes(&events, actor, now_ms, None, None);
        let row = txn
            .query_one_raw(statement(
                backend,
                &format!("WITH {ctes} SELECT {cols} FROM base"),
                values,
            ))
            .await?
            .ok_or_else(|| Error::Internal("the event insert returned no row".to_owned()))?;
        let last = row.try_get("", "events_last")?;
        return Ok(numbered(events, actor, now_ms, last));
    }
    let row = txn
        .query_one_raw(statement(
            backend,
            "SELECT COALESCE(MAX(seq), 0) AS last FROM events",
            vec![],
        ))
        .await?
        .ok_or_else(|| Error::Internal("MAX(seq) returned no row".to_owned()))?;
    let last: i64 = row.try_get("", "last")?;
    let written = numbered(events, actor, now_ms, last);
    let models: Vec<_> = written
        .iter()
        .map(|e| event::ActiveModel {
            seq: sea_orm::Set(e.seq),
            event_type: sea_orm::Set(e.event_type.as_str().to_owned()),
            actor_kind: sea_orm::Set(e.actor.kind.as_str().to_owned()),
            actor_id: sea_orm::Set(e.actor.id.clone()),
            subject_id: sea_orm::Set(e.subject_id.clone()),
            reason: sea_orm::Set(e.reason.clone()),
            occurred_at: sea_orm::Set(now_ms),
            identity_id: sea_orm::Set(e.identity_id.clone()),
            organization_id: sea_orm::Set(e.org_id.clone()),
            package_id: sea_orm::Set(e.package_id.clone()),
            room_id: sea_orm::Set(e.room_id.clone()),
            credential_id: sea_orm::Set(e.credential_id.clone()),
            attributes: sea_orm::Set(encode_attributes(&e.attributes)),
        })
        .collect();
    // Bulk operations (the sweep) write many rows; stay under SQLite's
    // bind-parameter limit.
    for chunk in models.chunks(500) {
        event::Entity::insert_many(chunk.to_vec()).exec(txn).await?;
    }
    Ok(written)
}

/// PostgreSQL: the CTEs `base`, `kept` and `ins` that take the writer lock,
/// read the last seq and insert `events` after it, and the select-list
/// columns (`FROM base`) that queue the NOTIFY (delivered at commit, never
/// for a rollback) and return `events_last`, the last seq before them, and
/// `events_kept`, how many were inserted. `last_if`: an SQL condition
/// (over the caller's own CTEs) without which the last event is left out,
/// for the event of a change the same statement makes or not. The values
/// bind the CTEs' `?`s, in order. `after`: a CTE of the caller's that
/// `base` reads first, so that its lock is taken before the writer lock. All rows in one statement, one array
/// parameter per column (a bulk sweep writes tens of thousands of events;
/// row-wise VALUES lists would cost a statement per few hundred rows).
/// Empty strings stand for NULL in the optional ID columns, where they can
/// never be valid.
pub(super) fn insert_ctes(
    events: &[NewEvent],
    actor: &Actor,
    now_ms: i64,
    last_if: Option<&str>,
    after: Option<&str>,
) -> (String, String, Vec<sea_orm::Value>) {
    use sea_orm::sea_query::ArrayType;
    fn texts(values: impl Iterator<Item = String>) -> sea_orm::Value {
        sea_orm::Value::Array(
            ArrayType::String,
            Some(Box::new(values.map(|v| v.into()).collect())),
        )
    }
    let opt = |f: fn(&NewEvent) -> &Option<String>| {
        texts(events.iter().map(move |e| f(e).clone().unwrap_or_default()))
    };
    let values = vec![
        texts(events.iter().map(|e| e.event_type.as_str().to_owned())),
        texts(events.iter().map(|e| e.subject_id.clone())),
        texts(events.iter().map(|e| e.reason.clone())),
        opt(|e| &e.identity_id),
        opt(|e| &e.org_id),
        opt(|e| &e.package_id),
        opt(|e| &e.room_id),
        opt(|e| &e.credential_id),
        texts(events.iter().map(|e| encode_attributes(&e.attributes))),
        (events.len() as i64).into(),
        actor.kind.as_str().into(),
        actor.id.clone().into(),
        now_ms.into(),
    ];
    let ctes = format!(
        "base AS MATERIALIZED (SELECT roster_events_last_seq() AS last{}), \
         kept AS MATERIALIZED (SELECT * FROM UNNEST(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], \
                                       ?::text[], ?::text[], ?::text[], ?::text[]) \
                  WITH ORDINALITY AS e(event_type, subject_id, reason, identity_id, \
                       organization_id, package_id, room_id, credential_id, attributes, n) \
                  WHERE e.n < ? OR ({})), \
         ins AS (INSERT INTO events (seq, event_type, actor_kind, actor_id, subject_id, \
                 reason, occurred_at, identity_id, organization_id, package_id, room_id, \
                 credential_id, attributes) \
           SELECT base.last + kept.n, kept.event_type, ?, ?, kept.subject_id, kept.reason, ?, \
                  NULLIF(kept.identity_id, ''), NULLIF(kept.organization_id, ''), \
                  NULLIF(kept.package_id, ''), NULLIF(kept.room_id, ''), \
                  NULLIF(kept.credential_id, ''), kept.attributes \
           FROM base, kept RETURNING 1)",
        after.map_or(String::new(), |cte| format!(" FROM {cte}")),
        last_if.unwrap_or("TRUE")
    );
    let cols = format!(
        "base.last AS events_last, (SELECT COUNT(*) FROM kept) AS events_kept, \
         pg_notify('{NOTIFY_CHANNEL}', (base.last + (SELECT COUNT(*) FROM kept))::text) \
         AS notified"
    );
    (ctes, cols, values)
}

fn encode_attributes(attrs: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = attrs
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn decode_attributes(text: &str) -> Vec<(String, String)> {
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
        Ok(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// One row of the log as this binary reads it.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // almost every row is an `Event`
pub enum LogEntry {
    /// A row this binary understands.
    Event(Event),
    /// A row it cannot decode (a type added by a newer release during a
    /// rolling upgrade): the feed treats it as "anything may have changed".
    Undecodable {
        /// Its sequence number.
        seq: i64,
        /// Its stored type.
        event_type: String,
    },
}

fn to_entry(m: event::Model) -> LogEntry {
    match EventType::from_db(&m.event_type) {
        Some(t) => LogEntry::Event(to_event(m, t)),
        None => LogEntry::Undecodable {
            seq: m.seq,
            event_type: m.event_type,
        },
    }
}

/// The decodable rows; the others are logged and skipped (the feed applies
/// them as "invalidate everything", see `Store::log_after`).
fn decodable(rows: Vec<event::Model>) -> Vec<Event> {
    rows.into_iter()
        .filter_map(|m| match to_entry(m) {
            LogEntry::Event(e) => Some(e),
            LogEntry::Undecodable { seq, event_type } => {
                tracing::warn!(seq, %event_type, "skipping an event of a type this release does not know");
                None
            }
        })
        .collect()
}

fn to_event(m: event::Model, event_type: EventType) -> Event {
    Event {
        seq: m.seq,
        event_type,
        actor: Actor {
            kind: ActorKind::from_db(&m.actor_kind).unwrap_or(ActorKind::System),
            id: m.actor_id,
        },
        subject_id: m.subject_id,
        reason: m.reason,
        occurred_at: chrono::DateTime::from_timestamp_millis(m.occurred_at).unwrap_or_default(),
        identity_id: m.identity_id,
        org_id: m.organization_id,
        package_id: m.package_id,
        room_id: m.room_id,
        credential_id: m.credential_id,
        attributes: decode_attributes(&m.attributes),
    }
}

impl Store {
    /// Events with `seq > after`, oldest first, at most `limit`.
    pub async fn events_after(
        &self,
        after: i64,
        limit: u64,
        filter: &EventQuery,
    ) -> Result<Vec<Event>> {
        let q = event::Entity::find().filter(event::Column::Seq.gt(after));
        let rows = filter
            .apply(q)
            .order_by_asc(event::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(decodable(rows))
    }

    /// Every row with `seq > after`, oldest first, at most `limit`,
    /// including those this release cannot decode (for the feed).
    pub async fn log_after(&self, after: i64, limit: u64) -> Result<Vec<LogEntry>> {
        Ok(event::Entity::find()
            .filter(event::Column::Seq.gt(after))
            .order_by_asc(event::Column::Seq)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_entry)
            .collect())
    }

    /// Audit events matching `filter`, newest first.
    pub async fn list_events(
        &self,
        filter: &EventQuery,
        page: &PageRequest,
    ) -> Result<Page<Event>> {
        let mut q = filter.apply(event::Entity::find());
        if let Some(after) = &page.after {
            let before: i64 = after
                .parse()
                .map_err(|_| Error::invalid("page_token", "is not a token of this list"))?;
            q = q.filter(event::Column::Seq.lt(before));
        }
        let rows = decodable(
            q.order_by_desc(event::Column::Seq)
                .limit(page.size + 1)
                .all(&self.db)
                .await?,
        );
        Ok(Page::from_overfetch(rows, page.size, |e| e.seq.to_string()))
    }

    /// Lowest and highest stored sequence numbers (`(0, 0)` when empty).
    pub async fn event_bounds(&self) -> Result<(i64, i64)> {
        let row = self
            .db
            .query_one_raw(statement(
                self.backend(),
                "SELECT COALESCE(MIN(seq), 0) AS lo, COALESCE(MAX(seq), 0) AS hi FROM events",
                vec![],
            ))
            .await?
            .ok_or_else(|| Error::Internal("MIN/MAX(seq) returned no row".to_owned()))?;
        Ok((row.try_get("", "lo")?, row.try_get("", "hi")?))
    }

    /// Deletes events older than `cutoff_ms`, always keeping the newest row
    /// so sequence numbers never restart. Returns how many were deleted.
    pub async fn prune_events(&self, cutoff_ms: i64) -> Result<u64> {
        let res = self
            .db
            .execute_raw(statement(
                self.backend(),
                "DELETE FROM events WHERE occurred_at < ? AND seq < (SELECT MAX(seq) FROM events)",
                vec![cutoff_ms.into()],
            ))
            .await?;
        Ok(res.rows_affected())
    }
}
