//! IdentityService: creation, lookup, revocation passwords, revocation,
//! sign-in, session validation and sign-out (I1–I7, A1, V1).

use roster::pb;
use tonic::Code;

use crate::harness::{Backend, TestServer, assert_invalid, assert_status};

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

crate::db_tests!(
    i5_sign_in_attaches_identity_and_session_validates,
    i1_create_identity_returns_fresh_active_identity,
    v1_create_identity_rejects_bad_fields,
    a1_calls_without_a_valid_bearer_are_unauthenticated,
    i2_batch_get_flags_unknown_ids_in_order,
);
