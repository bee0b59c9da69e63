//! Measurements, not assertions (ignored by default): RemoveMember for a
//! member of 1,000 rooms with 10,000 assignments (M6), the inactivity
//! sweep over 100,000 guests with 10,000 idle (M12), and the number of
//! database statements CheckAccess (M11) and ResolveProfiles (M10) issue.
//! Run alone so the statement counter sees only these calls:
//!
//! ```sh
//! cargo test --test it membership_bench -- --ignored --nocapture --test-threads=1
//! ```

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use roster::pb;
use sea_orm::{ConnectionTrait, Value};

use crate::harness::{Backend, TestServer};

/// Counts sea-orm's per-statement spans (`sea_orm.*`) in this process and
/// prints the slow ones (seeding included).
struct StatementCounter(Arc<AtomicUsize>);

impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>>
    tracing_subscriber::Layer<S> for StatementCounter
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name().starts_with("sea_orm.") {
            self.0.fetch_add(1, Ordering::SeqCst);
            if let Some(span) = ctx.span(id) {
                struct V(String);
                impl tracing::field::Visit for V {
                    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                        self.0.push_str(&format!("{}={:?} ", f.name(), v));
                    }
                }
                let mut v = V(String::new());
                attrs.record(&mut v);
                span.extensions_mut().insert((Instant::now(), v.0));
            }
        }
    }

    fn on_close(&self, id: tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        if let Some((t, d)) = span.extensions().get::<(Instant, String)>()
            && t.elapsed() > Duration::from_millis(100)
        {
            eprintln!("  slow statement: {:?} {} {}", t.elapsed(), span.name(), d);
        }
    }
}

fn statements() -> &'static Arc<AtomicUsize> {
    static COUNTER: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    COUNTER.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let counter = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(StatementCounter(counter.clone()));
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
        counter
    })
}

async fn counted<T>(f: impl std::future::Future<Output = T>) -> (T, usize) {
    let before = statements().load(Ordering::SeqCst);
    let out = f.await;
    (out, statements().load(Ordering::SeqCst) - before)
}

