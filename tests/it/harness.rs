//! Test harness: a real `roster` server on `127.0.0.1:0` over SQLite (a
//! temporary file) or PostgreSQL (a database of its own per test on the
//! server named by `ROSTER_TEST_POSTGRES_URL`, copied from a migrated
//! template and dropped afterwards), generated clients with bearer tokens,
//! and fixtures for the common setup steps.
//!
//! PostgreSQL is not optional: without `ROSTER_TEST_POSTGRES_URL` the
//! PostgreSQL variant of every test fails, unless
//! `ROSTER_TEST_SKIP_POSTGRES=1` is set explicitly for a quick local run.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use roster::config::Config;
use roster::pb;
use roster::pb::event_service_client::EventServiceClient;
use roster::pb::identity_service_client::IdentityServiceClient;
use roster::pb::license_service_client::LicenseServiceClient;
use roster::pb::membership_service_client::MembershipServiceClient;
use roster::store::{Clock, ManualClock};
use tokio::sync::oneshot;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file in a temporary directory.
    Sqlite,
    /// Fresh database on the test PostgreSQL server.
    Postgres,
}

/// Generates `sqlite::name` and `postgres::name` tests from
/// `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

/// Whether the PostgreSQL variants were explicitly switched off.
pub fn skip_postgres() -> bool {
    std::env::var("ROSTER_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1")
}

/// The service key every test server trusts.
pub const SERVICE_KEY: &str = "rsk_test-service-key-0123456789";
/// argon2id cost of the test servers' new password hashes: the lowest
/// argon2 accepts, so the suite's CPU goes to the behaviour under test.
/// `secrets` unit tests and the benchmark use the recommended cost.
pub const TEST_HASH_COST: roster::domain::secrets::HashCost = roster::domain::secrets::HashCost {
    memory_kib: 8,
    iterations: 1,
    parallelism: 1,
};

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// A client type with the bearer interceptor.
pub type Authed = InterceptedService<Channel, Bearer>;

/// A running server and what tests need to reach it.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it serves Prometheus metrics (plain HTTP `GET /metrics`).
    pub metrics_addr: SocketAddr,
    /// Where it serves SCIM 2.0 (plain HTTP, base path `/scim/v2`).
    pub scim_addr: SocketAddr,
    /// Its database URL (shared by replicas).
    pub database_url: String,
    /// The server's clock; tests move it forward.
    pub clock: Arc<ManualClock>,
    /// Which backend.
    pub backend: Backend,
    channel: Channel,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _keep: Keep,
}

/// What a server's database lives in: the SQLite file's temporary
/// directory, or the PostgreSQL database its test created. Shared by the
/// replicas; removed with the last of them.
#[derive(Clone, Default)]
struct Keep {
    _dir: Option<Arc<tempfile::TempDir>>,
    _database: Option<Arc<PostgresDatabase>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

// ---- PostgreSQL databases ------------------------------------------------
//
// Every PostgreSQL test gets its own database. Rather than migrating each
// one (a third of a second or more per test), the migrations run once per
// test process into a template database and each test's database is a
// copy of it (`CREATE DATABASE … TEMPLATE …`). The server under test still
// runs its migrator at start and finds nothing pending.
// Databases are dropped once the last server on them is gone, and the
// template at exit; anything a killed run left behind matches
// `roster_test_p<pid>_%`, which scripts/test.sh drops before the suite
// when process <pid> is gone (a run under way elsewhere keeps its own).

/// The superuser URL of the test PostgreSQL server.
fn postgres_admin_url() -> String {
    std::env::var("ROSTER_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "ROSTER_TEST_POSTGRES_URL is not set: the PostgreSQL half of the suite needs a \
             server (scripts/test.sh starts one); set ROSTER_TEST_SKIP_POSTGRES=1 to skip it \
             deliberately"
        )
    })
}

/// The URL of database `name` on the test server.
fn postgres_url(name: &str) -> String {
    let admin = postgres_admin_url();
    let (base, _) = admin.rsplit_once('/').expect("URL has a database part");
    format!("{base}/{name}")
}

