//! LicenseService: package updates, credentials, active users, detaching,
//! internal contacts and the seat limit under concurrency (L1–L6, V1).

use prost::Message;
use roster::pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Backend, TestServer, assert_invalid, assert_status};

// ---- helpers ------------------------------------------------------------

/// (seat_limit, used, free) asked with the service key.
pub async fn usage(s: &TestServer, package: &str) -> (i32, i32, i32) {
    let u = s
        .svc_license()
        .get_seat_usage(pb::GetSeatUsageRequest {
            package_id: package.to_owned(),
        })
        .await
        .expect("seat usage")
        .into_inner();
    (u.seat_limit, u.used, u.free)
}

/// Every active user of a package (all pages), asked with the service key.
pub async fn active_users(s: &TestServer, package: &str) -> Vec<pb::ActiveUser> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let resp = s
            .svc_license()
            .list_active_users(pb::ListActiveUsersRequest {
                package_id: package.to_owned(),
                page_size: 0,
                page_token: token,
            })
            .await
            .expect("list active users")
            .into_inner();
        out.extend(resp.active_users);
        if resp.next_page_token.is_empty() {
            return out;
        }
        token = resp.next_page_token;
    }
}

/// IDs of the active users of a package.
pub async fn active_user_ids(s: &TestServer, package: &str) -> Vec<String> {
    active_users(s, package)
        .await
        .into_iter()
        .map(|u| u.identity_id)
        .collect()
}

/// DetachIdentity with `token`.
pub async fn detach(
    s: &TestServer,
    token: Option<&str>,
    package: &str,
    identity: &str,
) -> Result<(), tonic::Status> {
    s.license(token)
        .detach_identity(pb::DetachIdentityRequest {
            request_id: String::new(),
            package_id: package.to_owned(),
            identity_id: identity.to_owned(),
        })
        .await
        .map(|_| ())
}

