//! IdentityService: creation, lookup, revocation passwords, revocation,
//! sign-in, session validation and sign-out (I1–I7, A1, V1).

use roster::pb;
use tonic::Code;

use crate::db;
use crate::harness::{Backend, TestServer, assert_invalid, assert_status};
use crate::license::{active_user_ids, delete_credential, detach, usage};

pub(crate) async fn get(s: &TestServer, id: &str) -> pb::Identity {
    s.svc_identity()
        .get_identity(pb::GetIdentityRequest {
            identity_id: id.to_owned(),
        })
        .await
        .expect("get identity")
        .into_inner()
}

pub(crate) async fn revoke(
    s: &TestServer,
    token: &str,
    id: &str,
    password: &str,
) -> Result<pb::Identity, tonic::Status> {
    s.identity(Some(token))
        .revoke_identity(pb::RevokeIdentityRequest {
            request_id: String::new(),
            identity_id: id.to_owned(),
            revocation_password: password.to_owned(),
            package_id: String::new(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn set_password(s: &TestServer, token: &str, id: &str, password: &str) {
    s.identity(Some(token))
        .set_revocation_password(pb::SetRevocationPasswordRequest {
            request_id: String::new(),
            identity_id: id.to_owned(),
            password: password.to_owned(),
        })
        .await
        .expect("set revocation password");
}

/// An identity signed in with a fresh credential of `package`; returns
/// (identity, token, username, password).
pub(crate) async fn member_of(
    s: &TestServer,
    package: &str,
    name: &str,
) -> (String, String, String, String) {
    let id = s.create_identity(name).await;
    let (_, user, pass) = s
        .issue_credential(package, &format!("user-{}", id.to_lowercase()))
        .await;
    let token = s.sign_in(&id, &user, &pass).await;
    (id, token, user, pass)
}

async fn i1_create_identity_returns_fresh_active_identity(b: Backend) {
    let s = TestServer::start(b).await;
    let a = s.create_identity("Ada").await;
    let b2 = s.create_identity("Bob").await;
    assert_ne!(a, b2);
    assert_eq!(a.len(), 8);
    assert!(
        a.bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    );
    let got = s
        .svc_identity()
        .get_identity(pb::GetIdentityRequest {
            identity_id: a.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.display_name, "Ada");
    assert_eq!(got.state, pb::IdentityState::Active as i32);
    assert!(got.create_time.is_some());
}

async fn v1_create_identity_rejects_bad_fields(b: Backend) {
    let s = TestServer::start(b).await;
    let mut c = s.svc_identity();
    let res = c
        .create_identity(pb::CreateIdentityRequest {
            request_id: String::new(),
            identity: Some(pb::Identity {
                display_name: " ".into(),
                email: "not-an-email".into(),
                avatar_url: "ftp://x".into(),
                ..Default::default()
            }),
        })
        .await;
    assert_invalid(res, "identity.display_name");
    let res = c
        .create_identity(pb::CreateIdentityRequest {
            request_id: String::new(),
            identity: Some(pb::Identity {
                display_name: "x".repeat(101),
                ..Default::default()
            }),
        })
        .await;
    assert_invalid(res, "identity.display_name");
    let res = c
        .create_identity(pb::CreateIdentityRequest {
            request_id: String::new(),
            identity: Some(pb::Identity {
                display_name: "Ok".into(),
                email: "not-an-email".into(),
                ..Default::default()
            }),
        })
        .await;
    assert_invalid(res, "identity.email");
    let res = c
        .get_identity(pb::GetIdentityRequest {
            identity_id: "lower123".into(),
        })
        .await;
    assert_invalid(res, "identity_id");
}

async fn a1_calls_without_a_valid_bearer_are_unauthenticated(b: Backend) {
    let s = TestServer::start(b).await;
    let id = s.create_identity("Ada").await;
    let req = || pb::GetIdentityRequest {
        identity_id: id.clone(),
    };
    assert_status(
        s.identity(None).get_identity(req()).await,
        Code::Unauthenticated,
        Some("UNAUTHENTICATED"),
    );
    assert_status(
        s.identity(Some("rsk_wrong-key-0000000000"))
            .get_identity(req())
            .await,
        Code::Unauthenticated,
        None,
    );
    assert_status(
        s.identity(Some("rss_not-a-session"))
            .get_identity(req())
            .await,
        Code::Unauthenticated,
        None,
    );
}

async fn i2_batch_get_flags_unknown_ids_in_order(b: Backend) {
    let s = TestServer::start(b).await;
    let a = s.create_identity("Ada").await;
    let z = s.create_identity("Zed").await;
    let res = s
        .svc_identity()
        .batch_get_identities(pb::BatchGetIdentitiesRequest {
            identity_ids: vec![z.clone(), "UNKNOWN1".into(), a.clone()],
            hide_inactive: false,
        })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<_> = res
        .results
        .iter()
        .map(|r| (r.identity_id.as_str(), r.found))
        .collect();
    assert_eq!(
        ids,
        vec![(z.as_str(), true), ("UNKNOWN1", false), (a.as_str(), true)]
    );
    assert_eq!(
        res.results[2].identity.as_ref().unwrap().display_name,
        "Ada"
    );

    let too_many = vec![a.clone(); 1001];
    let res = s
        .svc_identity()
        .batch_get_identities(pb::BatchGetIdentitiesRequest {
            identity_ids: too_many,
            hide_inactive: false,
        })
        .await;
    assert_invalid(res, "identity_ids");
}

async fn i5_sign_in_attaches_identity_and_session_validates(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _admin, admin_token) = s.package_with_admin(pb::Plan::Business, 5).await;
    let ada = s.create_identity("Ada").await;
    let (_, user, pass) = s.issue_credential(&package, "team-ada").await;
    let token = s.sign_in(&ada, &user, &pass).await;
    assert!(s.session_valid(&token).await);
    let usage = s
        .license(Some(&admin_token))
        .get_seat_usage(pb::GetSeatUsageRequest {
            package_id: package.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    // The admin and Ada hold a seat each.
    assert_eq!((usage.used, usage.free), (2, 3));
    // A second sign-in of the same identity takes no second seat.
    s.sign_in(&ada, &user, &pass).await;
    let usage = s
        .svc_license()
        .get_seat_usage(pb::GetSeatUsageRequest {
            package_id: package,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(usage.used, 2);
    // Wrong password, unknown username, unknown identity: one error.
    for (id, u, p) in [
        (&ada, &user, "wrong-password"),
        (&ada, &"nobody".to_owned(), pass.as_str()),
        (&"ZZZZZZZZ".to_owned(), &user, pass.as_str()),
    ] {
        assert_status(
            s.try_sign_in(id, u, p).await,
            Code::Unauthenticated,
            Some("BAD_CREDENTIALS"),
        );
    }
}

async fn i2_revoked_identity_comes_back_revoked_with_empty_fields(b: Backend) {
    let s = TestServer::start(b).await;
    let ada = s
        .svc_identity()
        .create_identity(pb::CreateIdentityRequest {
            request_id: String::new(),
            identity: Some(pb::Identity {
                display_name: "Ada".into(),
                email: "ada@example.com".into(),
                avatar_url: "https://example.com/ada.png".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ada.email, "ada@example.com");
    let bob = s.create_identity("Bob").await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Business, 5).await;
    let (_, user, pass) = s.issue_credential(&package, "team").await;
    let token = s.sign_in(&ada.identity_id, &user, &pass).await;
    revoke(&s, &token, &ada.identity_id, "").await.unwrap();

    let got = get(&s, &ada.identity_id).await;
    assert_eq!(got.state, pb::IdentityState::Revoked as i32);
    assert_eq!(
        (
            got.display_name.as_str(),
            got.email.as_str(),
            got.avatar_url.as_str()
        ),
        ("", "", "")
    );
    assert!(got.revoke_time.is_some());
    assert_eq!(got.create_time, ada.create_time);

    let batch = |hide_inactive| pb::BatchGetIdentitiesRequest {
        identity_ids: vec![bob.clone(), ada.identity_id.clone(), "UNKNOWN1".into()],
        hide_inactive,
    };
    let all = s
        .svc_identity()
        .batch_get_identities(batch(false))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(all.len(), 3);
    let struck = all[1].identity.as_ref().unwrap();
    assert!(all[1].found);
    assert_eq!(struck.state, pb::IdentityState::Revoked as i32);
    assert!(struck.display_name.is_empty() && struck.avatar_url.is_empty());
    // "Hide inactive contacts": the revoked one is left out, the rest keep
    // their order.
    let shown = s
        .svc_identity()
        .batch_get_identities(batch(true))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(
        shown
            .iter()
            .map(|r| (r.identity_id.as_str(), r.found))
            .collect::<Vec<_>>(),
        vec![(bob.as_str(), true), ("UNKNOWN1", false)]
    );
}

async fn i3_revocation_password_is_set_by_the_identity_only_and_never_readable(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, admin_token) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let (ada, ada_token, _, _) = member_of(&s, &package, "Ada").await;
    let req = |password: &str| pb::SetRevocationPasswordRequest {
        request_id: String::new(),
        identity_id: ada.clone(),
        password: password.to_owned(),
    };
    // Neither a service key nor the package admin may set it.
    assert_status(
        s.svc_identity()
            .set_revocation_password(req("service-chosen"))
            .await,
        Code::PermissionDenied,
        Some("NOT_SELF"),
    );
    assert_status(
        s.identity(Some(&admin_token))
            .set_revocation_password(req("admin-chosen"))
            .await,
        Code::PermissionDenied,
        Some("NOT_SELF"),
    );
    assert_invalid(
        s.identity(Some(&ada_token))
            .set_revocation_password(req("short"))
            .await,
        "password",
    );
    let secret = "my revocation secret";
    set_password(&s, &ada_token, &ada, secret).await;
    // Stored as an argon2id hash only; no API returns it.
    let stored = db::scalar_text(
        &s,
        "SELECT revocation_password_hash FROM identities WHERE id = ?",
        vec![ada.clone().into()],
    )
    .await
    .unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains(secret));
    let identity = get(&s, &ada).await;
    let bytes = prost::Message::encode_to_vec(&identity);
    assert!(!bytes.windows(10).any(|w| w == &stored.as_bytes()[..10]));
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    // Replacing it works; the old one no longer does.
    set_password(&s, &ada_token, &ada, "a second secret").await;
    assert_status(
        revoke(&s, &ada_token, &ada, secret).await,
        Code::PermissionDenied,
        Some("WRONG_REVOCATION_PASSWORD"),
    );
}

async fn i4_self_revocation_without_a_password_set(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Basic, 5).await;
    let (ada, token, user, pass) = member_of(&s, &package, "Ada").await;
    assert_eq!(usage(&s, &package).await.1, 2);
    // No password set: any (or no) password is accepted.
    let revoked = revoke(&s, &token, &ada, "").await.unwrap();
    assert_eq!(revoked.state, pb::IdentityState::Revoked as i32);
    assert!(revoked.display_name.is_empty());
    assert!(!s.session_valid(&token).await);
    assert_eq!(usage(&s, &package).await.1, 1);
    assert_status(
        s.try_sign_in(&ada, &user, &pass).await,
        Code::Unauthenticated,
        Some("BAD_CREDENTIALS"),
    );
}

async fn i4_self_revocation_needs_the_revocation_password_when_set(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Basic, 5).await;
    let (ada, token, _, _) = member_of(&s, &package, "Ada").await;
    set_password(&s, &token, &ada, "correct horse battery").await;
    for (wrong, reason) in [
        ("", "REVOCATION_PASSWORD_REQUIRED"),
        ("wrong horse battery", "WRONG_REVOCATION_PASSWORD"),
    ] {
        assert_status(
            revoke(&s, &token, &ada, wrong).await,
            Code::PermissionDenied,
            Some(reason),
        );
    }
    assert_eq!(get(&s, &ada).await.state, pb::IdentityState::Active as i32);
    assert!(s.session_valid(&token).await);
    revoke(&s, &token, &ada, "correct horse battery")
        .await
        .unwrap();
    assert_eq!(get(&s, &ada).await.state, pb::IdentityState::Revoked as i32);
}

async fn i4_admin_revoke_requires_enterprise_plan(b: Backend) {
    let s = TestServer::start(b).await;
    for plan in [pb::Plan::Basic, pb::Plan::Business] {
        let (package, _, admin_token) = s.package_with_admin(plan, 5).await;
        let (ada, token, _, _) = member_of(&s, &package, "Ada").await;
        assert_status(
            revoke(&s, &admin_token, &ada, "").await,
            Code::FailedPrecondition,
            Some("ENTERPRISE_PLAN_REQUIRED"),
        );
        assert_eq!(get(&s, &ada).await.state, pb::IdentityState::Active as i32);
        assert!(s.session_valid(&token).await);
    }
    // Upgraded to ENTERPRISE (service key), the same admin may.
    let (package, _, admin_token) = s.package_with_admin(pb::Plan::Business, 5).await;
    let (ada, _, _, _) = member_of(&s, &package, "Ada").await;
    s.svc_license()
        .update_license_package(pb::UpdateLicensePackageRequest {
            request_id: String::new(),
            license_package: Some(pb::LicensePackage {
                package_id: package.clone(),
                plan: pb::Plan::Enterprise as i32,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["plan".into()],
            }),
        })
        .await
        .unwrap();
    revoke(&s, &admin_token, &ada, "").await.unwrap();
}

async fn i4_enterprise_admin_revokes_ignoring_the_revocation_password(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let (other, _, _) = s.package_with_admin(pb::Plan::Business, 5).await;
    let (ada, t1, user, pass) = member_of(&s, &package, "Ada").await;
    let t2 = s.sign_in(&ada, &user, &pass).await;
    let (_, u2, p2) = s.issue_credential(&other, "elsewhere").await;
    let t3 = s.sign_in(&ada, &u2, &p2).await;
    set_password(&s, &t1, &ada, "only ada knows this").await;
    assert_eq!(usage(&s, &package).await.1, 2);
    assert_eq!(usage(&s, &other).await.1, 2);

    let revoked = s
        .identity(Some(&admin_token))
        .revoke_identity(pb::RevokeIdentityRequest {
            request_id: String::new(),
            identity_id: ada.clone(),
            revocation_password: String::new(),
            package_id: package.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revoked.state, pb::IdentityState::Revoked as i32);
    // Every session ends at once, in every package; every seat is freed.
    for t in [&t1, &t2, &t3] {
        assert!(!s.session_valid(t).await);
    }
    assert_eq!(usage(&s, &package).await.1, 1);
    assert_eq!(usage(&s, &other).await.1, 1);
    assert!(!active_user_ids(&s, &other).await.contains(&ada));
    // Personal data erased, also in storage.
    let got = get(&s, &ada).await;
    assert!(got.display_name.is_empty() && got.avatar_url.is_empty());
    assert_eq!(
        db::scalar_i64(
            &s,
            "SELECT COUNT(*) FROM identities WHERE id = ? AND display_name IS NULL \
             AND avatar_url IS NULL AND email IS NULL AND revocation_password_hash IS NULL",
            vec![ada.clone().into()],
        )
        .await,
        1
    );
    // Never again: no sign-in, no second revocation, not an admin.
    for (u, p) in [(&user, &pass), (&u2, &p2)] {
        assert_status(
            s.try_sign_in(&ada, u, p).await,
            Code::Unauthenticated,
            Some("BAD_CREDENTIALS"),
        );
    }
    assert_status(
        revoke(&s, &admin_token, &ada, "").await,
        Code::FailedPrecondition,
        Some("IDENTITY_REVOKED"),
    );
    assert_status(
        s.svc_license()
            .create_license_package(pb::CreateLicensePackageRequest {
                request_id: String::new(),
                license_package: Some(pb::LicensePackage {
                    display_name: "Revived".into(),
                    plan: pb::Plan::Basic as i32,
                    seat_limit: 1,
                    admin_identity_ids: vec![ada.clone()],
                    ..Default::default()
                }),
            })
            .await,
        Code::FailedPrecondition,
        Some("IDENTITY_REVOKED"),
    );
    // The admin itself is untouched.
    assert!(s.session_valid(&admin_token).await);
    assert_eq!(
        get(&s, &admin).await.state,
        pb::IdentityState::Active as i32
    );
}

async fn i4_admin_cannot_revoke_a_detached_identity(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, admin_token) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let (ada, _, _, _) = member_of(&s, &package, "Ada").await;
    detach(&s, Some(&admin_token), &package, &ada)
        .await
        .unwrap();
    assert_status(
        revoke(&s, &admin_token, &ada, "").await,
        Code::PermissionDenied,
        Some("IDENTITY_NOT_ATTACHED"),
    );
    assert_eq!(get(&s, &ada).await.state, pb::IdentityState::Active as i32);
}

async fn i4_admin_can_still_revoke_after_deleting_the_credential(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, admin_token) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let ada = s.create_identity("Ada").await;
    let (cred, user, pass) = s.issue_credential(&package, "ada-cred").await;
    let token = s.sign_in(&ada, &user, &pass).await;
    delete_credential(&s, Some(&admin_token), &cred)
        .await
        .unwrap();
    assert!(!s.session_valid(&token).await);
    // Still attached (seat taken), so the admin may still revoke.
    assert_eq!(usage(&s, &package).await.1, 2);
    revoke(&s, &admin_token, &ada, "").await.unwrap();
    assert_eq!(usage(&s, &package).await.1, 1);
}

async fn i4_only_the_identity_or_its_package_admin_may_revoke(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let (other, _, other_admin) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let (ada, _, _, _) = member_of(&s, &package, "Ada").await;
    let (_, bob_token, _, _) = member_of(&s, &package, "Bob").await;
    assert_status(
        revoke(&s, &other_admin, &ada, "").await,
        Code::PermissionDenied,
        Some("IDENTITY_NOT_ATTACHED"),
    );
    assert_status(
        s.identity(Some(&other_admin))
            .revoke_identity(pb::RevokeIdentityRequest {
                request_id: String::new(),
                identity_id: ada.clone(),
                revocation_password: String::new(),
                package_id: package.clone(),
            })
            .await,
        Code::PermissionDenied,
        Some("NOT_PACKAGE_ADMIN"),
    );
    let _ = other;
    assert_status(
        revoke(&s, &bob_token, &ada, "").await,
        Code::PermissionDenied,
        Some("NOT_PACKAGE_ADMIN"),
    );
    assert_status(
        revoke(&s, crate::harness::SERVICE_KEY, &ada, "").await,
        Code::PermissionDenied,
        None,
    );
    assert_status(
        revoke(&s, &bob_token, "NOBODY00", "").await,
        Code::NotFound,
        None,
    );
    assert_eq!(get(&s, &ada).await.state, pb::IdentityState::Active as i32);
}

crate::db_tests!(
    i5_sign_in_attaches_identity_and_session_validates,
    i1_create_identity_returns_fresh_active_identity,
    v1_create_identity_rejects_bad_fields,
    a1_calls_without_a_valid_bearer_are_unauthenticated,
    i2_batch_get_flags_unknown_ids_in_order,
    i2_revoked_identity_comes_back_revoked_with_empty_fields,
    i3_revocation_password_is_set_by_the_identity_only_and_never_readable,
    i4_self_revocation_without_a_password_set,
    i4_self_revocation_needs_the_revocation_password_when_set,
    i4_admin_revoke_requires_enterprise_plan,
    i4_enterprise_admin_revokes_ignoring_the_revocation_password,
    i4_admin_cannot_revoke_a_detached_identity,
    i4_admin_can_still_revoke_after_deleting_the_credential,
    i4_only_the_identity_or_its_package_admin_may_revoke,
);
