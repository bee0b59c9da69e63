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
