//! License users and seats through the API: active users (L3), detaching (L4), internal contacts (L5), the seat limit under parallel sign-ins (L6) and bad input (V1).

use crate::db;
use crate::harness::{Backend, TestServer, assert_invalid, assert_status};
use crate::license::{active_user_ids, active_users, detach, pair, update_req, usage};
use roster::pb;
use tonic::Code;
use tonic_types::StatusExt;

async fn l3_active_users_paginate_with_attach_details(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let (cred, user, pass) = s.issue_credential(&package, "team").await;
    let mut ids = vec![admin.clone()];
    for i in 0..4 {
        let id = s.create_identity(&format!("User{i}")).await;
        s.sign_in(&id, &user, &pass).await;
        ids.push(id);
    }
    ids.sort();
    let mut c = s.license(Some(&admin_token));
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let resp = c
            .list_active_users(pb::ListActiveUsersRequest {
                package_id: package.clone(),
                page_size: 2,
                page_token: token,
            })
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        seen.extend(resp.active_users);
        if resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen.iter()
            .map(|u| u.identity_id.clone())
            .collect::<Vec<_>>(),
        ids
    );
    let first = seen
        .iter()
        .find(|u| u.identity_id != admin)
        .cloned()
        .unwrap();
    assert_eq!(first.package_id, package);
    assert_eq!(first.attach_method, pb::AttachMethod::SignIn as i32);
    assert!(first.signed_in);
    assert_eq!(first.credential_id, cred);
    assert!(first.attach_time.is_some());
    assert_eq!(first.last_seen_time, first.attach_time);

    // Signing in again later moves last_seen, not attach_time.
    s.clock.advance(std::time::Duration::from_secs(3600));
    s.sign_in(&first.identity_id, &user, &pass).await;
    let again = active_users(&s, &package)
        .await
        .into_iter()
        .find(|u| u.identity_id == first.identity_id)
        .unwrap();
    assert_eq!(again.attach_time, first.attach_time);
    assert_eq!(
        again.last_seen_time.unwrap().seconds,
        first.attach_time.unwrap().seconds + 3600
    );

    // Bad paging input.
    for (size, token, field) in [
        (-1, String::new(), "page_size"),
        (0, "garbage!".to_owned(), "page_token"),
        // A token of another list (credential IDs) does not fit this one.
        (
            0,
            roster::grpc::convert::page_token(Some(cred.clone())),
            "page_token",
        ),
    ] {
        assert_invalid(
            c.list_active_users(pb::ListActiveUsersRequest {
                package_id: package.clone(),
                page_size: size,
                page_token: token,
            })
            .await,
            field,
        );
    }
    assert_invalid(
        c.list_credentials(pb::ListCredentialsRequest {
            package_id: package.clone(),
            page_size: 0,
            page_token: "garbage".into(),
        })
        .await,
        "page_token",
    );
}

// ---- L4 -----------------------------------------------------------------

async fn l4_detach_frees_the_seat_ends_that_packages_sessions_only(b: Backend) {
    let s = TestServer::start(b).await;
    let (p1, _, admin1) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let (p2, _, _) = s.package_with_admin(pb::Plan::Business, 5).await;
    let (_, u1, pw1) = s.issue_credential(&p1, "team-one").await;
    let (_, u2, pw2) = s.issue_credential(&p2, "team-two").await;
    let ada = s.create_identity("Ada").await;
    let t1 = s.sign_in(&ada, &u1, &pw1).await;
    let t2 = s.sign_in(&ada, &u2, &pw2).await;
    assert_eq!(usage(&s, &p1).await.1, 2);

    detach(&s, Some(&admin1), &p1, &ada).await.unwrap();
    assert_eq!(usage(&s, &p1).await, (5, 1, 4));
    assert!(!active_user_ids(&s, &p1).await.contains(&ada));
    assert!(!s.session_valid(&t1).await);
    // The identity keeps working elsewhere.
    assert!(s.session_valid(&t2).await);
    assert_eq!(usage(&s, &p2).await.1, 2);
    assert_status(
        detach(&s, Some(&admin1), &p1, &ada).await,
        Code::NotFound,
        Some("IDENTITY_NOT_ATTACHED"),
    );
    assert_status(
        detach(&s, Some(&admin1), &p1, "NOBODY00").await,
        Code::NotFound,
        Some("IDENTITY_NOT_ATTACHED"),
    );
    assert_status(
        detach(&s, Some(harness_key()), "pkg_0000000000000000", &ada).await,
        Code::NotFound,
        Some("PACKAGE_NOT_FOUND"),
    );
    // The admin of p1 cannot detach from p2 (A3).
    assert_status(
        detach(&s, Some(&admin1), &p2, &ada).await,
        Code::PermissionDenied,
        Some("NOT_PACKAGE_ADMIN"),
    );
    // Signing in with p1's credential again brings it back.
    s.sign_in(&ada, &u1, &pw1).await;
    assert!(active_user_ids(&s, &p1).await.contains(&ada));
    assert_eq!(usage(&s, &p1).await.1, 2);
}