/// Inserts `rows` (each `cols` values) into `table` in chunks.
async fn insert_rows(
    store: &roster::store::Store,
    table: &str,
    columns: &str,
    rows: Vec<Vec<Value>>,
) {
    for chunk in rows.chunks(500) {
        let cols = chunk[0].len();
        let tuple = format!("({})", roster::store::placeholders(cols));
        let sql = format!(
            "INSERT INTO {table} ({columns}) VALUES {}",
            vec![tuple; chunk.len()].join(", ")
        );
        let values: Vec<Value> = chunk.iter().flatten().cloned().collect();
        store
            .db()
            .execute_raw(roster::store::statement(store.backend(), &sql, values))
            .await
            .expect("seed insert");
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn m6_remove_member_of_1000_rooms_with_10000_assignments(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 100, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    let leo = s.new_member(&org, "Leo", pb::MemberRole::Member).await;
    let store = s.store().await;
    let now = store.now_ms();
    let rooms: Vec<String> = (0..1000).map(|i| format!("room_b{i:015}")).collect();
    insert_rows(
        &store,
        "rooms",
        "id, organization_id, display_name, created_at",
        rooms
            .iter()
            .map(|r| {
                vec![
                    r.clone().into(),
                    org.clone().into(),
                    "Room".into(),
                    now.into(),
                ]
            })
            .collect(),
    )
    .await;
    let room_member = |room: &String, who: &String, role: &str| -> Vec<Value> {
        vec![
            room.clone().into(),
            who.clone().into(),
            org.clone().into(),
            role.into(),
            true.into(),
            now.into(),
        ]
    };
    let mut rms: Vec<Vec<Value>> = rooms
        .iter()
        .map(|r| room_member(r, &admin, "ADMIN"))
        .collect();
    rms.extend(rooms.iter().map(|r| room_member(r, &leo, "MEMBER")));
    insert_rows(
        &store,
        "room_members",
        "room_id, identity_id, organization_id, role, can_delete_entries, added_at",
        rms,
    )
    .await;
    insert_rows(
        &store,
        "assignments",
        "id, organization_id, room_id, assignee_id, kind, title, created_at",
        (0..10_000)
            .map(|i| {
                vec![
                    format!("asg_b{i:015}").into(),
                    org.clone().into(),
                    rooms[i % rooms.len()].clone().into(),
                    leo.clone().into(),
                    "TASK".into(),
                    "Task".into(),
                    now.into(),
                ]
            })
            .collect(),
    )
    .await;
    let mut c = s.svc_membership();
    let started = Instant::now();
    let (res, stmts) = counted(c.remove_member(pb::RemoveMemberRequest {
        organization_id: org.clone(),
        identity_id: leo.clone(),
        successor_identity_id: String::new(),
    }))
    .await;
    let took = started.elapsed();
    let res = res.expect("remove").into_inner();
    assert_eq!((res.rooms_left, res.assignments_dropped), (1000, 10_000));
    println!(
        "[{b:?}] RemoveMember, 1,000 rooms + 10,000 assignments: {} ({stmts} statements incl. BEGIN/COMMIT and the audit insert)",
        ms(took)
    );
}

async fn m10_m11_statement_counts_of_the_hot_paths(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 100).await;
    let org = s.create_org(&package, &admin).await;
    let room = s.create_room(&org, &admin).await;
    let ids: Vec<String> = (0..1000).map(|i| format!("X{i:07}")).collect();
    let mut svc = s.svc_membership();
    let mut mine = s.membership(Some(&admin_token));
    let check = || pb::CheckAccessRequest {
        identity_id: admin.clone(),
        organization_id: org.clone(),
        room_id: room.clone(),
    };
    let resolve = || pb::ResolveProfilesRequest {
        organization_id: org.clone(),
        identity_ids: ids.clone(),
    };
    // Warm up connections.
    svc.check_access(check()).await.unwrap();
    let (_, n_svc) = counted(svc.check_access(check())).await;
    let (_, n_session) = counted(mine.check_access(check())).await;
    let started = Instant::now();
    let (r, n_resolve_svc) = counted(svc.resolve_profiles(resolve())).await;
    let took = started.elapsed();
    assert_eq!(r.unwrap().into_inner().profiles.len(), 1000);
    let (_, n_resolve_session) = counted(mine.resolve_profiles(resolve())).await;
    println!(
        "[{b:?}] CheckAccess: {n_svc} statement(s) with a service key, {n_session} with a session \
         (+1 session lookup); ResolveProfiles(1000): {n_resolve_svc} with a service key, \
         {n_resolve_session} with a session (+ session lookup + membership check); {}",
        ms(took)
    );
}

async fn m12_sweep_of_100000_guests_with_10000_idle(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s
        .create_package(pb::Plan::Business, 1_000_000, &[&admin])
        .await;
    let org = s.create_org(&package, &admin).await;
    let store = s.store().await;
    let now = store.now_ms();
    let idle_since = now - 2 * 86_400_000;
    let guests: Vec<String> = (0..100_000).map(|i| format!("G{i:07}")).collect();
    insert_rows(
        &store,
        "members",
        "organization_id, identity_id, package_id, role, state, joined_at, last_activity_at",
        guests
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let last = if i % 10 == 0 { idle_since } else { now };
                vec![
                    org.clone().into(),
                    g.clone().into(),
                    package.clone().into(),
                    "GUEST".into(),
                    "ACTIVE".into(),
                    idle_since.into(),
                    last.into(),
                ]
            })
            .collect(),
    )
    .await;
    insert_rows(
        &store,
        "attachments",
        "package_id, identity_id, method, signed_in, credential_id, attached_at, last_seen_at",
        guests
            .iter()
            .map(|g| {
                vec![
                    package.clone().into(),
                    g.clone().into(),
                    "MEMBERSHIP".into(),
                    false.into(),
                    Option::<String>::None.into(),
                    idle_since.into(),
                    Option::<i64>::None.into(),
                ]
            })
            .collect(),
    )
    .await;
    store
        .db()
        .execute_raw(roster::store::statement(
            store.backend(),
            "UPDATE license_packages SET seats_used = seats_used + 100000 WHERE id = ?",
            vec![package.clone().into()],
        ))
        .await
        .unwrap();
    store
        .db()
        .execute_raw(roster::store::statement(
            store.backend(),
            "UPDATE organizations SET guest_inactivity_ms = 86400000 WHERE id = ?",
            vec![org.clone().into()],
        ))
        .await
        .unwrap();
    let mut c = s.svc_membership();
    let started = Instant::now();
    let dry = c
        .run_inactivity_sweep(pb::RunInactivitySweepRequest {
            organization_id: String::new(),
            dry_run: true,
        })
        .await
        .unwrap()
        .into_inner();
    let dry_took = started.elapsed();
    assert_eq!(dry.deactivated_count, 10_000);
    let seats_before = s.seats_used(&package).await;
    let started = Instant::now();
    let (done, stmts) = counted(c.run_inactivity_sweep(pb::RunInactivitySweepRequest {
        organization_id: String::new(),
        dry_run: false,
    }))
    .await;
    let took = started.elapsed();
    let done = done.unwrap().into_inner();
    assert_eq!(done.deactivated_count, 10_000);
    assert_eq!(done.deactivated_members.len(), 1000);
    assert_eq!(s.seats_used(&package).await, seats_before - 10_000);
    println!(
        "[{b:?}] Sweep of 100,000 guests with 10,000 idle: dry run {}, real {} ({stmts} statements)",
        ms(dry_took),
        ms(took)
    );
}

macro_rules! bench_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "measurement; run with --ignored --nocapture --test-threads=1"]
                async fn $name() {
                    super::$name($crate::harness::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "measurement; run with --ignored --nocapture --test-threads=1"]
                async fn $name() {
                    if $crate::harness::skip_postgres() {
                        return;
                    }
                    super::$name($crate::harness::Backend::Postgres).await
                }
            )*
        }
    };
}

bench_tests!(
    m6_remove_member_of_1000_rooms_with_10000_assignments,
    m10_m11_statement_counts_of_the_hot_paths,
    m12_sweep_of_100000_guests_with_10000_idle,
);
