//! Authentication and the authorization matrix over the Identity and
//! License RPCs: who may call what, and no caller reaches another
//! package's data (A1, A2, A3).

use std::sync::atomic::{AtomicUsize, Ordering};

use roster::pb;
use tonic::{Code, Status};

use crate::harness::{Backend, BytesCodec, SERVICE_KEY, TestServer};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    /// No authorization header.
    Anonymous,
    /// A signed-in identity that administers nothing.
    Plain,
    /// An administrator of the package under test.
    Admin,
    /// An administrator of another package.
    OtherAdmin,
    /// A service key.
    Service,
}

const MATRIX_CALLERS: [Caller; 5] = [
    Caller::Anonymous,
    Caller::Plain,
    Caller::Admin,
    Caller::OtherAdmin,
    Caller::Service,
];

/// What a call must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Success.
    Ok,
    /// PERMISSION_DENIED.
    Denied,
    /// UNAUTHENTICATED.
    Unauth,
}
use Want::{Denied as D, Ok as A, Unauth as U};

/// One RPC in a particular situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rpc {
    CreateIdentity,
    GetIdentity,
    BatchGetIdentities,
    SetRevocationPasswordOwn,
    SetRevocationPasswordOther,
    RevokeAttachedIdentity,
    SignIn,
    ValidateSessionOwn,
    ValidateSessionOther,
    SignOutOwn,
    SignOutOther,
    CreateLicensePackage,
    GetLicensePackage,
    UpdatePackageName,
    UpdatePackageSeats,
    IssueCredential,
    ListCredentials,
    DeleteCredential,
    ListActiveUsers,
    DetachIdentity,
    CheckInternalContactsOwn,
    CheckInternalContactsOthers,
    GetSeatUsage,
}

/// The matrix: columns Anonymous, Plain, Admin, OtherAdmin, Service.
const MATRIX: &[(Rpc, [Want; 5])] = &[
    (Rpc::CreateIdentity, [U, D, D, D, A]),
    (Rpc::GetIdentity, [U, A, A, A, A]),
    (Rpc::BatchGetIdentities, [U, A, A, A, A]),
    (Rpc::SetRevocationPasswordOwn, [U, A, A, A, D]),
    (Rpc::SetRevocationPasswordOther, [U, D, D, D, D]),
    (Rpc::RevokeAttachedIdentity, [U, D, A, D, D]),
    (Rpc::SignIn, [A, A, A, A, A]),
    (Rpc::ValidateSessionOwn, [U, A, A, A, A]),
    (Rpc::ValidateSessionOther, [U, D, D, D, A]),
    (Rpc::SignOutOwn, [U, A, A, A, A]),
    (Rpc::SignOutOther, [U, D, D, D, A]),
    (Rpc::CreateLicensePackage, [U, D, D, D, A]),
    (Rpc::GetLicensePackage, [U, D, A, D, A]),
    (Rpc::UpdatePackageName, [U, D, A, D, A]),
    (Rpc::UpdatePackageSeats, [U, D, D, D, A]),
    (Rpc::IssueCredential, [U, D, A, D, A]),
    (Rpc::ListCredentials, [U, D, A, D, A]),
    (Rpc::DeleteCredential, [U, D, A, D, A]),
    (Rpc::ListActiveUsers, [U, D, A, D, A]),
    (Rpc::DetachIdentity, [U, D, A, D, A]),
    (Rpc::CheckInternalContactsOwn, [U, A, A, A, A]),
    (Rpc::CheckInternalContactsOthers, [U, D, D, D, A]),
    (Rpc::GetSeatUsage, [U, D, A, D, A]),
];

/// Someone who can sign in.
struct Person {
    id: String,
    token: String,
    user: String,
    pass: String,
}

struct Fixture {
    /// ENTERPRISE package administered by `admin`.
    package: String,
    plain: Person,
    admin: Person,
    other_admin: Person,
    /// A credential of `package` for fresh identities.
    team_user: String,
    team_pass: String,
    /// Identities no caller is.
    bystanders: [String; 2],
    counter: AtomicUsize,
}