/// DeleteCredential with `token`.
pub async fn delete_credential(
    s: &TestServer,
    token: Option<&str>,
    credential: &str,
) -> Result<(), tonic::Status> {
    s.license(token)
        .delete_credential(pb::DeleteCredentialRequest {
            request_id: String::new(),
            credential_id: credential.to_owned(),
        })
        .await
        .map(|_| ())
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

pub(crate) fn update_req(
    package: &str,
    p: pb::LicensePackage,
    paths: &[&str],
) -> pb::UpdateLicensePackageRequest {
    pb::UpdateLicensePackageRequest {
        request_id: String::new(),
        license_package: Some(pb::LicensePackage {
            package_id: package.to_owned(),
            ..p
        }),
        update_mask: mask(paths),
    }
}

pub(crate) fn pair(a: &str, b: &str) -> pb::IdentityPair {
    pb::IdentityPair {
        first_identity_id: a.to_owned(),
        second_identity_id: b.to_owned(),
    }
}

// ---- L1 -----------------------------------------------------------------

async fn l1_package_admin_updates_name_and_admins_but_not_plan_or_seats(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 5).await;
    let second = s.create_identity("SecondAdmin").await;
    let updated = s
        .license(Some(&admin_token))
        .update_license_package(update_req(
            &package,
            pb::LicensePackage {
                display_name: "  Renamed  ".into(),
                admin_identity_ids: vec![second.clone(), admin.clone(), admin.clone()],
                // Not in the mask: ignored.
                plan: pb::Plan::Basic as i32,
                seat_limit: 1,
                ..Default::default()
            },
            &["display_name", "admin_identity_ids"],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.display_name, "Renamed");
    let mut want = vec![admin.clone(), second.clone()];
    want.sort();
    assert_eq!(updated.admin_identity_ids, want);
    assert_eq!(updated.plan, pb::Plan::Business as i32);
    assert_eq!(updated.seat_limit, 5);
    let got = s
        .svc_license()
        .get_license_package(pb::GetLicensePackageRequest {
            package_id: package.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.display_name, "Renamed");
    assert_eq!(got.admin_identity_ids, want);

    // plan and seat_limit need a service key.
    for (p, path) in [
        (
            pb::LicensePackage {
                plan: pb::Plan::Enterprise as i32,
                ..Default::default()
            },
            "plan",
        ),
        (
            pb::LicensePackage {
                seat_limit: 50,
                ..Default::default()
            },
            "seat_limit",
        ),
    ] {
        assert_status(
            s.license(Some(&admin_token))
                .update_license_package(update_req(&package, p, &[path]))
                .await,
            Code::PermissionDenied,
            None,
        );
    }
    let updated = s
        .svc_license()
        .update_license_package(update_req(
            &package,
            pb::LicensePackage {
                plan: pb::Plan::Enterprise as i32,
                seat_limit: 50,
                ..Default::default()
            },
            &["plan", "seat_limit"],
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.plan, pb::Plan::Enterprise as i32);
    assert_eq!(updated.seat_limit, 50);
    assert_eq!(updated.display_name, "Renamed");
    assert_eq!(usage(&s, &package).await, (50, 1, 49));

    // An admin may hand the package over and lose access with it.
    s.license(Some(&admin_token))
        .update_license_package(update_req(
            &package,
            pb::LicensePackage {
                admin_identity_ids: vec![second.clone()],
                ..Default::default()
            },
            &["admin_identity_ids"],
        ))
        .await
        .unwrap();
    assert_status(
        s.license(Some(&admin_token))
            .get_license_package(pb::GetLicensePackageRequest {
                package_id: package.clone(),
            })
            .await,
        Code::PermissionDenied,
        Some("NOT_PACKAGE_ADMIN"),
    );
}

async fn l1_update_mask_and_admin_list_rules(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 5).await;
    let mut c = s.svc_license();
    let name = |n: &str| pb::LicensePackage {
        display_name: n.to_owned(),
        ..Default::default()
    };
    // Missing and empty masks.
    let res = c
        .update_license_package(pb::UpdateLicensePackageRequest {
            request_id: String::new(),
            license_package: Some(pb::LicensePackage {
                package_id: package.clone(),
                display_name: "x".into(),
                ..Default::default()
            }),
            update_mask: None,
        })
        .await;
    assert_invalid(res, "update_mask");
    assert_invalid(
        c.update_license_package(update_req(&package, name("x"), &[]))
            .await,
        "update_mask",
    );
    // Unknown paths, including output-only fields.
    for path in ["displayName", "create_time", "package_id", "*"] {
        assert_invalid(
            c.update_license_package(update_req(&package, name("x"), &["display_name", path]))
                .await,
            "update_mask.paths[1]",
        );
    }
    // Only the masked fields are validated.
    let bad = pb::LicensePackage {
        display_name: String::new(),
        plan: 99,
        seat_limit: 0,
        admin_identity_ids: vec!["bad".into()],
        ..Default::default()
    };
    for (path, field) in [
        ("display_name", "license_package.display_name"),
        ("plan", "license_package.plan"),
        ("seat_limit", "license_package.seat_limit"),
        (
            "admin_identity_ids",
            "license_package.admin_identity_ids[0]",
        ),
    ] {
        assert_invalid(
            c.update_license_package(update_req(&package, bad.clone(), &[path]))
                .await,
            field,
        );
    }
    assert_invalid(
        c.update_license_package(pb::UpdateLicensePackageRequest {
            request_id: String::new(),
            license_package: Some(name("x")),
            update_mask: mask(&["display_name"]),
        })
        .await,
        "license_package.package_id",
    );
    // The admin list stays non-empty and all ACTIVE.
    let admins = |ids: Vec<String>| pb::LicensePackage {
        admin_identity_ids: ids,
        ..Default::default()
    };
    assert_status(
        c.update_license_package(update_req(
            &package,
            admins(vec![]),
            &["admin_identity_ids"],
        ))
        .await,
        Code::FailedPrecondition,
        Some("NO_PACKAGE_ADMIN"),
    );
    assert_status(
        c.update_license_package(update_req(
            &package,
            admins(vec![admin.clone(), "NOBODY00".into()]),
            &["admin_identity_ids"],
        ))
        .await,
        Code::NotFound,
        Some("IDENTITY_NOT_FOUND"),
    );
    let gone = s.create_identity("Gone").await;
    let (_, user, pass) = s.issue_credential(&package, "gone").await;
    let gone_token = s.sign_in(&gone, &user, &pass).await;
    s.identity(Some(&gone_token))
        .revoke_identity(pb::RevokeIdentityRequest {
            identity_id: gone.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_status(
        c.update_license_package(update_req(
            &package,
            admins(vec![admin.clone(), gone]),
            &["admin_identity_ids"],
        ))
        .await,
        Code::FailedPrecondition,
        Some("IDENTITY_REVOKED"),
    );
    // Nothing of the refused updates was written.
    let got = c
        .get_license_package(pb::GetLicensePackageRequest {
            package_id: package.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.display_name, "Test package");
    assert_eq!(got.admin_identity_ids, vec![admin]);
    assert_eq!((got.plan, got.seat_limit), (pb::Plan::Business as i32, 5));
    // Unknown package.
    assert_status(
        c.update_license_package(update_req(
            "pkg_0000000000000000",
            name("x"),
            &["display_name"],
        ))
        .await,
        Code::NotFound,
        Some("PACKAGE_NOT_FOUND"),
    );
}

async fn l1_lowering_seat_limit_below_usage_is_refused(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Business, 5).await;
    let (_, user, pass) = s.issue_credential(&package, "team").await;
    for name in ["Ada", "Bob"] {
        let id = s.create_identity(name).await;
        s.sign_in(&id, &user, &pass).await;
    }
    assert_eq!(usage(&s, &package).await, (5, 3, 2));
    let seats = |n: i32| {
        update_req(
            &package,
            pb::LicensePackage {
                seat_limit: n,
                ..Default::default()
            },
            &["seat_limit"],
        )
    };
    let status = assert_status(
        s.svc_license().update_license_package(seats(2)).await,
        Code::FailedPrecondition,
        Some("SEAT_LIMIT_BELOW_USAGE"),
    );
    let info = status.get_details_error_info().unwrap();
    assert_eq!(
        info.metadata.get("seats_used").map(String::as_str),
        Some("3")
    );
    assert_eq!(usage(&s, &package).await, (5, 3, 2));
    // Exactly the seats in use is fine; then nobody new gets in.
    s.svc_license()
        .update_license_package(seats(3))
        .await
        .unwrap();
    assert_eq!(usage(&s, &package).await, (3, 3, 0));
    let cy = s.create_identity("Cy").await;
    assert_status(
        s.try_sign_in(&cy, &user, &pass).await,
        Code::ResourceExhausted,
        Some("SEAT_LIMIT_REACHED"),
    );
}

// ---- L2 -----------------------------------------------------------------

async fn l2_credentials_are_listed_without_passwords_and_paginated(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, admin_token) = s.package_with_admin(pb::Plan::Business, 5).await;
    let (other, _, _) = s.package_with_admin(pb::Plan::Business, 5).await;
    let mut issued = Vec::new();
    for i in 0..4 {
        let (id, user, pass) = s.issue_credential(&package, &format!("team-{i}")).await;
        issued.push((id, user, pass));
    }
    let mut c = s.license(Some(&admin_token));
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let resp = c
            .list_credentials(pb::ListCredentialsRequest {
                package_id: package.clone(),
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert!(resp.credentials.len() <= 2);
        let bytes = resp.encode_to_vec();
        for (_, _, pass) in &issued {
            assert!(
                !bytes.windows(pass.len()).any(|w| w == pass.as_bytes()),
                "a password appears in ListCredentials"
            );
        }
        seen.extend(resp.credentials);
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    // 5 credentials (the admin's own and 4 more), ordered by ID, none of
    // the other package's.
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    let ids: Vec<_> = seen.iter().map(|c| c.credential_id.clone()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert!(
        seen.iter()
            .all(|c| c.package_id == package && c.create_time.is_some())
    );
    for (id, user, _) in &issued {
        assert!(
            seen.iter()
                .any(|c| &c.credential_id == id && &c.username == user)
        );
    }
    // Tenant isolation: the admin cannot list another package's credentials.
    assert_status(
        c.list_credentials(pb::ListCredentialsRequest {
            package_id: other,
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
        Some("NOT_PACKAGE_ADMIN"),
    );
}

async fn l2_deleting_a_credential_ends_its_sessions_at_once_and_keeps_seats(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, admin_token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let (cred_a, user_a, pass_a) = s.issue_credential(&package, "team-a").await;
    let (_, user_b, pass_b) = s.issue_credential(&package, "team-b").await;
    let ada = s.create_identity("Ada").await;
    let bob = s.create_identity("Bob").await;
    let ada_a = s.sign_in(&ada, &user_a, &pass_a).await;
    let bob_a = s.sign_in(&bob, &user_a, &pass_a).await;
    let ada_b = s.sign_in(&ada, &user_b, &pass_b).await;
    assert_eq!(usage(&s, &package).await, (10, 3, 7));

    delete_credential(&s, Some(&admin_token), &cred_a)
        .await
        .unwrap();
    // Both sessions opened with it are gone at once; Ada's other one lives.
    for token in [&ada_a, &bob_a] {
        let resp = s
            .svc_identity()
            .validate_session(pb::ValidateSessionRequest {
                session_token: token.to_string(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!resp.valid);
        assert_eq!(
            resp.denial_reason,
            pb::SessionDenialReason::NoSession as i32
        );
        assert_status(
            s.identity(Some(token))
                .get_identity(pb::GetIdentityRequest {
                    identity_id: ada.clone(),
                })
                .await,
            Code::Unauthenticated,
            None,
        );
    }
    assert!(s.session_valid(&ada_b).await);
    // The identities stay attached: seats stay taken (L6).
    assert_eq!(usage(&s, &package).await, (10, 3, 7));
    let users = active_user_ids(&s, &package).await;
    assert!(users.contains(&ada) && users.contains(&bob));
    // The credential is gone for good.
    assert_status(
        s.try_sign_in(&bob, &user_a, &pass_a).await,
        Code::Unauthenticated,
        Some("BAD_CREDENTIALS"),
    );
    let listed = s
        .license(Some(&admin_token))
        .list_credentials(pb::ListCredentialsRequest {
            package_id: package.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.credentials.iter().all(|c| c.credential_id != cred_a));
    assert_status(
        delete_credential(&s, Some(&admin_token), &cred_a).await,
        Code::NotFound,
        Some("CREDENTIAL_NOT_FOUND"),
    );
    // The same username can be issued again afterwards.
    s.issue_credential(&package, "team-a").await;
}

// ---- L3 -----------------------------------------------------------------

crate::db_tests!(
    l1_package_admin_updates_name_and_admins_but_not_plan_or_seats,
    l1_update_mask_and_admin_list_rules,
    l1_lowering_seat_limit_below_usage_is_refused,
    l2_credentials_are_listed_without_passwords_and_paginated,
    l2_deleting_a_credential_ends_its_sessions_at_once_and_keeps_seats,
);
