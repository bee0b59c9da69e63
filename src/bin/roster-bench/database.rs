//! The benchmark's own database per backend: a SQLite file in a temporary
//! directory, or a fresh PostgreSQL database next to the one named by the
//! URL (created here, dropped afterwards).

use anyhow::{Context, Result, bail};
use roster::domain::OrgId;
use sqlx::Connection;

pub struct Database {
    pub url: String,
    pub label: &'static str,
    place: Place,
}

enum Place {
    /// Removed when dropped, unless kept.
    Sqlite(tempfile::TempDir),
    /// `DROP DATABASE {name}` through `admin_url` when finished.
    Postgres { admin_url: String, name: String },
}

impl Database {
    /// `sqlite` (or `sqlite:…`) or a `postgres://…` URL.
    pub async fn prepare(spec: &str) -> Result<Database> {
        if spec == "sqlite" || spec.starts_with("sqlite:") {
            let dir = tempfile::Builder::new()
                .prefix("roster-bench-")
                .tempdir()
                .context("creating the SQLite benchmark directory")?;
            return Ok(Database {
                url: format!("sqlite://{}/bench.db?mode=rwc", dir.path().display()),
                label: "sqlite",
                place: Place::Sqlite(dir),
            });
        }
        if !spec.starts_with("postgres") {
            bail!("--database-url must be `sqlite` or postgres://…");
        }
        let name = format!(
            "roster_bench_p{}_{}",
            std::process::id(),
            OrgId::generate().as_str().trim_start_matches("org_")
        );
        let mut conn = sqlx::PgConnection::connect(spec)
            .await
            .context("connecting to PostgreSQL")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .context("creating the benchmark database (needs CREATEDB)")?;
        let (base, _) = spec.rsplit_once('/').context("URL has a database part")?;
        Ok(Database {
            url: format!("{base}/{name}"),
            label: "postgres",
            place: Place::Postgres {
                admin_url: spec.to_owned(),
                name,
            },
        })
    }

    /// Removes the database; with `keep`, a SQLite one stays and its
    /// directory is printed (for inspecting query plans afterwards).
    pub async fn finish(self, keep: bool) {
        match self.place {
            Place::Sqlite(dir) if keep => {
                eprintln!("[{}] kept {}", self.label, dir.keep().display());
            }
            Place::Sqlite(dir) => drop(dir),
            Place::Postgres { admin_url, name } => {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            }
        }
    }
}