impl Fixture {
    async fn new(s: &TestServer) -> Fixture {
        let admin_id = s.create_identity("Admin").await;
        let other_id = s.create_identity("OtherAdmin").await;
        let package = s
            .create_package(pb::Plan::Enterprise, 1000, &[&admin_id])
            .await;
        let other_package = s
            .create_package(pb::Plan::Enterprise, 10, &[&other_id])
            .await;
        let person = |id: String, package: String, user: &'static str| async move {
            let (_, user, pass) = s.issue_credential(&package, user).await;
            let token = s.sign_in(&id, &user, &pass).await;
            Person {
                id,
                token,
                user,
                pass,
            }
        };
        let admin = person(admin_id, package.clone(), "admin").await;
        let other_admin = person(other_id, other_package, "other-admin").await;
        let plain_id = s.create_identity("Plain").await;
        let plain = person(plain_id, package.clone(), "plain").await;
        let (_, team_user, team_pass) = s.issue_credential(&package, "team").await;
        let bystanders = [
            s.create_identity("Bystander1").await,
            s.create_identity("Bystander2").await,
        ];
        Fixture {
            package,
            plain,
            admin,
            other_admin,
            team_user,
            team_pass,
            bystanders,
            counter: AtomicUsize::new(0),
        }
    }

    fn person(&self, c: Caller) -> Option<&Person> {
        match c {
            Caller::Plain => Some(&self.plain),
            Caller::Admin => Some(&self.admin),
            Caller::OtherAdmin => Some(&self.other_admin),
            _ => None,
        }
    }

    fn token(&self, c: Caller) -> Option<String> {
        match c {
            Caller::Anonymous => None,
            Caller::Service => Some(SERVICE_KEY.to_owned()),
            _ => self.person(c).map(|p| p.token.clone()),
        }
    }

    /// The caller's own identity, or the plain identity for callers
    /// without one.
    fn own_id(&self, c: Caller) -> String {
        self.person(c).unwrap_or(&self.plain).id.clone()
    }

    fn next(&self) -> usize {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh identity signed in to the package; returns (id, token).
    async fn fresh_signed_in(&self, s: &TestServer) -> (String, String) {
        let id = s.create_identity(&format!("Fresh{}", self.next())).await;
        let token = s.sign_in(&id, &self.team_user, &self.team_pass).await;
        (id, token)
    }
}

fn drop_ok<T>(r: Result<tonic::Response<T>, Status>) -> Result<(), Status> {
    r.map(|_| ())
}

