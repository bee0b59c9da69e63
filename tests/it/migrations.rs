//! Safe migrations (O1, issue 12): any number of `roster migrate` and
//! `roster serve` started together on a fresh database all succeed and
//! apply each migration once; `serve --no-migrate` and every start refuse
//! a schema newer than the binary.

use std::process::Stdio;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::harness::{Backend, SERVICE_KEY};

/// A fresh database URL (and the directory holding it on SQLite).
pub async fn fresh_database(b: Backend) -> (String, Option<tempfile::TempDir>) {
    match b {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/roster.db?mode=rwc", dir.path().display());
            (url, Some(dir))
        }
        Backend::Postgres => (crate::harness::fresh_postgres_database().await, None),
    }
}

/// The real binary with a clean environment for `url`.
pub fn roster(url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_clear()
        .env("DATABASE_URL", url)
        .env("ROSTER_SERVICE_KEYS", format!("test={SERVICE_KEY}"))
        .env("ROSTER_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Reads `child`'s stderr until `roster serve` logs its address; returns
/// it, or the log so far when the process exits first.
pub async fn serving_addr(child: &mut Child) -> Result<std::net::SocketAddr, String> {
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut log = String::new();
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            let line = strip_ansi(&line);
            log.push_str(&line);
            log.push('\n');
            if line.contains("roster is serving gRPC")
                && let Some(rest) = line.split("addr=").nth(1)
                && let Some(addr) = rest.split_whitespace().next()
                && let Ok(addr) = addr.parse()
            {
                return Some(addr);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(addr)) => {
            // Keep draining stderr so the child never blocks on it.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            Ok(addr)
        }
        _ => Err(log),
    }
}

/// The log line without terminal colour codes.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

async fn applied_versions(url: &str) -> Vec<(String, i64)> {
    let db = Database::connect(url).await.expect("connect");
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT version, COUNT(*) AS n FROM seaql_migrations GROUP BY version ORDER BY version",
        ))
        .await
        .expect("read seaql_migrations");
    rows.iter()
        .map(|r| {
            (
                r.try_get::<String>("", "version").expect("version"),
                r.try_get::<i64>("", "n").expect("count"),
            )
        })
        .collect()
}

async fn o1_concurrent_migrate_and_serve_apply_each_migration_once(b: Backend) {
    let trials = 3;
    let (migrators, servers) = (4, 2);
    let mut succeeded = 0;
    for _ in 0..trials {
        let (url, _dir) = fresh_database(b).await;
        let mut migrate = Vec::new();
        for _ in 0..migrators {
            migrate.push(roster(&url).arg("migrate").spawn().expect("spawn migrate"));
        }
        let mut serve = Vec::new();
        for _ in 0..servers {
            serve.push(roster(&url).arg("serve").spawn().expect("spawn serve"));
        }
        for child in migrate {
            let out = child.wait_with_output().await.expect("migrate ran");
            assert!(
                out.status.success(),
                "a concurrent migrate failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            succeeded += 1;
        }
        for mut child in serve {
            serving_addr(&mut child)
                .await
                .unwrap_or_else(|log| panic!("a concurrent serve failed:\n{log}"));
            succeeded += 1;
            let _ = child.kill().await;
        }
        let versions = applied_versions(&url).await;
        let known =
            <roster::store::migrations::Migrator as sea_orm_migration::MigratorTrait>::migrations()
                .len();
        assert_eq!(versions.len(), known, "{versions:?}");
        assert!(versions.iter().all(|(_, n)| *n == 1), "{versions:?}");
    }
    assert_eq!(succeeded, trials * (migrators + servers));
}

async fn o1_a_schema_newer_than_the_binary_is_refused(b: Backend) {
    let (url, _dir) = fresh_database(b).await;
    let out = roster(&url).arg("migrate").output().await.expect("migrate");
    assert!(out.status.success());
    let db = Database::connect(&url).await.expect("connect");
    db.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_from_the_future', 0)",
    )
    .await
    .expect("record a future migration");
    for args in [&["migrate"][..], &["serve"], &["serve", "--no-migrate"]] {
        let out = tokio::time::timeout(Duration::from_secs(60), roster(&url).args(args).output())
            .await
            .expect("exits")
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{args:?} started against a newer schema"
        );
        assert!(
            stderr.contains("newer than this roster")
                && stderr.contains("m20991231_000001_from_the_future"),
            "{args:?}: unclear message: {stderr}"
        );
    }
}

async fn o1_no_migrate_needs_a_migrated_schema(b: Backend) {
    let (url, _dir) = fresh_database(b).await;
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        roster(&url).args(["serve", "--no-migrate"]).output(),
    )
    .await
    .expect("exits")
    .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "served an unmigrated database");
    assert!(
        stderr.contains("pending") && stderr.contains("roster migrate"),
        "{stderr}"
    );
    // Nothing was created by the refused start.
    let db = Database::connect(&url).await.expect("connect");
    assert!(
        db.query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT 1 FROM seaql_migrations"
        ))
        .await
        .is_err(),
        "--no-migrate created the migrations table"
    );

    let out = roster(&url).arg("migrate").output().await.expect("migrate");
    assert!(out.status.success());
    let mut child = roster(&url)
        .args(["serve", "--no-migrate"])
        .spawn()
        .expect("spawn");
    serving_addr(&mut child)
        .await
        .unwrap_or_else(|log| panic!("serve --no-migrate failed on a current schema:\n{log}"));
    let _ = child.kill().await;
}

crate::db_tests!(
    o1_concurrent_migrate_and_serve_apply_each_migration_once,
    o1_a_schema_newer_than_the_binary_is_refused,
    o1_no_migrate_needs_a_migrated_schema,
);