/// A new database name, `roster_test_p<pid>_…`: scripts/test.sh drops
/// those whose process is gone.
fn postgres_database_name(kind: &str) -> String {
    format!(
        "roster_test_p{}_{kind}{}",
        std::process::id(),
        roster::domain::OrgId::generate()
            .as_str()
            .trim_start_matches("org_")
    )
}

/// Runs `sql` (a CREATE/ALTER/DROP DATABASE) on the test server.
async fn postgres_admin(sql: String) {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot reach test PostgreSQL at {admin}: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
}

/// A new, empty database (no schema); dropped at exit.
pub async fn fresh_postgres_database() -> String {
    let name = postgres_database_name("");
    postgres_admin(format!("CREATE DATABASE {name}")).await;
    dropper().created(&name);
    postgres_url(&name)
}

/// The migrated template of this test process (created on first use).
async fn postgres_template() -> &'static str {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let name = postgres_database_name("template_");
            postgres_admin(format!("CREATE DATABASE {name}")).await;
            dropper().template(&name);
            let db = roster::store::connect(&postgres_url(&name), 1)
                .await
                .expect("connect to the template database");
            roster::store::Store::new(db.clone(), Arc::new(ManualClock::default()))
                .migrate()
                .await
                .expect("migrate the template database");
            db.close().await.expect("close the template connection");
            // Copies fail while anyone is connected to the template; no
            // one may connect from now on.
            postgres_admin(format!(
                "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"
            ))
            .await;
            name
        })
        .await
}

/// A new database with every migration applied (a copy of the template);
/// dropped with the last [`TestServer`] holding its [`PostgresDatabase`].
async fn migrated_postgres_database() -> PostgresDatabase {
    let template = postgres_template().await;
    let name = postgres_database_name("");
    // The template's last session may still be exiting on the server;
    // CREATE DATABASE waits up to 5 s for it, so this rarely repeats.
    let mut attempt = 0;
    loop {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
            .await
            .expect("reach test PostgreSQL");
        let sql = format!("CREATE DATABASE {name} TEMPLATE {template}");
        match sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut conn)
            .await
        {
            Ok(_) => break,
            Err(e) if attempt < 5 && e.to_string().contains("is being accessed") => {
                attempt += 1;
            }
            Err(e) => panic!("{sql}: {e}"),
        }
    }
    dropper().created(&name);
    PostgresDatabase { name }
}

/// A test database that is dropped when this is (in the background).
#[derive(Debug)]
pub struct PostgresDatabase {
    name: String,
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        dropper().drop_now(&self.name);
    }
}

/// Drops test databases on a thread of its own (their servers may still
/// be shutting down: `WITH (FORCE)` ends their sessions), and at exit
/// what is left, the template last.
struct Dropper {
    tx: std::sync::Mutex<std::sync::mpsc::Sender<DropJob>>,
}

enum DropJob {
    /// Created by this process: drop at exit at the latest.
    Created(String),
    /// The template: dropped after every copy.
    Template(String),
    /// Done with: drop now.
    Drop(String),
    /// Exit: drop everything left, then answer.
    Finish(std::sync::mpsc::Sender<()>),
}

fn dropper() -> &'static Dropper {
    static DROPPER: std::sync::OnceLock<Dropper> = std::sync::OnceLock::new();
    DROPPER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("test-database-dropper".into())
            .spawn(move || drop_databases(rx))
            .expect("spawn the database dropper");
        unsafe extern "C" {
            fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
        }
        extern "C" fn at_exit() {
            dropper().finish();
        }
        // SAFETY: registers a plain function with the C runtime; it runs
        // once, when the test binary exits.
        unsafe {
            atexit(at_exit);
        }
        Dropper {
            tx: std::sync::Mutex::new(tx),
        }
    })
}

impl Dropper {
    fn send(&self, job: DropJob) {
        if let Ok(tx) = self.tx.lock() {
            let _ = tx.send(job);
        }
    }

    fn created(&self, name: &str) {
        self.send(DropJob::Created(name.to_owned()));
    }

