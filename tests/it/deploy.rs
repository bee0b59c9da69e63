//! deploy/ (issue 12): each overlay is rendered with `kubectl kustomize`
//! and its Deployment run for real: the init container's and the server's
//! exact args and env (database URL and Secret values substituted, listen
//! addresses moved to free local ports, volume paths to temporary
//! directories), as the pod's non-root UID with only the volumes writable.
//! Then the probes' port answers SERVING, the gRPC port answers (over TLS in
//! prod), the metrics port serves /metrics, and nothing was written outside
//! the volumes. Needs `kubectl` and PyYAML (scripts/deploy-test.sh).

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::SERVICE_KEY;

/// Temporary directories standing in for volumes start with this.
const VOLUMES_PREFIX: &str = "roster-deploy-volumes-";

/// The overlay's rendered resources, as JSON values.
fn render(overlay: &str) -> Vec<Value> {
    let root = env!("CARGO_MANIFEST_DIR");
    let yaml = std::process::Command::new("kubectl")
        .args(["kustomize", &format!("{root}/deploy/overlays/{overlay}")])
        .output()
        .expect("kubectl kustomize runs (is kubectl installed?)");
    assert!(
        yaml.status.success(),
        "kustomize: {}",
        String::from_utf8_lossy(&yaml.stderr)
    );
    let mut py = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml; json.dump(list(yaml.safe_load_all(sys.stdin)), sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    py.stdin
        .take()
        .expect("stdin")
        .write_all(&yaml.stdout)
        .expect("write YAML");
    let out = py
        .wait_with_output()
        .expect("python3 (with PyYAML) converts");
    assert!(out.status.success(), "YAML to JSON failed");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn find<'a>(docs: &'a [Value], kind: &str) -> Option<&'a Value> {
    docs.iter().find(|d| d["kind"] == kind)
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// The effective UID of this process (root can run the pod's UID).
fn euid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|u| u.parse().ok())
        .expect("euid")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// One container's process as declared, made runnable here.
