//! W5: requests that name themselves (`request_id`) take effect once.
//!
//! The gRPC layer (`grpc/idempotency.rs`) looks the ID up first; for a new
//! one it runs the call inside [`with_request`]. The first
//! [`Store::write`](super::Store::write) of that call inserts the claim row
//! as its first statement, so the row commits exactly when the change does
//! (a refused or rolled-back call leaves none, and a retry acts afresh). A
//! concurrent twin on any replica blocks on the row's primary key until
//! the first commits, then fails the insert and is answered with the first
//! response. The response is recorded right after the commit.

use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, Value};

use super::{Store, Txn, faults, statement};
use crate::domain::{Error, IdentityId, Reason, Result};

/// How long a request ID is remembered: 24 hours.
pub const REQUEST_ID_TTL_MS: i64 = 24 * 3600 * 1000;

/// A request that named itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The caller's UUID.
    pub request_id: String,
    /// `/roster.v1.Service/Method`.
    pub method: String,
    /// `IDENTITY:<id>` or `SERVICE:<key name>`.
    pub principal: String,
    /// Digest of the request without its ID and secrets.
    pub fingerprint: String,
}

/// What happened to the claim during the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    /// No write has claimed the ID (yet).
    Unclaimed,
    /// A write claimed it and committed: record the response.
    Claimed,
    /// Another request with this ID committed first: answer with its
    /// response.
    Duplicate,
}

/// The request in flight and its claim.
#[derive(Debug)]
pub struct RequestClaim {
    key: RequestKey,
    state: Mutex<ClaimState>,
}

impl RequestClaim {
    /// A claim not yet made.
    pub fn new(key: RequestKey) -> Arc<Self> {
        Arc::new(RequestClaim {
            key,
            state: Mutex::new(ClaimState::Unclaimed),
        })
    }

    /// What happened so far.
    pub fn state(&self) -> ClaimState {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, state: ClaimState) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    /// The request.
    pub fn key(&self) -> &RequestKey {
        &self.key
    }
}

tokio::task_local! {
    static REQUEST: Arc<RequestClaim>;
}

/// Runs `fut` (one call) with `claim` as its request: its first write
/// claims the request ID.
pub async fn with_request<F: Future>(claim: Arc<RequestClaim>, fut: F) -> F::Output {
    REQUEST.scope(claim, fut).await
}

/// The claim a write of this task still has to make, if any.
pub(super) fn pending_claim() -> Option<Arc<RequestClaim>> {
    REQUEST
        .try_with(|c| c.clone())
        .ok()
        .filter(|c| c.state() == ClaimState::Unclaimed)
}

/// Inside the write, first statement: inserts the claim row. A twin that
/// committed first makes the insert fail (after waiting for its commit);
/// the call is then answered with the twin's response.
pub(super) async fn claim(txn: &Txn, claim: &RequestClaim) -> Result<()> {
    let k = &claim.key;
    // An expired twin (not pruned yet) no longer counts.
    txn.exec(
        "DELETE FROM request_results WHERE request_id = ? AND created_at <= ?",
        vec![
            k.request_id.clone().into(),
            (txn.now_ms() - REQUEST_ID_TTL_MS).into(),
        ],
    )
    .await?;
    let stmt = statement(
        txn.backend(),
        "INSERT INTO request_results (request_id, method, principal, fingerprint, created_at) \
         VALUES (?, ?, ?, ?, ?)",
        vec![
            k.request_id.clone().into(),
            k.method.clone().into(),
            k.principal.clone().into(),
            k.fingerprint.clone().into(),
            txn.now_ms().into(),
        ],
    );
    match txn.conn().execute_raw(stmt).await {
        Ok(_) => Ok(()),
        Err(e) if faults::is_unique_violation(&e) => {
            claim.set(ClaimState::Duplicate);
            Err(Error::already_exists(
                Reason::Conflict,
                format!("request {} was handled already", k.request_id),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// After the write committed.
pub(super) fn claimed(claim: &RequestClaim) {
    claim.set(ClaimState::Claimed);
}

/// I4: revocation erases the recorded responses that name the identity or
/// that it received (all but the revocation's own, which holds nothing
/// personal). The records stay, so a retry still changes nothing; it is
/// answered ABORTED instead of with the erased response.
pub(super) async fn forget_identity(txn: &Txn, identity: &IdentityId) -> Result<()> {
    let current = REQUEST
        .try_with(|c| c.key.request_id.clone())
        .unwrap_or_default();
    let contains = match txn.backend() {
        sea_orm::DbBackend::Postgres => "position(convert_to(?, 'UTF8') in response) > 0",
        _ => "instr(response, CAST(? AS BLOB)) > 0",
    };
    txn.exec(
        &format!(
            "UPDATE request_results SET response = NULL WHERE request_id <> ? \
             AND response IS NOT NULL AND (principal = ? OR {contains})"
        ),
        vec![
            current.into(),
            format!("IDENTITY:{identity}").into(),
            identity.as_str().into(),
        ],
    )
    .await?;
    Ok(())
}

/// A remembered request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The request as first seen.
    pub key: RequestKey,
    /// Its response, once recorded.
    pub response: Option<Vec<u8>>,
}

impl Store {
    /// W5: the request remembered under `request_id` (younger than 24 h).
    pub async fn find_request(&self, request_id: &str) -> Result<Option<RequestRecord>> {
        let row = self
            .db
            .query_one_raw(statement(
                self.backend(),
                "SELECT method, principal, fingerprint, response FROM request_results \
                 WHERE request_id = ? AND created_at > ?",
                vec![
                    request_id.into(),
                    (self.now_ms() - REQUEST_ID_TTL_MS).into(),
                ],
            ))
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(RequestRecord {
            key: RequestKey {
                request_id: request_id.to_owned(),
                method: row.try_get("", "method")?,
                principal: row.try_get("", "principal")?,
                fingerprint: row.try_get("", "fingerprint")?,
            },
            response: row.try_get("", "response")?,
        }))
    }

    /// W5: records the response of a claimed request (after its commit).
    pub async fn record_response(&self, request_id: &str, response: &[u8]) -> Result<()> {
        let values: Vec<Value> = vec![response.to_vec().into(), request_id.into()];
        self.db
            .execute_raw(statement(
                self.backend(),
                "UPDATE request_results SET response = ? WHERE request_id = ?",
                values,
            ))
            .await?;
        Ok(())
    }

    /// W5: forgets requests older than 24 hours; returns how many.
    pub async fn prune_requests(&self, now_ms: i64) -> Result<u64> {
        let res = self
            .db
            .execute_raw(statement(
                self.backend(),
                "DELETE FROM request_results WHERE created_at <= ?",
                vec![(now_ms - REQUEST_ID_TTL_MS).into()],
            ))
            .await?;
        Ok(res.rows_affected())
    }
}
