//! Database errors classified by their code (SQLSTATE on PostgreSQL, the
//! result code on SQLite), never by message text.

use sea_orm::DbErr;

use crate::domain::Error;

/// What a database error means for the caller, decided by the driver's
/// error code (SQLSTATE on PostgreSQL, the result code on SQLite), never by
/// the message text, which depends on the server's `lc_messages`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFault {
    /// A deadlock, a serialization failure or a busy/locked database:
    /// running the transaction again may succeed.
    Retry,
    /// A unique constraint was violated.
    Unique,
    /// A foreign key constraint was violated.
    ForeignKey,
    /// Another constraint (NOT NULL, CHECK) was violated.
    Constraint,
    /// The database could not be reached (connect, acquire, I/O).
    Unreachable,
    /// Anything else.
    Other,
}

/// The driver's code of a database error, if it came from the database.
pub fn db_code(err: &DbErr) -> Option<String> {
    let (DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
    | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
    | DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e))) = err
    else {
        return None;
    };
    match e.as_ref() {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// Classifies a database error by its code.
pub fn classify(err: &DbErr) -> DbFault {
    if let Some(code) = db_code(err) {
        return classify_code(&code);
    }
    match err {
        DbErr::ConnectionAcquire(_) => DbFault::Unreachable,
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e))
        | DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)) => match e.as_ref() {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_) => DbFault::Unreachable,
            _ => DbFault::Other,
        },
        DbErr::Conn(_) => DbFault::Unreachable,
        _ => DbFault::Other,
    }
}

/// Classifies a driver code: a five-character SQLSTATE (PostgreSQL; many
/// are all digits) or a decimal extended result code (SQLite; at most four
/// digits).
pub fn classify_code(code: &str) -> DbFault {
    if code.len() < 5
        && let Ok(n) = code.parse::<i64>()
    {
        // SQLite: the primary result code is the low byte.
        return match (n, n & 0xff) {
            // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
            (2067 | 1555, _) => DbFault::Unique,
            // SQLITE_CONSTRAINT_FOREIGNKEY
            (787, _) => DbFault::ForeignKey,
            // SQLITE_BUSY, SQLITE_LOCKED and their extended codes
            (_, 5 | 6) => DbFault::Retry,
            // SQLITE_CONSTRAINT
            (_, 19) => DbFault::Constraint,
            // SQLITE_CANTOPEN, SQLITE_IOERR
            (_, 14 | 10) => DbFault::Unreachable,
            _ => DbFault::Other,
        };
    }
    match code {
        // serialization_failure, deadlock_detected
        "40001" | "40P01" => DbFault::Retry,
        "23505" => DbFault::Unique,
        "23503" => DbFault::ForeignKey,
        c if c.starts_with("23") => DbFault::Constraint,
        // connection exceptions, admin/crash shutdown, cannot connect now
        c if c.starts_with("08") => DbFault::Unreachable,
        "57P01" | "57P02" | "57P03" => DbFault::Unreachable,
        _ => DbFault::Other,
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        let text = err.to_string();
        match classify(&err) {
            DbFault::Retry => Error::Aborted(format!("concurrent change, retry: {text}")),
            DbFault::Unreachable => Error::Unavailable(format!("database unavailable: {text}")),
            _ => Error::Internal(format!("database error: {text}")),
        }
    }
}

/// Whether a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &DbErr) -> bool {
    classify(err) == DbFault::Unique
}