fn harness_key() -> &'static str {
    crate::harness::SERVICE_KEY
}

async fn l4_detach_is_refused_while_an_active_member_naming_the_organizations(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, admin_token) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let (other, _, _) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let (_, user, pass) = s.issue_credential(&package, "team").await;
    let ada = s.create_identity("Ada").await;
    let token = s.sign_in(&ada, &user, &pass).await;
    // Stand-in for MembershipService: two active memberships in
    // organizations bound to the package, a deactivated one, and an active
    // one in an organization of another package.
    let mut active = [
        db::insert_member(&s, &package, &ada, "ACTIVE").await,
        db::insert_member(&s, &package, &ada, "ACTIVE").await,
    ];
    active.sort();
    db::insert_member(&s, &package, &ada, "DEACTIVATED").await;
    db::insert_member(&s, &other, &ada, "ACTIVE").await;

    let status = assert_status(
        detach(&s, Some(&admin_token), &package, &ada).await,
        Code::FailedPrecondition,
        Some("ACTIVE_MEMBERSHIPS"),
    );
    let info = status.get_details_error_info().unwrap();
    assert_eq!(
        info.metadata.get("organization_ids"),
        Some(&active.join(","))
    );
    // Nothing changed.
    assert_eq!(usage(&s, &package).await.1, 2);
    assert!(s.session_valid(&token).await);

    db::exec(
        &s,
        "UPDATE members SET state = 'DEACTIVATED' WHERE package_id = ? AND identity_id = ?",
        vec![package.clone().into(), ada.clone().into()],
    )
    .await;
    detach(&s, Some(&admin_token), &package, &ada)
        .await
        .unwrap();
    assert_eq!(usage(&s, &package).await.1, 1);
    assert!(!s.session_valid(&token).await);
}

// ---- L5 -----------------------------------------------------------------

