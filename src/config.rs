//! Command line and environment. Every setting has a default that works on
//! a fresh machine: a SQLite file `roster.db` in the working directory and
//! `127.0.0.1:50051`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::domain::secrets;

/// Default database: a SQLite file in the working directory, created on
/// first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://roster.db?mode=rwc";

/// `roster` command line.
#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version,
    about = "Identities, membership and license seats over gRPC"
)]
pub struct Cli {
    /// Log line format on stderr: `text` (coloured on a terminal only) or
    /// `json` (one object per line).
    #[arg(long, global = true, env = "ROSTER_LOG_FORMAT", value_enum, default_value_t = crate::telemetry::LogFormat::Text)]
    pub log_format: crate::telemetry::LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once at start
pub enum Command {
    /// Apply migrations and serve gRPC until SIGTERM/SIGINT.
    Serve(ServeArgs),
    /// Apply pending schema migrations and exit.
    Migrate(DatabaseArgs),
    /// Mint a new service key, store its hash and print it once.
    CreateServiceKey {
        /// Name recorded as the actor of the key's changes.
        name: String,
        /// Database.
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Break-glass repair (M2): make an existing, non-revoked identity an
    /// administrator of a license package, with database access only (one
    /// transaction with its audit event, actor SYSTEM). For a package whose
    /// last administrator revoked their ID while none of its organizations
    /// has an active admin left to stand in.
    GrantPackageAdmin {
        /// The license package (`pkg_…`).
        #[arg(long)]
        package_id: String,
        /// The identity to make an administrator.
        #[arg(long)]
        identity_id: String,
        /// Database.
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// Where the data lives.
#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    pub database_url: String,
    /// Connection pool size.
    #[arg(long, env = "ROSTER_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// How long a call waits for a pooled database connection before it
    /// fails with UNAVAILABLE (C0: fail fast when the database is gone).
    #[arg(long, env = "ROSTER_DB_ACQUIRE_TIMEOUT", default_value = "2s", value_parser = humantime::parse_duration)]
    pub db_acquire_timeout: Duration,
}

/// `roster serve` settings.
#[derive(Clone, Args)]
pub struct ServeArgs {
    /// Database.
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address to listen on.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Service keys, comma separated, each `name=secret` or
    /// `name=sha256:<hex of the secret's SHA-256>`. When none are configured
    /// and the database holds none, one is generated and printed once.
    #[arg(
        long,
        env = "ROSTER_SERVICE_KEYS",
        default_value = "",
        hide_env_values = true
    )]
    pub service_keys: String,
    /// How long a session lasts.
    #[arg(long, env = "ROSTER_SESSION_TTL", default_value = "30d", value_parser = humantime::parse_duration)]
    pub session_ttl: Duration,
    /// How often the inactive-guest sweep runs.
    #[arg(long, env = "ROSTER_SWEEP_INTERVAL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub sweep_interval: Duration,
    /// How often the scheduler looks for due scheduled changes and
    /// expected returns (W3); `0s` disables it on this replica.
    #[arg(long, env = "ROSTER_SCHEDULE_POLL_INTERVAL", default_value = "1s", value_parser = humantime::parse_duration)]
    pub schedule_poll_interval: Duration,
    /// Longest delay of the scrub after a revocation (I4): it runs once
    /// revocations have paused for a second, or this long after the first
    /// one of a burst, so a burst shares one scrub (PostgreSQL rewrites the
    /// identity tables under an exclusive lock; SQLite truncates its WAL).
    #[arg(long, env = "ROSTER_ERASURE_SCRUB_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub erasure_scrub_interval: Duration,
    /// How long events stay in the log (and cursors stay resumable).
    #[arg(long, env = "ROSTER_EVENT_RETENTION", default_value = "90d", value_parser = humantime::parse_duration)]
    pub event_retention: Duration,
    /// Serve Prometheus metrics (`GET /metrics`, plain HTTP) on this
    /// address, e.g. `0.0.0.0:9464`; off when unset.
    #[arg(long, env = "ROSTER_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Serve SCIM 2.0 provisioning (RFC 7644) under `/scim/v2` on this
    /// address, e.g. `0.0.0.0:8443`, with the gRPC TLS files when TLS is
    /// on; off when unset.
    #[arg(long, env = "ROSTER_SCIM_LISTEN")]
    pub scim_listen: Option<SocketAddr>,
    /// Also serve plaintext gRPC health (only `grpc.health.v1`) on this
    /// address, for kubelet probes, which cannot speak TLS; off when unset.
    #[arg(long, env = "ROSTER_HEALTH_LISTEN")]
    pub health_listen: Option<SocketAddr>,
    /// PEM certificate chain (leaf first); with `--tls-key` it turns TLS
    /// on for gRPC. Re-read when the file changes.
    #[arg(long, env = "ROSTER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "ROSTER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificate(s): clients must present a certificate signed by
    /// one of them (mutual TLS). Needs `--tls-cert`.
    #[arg(long, env = "ROSTER_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// How often the TLS files are checked for changes.
    #[arg(long, env = "ROSTER_TLS_RELOAD_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub tls_reload_interval: Duration,
    /// Do not apply migrations; refuse to start unless the schema is
    /// exactly the one this binary knows (run `roster migrate` first).
    #[arg(long, env = "ROSTER_NO_MIGRATE")]
    pub no_migrate: bool,
    /// At most this many argon2id password hashes at once (SignIn,
    /// IssueCredential); each holds `--argon2-memory-kib` (19 MiB by
    /// default). Default: the number of cores, which in a container is the
    /// node's, so set it to fit the memory limit.
    #[arg(long, env = "ROSTER_HASH_CONCURRENCY", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub hash_concurrency: Option<u32>,
    /// argon2id memory cost of new password hashes, in KiB. The default and
    /// `--argon2-iterations` are OWASP's first recommendation; the server
    /// warns at start when the cost is below OWASP's minimum. Existing
    /// hashes verify with the cost stored in them.
    #[arg(long, env = "ROSTER_ARGON2_MEMORY_KIB", default_value_t = secrets::HashCost::RECOMMENDED.memory_kib)]
    pub argon2_memory_kib: u32,
    /// argon2id passes over the memory for new password hashes.
    #[arg(long, env = "ROSTER_ARGON2_ITERATIONS", default_value_t = secrets::HashCost::RECOMMENDED.iterations)]
    pub argon2_iterations: u32,
    /// argon2id lanes for new password hashes (each hash still runs on one
    /// thread).
    #[arg(long, env = "ROSTER_ARGON2_PARALLELISM", default_value_t = secrets::HashCost::RECOMMENDED.parallelism)]
    pub argon2_parallelism: u32,
    /// After SIGTERM, health reports NOT_SERVING for this long before
    /// the server stops accepting and drains.
    #[arg(long, env = "ROSTER_SHUTDOWN_DELAY", default_value = "0s", value_parser = humantime::parse_duration)]
    pub shutdown_delay: Duration,
    /// One info line per call (target `roster::access`: method, code,
    /// latency, caller kind; never a token).
    #[arg(long, env = "ROSTER_ACCESS_LOG", default_value_t = true, action = clap::ArgAction::Set)]
    pub access_log: bool,
}

/// Everything `serve` needs, independent of how it was given.
#[derive(Clone)]
pub struct Config {
    /// Database URL.
    pub database_url: String,
    /// Pool size.
    pub db_max_connections: u32,
    /// Longest wait for a pooled connection.
    pub db_acquire_timeout: Duration,
    /// Listen address (tests pass a listener instead).
    pub listen: SocketAddr,
    /// Configured service keys: (name, SHA-256 hex of the key).
    pub service_keys: Vec<(String, String)>,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// Inactive-guest sweep interval (zero disables the background sweep).
    pub sweep_interval: Duration,
    /// Scheduler poll interval (zero disables it, W3).
    pub schedule_poll_interval: Duration,
    /// Longest delay of the scrub after an erasure (I4).
    pub erasure_scrub_interval: Duration,
    /// Event retention.
    pub event_retention: Duration,
    /// Prometheus metrics address, if any (tests pass a listener instead).
    pub metrics_listen: Option<SocketAddr>,
    /// SCIM 2.0 address, if any (tests pass a listener instead).
    pub scim_listen: Option<SocketAddr>,
    /// Plaintext health-only gRPC address for probes, if any.
    pub health_listen: Option<SocketAddr>,
    /// TLS for gRPC, off when None.
    pub tls: Option<crate::tls::TlsFiles>,
    /// How often the TLS files are polled for changes.
    pub tls_reload_interval: Duration,
    /// Skip migrations at start and require the schema to be current.
    pub no_migrate: bool,
    /// Concurrent argon2id hashes (None: one per core).
    pub hash_concurrency: Option<u32>,
    /// argon2id cost of new password hashes.
    pub hash_cost: secrets::HashCost,
    /// NOT_SERVING time between SIGTERM and the drain.
    pub shutdown_delay: Duration,
    /// Write one access log line per call.
    pub access_log: bool,
}

impl Config {
    /// Settings for `database_url` with every other value at its default.
    pub fn with_database(database_url: impl Into<String>) -> Self {
        Config {
            database_url: database_url.into(),
            db_max_connections: 16,
            db_acquire_timeout: crate::store::DEFAULT_ACQUIRE_TIMEOUT,
            listen: ([127, 0, 0, 1], 50051).into(),
            service_keys: Vec::new(),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            sweep_interval: Duration::from_secs(3600),
            schedule_poll_interval: Duration::from_secs(1),
            erasure_scrub_interval: Duration::from_secs(5),
            event_retention: Duration::from_secs(90 * 24 * 3600),
            metrics_listen: None,
            scim_listen: None,
            health_listen: None,
            tls: None,
            tls_reload_interval: Duration::from_secs(10),
            no_migrate: false,
            hash_concurrency: None,
            hash_cost: secrets::HashCost::RECOMMENDED,
            shutdown_delay: Duration::ZERO,
            access_log: true,
        }
    }
}

impl TryFrom<ServeArgs> for Config {
    type Error = String;

