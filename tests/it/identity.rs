//! IdentityService: creation, lookup, revocation passwords, revocation,
//! sign-in, session validation and sign-out (I1–I7, A1, V1).

use roster::pb;
use tonic::Code;

use crate::db;
use crate::harness::{Backend, TestServer, assert_invalid, assert_status};
use crate::license::{active_user_ids, delete_credential, detach, usage};

async fn get(s: &TestServer, id: &str) -> pb::Identity {
    s.svc_identity()
        .get_identity(pb::GetIdentityRequest {
            identity_id: id.to_owned(),
        })
        .await
        .expect("get identity")
        .into_inner()
}

async fn revoke(
    s: &TestServer,
    token: &str,
    id: &str,
    password: &str,
) -> Result<pb::Identity, tonic::Status> {
    s.identity(Some(token))
        .revoke_identity(pb::RevokeIdentityRequest {
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
            identity_id: id.to_owned(),
            password: password.to_owned(),
        })
        .await
        .expect("set revocation password");
}

/// An identity signed in with a fresh credential of `package`; returns
/// (identity, token, username, password).
async fn member_of(s: &TestServer, package: &str, name: &str) -> (String, String, String, String) {
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
            identity: Some(pb::Identity {
                display_name: "x".repeat(101),
                ..Default::default()
            }),
        })
        .await;
    assert_invalid(res, "identity.display_name");
    let res = c
        .create_identity(pb::CreateIdentityRequest {
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

async fn i5_sign_in_is_rate_limited_after_ten_failures(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let ada = s.create_identity("Ada").await;
    let bob = s.create_identity("Bob").await;
    let (_, user, pass) = s.issue_credential(&package, "shared").await;
    let (_, user2, pass2) = s.issue_credential(&package, "second").await;
    for _ in 0..10 {
        assert_status(
            s.try_sign_in(&ada, &user, "not the password").await,
            Code::Unauthenticated,
            Some("BAD_CREDENTIALS"),
        );
    }
    // Blocked per identity and per username, even with the right password.
    for (id, u, p) in [
        (&ada, &user, &pass),
        (&ada, &user2, &pass2),
        (&bob, &user, &pass),
    ] {
        assert_status(
            s.try_sign_in(id, u, p).await,
            Code::ResourceExhausted,
            Some("RATE_LIMITED"),
        );
    }
    // Others are unaffected.
    s.sign_in(&bob, &user2, &pass2).await;
    // Counts are per one-minute window; only hashes of the keys are kept.
    let rows = |sql: &'static str| db::scalar_i64(&s, sql, vec![]);
    // Per address and identity/username, and per identity/username from
    // any address; refused and successful attempts gave theirs back.
    assert_eq!(rows("SELECT COUNT(*) FROM sign_in_failures").await, 4);
    assert_eq!(
        rows("SELECT COUNT(*) FROM sign_in_failures WHERE length(key_hash) = 64").await,
        4
    );
    assert_eq!(
        rows("SELECT CAST(MAX(failures) AS BIGINT) FROM sign_in_failures").await,
        10
    );
    s.clock.advance(std::time::Duration::from_secs(60));
    // The hourly pruning drops counts of past windows.
    let config = roster::config::Config::with_database(s.database_url.clone());
    let store = roster::open_store(&config, s.clock.clone()).await.unwrap();
    let limiter = roster::ratelimit::FailureLimiter::new(store);
    assert_eq!(limiter.prune().await.unwrap(), 4);
    assert_eq!(rows("SELECT COUNT(*) FROM sign_in_failures").await, 0);
    s.sign_in(&ada, &user, &pass).await;
    assert_eq!(rows("SELECT COUNT(*) FROM sign_in_failures").await, 0);
}

async fn i5_detached_identity_reappears_after_signing_in_again(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, admin_token) = s.package_with_admin(pb::Plan::Business, 5).await;
    let (ada, _, user, pass) = member_of(&s, &package, "Ada").await;
    detach(&s, Some(&admin_token), &package, &ada)
        .await
        .unwrap();
    assert!(!active_user_ids(&s, &package).await.contains(&ada));
    assert_eq!(usage(&s, &package).await.1, 1);
    let token = s.sign_in(&ada, &user, &pass).await;
    assert!(s.session_valid(&token).await);
    assert!(active_user_ids(&s, &package).await.contains(&ada));
    assert_eq!(usage(&s, &package).await.1, 2);
}

async fn i5_sign_in_needs_a_free_seat(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Business, 2).await;
    let (_, user, pass) = s.issue_credential(&package, "team").await;
    let ada = s.create_identity("Ada").await;
    let bob = s.create_identity("Bob").await;
    s.sign_in(&ada, &user, &pass).await;
    assert_status(
        s.try_sign_in(&bob, &user, &pass).await,
        Code::ResourceExhausted,
        Some("SEAT_LIMIT_REACHED"),
    );
    // Nothing half-written: Bob is not listed, no seat counted.
    assert!(!active_user_ids(&s, &package).await.contains(&bob));
    assert_eq!(usage(&s, &package).await, (2, 2, 0));
    // An attached identity signs in again without a new seat.
    s.sign_in(&ada, &user, &pass).await;
}

