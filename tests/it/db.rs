//! Direct database access for assertions the API cannot make ("nothing was
//! written", "only an argon2id hash is stored") and for state another
//! service owns (organization members, until MembershipService exists on
//! this branch). SQL uses `?` placeholders like the store.

use roster::store::{self, statement};
use sea_orm::{ConnectionTrait, DatabaseConnection, Value};

use crate::harness::TestServer;

async fn conn(s: &TestServer) -> DatabaseConnection {
    store::connect(&s.database_url, 1)
        .await
        .expect("connect to the test database")
}

/// The first column of the first row, as an integer (e.g. `COUNT(*)`).
pub async fn scalar_i64(s: &TestServer, sql: &str, values: Vec<Value>) -> i64 {
    let db = conn(s).await;
    let row = db
        .query_one_raw(statement(db.get_database_backend(), sql, values))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("an integer")
}

/// The first column of the first row as text, `None` when NULL or no row.
pub async fn scalar_text(s: &TestServer, sql: &str, values: Vec<Value>) -> Option<String> {
    let db = conn(s).await;
    let row = db
        .query_one_raw(statement(db.get_database_backend(), sql, values))
        .await
        .expect("query")?;
    row.try_get_by_index::<Option<String>>(0).expect("text")
}

/// Runs a statement.
pub async fn exec(s: &TestServer, sql: &str, values: Vec<Value>) {
    let db = conn(s).await;
    db.execute_raw(statement(db.get_database_backend(), sql, values))
        .await
        .expect("statement");
}

/// Stand-in for MembershipService.AddMember: an organization bound to
/// `package` with `identity` as a member in `state` (`ACTIVE` or
/// `DEACTIVATED`). Returns the organization ID.
pub async fn insert_member(s: &TestServer, package: &str, identity: &str, state: &str) -> String {
    let org = roster::domain::OrgId::generate().to_string();
    exec(
        s,
        "INSERT INTO organizations (id, display_name, package_id, parent_id, \
         guest_inactivity_ms, created_at) VALUES (?, ?, ?, NULL, NULL, ?)",
        vec![
            org.clone().into(),
            "Test org".into(),
            package.into(),
            0i64.into(),
        ],
    )
    .await;
    exec(
        s,
        "INSERT INTO members (organization_id, identity_id, package_id, role, state, \
         joined_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        vec![
            org.clone().into(),
            identity.into(),
            package.into(),
            "MEMBER".into(),
            state.into(),
            0i64.into(),
            0i64.into(),
        ],
    )
    .await;
    org
}