struct Plan {
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// Resolves `container`'s env: Secret values from `secrets`, volume paths
/// moved under `mounts`, `0.0.0.0:PORT` to `127.0.0.1:ports[PORT]`.
fn plan(
    container: &Value,
    secrets: &HashMap<String, String>,
    mounts: &HashMap<String, PathBuf>,
    ports: &HashMap<u16, u16>,
) -> Plan {
    let args = container["args"]
        .as_array()
        .map(|a| a.iter().map(|v| str_of(v).to_owned()).collect())
        .unwrap_or_default();
    let mut env = Vec::new();
    for e in container["env"].as_array().into_iter().flatten() {
        let name = str_of(&e["name"]).to_owned();
        let mut value = if let Some(v) = e.get("value") {
            str_of(v).to_owned()
        } else {
            let key = str_of(&e["valueFrom"]["secretKeyRef"]["key"]);
            secrets
                .get(key)
                .unwrap_or_else(|| panic!("no test value for Secret key {key}"))
                .clone()
        };
        for (path, dir) in mounts {
            value = value.replace(&format!("{path}/"), &format!("{}/", dir.display()));
        }
        if let Some(port) = value.strip_prefix("0.0.0.0:") {
            let port: u16 = port.parse().expect("port");
            let local = ports
                .get(&port)
                .unwrap_or_else(|| panic!("{name} listens on {port}, not a declared port"));
            value = format!("127.0.0.1:{local}");
        }
        env.push((name, value));
    }
    Plan { args, env }
}

fn command(plan: &Plan, uid: Option<u32>, cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_clear()
        .envs(plan.env.iter().cloned())
        .env("NO_COLOR", "1")
        .args(&plan.args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    cmd
}

async fn health(channel: tonic::transport::Channel) -> Result<i32, tonic::Status> {
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map(|r| r.into_inner().status)
}

async fn run_overlay(overlay: &str) {
    let docs = render(overlay);
    let deployment = find(&docs, "Deployment").expect("a Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let containers = pod["containers"].as_array().expect("containers");
    let server = containers
        .iter()
        .find(|c| c["name"] == "roster")
        .expect("container roster");

    // The security context the pod declares.
    let uid = pod["securityContext"]["runAsUser"]
        .as_u64()
        .expect("runAsUser") as u32;
    assert_ne!(uid, 0);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let all = containers
        .iter()
        .chain(pod["initContainers"].as_array().into_iter().flatten());
    for c in all {
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{}", c["name"]);
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{}", c["name"]);
        assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{}", c["name"]);
    }

    // Volumes become directories only the pod's UID may write.
    // (Named so that parallel runs of these tests ignore each other's.)
    let base = tempfile::Builder::new()
        .prefix(VOLUMES_PREFIX)
        .tempdir()
        .expect("temp dir");
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let as_root = euid() == 0;
    let run_as = as_root.then_some(uid);
    let cwd = base.path().join("root");
    std::fs::create_dir(&cwd).expect("mkdir");
    std::fs::set_permissions(&cwd, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let mut mounts = HashMap::new();
    for m in server["volumeMounts"].as_array().into_iter().flatten() {
        let name = str_of(&m["name"]);
        let dir = base.path().join(name);
        std::fs::create_dir(&dir).expect("mkdir");
        if as_root {
            std::os::unix::fs::chown(&dir, Some(uid), Some(uid)).expect("chown");
        }
        mounts.insert(str_of(&m["mountPath"]).to_owned(), dir);
    }

    // Secrets: generated ones (dev) are read from the render; referenced
    // ones (prod) get test values. TLS files come from a test CA.
    let mut secrets: HashMap<String, String> = HashMap::new();
    if let Some(secret) = find(&docs, "Secret") {
        use base64::Engine;
        for (k, v) in secret["data"].as_object().into_iter().flatten() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(str_of(v))
                .expect("base64");
            secrets.insert(k.clone(), String::from_utf8(bytes).expect("utf-8"));
        }
    }
    let database_url = secrets.get("DATABASE_URL").cloned();
    if database_url.is_none() || overlay == "prod" {
        secrets.insert(
            "DATABASE_URL".to_owned(),
            crate::harness::fresh_postgres_database().await,
        );
        secrets.insert(
            "ROSTER_SERVICE_KEYS".to_owned(),
            format!("test={SERVICE_KEY}"),
        );
    }
    let mut ca = None;
    if let Some(cert) = find(&docs, "Certificate") {
        let secret_name = str_of(&cert["spec"]["secretName"]);
        let volume = pod["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["secret"]["secretName"] == secret_name)
            .expect("the Certificate's Secret is mounted");
        let mount = server["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["name"] == volume["name"])
            .expect("mounted in the server");
        let dir = &mounts[str_of(&mount["mountPath"])];
        let issuer = crate::tls::Ca::new("Deploy test CA");
        let (crt, key) = issuer.server();
        std::fs::write(dir.join("tls.crt"), crt).expect("write");
        std::fs::write(dir.join("tls.key"), key).expect("write");
        if as_root {
            for f in ["tls.crt", "tls.key"] {
                std::os::unix::fs::chown(dir.join(f), Some(uid), Some(uid)).expect("chown");
            }
        }
        ca = Some(issuer);
    }

    // Declared ports, each moved to a free local port.
    let mut named: HashMap<String, u16> = HashMap::new();
    let mut ports = HashMap::new();
    for p in server["ports"].as_array().expect("ports") {
        let port = p["containerPort"].as_u64().expect("port") as u16;
        named.insert(str_of(&p["name"]).to_owned(), port);
        ports.insert(port, free_port());
    }
    let probe_port = server["readinessProbe"]["grpc"]["port"]
        .as_u64()
        .expect("gRPC readiness probe") as u16;
    for probe in ["startupProbe", "livenessProbe"] {
        assert_eq!(
            server[probe]["grpc"]["port"].as_u64(),
            Some(u64::from(probe_port)),
            "{probe}"
        );
    }
    let service = find(&docs, "Service").expect("a Service");
    for p in service["spec"]["ports"].as_array().expect("service ports") {
        let target = str_of(&p["targetPort"]);
        assert!(
            named.contains_key(target),
            "Service targets unknown port {target}"
        );
    }

    // The init container migrates, then the server starts.
    for init in pod["initContainers"].as_array().into_iter().flatten() {
        let p = plan(init, &secrets, &mounts, &ports);
        let out = tokio::time::timeout(Duration::from_secs(60), command(&p, run_as, &cwd).output())
            .await
            .expect("init container exits")
            .expect("runs");
        assert!(
            out.status.success(),
            "init container {} failed: {}",
            init["name"],
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A free port found here may be taken by a parallel test before the
    // server binds it: then the ports are drawn again (three attempts).
    let mut attempt = 0;
    let (mut child, log_task) = loop {
        attempt += 1;
        let p = plan(server, &secrets, &mounts, &ports);
        let mut child = command(&p, run_as, &cwd).spawn().expect("spawn server");
        let mut log = child.stderr.take().expect("stderr");
        let log_task = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut s = String::new();
            let _ = log.read_to_string(&mut s).await;
            s
        });
        let probe = tonic::transport::Channel::from_shared(format!(
            "http://127.0.0.1:{}",
            ports[&probe_port]
        ))
        .expect("uri")
        .connect_lazy();
        let mut serving = false;
        for _ in 0..400 {
            if health(probe.clone()).await.ok() == Some(ServingStatus::Serving as i32) {
                serving = true;
                break;
            }
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if serving {
            break (child, log_task);
        }
        let _ = child.kill().await;
        let log = log_task.await.unwrap_or_default();
        if attempt < 3 && log.contains("Address already in use") {
            for local in ports.values_mut() {
                *local = free_port();
            }
            continue;
        }
        panic!("the probe port never answered SERVING:\n{log}");
    };

    // The service port answers too, over TLS when the overlay has it.
    let grpc = ports[&named["grpc"]];
    let channel = match &ca {
        Some(ca) => tonic::transport::Channel::from_shared(format!("https://127.0.0.1:{grpc}"))
            .expect("uri")
            .tls_config(
                tonic::transport::ClientTlsConfig::new()
                    .ca_certificate(tonic::transport::Certificate::from_pem(ca.pem()))
                    .domain_name("localhost"),
            )
            .expect("TLS config")
            .connect()
            .await
            .expect("TLS connect"),
        None => tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{grpc}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect"),
    };
    assert_eq!(
        health(channel).await.expect("health"),
        ServingStatus::Serving as i32
    );

    let metrics = crate::harness::get_metrics(("127.0.0.1", ports[&named["metrics"]])).await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(metrics.contains("# TYPE"), "{metrics}");

    // SIGTERM: a clean exit within the grace period.
    let pid = child.id().expect("pid");
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill")
            .success()
    );
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("grace");
    let exit = tokio::time::timeout(Duration::from_secs(grace), child.wait())
        .await
        .expect("exits within the grace period")
        .expect("wait");
    let log = log_task.await.unwrap_or_default();
    assert!(exit.success(), "{exit:?}\n{log}");

    // Nothing written outside the volumes: the working directory is empty,
    // and the pod's UID owns no file in the world-writable places.
    assert_eq!(std::fs::read_dir(&cwd).expect("read").count(), 0);
    if as_root {
        for dir in ["/tmp", "/var/tmp", "/dev/shm"] {
            let found = std::process::Command::new("find")
                .args([dir, "-xdev", "-uid", &uid.to_string()])
                .output()
                .expect("find");
            let found = String::from_utf8_lossy(&found.stdout);
            let outside: Vec<&str> = found
                .lines()
                .filter(|l| !l.contains(&format!("/{VOLUMES_PREFIX}")))
                .collect();
            assert!(
                outside.is_empty(),
                "written outside the volumes: {outside:?}"
            );
        }
    } else {
        eprintln!("not root: ran as the current user, so the UID is not the pod's");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_overlay_runs_as_declared() {
    run_overlay("dev").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prod_overlay_runs_as_declared() {
    if crate::harness::skip_postgres() {
        return;
    }
    run_overlay("prod").await;
}