async fn l5_internal_contacts_share_a_package(b: Backend) {
    let s = TestServer::start(b).await;
    let (p1, _, admin1) = s.package_with_admin(pb::Plan::Business, 10).await;
    let (p2, _, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let (_, u1, pw1) = s.issue_credential(&p1, "one").await;
    let (_, u2, pw2) = s.issue_credential(&p2, "two").await;
    let ada = s.create_identity("Ada").await;
    let bob = s.create_identity("Bob").await;
    let cy = s.create_identity("Cy").await;
    let nobody = s.create_identity("Nobody").await;
    let ada_token = s.sign_in(&ada, &u1, &pw1).await;
    s.sign_in(&bob, &u1, &pw1).await;
    s.sign_in(&cy, &u2, &pw2).await;
    s.sign_in(&bob, &u2, &pw2).await;

    let check = |pairs: Vec<pb::IdentityPair>| pb::CheckInternalContactsRequest { pairs };
    let resp = s
        .svc_license()
        .check_internal_contacts(check(vec![
            pair(&ada, &bob),
            pair(&ada, &cy),
            pair(&cy, &bob),
            pair(&nobody, &ada),
            pair("UNKNOWN0", &ada),
        ]))
        .await
        .unwrap()
        .into_inner();
    let got: Vec<_> = resp
        .results
        .iter()
        .map(|r| {
            let p = r.pair.clone().unwrap();
            (p.first_identity_id, p.second_identity_id, r.internal)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (ada.clone(), bob.clone(), true),
            (ada.clone(), cy.clone(), false),
            (cy.clone(), bob.clone(), true),
            (nobody.clone(), ada.clone(), false),
            ("UNKNOWN0".to_owned(), ada.clone(), false),
        ]
    );
    // A session may ask about pairs with itself only.
    let resp = s
        .license(Some(&ada_token))
        .check_internal_contacts(check(vec![pair(&bob, &ada), pair(&ada, &cy)]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        resp.results.iter().map(|r| r.internal).collect::<Vec<_>>(),
        vec![true, false]
    );
    assert_status(
        s.license(Some(&ada_token))
            .check_internal_contacts(check(vec![pair(&ada, &bob), pair(&bob, &cy)]))
            .await,
        Code::PermissionDenied,
        None,
    );
    // Detached: no longer an internal contact (seed).
    detach(&s, Some(&admin1), &p1, &bob).await.unwrap();
    let resp = s
        .svc_license()
        .check_internal_contacts(check(vec![pair(&ada, &bob)]))
        .await
        .unwrap()
        .into_inner();
    assert!(!resp.results[0].internal);
    // 1,000 pairs in one call; 1,001 are too many.
    let many: Vec<_> = (0..1000).map(|_| pair(&cy, &bob)).collect();
    let resp = s
        .svc_license()
        .check_internal_contacts(check(many.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.results.len(), 1000);
    assert!(resp.results.iter().all(|r| r.internal));
    let mut too_many = many;
    too_many.push(pair(&cy, &bob));
    assert_invalid(
        s.svc_license()
            .check_internal_contacts(check(too_many))
            .await,
        "pairs",
    );
    assert_invalid(
        s.svc_license().check_internal_contacts(check(vec![])).await,
        "pairs",
    );
    assert_invalid(
        s.svc_license()
            .check_internal_contacts(check(vec![pair(&ada, &bob), pair(&ada, "bad")]))
            .await,
        "pairs[1].second_identity_id",
    );
}

// ---- L6 -----------------------------------------------------------------

async fn l6_parallel_sign_ins_never_exceed_the_seat_limit(b: Backend) {
    const PARALLEL: usize = 20;
    let s = TestServer::start(b).await;
    // The admin holds one of 6 seats: 5 are free.
    let (package, _, _) = s.package_with_admin(pb::Plan::Business, 6).await;
    let mut people = Vec::new();
    for i in 0..PARALLEL {
        let id = s.create_identity(&format!("Racer{i}")).await;
        let (_, user, pass) = s.issue_credential(&package, &format!("racer-{i}")).await;
        people.push((id, user, pass));
    }
    let results = futures::future::join_all(
        people
            .iter()
            .map(|(id, user, pass)| s.try_sign_in(id, user, pass)),
    )
    .await;
    let mut ok = 0;
    for res in results {
        match res {
            Ok(_) => ok += 1,
            Err(status) => {
                assert_status::<()>(
                    Err(status),
                    Code::ResourceExhausted,
                    Some("SEAT_LIMIT_REACHED"),
                );
            }
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(usage(&s, &package).await, (6, 6, 0));
    assert_eq!(active_user_ids(&s, &package).await.len(), 6);
}

// ---- V1 -----------------------------------------------------------------

async fn v1_license_rpcs_reject_garbage_and_write_nothing(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 5).await;
    let mut c = s.svc_license();
    let count = |table: &'static str| {
        let s = &s;
        async move { db::scalar_i64(s, &format!("SELECT COUNT(*) FROM {table}"), vec![]).await }
    };
    let packages_before = count("license_packages").await;
    let credentials_before = count("credentials").await;
    let seats_before = usage(&s, &package).await;

    let good = pb::LicensePackage {
        display_name: "Good".into(),
        plan: pb::Plan::Basic as i32,
        seat_limit: 3,
        admin_identity_ids: vec![admin.clone()],
        ..Default::default()
    };
    let create = |p: pb::LicensePackage| pb::CreateLicensePackageRequest {
        request_id: String::new(),
        license_package: Some(p),
    };
    for (p, field) in [
        (
            pb::LicensePackage {
                plan: 99,
                ..good.clone()
            },
            "license_package.plan",
        ),
        (
            pb::LicensePackage {
                plan: 0,
                ..good.clone()
            },
            "license_package.plan",
        ),
        (
            pb::LicensePackage {
                seat_limit: -1,
                ..good.clone()
            },
            "license_package.seat_limit",
        ),
        (
            pb::LicensePackage {
                seat_limit: 1_000_001,
                ..good.clone()
            },
            "license_package.seat_limit",
        ),
        (
            pb::LicensePackage {
                display_name: "x".repeat(101),
                ..good.clone()
            },
            "license_package.display_name",
        ),
        (
            pb::LicensePackage {
                display_name: "tab\there".into(),
                ..good.clone()
            },
            "license_package.display_name",
        ),
        (
            pb::LicensePackage {
                admin_identity_ids: vec![],
                ..good.clone()
            },
            "license_package.admin_identity_ids",
        ),
        (
            pb::LicensePackage {
                admin_identity_ids: vec![admin.clone(), "pkg_0000000000000000".into()],
                ..good.clone()
            },
            "license_package.admin_identity_ids[1]",
        ),
        (
            pb::LicensePackage {
                admin_identity_ids: vec![admin.clone(); 101],
                ..good.clone()
            },
            "license_package.admin_identity_ids",
        ),
    ] {
        assert_invalid(c.create_license_package(create(p)).await, field);
    }
    assert_invalid(
        c.create_license_package(pb::CreateLicensePackageRequest {
            request_id: String::new(),
            license_package: None,
        })
        .await,
        "license_package",
    );

    let issue = |package: &str, username: &str, password: &str| pb::IssueCredentialRequest {
        package_id: package.to_owned(),
        username: username.to_owned(),
        password: password.to_owned(),
    };
    for (req, field) in [
        (issue(&package, "UPPER", ""), "username"),
        (issue(&package, "ab", ""), "username"),
        (issue(&package, &"a".repeat(65), ""), "username"),
        (issue(&package, "fine", "short"), "password"),
        (issue(&package, "fine", &"p".repeat(129)), "password"),
        (issue("", "fine", ""), "package_id"),
        (issue("pkg_short", "fine", ""), "package_id"),
    ] {
        assert_invalid(c.issue_credential(req).await, field);
    }
    assert_invalid(
        c.list_credentials(pb::ListCredentialsRequest {
            package_id: package.clone(),
            page_size: -1,
            page_token: String::new(),
        })
        .await,
        "page_size",
    );
    assert_invalid(
        c.list_credentials(pb::ListCredentialsRequest {
            package_id: "PKG_0000000000000000".into(),
            ..Default::default()
        })
        .await,
        "package_id",
    );
    assert_invalid(
        c.delete_credential(pb::DeleteCredentialRequest {
            request_id: String::new(),
            credential_id: "cred_../../etc".into(),
        })
        .await,
        "credential_id",
    );
    assert_invalid(
        c.delete_credential(pb::DeleteCredentialRequest {
            request_id: String::new(),
            credential_id: package.clone(),
        })
        .await,
        "credential_id",
    );
    assert_invalid(
        c.detach_identity(pb::DetachIdentityRequest {
            request_id: String::new(),
            package_id: package.clone(),
            identity_id: "abcdefgh".into(),
        })
        .await,
        "identity_id",
    );
    assert_invalid(
        c.detach_identity(pb::DetachIdentityRequest {
            request_id: String::new(),
            package_id: String::new(),
            identity_id: admin.clone(),
        })
        .await,
        "package_id",
    );
    assert_invalid(
        c.get_seat_usage(pb::GetSeatUsageRequest {
            package_id: "x".repeat(10_000),
        })
        .await,
        "package_id",
    );
    assert_invalid(
        c.get_license_package(pb::GetLicensePackageRequest {
            package_id: "pkg_".into(),
        })
        .await,
        "package_id",
    );
    assert_invalid(
        c.update_license_package(update_req(
            &package,
            pb::LicensePackage {
                seat_limit: 2_000_000,
                ..Default::default()
            },
            &["seat_limit"],
        ))
        .await,
        "license_package.seat_limit",
    );

    // Nothing was written.
    assert_eq!(count("license_packages").await, packages_before);
    assert_eq!(count("credentials").await, credentials_before);
    assert_eq!(usage(&s, &package).await, seats_before);
    assert_eq!(
        db::scalar_i64(
            &s,
            "SELECT COUNT(*) FROM license_packages WHERE display_name <> ?",
            vec!["Test package".into()],
        )
        .await,
        0
    );
}

crate::db_tests!(
    l3_active_users_paginate_with_attach_details,
    l4_detach_frees_the_seat_ends_that_packages_sessions_only,
    l4_detach_is_refused_while_an_active_member_naming_the_organizations,
    l5_internal_contacts_share_a_package,
    l6_parallel_sign_ins_never_exceed_the_seat_limit,
    v1_license_rpcs_reject_garbage_and_write_nothing,
);