async fn call(s: &TestServer, fx: &Fixture, rpc: Rpc, caller: Caller) -> Result<(), Status> {
    let token = fx.token(caller);
    let t = token.as_deref();
    let package = fx.package.clone();
    match rpc {
        Rpc::CreateIdentity => drop_ok(
            s.identity(t)
                .create_identity(pb::CreateIdentityRequest {
                    request_id: String::new(),
                    identity: Some(pb::Identity {
                        display_name: "New".into(),
                        ..Default::default()
                    }),
                })
                .await,
        ),
        Rpc::GetIdentity => drop_ok(
            s.identity(t)
                .get_identity(pb::GetIdentityRequest {
                    identity_id: fx.bystanders[0].clone(),
                })
                .await,
        ),
        Rpc::BatchGetIdentities => drop_ok(
            s.identity(t)
                .batch_get_identities(pb::BatchGetIdentitiesRequest {
                    identity_ids: fx.bystanders.to_vec(),
                    hide_inactive: false,
                })
                .await,
        ),
        Rpc::SetRevocationPasswordOwn | Rpc::SetRevocationPasswordOther => {
            let target = if rpc == Rpc::SetRevocationPasswordOwn {
                fx.own_id(caller)
            } else {
                fx.bystanders[0].clone()
            };
            drop_ok(
                s.identity(t)
                    .set_revocation_password(pb::SetRevocationPasswordRequest {
                        request_id: String::new(),
                        identity_id: target,
                        password: "a revocation password".into(),
                    })
                    .await,
            )
        }
        Rpc::RevokeAttachedIdentity => {
            let (victim, _) = fx.fresh_signed_in(s).await;
            drop_ok(
                s.identity(t)
                    .revoke_identity(pb::RevokeIdentityRequest {
                        identity_id: victim,
                        ..Default::default()
                    })
                    .await,
            )
        }
        Rpc::SignIn => {
            let id = s.create_identity(&format!("Fresh{}", fx.next())).await;
            drop_ok(
                s.identity(t)
                    .sign_in(pb::SignInRequest {
                        identity_id: id,
                        username: fx.team_user.clone(),
                        password: fx.team_pass.clone(),
                    })
                    .await,
            )
        }
        Rpc::ValidateSessionOwn | Rpc::SignOutOwn => {
            // An identity uses a fresh session of its own; a service key
            // names one; others send what they have.
            let (bearer, target) = match fx.person(caller) {
                Some(p) => {
                    let fresh = s.sign_in(&p.id, &p.user, &p.pass).await;
                    (Some(fresh.clone()), fresh)
                }
                None => (token.clone(), fx.fresh_signed_in(s).await.1),
            };
            let b = bearer.as_deref();
            if rpc == Rpc::ValidateSessionOwn {
                let resp = s
                    .identity(b)
                    .validate_session(pb::ValidateSessionRequest {
                        session_token: target,
                    })
                    .await?;
                assert!(resp.into_inner().valid, "{caller:?}: own session not valid");
                Ok(())
            } else {
                let session_token = if fx.person(caller).is_some() {
                    String::new()
                } else {
                    target
                };
                drop_ok(
                    s.identity(b)
                        .sign_out(pb::SignOutRequest {
                            session_token,
                            request_id: String::new(),
                        })
                        .await,
                )
            }
        }
        Rpc::ValidateSessionOther => {
            let (_, other) = fx.fresh_signed_in(s).await;
            drop_ok(
                s.identity(t)
                    .validate_session(pb::ValidateSessionRequest {
                        session_token: other,
                    })
                    .await,
            )
        }
        Rpc::SignOutOther => {
            let (_, other) = fx.fresh_signed_in(s).await;
            drop_ok(
                s.identity(t)
                    .sign_out(pb::SignOutRequest {
                        request_id: String::new(),
                        session_token: other,
                    })
                    .await,
            )
        }
        Rpc::CreateLicensePackage => drop_ok(
            s.license(t)
                .create_license_package(pb::CreateLicensePackageRequest {
                    request_id: String::new(),
                    license_package: Some(pb::LicensePackage {
                        display_name: "Another".into(),
                        plan: pb::Plan::Basic as i32,
                        seat_limit: 5,
                        admin_identity_ids: vec![fx.admin.id.clone()],
                        ..Default::default()
                    }),
                })
                .await,
        ),
        Rpc::GetLicensePackage => drop_ok(
            s.license(t)
                .get_license_package(pb::GetLicensePackageRequest {
                    package_id: package,
                })
                .await,
        ),
        Rpc::UpdatePackageName | Rpc::UpdatePackageSeats => {
            let (p, path) = if rpc == Rpc::UpdatePackageName {
                (
                    pb::LicensePackage {
                        display_name: format!("Name {}", fx.next()),
                        ..Default::default()
                    },
                    "display_name",
                )
            } else {
                (
                    pb::LicensePackage {
                        seat_limit: 1000 + fx.next() as i32,
                        ..Default::default()
                    },
                    "seat_limit",
                )
            };
            drop_ok(
                s.license(t)
                    .update_license_package(pb::UpdateLicensePackageRequest {
                        request_id: String::new(),
                        license_package: Some(pb::LicensePackage {
                            package_id: package,
                            ..p
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec![path.into()],
                        }),
                    })
                    .await,
            )
        }
        Rpc::IssueCredential => drop_ok(
            s.license(t)
                .issue_credential(pb::IssueCredentialRequest {
                    package_id: package,
                    username: format!("issued-{}", fx.next()),
                    password: String::new(),
                })
                .await,
        ),
        Rpc::ListCredentials => drop_ok(
            s.license(t)
                .list_credentials(pb::ListCredentialsRequest {
                    package_id: package,
                    ..Default::default()
                })
                .await,
        ),
        Rpc::DeleteCredential => {
            let (cred, _, _) = s
                .issue_credential(&package, &format!("doomed-{}", fx.next()))
                .await;
            drop_ok(
                s.license(t)
                    .delete_credential(pb::DeleteCredentialRequest {
                        request_id: String::new(),
                        credential_id: cred,
                    })
                    .await,
            )
        }
        Rpc::ListActiveUsers => drop_ok(
            s.license(t)
                .list_active_users(pb::ListActiveUsersRequest {
                    package_id: package,
                    ..Default::default()
                })
                .await,
        ),
        Rpc::DetachIdentity => {
            let (victim, _) = fx.fresh_signed_in(s).await;
            drop_ok(
                s.license(t)
                    .detach_identity(pb::DetachIdentityRequest {
                        request_id: String::new(),
                        package_id: package,
                        identity_id: victim,
                    })
                    .await,
            )
        }
        Rpc::CheckInternalContactsOwn | Rpc::CheckInternalContactsOthers => {
            let first = if rpc == Rpc::CheckInternalContactsOwn {
                fx.own_id(caller)
            } else {
                fx.bystanders[0].clone()
            };
            drop_ok(
                s.license(t)
                    .check_internal_contacts(pb::CheckInternalContactsRequest {
                        pairs: vec![pb::IdentityPair {
                            first_identity_id: first,
                            second_identity_id: fx.bystanders[1].clone(),
                        }],
                    })
                    .await,
            )
        }
        Rpc::GetSeatUsage => drop_ok(
            s.license(t)
                .get_seat_usage(pb::GetSeatUsageRequest {
                    package_id: package,
                })
                .await,
        ),
    }
}

