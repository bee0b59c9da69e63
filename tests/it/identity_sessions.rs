//! Sign-in limits and seats (I5), sessions (I6, I7) and bad input (V1) through the API.

use crate::db;
use crate::harness::{Backend, TestServer, assert_invalid, assert_status};
use crate::identity::{get, member_of, revoke};
use crate::license::{active_user_ids, delete_credential, detach, usage};
use roster::pb;
use tonic::Code;

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
    // The hourly pruning keeps the previous window (a replica whose clock
    // runs ahead must not prune another's current counts) ...
    let config = roster::config::Config::with_database(s.database_url.clone());
    s.clock.advance(std::time::Duration::from_secs(60));
    let store = roster::open_store(&config, s.clock.clone()).await.unwrap();
    let limiter = roster::ratelimit::FailureLimiter::new(store);
    assert_eq!(limiter.prune().await.unwrap(), 0);
    assert_eq!(rows("SELECT COUNT(*) FROM sign_in_failures").await, 4);
    // ... and drops counts of the windows before it.
    s.clock.advance(std::time::Duration::from_secs(60));
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
                request_id: String::new(),
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
            request_id: String::new(),
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
            request_id: String::new(),
            identity_id: ada.clone(),
            revocation_password: String::new(),
            package_id: "package".into(),
        })
        .await,
        "package_id",
    );
    assert_invalid(
        c.revoke_identity(pb::RevokeIdentityRequest {
            request_id: String::new(),
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
            request_id: String::new(),
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
            request_id: String::new(),
            session_token: "x".repeat(300),
        })
        .await,
        "session_token",
    );
    assert_invalid(
        s.svc_identity()
            .create_identity(pb::CreateIdentityRequest {
                request_id: String::new(),
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
            .create_identity(pb::CreateIdentityRequest {
                identity: None,
                request_id: String::new(),
            })
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
    i5_sign_in_is_rate_limited_after_ten_failures,
    i5_detached_identity_reappears_after_signing_in_again,
    i5_sign_in_needs_a_free_seat,
    i5_a_password_hashed_at_another_cost_is_rehashed_on_sign_in,
    i6_validate_session_denies_at_once_after_lifecycle_changes,
    i6_a_session_validates_only_its_own_token_and_expires,
    i7_sign_out_ends_only_that_session,
    v1_identity_rpcs_reject_garbage,
);

/// A replica configured with another argon2 cost: a wrong password changes
/// nothing; the first successful sign-in there stores the password hashed
/// at its cost (in the background), and the password still signs in.
async fn i5_a_password_hashed_at_another_cost_is_rehashed_on_sign_in(b: Backend) {
    let s = TestServer::start(b).await;
    let r = s
        .replica_tuned(|c| {
            c.hash_cost = roster::domain::secrets::HashCost::new(16, 1, 1).expect("cost");
        })
        .await;
    let (package, _, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let ada = s.create_identity("Ada").await;
    let (cred, user, pass) = s.issue_credential(&package, "ada-user").await;
    let hash = || {
        db::scalar_text(
            &s,
            "SELECT password_hash FROM credentials WHERE id = ?",
            vec![cred.clone().into()],
        )
    };
    let issued = hash().await.expect("hash");
    assert!(
        issued.contains("m=8,"),
        "issued at the primary's cost: {issued}"
    );
    assert_status(
        r.try_sign_in(&ada, &user, "not the password").await,
        Code::Unauthenticated,
        Some("BAD_CREDENTIALS"),
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        hash().await.expect("hash"),
        issued,
        "a wrong password rehashes nothing"
    );
    r.sign_in(&ada, &user, &pass).await;
    let mut rehashed = issued.clone();
    for _ in 0..200 {
        rehashed = hash().await.expect("hash");
        if rehashed != issued {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        rehashed.contains("m=16,"),
        "rehashed at the replica's cost: {rehashed}"
    );
    r.sign_in(&ada, &user, &pass).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(
        hash().await.expect("hash"),
        rehashed,
        "no second rehash at the same cost"
    );
    s.sign_in(&ada, &user, &pass).await;
}