    fn template(&self, name: &str) {
        self.send(DropJob::Template(name.to_owned()));
    }

    fn drop_now(&self, name: &str) {
        self.send(DropJob::Drop(name.to_owned()));
    }

    /// Drops what is left (waits up to a minute).
    fn finish(&self) {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        self.send(DropJob::Finish(done_tx));
        let _ = done_rx.recv_timeout(std::time::Duration::from_secs(60));
    }
}

/// The dropper thread: drops what it is given, several at once (each
/// DROP DATABASE waits for a checkpoint, which concurrent drops share).
fn drop_databases(rx: std::sync::mpsc::Receiver<DropJob>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("dropper runtime");
    let mut left: Vec<String> = Vec::new();
    let mut template: Option<String> = None;
    while let Ok(job) = rx.recv() {
        let mut batch = Vec::new();
        let mut finish = None;
        for job in std::iter::once(job).chain(rx.try_iter()) {
            match job {
                DropJob::Created(name) => left.push(name),
                DropJob::Template(name) => template = Some(name),
                DropJob::Drop(name) => {
                    left.retain(|n| *n != name);
                    batch.push(name);
                }
                DropJob::Finish(done) => finish = Some(done),
            }
        }
        if finish.is_some() {
            batch.append(&mut left);
        }
        runtime.block_on(drop_all(&batch));
        if let Some(done) = finish {
            if let Some(name) = template.take() {
                runtime.block_on(drop_all(&[name]));
            }
            let _ = done.send(());
            return;
        }
    }
}

async fn drop_all(names: &[String]) {
    use futures::StreamExt;
    futures::stream::iter(names)
        .for_each_concurrent(4, |name| async move {
            use sqlx::Connection;
            let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await else {
                return;
            };
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            {
                eprintln!("could not drop test database {name}: {e}");
            }
            let _ = conn.close().await;
        })
        .await;
}