fn got(result: &Result<(), Status>) -> Result<Want, String> {
    match result {
        Ok(()) => Ok(Want::Ok),
        Err(s) if s.code() == Code::PermissionDenied => Ok(Want::Denied),
        Err(s) if s.code() == Code::Unauthenticated => Ok(Want::Unauth),
        Err(s) => Err(format!("{:?}: {}", s.code(), s.message())),
    }
}

async fn a2_authorization_matrix_over_identity_and_license_rpcs(b: Backend) {
    let s = TestServer::start(b).await;
    let fx = Fixture::new(&s).await;
    let mut mismatches = Vec::new();
    for (rpc, wants) in MATRIX {
        for (caller, want) in MATRIX_CALLERS.iter().zip(wants) {
            let result = call(&s, &fx, *rpc, *caller).await;
            match got(&result) {
                Ok(g) if g == *want => {}
                other => mismatches.push(format!(
                    "{rpc:?} as {caller:?}: want {want:?}, got {other:?}"
                )),
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "authorization matrix mismatches:\n{}",
        mismatches.join("\n")
    );
}

/// Methods callable without a bearer (A1): SignIn, and every method of
/// health and reflection.
fn is_public(path: &str) -> bool {
    path == "/roster.v1.IdentityService/SignIn"
        || path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.v1.ServerReflection/")
        || path.starts_with("/grpc.reflection.v1alpha.ServerReflection/")
}

/// `/package.Service/Method` of every method in an encoded descriptor set.
fn methods_of(encoded: &[u8]) -> Vec<String> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(encoded).expect("descriptor set");
    let mut out = Vec::new();
    for file in &set.file {
        for service in &file.service {
            for method in &service.method {
                out.push(format!(
                    "/{}.{}/{}",
                    file.package(),
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    out
}

/// The `rpc` declarations in `proto/roster/v1/*.proto`, counted from the
/// source (so the descriptor walk cannot silently shrink).
fn declared_rpcs() -> usize {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proto/roster/v1");
    std::fs::read_dir(&dir)
        .expect("proto dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "proto"))
        .map(|p| {
            std::fs::read_to_string(&p)
                .expect("proto")
                .lines()
                .filter(|l| l.trim_start().starts_with("rpc "))
                .count()
        })
        .sum()
}

/// One call to `path` with an empty request message and `authorization`
/// set to `header` (none: no header), through a raw client, whatever the
/// method's streaming kind: the status it ended with (OK once a stream's
/// first message or a unary answer arrived).
async fn raw_call(s: &TestServer, path: &str, header: Option<&str>) -> Status {
    let mut request = tonic::Request::new(tokio_stream::iter([Vec::<u8>::new()]));
    if let Some(h) = header {
        request
            .metadata_mut()
            .insert("authorization", h.parse().expect("ascii header"));
    }
    let path: http::uri::PathAndQuery = path.parse().expect("path");
    let mut grpc = tonic::client::Grpc::new(s.channel());
    grpc.ready().await.expect("ready");
    let call = async {
        match grpc.streaming(request, path, BytesCodec).await {
            Err(status) => status,
            Ok(response) => match response.into_inner().message().await {
                Ok(_) => Status::ok(""),
                Err(status) => status,
            },
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), call)
        .await
        .unwrap_or_else(|_| Status::deadline_exceeded("no answer within 10 s"))
}

/// A1, deny by default: every method of every Roster service (walked from
/// the descriptor set, so a new RPC is covered without touching this
/// test), called with an empty body and no or a worthless bearer, answers
/// UNAUTHENTICATED (ErrorInfo UNAUTHENTICATED) — except SignIn, health
/// and reflection, which answer as they would anyone. With the service
/// key no method answers UNAUTHENTICATED, so the refusals come from the
/// missing credential and not from the path.
async fn a1_every_rpc_but_sign_in_needs_a_valid_bearer(b: Backend) {
    use tonic_types::StatusExt;
    let s = TestServer::start(b).await;
    let (_, _, signed_out) = s.package_with_admin(pb::Plan::Business, 5).await;
    s.identity(Some(&signed_out))
        .sign_out(pb::SignOutRequest::default())
        .await
        .expect("sign out");
    let signed_out = format!("Bearer {signed_out}");
    let headers: [Option<&str>; 7] = [
        None,
        Some("Bearer rsk_not-a-configured-key-000000"),
        Some("Bearer rss_not-a-session-000000000000"),
        Some("Bearer plain-garbage"),
        Some(&signed_out),
        Some("Basic cm9zdGVyOnJvc3Rlcg=="),
        Some("Bearer"),
    ];

    let roster = methods_of(pb::FILE_DESCRIPTOR_SET);
    assert_eq!(
        roster.len(),
        declared_rpcs(),
        "the descriptor set and the .proto files disagree"
    );
    assert!(roster.len() >= 43, "only {} Roster RPCs", roster.len());
    let others: Vec<String> = [
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ]
    .into_iter()
    .flat_map(methods_of)
    .collect();
    assert!(others.iter().all(|m| is_public(m)), "{others:?}");

    let mut mismatches = Vec::new();
    let (mut refused, mut public) = (0, 0);
    for path in roster.iter().chain(&others) {
        for header in headers {
            let status = raw_call(&s, path, header).await;
            let reason = status.get_details_error_info().map(|i| i.reason);
            let unauthenticated = status.code() == Code::Unauthenticated;
            if is_public(path) {
                if unauthenticated {
                    mismatches.push(format!("{path} with {header:?}: {status:?}"));
                }
            } else if !unauthenticated || reason.as_deref() != Some("UNAUTHENTICATED") {
                mismatches.push(format!("{path} with {header:?}: {status:?}"));
            }
        }
        if is_public(path) {
            public += 1;
        } else {
            refused += 1;
        }
        let with_key = raw_call(&s, path, Some(&format!("Bearer {SERVICE_KEY}"))).await;
        if with_key.code() == Code::Unauthenticated {
            mismatches.push(format!("{path} with the service key: {with_key:?}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    println!(
        "A1: {refused} methods refused without a valid bearer, {public} public \
         (SignIn, health, reflection)"
    );
    assert_eq!(refused, roster.len() - 1, "every Roster RPC but SignIn");
    assert!(public >= 4, "SignIn, health and reflection: only {public}");
}

async fn a3_package_admins_reach_only_their_own_package(b: Backend) {
    use crate::harness::assert_status;
    let s = TestServer::start(b).await;
    let fx = Fixture::new(&s).await;
    let mine = fx.package.clone();
    let theirs = fx.other_admin.token.clone();
    // Our admin's lists hold only our package's data.
    let creds = s
        .license(Some(&fx.admin.token))
        .list_credentials(pb::ListCredentialsRequest {
            package_id: mine.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .credentials;
    assert!(creds.iter().all(|c| c.package_id == mine));
    assert!(creds.iter().all(|c| c.username != fx.other_admin.user));
    let users = s
        .license(Some(&fx.admin.token))
        .list_active_users(pb::ListActiveUsersRequest {
            package_id: mine.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .active_users;
    assert!(users.iter().all(|u| u.package_id == mine));
    assert!(users.iter().all(|u| u.identity_id != fx.other_admin.id));
    // The other package's admin changes nothing here.
    let (cred, user, pass) = s.issue_credential(&mine, "ours").await;
    assert_status(
        s.license(Some(&theirs))
            .delete_credential(pb::DeleteCredentialRequest {
                request_id: String::new(),
                credential_id: cred,
            })
            .await,
        Code::PermissionDenied,
        Some("NOT_PACKAGE_ADMIN"),
    );
    assert_status(
        s.license(Some(&theirs))
            .detach_identity(pb::DetachIdentityRequest {
                request_id: String::new(),
                package_id: mine.clone(),
                identity_id: fx.plain.id.clone(),
            })
            .await,
        Code::PermissionDenied,
        Some("NOT_PACKAGE_ADMIN"),
    );
    let fresh = s.create_identity("StillWorks").await;
    s.sign_in(&fresh, &user, &pass).await;
    assert!(s.session_valid(&fx.plain.token).await);
    // An unknown package looks the same as someone else's to a session.
    for package in [mine.as_str(), "pkg_0000000000000000"] {
        assert_status(
            s.license(Some(&theirs))
                .get_seat_usage(pb::GetSeatUsageRequest {
                    package_id: package.to_owned(),
                })
                .await,
            Code::PermissionDenied,
            Some("NOT_PACKAGE_ADMIN"),
        );
    }
}

crate::db_tests!(
    a2_authorization_matrix_over_identity_and_license_rpcs,
    a1_every_rpc_but_sign_in_needs_a_valid_bearer,
    a3_package_admins_reach_only_their_own_package,
);