    fn try_from(args: ServeArgs) -> Result<Self, String> {
        Ok(Config {
            database_url: args.db.database_url,
            db_max_connections: args.db.db_max_connections,
            db_acquire_timeout: args.db.db_acquire_timeout,
            listen: args.listen,
            service_keys: parse_service_keys(&args.service_keys)?,
            session_ttl: args.session_ttl,
            sweep_interval: args.sweep_interval,
            schedule_poll_interval: args.schedule_poll_interval,
            erasure_scrub_interval: args.erasure_scrub_interval,
            event_retention: args.event_retention,
            metrics_listen: args.metrics_listen,
            scim_listen: args.scim_listen,
            health_listen: args.health_listen,
            tls: match (args.tls_cert, args.tls_key) {
                (Some(cert), Some(key)) => Some(crate::tls::TlsFiles {
                    cert,
                    key,
                    client_ca: args.tls_client_ca,
                }),
                _ => None,
            },
            tls_reload_interval: args.tls_reload_interval,
            no_migrate: args.no_migrate,
            hash_concurrency: args.hash_concurrency,
            hash_cost: secrets::HashCost::new(
                args.argon2_memory_kib,
                args.argon2_iterations,
                args.argon2_parallelism,
            )?,
            shutdown_delay: args.shutdown_delay,
            access_log: args.access_log,
        })
    }
}

/// Parses `name=secret,name=sha256:<hex>` into (name, hash) pairs.
pub fn parse_service_keys(spec: &str) -> Result<Vec<(String, String)>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (name, value) = entry
                .split_once('=')
                .ok_or_else(|| "a service key entry is not name=secret".to_owned())?;
            let name = name.trim();
            if name.is_empty() {
                return Err("a service key has an empty name".to_owned());
            }
            let hash = match value.strip_prefix("sha256:") {
                Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    hex.to_ascii_lowercase()
                }
                Some(_) => return Err(format!("service key {name}: sha256: needs 64 hex digits")),
                None if value.len() >= 16 => secrets::token_hash(value),
                None => return Err(format!("service key {name}: at least 16 characters")),
            };
            Ok((name.to_owned(), hash))
        })
        .collect()
}