impl TestServer {
    /// Starts a server on a fresh database.
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_tuned(backend, |_| {}).await
    }

    /// Like [`TestServer::start`], with the test defaults changed by `tune`.
    pub async fn start_tuned(backend: Backend, tune: fn(&mut Config)) -> TestServer {
        let (url, keep) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/roster.db?mode=rwc", dir.path().display());
                let keep = Keep {
                    _dir: Some(Arc::new(dir)),
                    _database: None,
                };
                (url, keep)
            }
            Backend::Postgres => {
                let database = migrated_postgres_database().await;
                let url = postgres_url(&database.name);
                let keep = Keep {
                    _dir: None,
                    _database: Some(Arc::new(database)),
                };
                (url, keep)
            }
        };
        Self::start_with(backend, url, keep, tune, None).await
    }

    /// Starts another replica on this server's database (own caches, own
    /// listener, own clock starting at this server's time: a window of
    /// the sign-in limiter must not start earlier on one replica).
    pub async fn replica(&self) -> TestServer {
        self.replica_tuned(|_| {}).await
    }

    /// Starts another replica on this server's database reached through
    /// `url` (e.g. a fault-injecting proxy in front of the same server).
    pub async fn replica_via(&self, url: String) -> TestServer {
        let now = Some(self.clock.now_ms());
        let mut s = Self::start_with(self.backend, url, self._keep.clone(), |_| {}, now).await;
        s.database_url = self.database_url.clone();
        s
    }

    /// Starts a server on the database at `url` (already created).
    pub async fn start_at(backend: Backend, url: String) -> TestServer {
        Self::start_on(backend, url, Keep::default()).await
    }

    /// Like [`TestServer::replica`], with the test defaults changed by `tune`.
    pub async fn replica_tuned(&self, tune: fn(&mut Config)) -> TestServer {
        Self::start_with(
            self.backend,
            self.database_url.clone(),
            self._keep.clone(),
            tune,
            Some(self.clock.now_ms()),
        )
        .await
    }

    async fn start_on(backend: Backend, url: String, keep: Keep) -> TestServer {
        Self::start_with(backend, url, keep, |_| {}, None).await
    }

    async fn start_with(
        backend: Backend,
        url: String,
        keep: Keep,
        tune: fn(&mut Config),
        now_ms: Option<i64>,
    ) -> TestServer {
        let mut config = Config::with_database(url.clone());
        config.db_max_connections = 5;
        config.service_keys =
            roster::config::parse_service_keys(&format!("test={SERVICE_KEY}")).expect("test key");
        config.sweep_interval = std::time::Duration::ZERO;
        config.hash_cost = TEST_HASH_COST;
        tune(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let metrics = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind metrics");
        let metrics_addr = metrics.local_addr().expect("metrics addr");
        let scim = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SCIM");
        let scim_addr = scim.local_addr().expect("SCIM addr");
        let clock = Arc::new(now_ms.map_or_else(ManualClock::default, ManualClock::starting_at));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(roster::run(
            config,
            listener,
            Some(metrics),
            Some(scim),
            clock.clone(),
            async {
                let _ = rx.await;
            },
        ));
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect_lazy();
        let server = TestServer {
            addr,
            metrics_addr,
            scim_addr,
            database_url: url,
            clock,
            backend,
            channel,
            shutdown: Some(tx),
            task: Some(task),
            _keep: keep,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let mut health = tonic_health::pb::health_client::HealthClient::new(self.channel.clone());
        for _ in 0..200 {
            let ok = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .is_ok();
            if ok {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("test server did not become ready");
    }

    /// Stops the server and waits until it has drained.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }

    /// A channel to the server.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    fn bearer(token: Option<&str>) -> Bearer {
        Bearer(token.map(|t| format!("Bearer {t}").parse().expect("ascii token")))
    }

    /// IdentityService client with `token` (None: anonymous).
    pub fn identity(&self, token: Option<&str>) -> IdentityServiceClient<Authed> {
        IdentityServiceClient::with_interceptor(self.channel(), Self::bearer(token))
    }

    /// LicenseService client with `token`.
    pub fn license(&self, token: Option<&str>) -> LicenseServiceClient<Authed> {
        LicenseServiceClient::with_interceptor(self.channel(), Self::bearer(token))
    }

    /// MembershipService client with `token`.
    pub fn membership(&self, token: Option<&str>) -> MembershipServiceClient<Authed> {
        MembershipServiceClient::with_interceptor(self.channel(), Self::bearer(token))
    }

    /// EventService client with `token`.
    pub fn events(&self, token: Option<&str>) -> EventServiceClient<Authed> {
        EventServiceClient::with_interceptor(self.channel(), Self::bearer(token))
    }

    /// Service-key clients.
    pub fn svc_identity(&self) -> IdentityServiceClient<Authed> {
        self.identity(Some(SERVICE_KEY))
    }

    /// Service-key LicenseService client.
    pub fn svc_license(&self) -> LicenseServiceClient<Authed> {
        self.license(Some(SERVICE_KEY))
    }

    /// Service-key MembershipService client.
    pub fn svc_membership(&self) -> MembershipServiceClient<Authed> {
        self.membership(Some(SERVICE_KEY))
    }

    /// Service-key EventService client.
    pub fn svc_events(&self) -> EventServiceClient<Authed> {
        self.events(Some(SERVICE_KEY))
    }

    // ---- fixtures -------------------------------------------------------

    /// Creates an identity named `name` and returns its ID.
    pub async fn create_identity(&self, name: &str) -> String {
        self.svc_identity()
            .create_identity(pb::CreateIdentityRequest {
                request_id: String::new(),
                identity: Some(pb::Identity {
                    display_name: name.to_owned(),
                    avatar_url: format!("https://example.com/{name}.png"),
                    ..Default::default()
                }),
            })
            .await
            .expect("create identity")
            .into_inner()
            .identity_id
    }

    /// Creates a license package and returns its ID.
    pub async fn create_package(&self, plan: pb::Plan, seats: i32, admins: &[&str]) -> String {
        self.svc_license()
            .create_license_package(pb::CreateLicensePackageRequest {
                request_id: String::new(),
                license_package: Some(pb::LicensePackage {
                    display_name: "Test package".to_owned(),
                    plan: plan as i32,
                    seat_limit: seats,
                    admin_identity_ids: admins.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                }),
            })
            .await
            .expect("create package")
            .into_inner()
            .package_id
    }

    /// Issues a credential in `package` and returns (credential_id,
    /// username, password).
    pub async fn issue_credential(
        &self,
        package: &str,
        username: &str,
    ) -> (String, String, String) {
        let resp = self
            .svc_license()
            .issue_credential(pb::IssueCredentialRequest {
                package_id: package.to_owned(),
                username: username.to_owned(),
                password: String::new(),
            })
            .await
            .expect("issue credential")
            .into_inner();
        let cred = resp.credential.expect("credential");
        (cred.credential_id, cred.username, resp.password)
    }

    /// Signs `identity` in and returns the session token.
    pub async fn sign_in(&self, identity: &str, username: &str, password: &str) -> String {
        self.try_sign_in(identity, username, password)
            .await
            .expect("sign in")
    }

    /// Signs in, returning the error status on failure.
    pub async fn try_sign_in(
        &self,
        identity: &str,
        username: &str,
        password: &str,
    ) -> Result<String, Status> {
        self.identity(None)
            .sign_in(pb::SignInRequest {
                identity_id: identity.to_owned(),
                username: username.to_owned(),
                password: password.to_owned(),
            })
            .await
            .map(|r| r.into_inner().session_token)
    }

    /// Whether a session token is valid (asked with the service key).
    pub async fn session_valid(&self, token: &str) -> bool {
        self.svc_identity()
            .validate_session(pb::ValidateSessionRequest {
                session_token: token.to_owned(),
            })
            .await
            .expect("validate session")
            .into_inner()
            .valid
    }

    /// A package with `seats` seats administered by a fresh identity that
    /// is signed in; returns (package_id, admin_id, admin_token).
    pub async fn package_with_admin(&self, plan: pb::Plan, seats: i32) -> (String, String, String) {
        let admin = self.create_identity("Admin").await;
        let package = self.create_package(plan, seats, &[&admin]).await;
        let username = format!("admin-{}", admin.to_lowercase());
        let (_, user, pass) = self.issue_credential(&package, &username).await;
        let token = self.sign_in(&admin, &user, &pass).await;
        (package, admin, token)
    }
}

/// Asserts a call failed with `code` and, when given, ErrorInfo `reason`.
#[track_caller]
pub fn assert_status<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    reason: Option<&str>,
) -> Status {
    use tonic_types::StatusExt;
    let status = match result {
        Ok(v) => panic!("expected {code:?}, got Ok({v:?})"),
        Err(s) => s,
    };
    assert_eq!(status.code(), code, "unexpected status: {status:?}");
    if let Some(reason) = reason {
        let info = status
            .get_details_error_info()
            .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
        assert_eq!(info.reason, reason, "unexpected reason in {status:?}");
    }
    status
}

/// Asserts INVALID_ARGUMENT naming `field` in its BadRequest details.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Status>, field: &str) {
    use tonic_types::StatusExt;
    let status = assert_status(result, Code::InvalidArgument, None);
    let bad = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("no BadRequest in {status:?}"));
    assert!(
        bad.field_violations.iter().any(|v| v.field == field),
        "field {field} not named in {:?}",
        bad.field_violations
    );
}