async fn i6_validate_session_denies_at_once_after_lifecycle_changes(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, admin_token) = s.package_with_admin(pb::Plan::Enterprise, 10).await;
    let (cred, user, pass) = s.issue_credential(&package, "team").await;
    let ada = s.create_identity("Ada").await;
    let bob = s.create_identity("Bob").await;
    let cy = s.create_identity("Cy").await;
    let ada_t = s.sign_in(&ada, &user, &pass).await;
    let (_, bob_user, bob_pass) = s.issue_credential(&package, "bob-cred").await;
    let bob_t = s.sign_in(&bob, &bob_user, &bob_pass).await;
    let (_, cy_user, cy_pass) = s.issue_credential(&package, "cy-cred").await;
    let cy_t = s.sign_in(&cy, &cy_user, &cy_pass).await;
    let valid = s
        .svc_identity()
        .validate_session(pb::ValidateSessionRequest {
            session_token: ada_t.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(valid.valid);
    let session = valid.session.unwrap();
    assert_eq!(
        (session.identity_id.as_str(), session.package_id.as_str()),
        (ada.as_str(), package.as_str())
    );
    assert_eq!(session.credential_id, cred);
    assert_eq!(valid.identity_state, pb::IdentityState::Active as i32);

    delete_credential(&s, Some(&admin_token), &cred)
        .await
        .unwrap();
    assert!(!s.session_valid(&ada_t).await);
    detach(&s, Some(&admin_token), &package, &bob)
        .await
        .unwrap();
    assert!(!s.session_valid(&bob_t).await);
    assert!(s.session_valid(&cy_t).await);
    revoke(&s, &admin_token, &cy, "").await.unwrap();
    let resp = s
        .svc_identity()
        .validate_session(pb::ValidateSessionRequest {
            session_token: cy_t.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!resp.valid);
    assert_eq!(
        resp.denial_reason,
        pb::SessionDenialReason::NoSession as i32
    );
    assert!(resp.session.is_none());
}

async fn i6_a_session_validates_only_its_own_token_and_expires(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let (_, ada_t, _, _) = member_of(&s, &package, "Ada").await;
    let (_, bob_t, _, _) = member_of(&s, &package, "Bob").await;
    let validate = |caller: &str, token: &str| {
        let mut c = s.identity(Some(caller));
        let token = token.to_owned();
        async move {
            c.validate_session(pb::ValidateSessionRequest {
                session_token: token,
            })
            .await
            .map(|r| r.into_inner())
        }
    };
    assert!(validate(&ada_t, &ada_t).await.unwrap().valid);
    assert_status(validate(&ada_t, &bob_t).await, Code::PermissionDenied, None);
    assert_invalid(
        validate(crate::harness::SERVICE_KEY, "").await,
        "session_token",
    );
    assert_invalid(
        validate(crate::harness::SERVICE_KEY, &"x".repeat(300)).await,
        "session_token",
    );
    assert_invalid(
        validate(crate::harness::SERVICE_KEY, "rss_unknown").await,
        "session_token",
    );
    let unknown = validate(
        crate::harness::SERVICE_KEY,
        &roster::domain::secrets::new_session_token(),
    )
    .await
    .unwrap();
    assert!(!unknown.valid);
    assert_eq!(
        unknown.denial_reason,
        pb::SessionDenialReason::NoSession as i32
    );
    // Past its lifetime (30 days by default) a session is EXPIRED.
    s.clock
        .advance(std::time::Duration::from_secs(31 * 24 * 3600));
    let expired = validate(crate::harness::SERVICE_KEY, &bob_t).await.unwrap();
    assert!(!expired.valid);
    assert_eq!(
        expired.denial_reason,
        pb::SessionDenialReason::Expired as i32
    );
    assert_status(validate(&ada_t, &ada_t).await, Code::Unauthenticated, None);
}

async fn i7_sign_out_ends_only_that_session(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let (ada, first, user, pass) = member_of(&s, &package, "Ada").await;
    let second = s.sign_in(&ada, &user, &pass).await;
    let (_, bob_t, _, _) = member_of(&s, &package, "Bob").await;
    // Someone else's session cannot be ended by a session.
    assert_status(
        s.identity(Some(&bob_t))
            .sign_out(pb::SignOutRequest {
                session_token: first.clone(),
            })
            .await,
        Code::PermissionDenied,
        None,
    );
    s.identity(Some(&first))
        .sign_out(pb::SignOutRequest::default())
        .await
        .unwrap();
    assert!(!s.session_valid(&first).await);
    assert!(s.session_valid(&second).await);
    assert!(s.session_valid(&bob_t).await);
    // Still attached: signing out is not detaching.
    assert!(active_user_ids(&s, &package).await.contains(&ada));
    // A service key may end any session.
    s.svc_identity()
        .sign_out(pb::SignOutRequest {
            session_token: second.clone(),
        })
        .await
        .unwrap();
    assert!(!s.session_valid(&second).await);
    assert_status(
        s.identity(Some(&first))
            .sign_out(pb::SignOutRequest::default())
            .await,
        Code::Unauthenticated,
        None,
    );
}

async fn v1_identity_rpcs_reject_garbage(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let (ada, token, user, _) = member_of(&s, &package, "Ada").await;
    let sign_in = |id: &str, u: &str, p: &str| {
        let mut c = s.identity(None);
        let req = pb::SignInRequest {
            identity_id: id.to_owned(),
            username: u.to_owned(),
            password: p.to_owned(),
        };
        async move { c.sign_in(req).await }
    };
    assert_invalid(sign_in("ada", &user, "pw").await, "identity_id");
    assert_invalid(sign_in("", &user, "pw").await, "identity_id");
    assert_invalid(sign_in(&ada, &"u".repeat(65), "pw").await, "username");
    assert_invalid(sign_in(&ada, "", "pw").await, "username");
    assert_invalid(sign_in(&ada, "Team A", "pw").await, "username");
    assert_invalid(sign_in(&ada, &user, "").await, "password");
    assert_invalid(sign_in(&ada, &user, &"p".repeat(129)).await, "password");
    let mut c = s.identity(Some(&token));
    assert_invalid(
        c.revoke_identity(pb::RevokeIdentityRequest {
            identity_id: ada.clone(),
            revocation_password: String::new(),
            package_id: "package".into(),
        })
        .await,
        "package_id",
    );
    assert_invalid(
        c.revoke_identity(pb::RevokeIdentityRequest {
            identity_id: ada.clone(),
            revocation_password: "p".repeat(129),
            package_id: String::new(),
        })
        .await,
        "revocation_password",
    );
    assert_invalid(
        c.revoke_identity(pb::RevokeIdentityRequest::default())
            .await,
        "identity_id",
    );
    assert_invalid(
        c.set_revocation_password(pb::SetRevocationPasswordRequest {
            identity_id: ada.clone(),
            password: "p".repeat(129),
        })
        .await,
        "password",
    );
    assert_invalid(
        c.batch_get_identities(pb::BatchGetIdentitiesRequest {
            identity_ids: vec![],
            hide_inactive: false,
        })
        .await,
        "identity_ids",
    );
    assert_invalid(
        c.batch_get_identities(pb::BatchGetIdentitiesRequest {
            identity_ids: vec![ada.clone(), "ZZ".into()],
            hide_inactive: false,
        })
        .await,
        "identity_ids[1]",
    );
    assert_invalid(
        c.sign_out(pb::SignOutRequest {
            session_token: "x".repeat(300),
        })
        .await,
        "session_token",
    );
    assert_invalid(
        s.svc_identity()
            .create_identity(pb::CreateIdentityRequest {
                identity: Some(pb::Identity {
                    display_name: "Ok".into(),
                    avatar_url: format!("https://example.com/{}", "a".repeat(2048)),
                    ..Default::default()
                }),
            })
            .await,
        "identity.avatar_url",
    );
    assert_invalid(
        s.svc_identity()
            .create_identity(pb::CreateIdentityRequest { identity: None })
            .await,
        "identity",
    );
    // Nothing happened to Ada.
    assert!(s.session_valid(&token).await);
    assert_eq!(get(&s, &ada).await.state, pb::IdentityState::Active as i32);
    assert_eq!(
        db::scalar_i64(&s, "SELECT COUNT(*) FROM identities", vec![]).await,
        2
    );
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
    i5_sign_in_is_rate_limited_after_ten_failures,
    i5_detached_identity_reappears_after_signing_in_again,
    i5_sign_in_needs_a_free_seat,
    i6_validate_session_denies_at_once_after_lifecycle_changes,
    i6_a_session_validates_only_its_own_token_and_expires,
    i7_sign_out_ends_only_that_session,
    v1_identity_rpcs_reject_garbage,
);
