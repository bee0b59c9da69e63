//! Database errors are classified by the driver's code, never by message
//! text (which follows the server's `lc_messages`): one test per code,
//! each from a real error of a real database.

use roster::store::{DbFault, classify};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};

use crate::harness::{Backend, TestServer};

async fn conn(s: &TestServer) -> DatabaseConnection {
    roster::store::connect(&s.database_url, 4)
        .await
        .expect("connect")
}

async fn tables(db: &DatabaseConnection) {
    db.execute_unprepared(
        "CREATE TABLE err_parent (id INTEGER PRIMARY KEY, v INTEGER NOT NULL); \
         CREATE TABLE err_child (id INTEGER PRIMARY KEY, \
                                 parent INTEGER NOT NULL REFERENCES err_parent (id)); \
         INSERT INTO err_parent (id, v) VALUES (1, 0), (2, 0)",
    )
    .await
    .expect("create tables");
}

fn fault(res: Result<sea_orm::ExecResult, DbErr>) -> DbFault {
    classify(&res.expect_err("the statement fails"))
}

async fn c0_unique_violation_is_classified_by_code(backend: Backend) {
    let s = TestServer::start(backend).await;
    let db = conn(&s).await;
    tables(&db).await;
    let res = db
        .execute_unprepared("INSERT INTO err_parent (id, v) VALUES (1, 1)")
        .await;
    assert_eq!(fault(res), DbFault::Unique);
}

async fn c0_foreign_key_violation_is_classified_by_code(backend: Backend) {
    let s = TestServer::start(backend).await;
    let db = conn(&s).await;
    tables(&db).await;
    // sqlx turns SQLite's foreign keys on for every connection.
    let res = db
        .execute_unprepared("INSERT INTO err_child (id, parent) VALUES (1, 99)")
        .await;
    assert_eq!(fault(res), DbFault::ForeignKey);
}

async fn c0_not_null_violation_is_a_constraint_fault(backend: Backend) {
    let s = TestServer::start(backend).await;
    let db = conn(&s).await;
    tables(&db).await;
    let res = db
        .execute_unprepared("INSERT INTO err_parent (id, v) VALUES (3, NULL)")
        .await;
    assert_eq!(fault(res), DbFault::Constraint);
}

/// PostgreSQL 40001: a REPEATABLE READ transaction updates a row another
/// committed after its snapshot.
async fn c0_serialization_failure_is_retried() {
    let s = TestServer::start(Backend::Postgres).await;
    let db = conn(&s).await;
    tables(&db).await;
    let t1 = db.begin().await.expect("begin");
    t1.execute_unprepared("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .expect("isolation");
    t1.execute_unprepared("SELECT v FROM err_parent WHERE id = 1")
        .await
        .expect("snapshot");
    db.execute_unprepared("UPDATE err_parent SET v = v + 1 WHERE id = 1")
        .await
        .expect("concurrent update");
    let res = t1
        .execute_unprepared("UPDATE err_parent SET v = v + 1 WHERE id = 1")
        .await;
    assert_eq!(fault(res), DbFault::Retry);
}

/// PostgreSQL 40P01: two transactions lock two rows in opposite order.
async fn c0_deadlock_is_retried() {
    let s = TestServer::start(Backend::Postgres).await;
    let db = conn(&s).await;
    tables(&db).await;
    let t1 = db.begin().await.expect("begin 1");
    let t2 = db.begin().await.expect("begin 2");
    t1.execute_unprepared("UPDATE err_parent SET v = 1 WHERE id = 1")
        .await
        .expect("t1 locks 1");
    t2.execute_unprepared("UPDATE err_parent SET v = 2 WHERE id = 2")
        .await
        .expect("t2 locks 2");
    let (r1, r2) = tokio::join!(
        t1.execute_unprepared("UPDATE err_parent SET v = 1 WHERE id = 2"),
        t2.execute_unprepared("UPDATE err_parent SET v = 2 WHERE id = 1"),
    );
    let faults: Vec<DbFault> = [r1, r2]
        .into_iter()
        .filter_map(|r| r.err().map(|e| classify(&e)))
        .collect();
    assert_eq!(
        faults,
        vec![DbFault::Retry],
        "one side is the deadlock victim"
    );
}

/// SQLite BUSY: a second writer while the first holds the write lock
/// (busy timeout 0 on the second connection).
async fn c0_sqlite_busy_is_retried() {
    let s = TestServer::start(Backend::Sqlite).await;
    let db = conn(&s).await;
    tables(&db).await;
    let holder = db.begin().await.expect("begin");
    holder
        .execute_unprepared("UPDATE err_parent SET v = 1 WHERE id = 1")
        .await
        .expect("take the write lock");
    let other = conn(&s).await;
    let txn = other.begin().await.expect("begin other");
    txn.execute_unprepared("PRAGMA busy_timeout = 0")
        .await
        .expect("no waiting");
    let res = txn
        .execute_unprepared("UPDATE err_parent SET v = 2 WHERE id = 2")
        .await;
    assert_eq!(fault(res), DbFault::Retry);
}

#[test]
fn c0_codes_map_to_faults() {
    use roster::store::classify_code;
    for (code, want) in [
        ("40001", DbFault::Retry),
        ("40P01", DbFault::Retry),
        ("23505", DbFault::Unique),
        ("23503", DbFault::ForeignKey),
        ("23502", DbFault::Constraint),
        ("08006", DbFault::Unreachable),
        ("57P01", DbFault::Unreachable),
        ("42601", DbFault::Other),
        ("2067", DbFault::Unique),
        ("1555", DbFault::Unique),
        ("787", DbFault::ForeignKey),
        ("1299", DbFault::Constraint),
        ("5", DbFault::Retry),
        ("517", DbFault::Retry),
        ("6", DbFault::Retry),
        ("262", DbFault::Retry),
        ("1", DbFault::Other),
    ] {
        assert_eq!(classify_code(code), want, "code {code}");
    }
}

crate::db_tests!(
    c0_unique_violation_is_classified_by_code,
    c0_foreign_key_violation_is_classified_by_code,
    c0_not_null_violation_is_a_constraint_fault,
);

mod postgres_only {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn c0_serialization_failure_is_retried() {
        if crate::harness::skip_postgres() {
            return;
        }
        super::c0_serialization_failure_is_retried().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn c0_deadlock_is_retried() {
        if crate::harness::skip_postgres() {
            return;
        }
        super::c0_deadlock_is_retried().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c0_sqlite_busy_is_retried_by_code() {
    c0_sqlite_busy_is_retried().await
}