// ---- membership fixtures (MembershipService tests) ----------------------

impl TestServer {
    /// Creates an organization bound to `package` with `admin` as its
    /// first ADMIN (service key) and returns its ID.
    pub async fn create_org(&self, package: &str, admin: &str) -> String {
        self.svc_membership()
            .create_organization(pb::CreateOrganizationRequest {
                request_id: String::new(),
                organization: Some(pb::Organization {
                    display_name: "Test organization".to_owned(),
                    package_id: package.to_owned(),
                    ..Default::default()
                }),
                admin_identity_id: admin.to_owned(),
            })
            .await
            .expect("create organization")
            .into_inner()
            .organization_id
    }

    /// Creates a sub-organization of `parent` with `admin` as its first
    /// ADMIN (service key) and returns its ID.
    pub async fn create_sub_org(&self, parent: &str, admin: &str) -> String {
        self.svc_membership()
            .create_organization(pb::CreateOrganizationRequest {
                request_id: String::new(),
                organization: Some(pb::Organization {
                    display_name: "Test sub-organization".to_owned(),
                    parent_organization_id: parent.to_owned(),
                    ..Default::default()
                }),
                admin_identity_id: admin.to_owned(),
            })
            .await
            .expect("create sub-organization")
            .into_inner()
            .organization_id
    }