/// The database URL with its password hidden, for logs: the password of
/// the user info and a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            match base[scheme_end + 3..at].split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &base[..scheme_end + 3], &base[at..]),
                None => base.to_owned(),
            }
        }
        _ => base.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<&str> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => "password=***",
                _ => p,
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

// Hand-written `Debug` for the types that hold secrets (as lldap's
// `DatabaseUrl` does): the database password and service keys never reach
// a log line or a panic message.

impl std::fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &redact_url(&self.database_url))
            .field("db_max_connections", &self.db_max_connections)
            .field("db_acquire_timeout", &self.db_acquire_timeout)
            .finish()
    }
}

impl std::fmt::Debug for ServeArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = if self.service_keys.is_empty() {
            ""
        } else {
            "***"
        };
        f.debug_struct("ServeArgs")
            .field("db", &self.db)
            .field("listen", &self.listen)
            .field("service_keys", &keys)
            .field("session_ttl", &self.session_ttl)
            .field("sweep_interval", &self.sweep_interval)
            .field("schedule_poll_interval", &self.schedule_poll_interval)
            .field("erasure_scrub_interval", &self.erasure_scrub_interval)
            .field("event_retention", &self.event_retention)
            .field("metrics_listen", &self.metrics_listen)
            .field("scim_listen", &self.scim_listen)
            .field("health_listen", &self.health_listen)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("tls_client_ca", &self.tls_client_ca)
            .field("tls_reload_interval", &self.tls_reload_interval)
            .field("no_migrate", &self.no_migrate)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("argon2_memory_kib", &self.argon2_memory_kib)
            .field("argon2_iterations", &self.argon2_iterations)
            .field("argon2_parallelism", &self.argon2_parallelism)
            .field("shutdown_delay", &self.shutdown_delay)
            .field("access_log", &self.access_log)
            .finish()
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key names only: the hashes verify keys and stay out of logs too.
        let key_names: Vec<&str> = self.service_keys.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("db_max_connections", &self.db_max_connections)
            .field("db_acquire_timeout", &self.db_acquire_timeout)
            .field("listen", &self.listen)
            .field("service_keys", &key_names)
            .field("session_ttl", &self.session_ttl)
            .field("sweep_interval", &self.sweep_interval)
            .field("schedule_poll_interval", &self.schedule_poll_interval)
            .field("erasure_scrub_interval", &self.erasure_scrub_interval)
            .field("event_retention", &self.event_retention)
            .field("metrics_listen", &self.metrics_listen)
            .field("scim_listen", &self.scim_listen)
            .field("health_listen", &self.health_listen)
            .field("tls", &self.tls)
            .field("tls_reload_interval", &self.tls_reload_interval)
            .field("no_migrate", &self.no_migrate)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("hash_cost", &self.hash_cost)
            .field("shutdown_delay", &self.shutdown_delay)
            .field("access_log", &self.access_log)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_keys_parse_plain_and_hashed() {
        let keys = parse_service_keys("a=0123456789abcdef0, b=sha256:".to_owned().as_str());
        assert!(keys.is_err());
        let hex = "ab".repeat(32);
        let keys = parse_service_keys(&format!("a=0123456789abcdef0,b=sha256:{hex}")).unwrap();
        assert_eq!(keys[0].0, "a");
        assert_eq!(keys[0].1, secrets::token_hash("0123456789abcdef0"));
        assert_eq!(keys[1], ("b".to_owned(), hex));
        assert!(parse_service_keys("").unwrap().is_empty());
    }

    #[test]
    fn metrics_are_off_unless_an_address_is_given() {
        let serve = |args: &[&str]| -> Config {
            let cli = Cli::try_parse_from([&["roster", "serve"], args].concat()).expect("parses");
            let Command::Serve(a) = cli.command else {
                panic!("not serve")
            };
            Config::try_from(a).expect("valid")
        };
        if std::env::var_os("ROSTER_METRICS_LISTEN").is_none() {
            assert_eq!(serve(&[]).metrics_listen, None);
        }
        assert_eq!(
            serve(&["--metrics-listen", "0.0.0.0:9464"]).metrics_listen,
            Some(([0, 0, 0, 0], 9464).into())
        );
        assert!(Cli::try_parse_from(["roster", "serve", "--metrics-listen", "9464"]).is_err());
    }

    #[test]
    fn tls_needs_both_cert_and_key() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["roster", "serve"], args].concat());
        if std::env::var_os("ROSTER_TLS_CERT").is_some()
            || std::env::var_os("ROSTER_TLS_KEY").is_some()
        {
            return;
        }
        assert!(parse(&["--tls-cert", "c.pem"]).is_err());
        assert!(parse(&["--tls-key", "k.pem"]).is_err());
        assert!(parse(&["--tls-client-ca", "ca.pem"]).is_err());
        let Ok(Cli {
            command: Command::Serve(a),
            ..
        }) = parse(&[
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-client-ca",
            "ca.pem",
        ])
        else {
            panic!("does not parse")
        };
        let tls = Config::try_from(a).expect("valid").tls.expect("TLS on");
        assert_eq!(tls.cert, PathBuf::from("c.pem"));
        assert_eq!(tls.client_ca, Some(PathBuf::from("ca.pem")));
    }

    #[test]
    fn log_format_and_access_log_flags_parse() {
        use crate::telemetry::LogFormat;
        let cli = |args: &[&str]| Cli::try_parse_from([&["roster"], args].concat());
        if std::env::var_os("ROSTER_LOG_FORMAT").is_none() {
            assert_eq!(cli(&["serve"]).expect("parses").log_format, LogFormat::Text);
        }
        // A global flag: before or after the subcommand.
        for args in [
            &["--log-format", "json", "serve"][..],
            &["serve", "--log-format", "json"][..],
        ] {
            assert_eq!(cli(args).expect("parses").log_format, LogFormat::Json);
        }
        assert!(cli(&["--log-format", "xml", "serve"]).is_err());
        let access = |args: &[&str]| {
            let Command::Serve(a) = cli(args).expect("parses").command else {
                panic!("not serve")
            };
            Config::try_from(a).expect("valid").access_log
        };
        if std::env::var_os("ROSTER_ACCESS_LOG").is_none() {
            assert!(access(&["serve"]));
        }
        assert!(!access(&["serve", "--access-log", "false"]));
    }

    #[test]
    fn argon2_cost_flags_parse_and_are_validated() {
        let config = |args: &[&str]| {
            let Command::Serve(a) = Cli::try_parse_from([&["roster", "serve"], args].concat())
                .expect("parses")
                .command
            else {
                panic!("not serve")
            };
            Config::try_from(a)
        };
        if std::env::var_os("ROSTER_ARGON2_MEMORY_KIB").is_none()
            && std::env::var_os("ROSTER_ARGON2_ITERATIONS").is_none()
        {
            assert_eq!(
                config(&[]).expect("valid").hash_cost,
                secrets::HashCost::RECOMMENDED
            );
        }
        let low = config(&[
            "--argon2-memory-kib",
            "64",
            "--argon2-iterations",
            "1",
            "--argon2-parallelism",
            "1",
        ])
        .expect("valid");
        assert_eq!(low.hash_cost, secrets::HashCost::new(64, 1, 1).unwrap());
        let err = config(&["--argon2-memory-kib", "4"]).unwrap_err();
        assert!(err.contains("argon2 memory"), "{err}");
        let err = config(&["--argon2-iterations", "0"]).unwrap_err();
        assert!(err.contains("argon2 iterations"), "{err}");
    }

    #[test]
    fn passwords_are_hidden_in_urls() {
        assert_eq!(
            redact_url("postgres://roster:secret@db:5432/roster"),
            "postgres://roster:***@db:5432/roster"
        );
        assert_eq!(
            redact_url("sqlite://roster.db?mode=rwc"),
            "sqlite://roster.db?mode=rwc"
        );
        assert_eq!(
            redact_url("postgres://db/roster?user=r&password=secret&sslmode=require"),
            "postgres://db/roster?user=r&password=***&sslmode=require"
        );
    }

    #[test]
    fn debug_output_hides_the_database_password_and_service_keys() {
        let secret_key = "0123456789abcdef-very-secret";
        let args = [
            "--database-url",
            "postgres://roster:hunter2@db:5432/roster",
            "--service-keys",
            &format!("ops={secret_key}"),
        ];
        let cli = Cli::try_parse_from([&["roster", "serve"], &args[..]].concat()).expect("parses");
        let cli_debug = format!("{cli:?}");
        let Command::Serve(a) = cli.command else {
            panic!("not serve")
        };
        let config = Config::try_from(a).expect("valid");
        let config_debug = format!("{config:?}");
        let hash = secrets::token_hash(secret_key);
        for debug in [&cli_debug, &config_debug] {
            assert!(!debug.contains("hunter2"), "{debug}");
            assert!(!debug.contains(secret_key), "{debug}");
            assert!(!debug.contains(&hash), "{debug}");
            assert!(
                debug.contains("postgres://roster:***@db:5432/roster"),
                "{debug}"
            );
        }
        assert!(
            config_debug.contains(r#"service_keys: ["ops"]"#),
            "{config_debug}"
        );
        // The other settings are still shown.
        assert!(config_debug.contains("session_ttl: "), "{config_debug}");
    }
}
