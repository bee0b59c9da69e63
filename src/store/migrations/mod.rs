//! Schema migrations, one file per change, never edited once released.
//! Times are stored as BIGINT milliseconds since the Unix epoch (UTC) so
//! that time arithmetic (the inactivity sweep) is the same SQL on SQLite and
//! PostgreSQL.

use sea_orm_migration::prelude::*;

mod m20261122_000001_identities_and_licenses;
mod m20261122_000002_membership;
mod m20261122_000003_events;
mod m20261122_000004_assignee_tenure;
mod m20261122_000005_sign_in_failures;
mod m20261201_000006_replica_leases;
mod m20261202_000007_scheduled_changes;
mod m20261202_000008_removal_undo;
mod m20261202_000009_scim;
mod m20261202_000010_request_results;
mod m20261202_000011_scim_stewards;
mod m20261204_000012_events_last_seq;
mod m20261204_000013_seat_lock;

/// All migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_identities_and_licenses::Migration),
            Box::new(m20261122_000002_membership::Migration),
            Box::new(m20261122_000003_events::Migration),
            Box::new(m20261122_000004_assignee_tenure::Migration),
            Box::new(m20261122_000005_sign_in_failures::Migration),
            Box::new(m20261201_000006_replica_leases::Migration),
            Box::new(m20261202_000007_scheduled_changes::Migration),
            Box::new(m20261202_000008_removal_undo::Migration),
            Box::new(m20261202_000009_scim::Migration),
            Box::new(m20261202_000010_request_results::Migration),
            Box::new(m20261202_000011_scim_stewards::Migration),
            Box::new(m20261204_000012_events_last_seq::Migration),
            Box::new(m20261204_000013_seat_lock::Migration),
        ]
    }
}

/// `CREATE INDEX IF NOT EXISTS name ON table (cols…)`.
pub(crate) fn index(
    name: &str,
    table: &'static str,
    cols: &[&'static str],
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.if_not_exists().name(name).table(table);
    for col in cols {
        idx.col(*col);
    }
    idx.to_owned()
}

/// Key of the PostgreSQL advisory lock every `migrate` takes ("rosterm1"),
/// so replicas and Jobs starting together apply each migration once.
pub(crate) const LOCK_KEY: i64 = 0x726f_7374_6572_6d31;

/// Where the database's schema stands against this binary's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Known migrations not applied yet.
    pub pending: Vec<String>,
    /// Applied migrations this binary does not know (a newer release ran).
    pub unknown: Vec<String>,
}

impl SchemaStatus {
    /// The refusal when the schema is newer than this binary.
    pub fn newer_than_binary(&self) -> Option<String> {
        (!self.unknown.is_empty()).then(|| {
            format!(
                "the database schema is newer than this roster {} knows: migration(s) {} were \
                 applied by a newer release. Run that release (or newer), or restore the \
                 database from before the upgrade; starting anyway could corrupt data",
                env!("CARGO_PKG_VERSION"),
                self.unknown.join(", ")
            )
        })
    }
}

/// Compares the applied migrations (`seaql_migrations`) with the known ones.
pub(crate) async fn status(conn: &impl sea_orm::ConnectionTrait) -> Result<SchemaStatus, DbErr> {
    use sea_orm::{DbBackend, Statement};
    let backend = conn.get_database_backend();
    let exists = match backend {
        DbBackend::Postgres => {
            "SELECT CAST(to_regclass('seaql_migrations') IS NOT NULL AS INTEGER) AS n"
        }
        _ => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'"
        }
    };
    let n: i64 = match conn
        .query_one_raw(Statement::from_string(backend, exists))
        .await?
    {
        Some(row) => match row.try_get::<i32>("", "n") {
            Ok(v) => i64::from(v),
            Err(_) => row.try_get::<i64>("", "n")?,
        },
        None => 0,
    };
    let applied: Vec<String> = if n == 0 {
        Vec::new()
    } else {
        conn.query_all_raw(Statement::from_string(
            backend,
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "version"))
        .collect::<Result<_, _>>()?
    };
    let known: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    Ok(SchemaStatus {
        pending: known
            .iter()
            .filter(|k| !applied.contains(k))
            .cloned()
            .collect(),
        unknown: applied.into_iter().filter(|a| !known.contains(a)).collect(),
    })
}