    /// Adds `identity` to `org` with `role` (service key).
    pub async fn add_member(&self, org: &str, identity: &str, role: pb::MemberRole) -> pb::Member {
        self.svc_membership()
            .add_member(pb::AddMemberRequest {
                request_id: String::new(),
                organization_id: org.to_owned(),
                identity_id: identity.to_owned(),
                role: role as i32,
            })
            .await
            .expect("add member")
            .into_inner()
    }

    /// Creates an identity named `name` and adds it to `org` with `role`.
    pub async fn new_member(&self, org: &str, name: &str, role: pb::MemberRole) -> String {
        let id = self.create_identity(name).await;
        self.add_member(org, &id, role).await;
        id
    }

    /// Creates a room in `org` with `admin` as room admin (service key).
    pub async fn create_room(&self, org: &str, admin: &str) -> String {
        self.svc_membership()
            .create_room(pb::CreateRoomRequest {
                request_id: String::new(),
                room: Some(pb::Room {
                    organization_id: org.to_owned(),
                    display_name: "Test room".to_owned(),
                    ..Default::default()
                }),
                admin_identity_id: admin.to_owned(),
            })
            .await
            .expect("create room")
            .into_inner()
            .room_id
    }

    /// Adds `identity` to `room` with `role` (service key).
    pub async fn add_room_member(&self, room: &str, identity: &str, role: pb::RoomRole) {
        self.svc_membership()
            .add_room_member(pb::AddRoomMemberRequest {
                request_id: String::new(),
                room_id: room.to_owned(),
                identity_id: identity.to_owned(),
                role: role as i32,
                permissions: Vec::new(),
                without_permissions: false,
            })
            .await
            .expect("add room member");
    }

    /// Registers a task in `room` assigned to `assignee` and returns its ID.
    pub async fn create_assignment(&self, room: &str, assignee: &str, title: &str) -> String {
        self.svc_membership()
            .create_assignment(pb::CreateAssignmentRequest {
                request_id: String::new(),
                assignment: Some(pb::Assignment {
                    room_id: room.to_owned(),
                    assignee_identity_id: assignee.to_owned(),
                    kind: pb::AssignmentKind::Task as i32,
                    title: title.to_owned(),
                    ..Default::default()
                }),
            })
            .await
            .expect("create assignment")
            .into_inner()
            .assignment_id
    }

