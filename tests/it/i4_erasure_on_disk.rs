//! I4 on disk: after a revocation commits, none of the identity's personal
//! data stays in the database files: not in SQLite's `roster.db` (free
//! pages are zeroed by `secure_delete`) nor in `roster.db-wal` (truncated
//! after the erasure), and on PostgreSQL not in the heap files of the
//! touched tables once the background VACUUM has run.

use std::time::{Duration, Instant};

use roster::pb;
use sea_orm::ConnectionTrait;

use crate::db_tests;
use crate::harness::{Backend, TestServer};

db_tests!(i4_revoked_identitys_personal_data_leaves_the_database_files);

/// The files to scan and, on PostgreSQL, a connection to flush with.
async fn database_files(
    s: &TestServer,
    db: &sea_orm::DatabaseConnection,
) -> Vec<std::path::PathBuf> {
    match s.backend {
        Backend::Sqlite => {
            let path = s
                .database_url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .expect("path")
                .to_owned();
            vec![path.clone().into(), format!("{path}-wal").into()]
        }
        Backend::Postgres => {
            // Dirty buffers reach the heap files at a checkpoint.
            db.execute_unprepared("CHECKPOINT")
                .await
                .expect("checkpoint");
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(
                    db.get_database_backend(),
                    "SELECT current_setting('data_directory')",
                ))
                .await
                .expect("data directory")
                .expect("a row");
            let dir: String = row.try_get_by_index(0).expect("text");
            let mut files = Vec::new();
            for table in [
                "identities",
                "members",
                "removed_members",
                "request_results",
                "scim_users",
                "room_members",
                "sessions",
                "package_admins",
                "attachments",
            ] {
                let row = db
                    .query_one_raw(sea_orm::Statement::from_string(
                        db.get_database_backend(),
                        format!("SELECT pg_relation_filepath('{table}')"),
                    ))
                    .await
                    .expect("file path")
                    .expect("a row");
                let rel: String = row.try_get_by_index(0).expect("text");
                files.push(std::path::Path::new(&dir).join(rel));
            }
            files
        }
    }
}

/// Which of `markers` occur in `files` (missing files hold nothing).
fn found(files: &[std::path::PathBuf], markers: &[String]) -> Vec<String> {
    let mut hits = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        for m in markers {
            if bytes.windows(m.len()).any(|w| w == m.as_bytes()) {
                hits.push(format!("{m} in {}", f.display()));
            }
        }
    }
    hits
}

async fn i4_revoked_identitys_personal_data_leaves_the_database_files(b: Backend) {
    // Each trial's revocation gets its own scrub (the default pause
    // between scrubs would make trials 2 and 3 wait for it).
    let s =
        TestServer::start_tuned(b, |c| c.erasure_scrub_interval = Duration::from_millis(200)).await;
    let db = roster::store::connect(&s.database_url, 1)
        .await
        .expect("connect");
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let room = s.create_room(&org, &admin).await;
    let mut trials = 0;
    for trial in 0..3 {
        let tag = roster::domain::OrgId::generate()
            .as_str()
            .trim_start_matches("org_")
            .to_owned();
        let markers = vec![
            format!("MarkerName{tag}"),
            format!("marker{tag}@example.com").to_lowercase(),
            format!("https://example.com/avatar{tag}.png"),
            format!("MarkerNote{tag}"),
        ];
        let id = s
            .svc_identity()
            .create_identity(pb::CreateIdentityRequest {
                // W5: the recorded response holds the markers too.
                request_id: format!("00000000-0000-4000-8000-{trial:012x}"),
                identity: Some(pb::Identity {
                    display_name: markers[0].clone(),
                    email: markers[1].clone(),
                    avatar_url: markers[2].clone(),
                    ..Default::default()
                }),
            })
            .await
            .expect("create identity")
            .into_inner()
            .identity_id;
        let (_, user, pass) = s
            .issue_credential(&package, &format!("marker-{trial}-{}", tag.to_lowercase()))
            .await;
        let token = s.sign_in(&id, &user, &pass).await;
        s.add_member(&org, &id, pb::MemberRole::Member).await;
        s.add_room_member(&room, &id, pb::RoomRole::Member).await;
        s.svc_membership()
            .deactivate_member(pb::DeactivateMemberRequest {
                organization_id: org.clone(),
                identity_id: id.clone(),
                note: markers[3].clone(),
                ..Default::default()
            })
            .await
            .expect("deactivate with a note");
        let files = database_files(&s, &db).await;
        // Before: the data is on disk (the scan finds what it looks for).
        let before = found(&files, &markers);
        assert!(
            !before.is_empty(),
            "markers not found before the revocation: are the database files \
             readable ({files:?})? On PostgreSQL the test needs the server on this \
             host and a superuser for CHECKPOINT"
        );
        s.identity(Some(&token))
            .revoke_identity(pb::RevokeIdentityRequest {
                request_id: String::new(),
                identity_id: id.clone(),
                revocation_password: String::new(),
                package_id: String::new(),
            })
            .await
            .expect("revoke");
        let revoked_at = Instant::now();
        let deadline = revoked_at + Duration::from_secs(60);
        loop {
            let files = database_files(&s, &db).await;
            let left = found(&files, &markers);
            if left.is_empty() {
                println!(
                    "{:?} trial {trial}: {} marker copies before, none {:?} after the revocation",
                    s.backend,
                    before.len(),
                    revoked_at.elapsed()
                );
                break;
            }
            if Instant::now() >= deadline {
                // What could still see the old row versions (diagnosis).
                let sessions: Vec<String> = db
                    .query_all_raw(sea_orm::Statement::from_string(
                        db.get_database_backend(),
                        "SELECT concat_ws(' | ', pid::text, state, backend_xid::text, \
                         backend_xmin::text, (now() - xact_start)::text, left(query, 60)) \
                         FROM pg_stat_activity WHERE datname = current_database()",
                    ))
                    .await
                    .map(|rows| {
                        rows.iter()
                            .map(|r| r.try_get_by_index::<String>(0).unwrap_or_default())
                            .collect()
                    })
                    .unwrap_or_default();
                panic!("still on disk after the scrub: {left:?}; sessions: {sessions:#?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        trials += 1;
    }
    assert_eq!(trials, 3);
}