    /// The member record of `identity` in `org`, if any (service key).
    pub async fn member(&self, org: &str, identity: &str) -> Option<pb::Member> {
        let mut token = String::new();
        loop {
            let page = self
                .svc_membership()
                .list_members(pb::ListMembersRequest {
                    organization_id: org.to_owned(),
                    page_size: 1000,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .expect("list members")
                .into_inner();
            if let Some(m) = page.members.into_iter().find(|m| m.identity_id == identity) {
                return Some(m);
            }
            if page.next_page_token.is_empty() {
                return None;
            }
            token = page.next_page_token;
        }
    }

    /// The identity IDs in `room` (service key).
    pub async fn room_members(&self, room: &str) -> Vec<pb::RoomMember> {
        self.svc_membership()
            .list_room_members(pb::ListRoomMembersRequest {
                room_id: room.to_owned(),
                page_size: 1000,
                page_token: String::new(),
            })
            .await
            .expect("list room members")
            .into_inner()
            .room_members
    }

    /// Seats in use in `package`.
    pub async fn seats_used(&self, package: &str) -> i32 {
        self.svc_license()
            .get_seat_usage(pb::GetSeatUsageRequest {
                package_id: package.to_owned(),
            })
            .await
            .expect("seat usage")
            .into_inner()
            .used
    }

    /// A session token for `identity`, signing in with a fresh credential
    /// of `package` (which attaches the identity to it, taking a seat).
    pub async fn token_for(&self, package: &str, identity: &str) -> String {
        let username = format!("user-{}", identity.to_lowercase());
        let (_, user, pass) = self.issue_credential(package, &username).await;
        self.sign_in(identity, &user, &pass).await
    }

    /// `GET /metrics` on the metrics listener, whole HTTP response as text.
    pub async fn scrape(&self) -> String {
        get_metrics(self.metrics_addr).await
    }

    /// CheckAccess as the service.
    pub async fn access(&self, identity: &str, org: &str, room: &str) -> pb::CheckAccessResponse {
        self.svc_membership()
            .check_access(pb::CheckAccessRequest {
                identity_id: identity.to_owned(),
                organization_id: org.to_owned(),
                room_id: room.to_owned(),
            })
            .await
            .expect("check access")
            .into_inner()
    }

    /// ResolveProfiles as the service.
    pub async fn profiles(&self, org: &str, ids: &[&str]) -> Vec<pb::Profile> {
        self.svc_membership()
            .resolve_profiles(pb::ResolveProfilesRequest {
                organization_id: org.to_owned(),
                identity_ids: ids.iter().map(|s| s.to_string()).collect(),
            })
            .await
            .expect("resolve profiles")
            .into_inner()
            .profiles
    }

    /// A store on this server's database (for audit-log assertions and
    /// seeding large data sets), with the server's clock.
    pub async fn store(&self) -> roster::store::Store {
        let db = roster::store::connect(&self.database_url, 2)
            .await
            .expect("connect to the test database");
        roster::store::Store::new(db, self.clock.clone())
    }

    /// Audit events of `org`, oldest first.
    pub async fn org_events(&self, org: &str) -> Vec<roster::domain::Event> {
        let store = self.store().await;
        let query = roster::store::EventQuery {
            org_id: Some(org.to_owned()),
            ..Default::default()
        };
        let mut events = store
            .list_events(
                &query,
                &roster::domain::PageRequest {
                    size: 100_000,
                    after: None,
                },
            )
            .await
            .expect("list events")
            .items;
        let _ = store.db().clone().close().await;
        events.reverse();
        events
    }
}

// ---- raw calls (descriptor-driven tests) ---------------------------------

/// `message` as a request with `authorization: Bearer <token>`, for raw
/// `tonic::client::Grpc` calls that bypass the generated clients.
pub fn with_bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request
}

/// A codec sending and receiving message bytes as they are, so a test can
/// call any method of a descriptor set without its generated types.
#[derive(Clone, Copy, Debug, Default)]
pub struct BytesCodec;

/// See [`BytesCodec`].
#[derive(Debug)]
pub struct BytesEncoder;

/// See [`BytesCodec`].
#[derive(Debug)]
pub struct BytesDecoder;

impl tonic::codec::Encoder for BytesEncoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(
        &mut self,
        item: Vec<u8>,
        buf: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), Status> {
        use prost::bytes::BufMut;
        buf.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for BytesDecoder {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, buf: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        use prost::bytes::Buf;
        Ok(Some(buf.copy_to_bytes(buf.remaining()).to_vec()))
    }
}

impl tonic::codec::Codec for BytesCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = BytesEncoder;
    type Decoder = BytesDecoder;

    fn encoder(&mut self) -> BytesEncoder {
        BytesEncoder
    }

    fn decoder(&mut self) -> BytesDecoder {
        BytesDecoder
    }
}

/// The value of the sample `name` (no labels) in a scrape.
pub fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

/// `GET /metrics` at `addr` (a metrics listener), whole HTTP response as text.
pub async fn get_metrics(addr: impl tokio::net::ToSocketAddrs) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to metrics");
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: roster\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut out = String::new();
    conn.read_to_string(&mut out).await.expect("read");
    out
}
