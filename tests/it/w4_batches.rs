//! W4: BatchAddMembers / BatchDeactivateMembers / BatchRemoveMembers — one
//! result per item in request order; a bad item in the middle stops
//! nothing without `atomic` and writes nothing with it (the call fails with
//! that item's status, AIP-233); `validate_only` reports and writes
//! nothing; the item cap and duplicates are INVALID_ARGUMENT; callers as
//! for the single calls.

use prost::Message;
use roster::pb;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::harness::{Backend, TestServer, assert_invalid, assert_status};

const MEMBER: pb::MemberRole = pb::MemberRole::Member;
/// A well-formed identity ID that no server ever issued.
const STRANGER: &str = "ZZZZZZZ9";

/// The item's code and ErrorInfo reason ("" for OK), read by decoding its
/// bytes as a google.rpc.Status (the two are wire-compatible).
fn outcome(status: &Option<pb::ItemStatus>) -> (Code, String) {
    let status = status.as_ref().expect("every result has a status");
    let rpc = tonic_types::pb::Status::decode(status.encode_to_vec().as_slice())
        .expect("decodes as google.rpc.Status");
    let code = Code::from_i32(rpc.code);
    if code == Code::Ok {
        assert!(rpc.message.is_empty() && rpc.details.is_empty());
        return (code, String::new());
    }
    let st = Status::with_details(code, rpc.message, status.encode_to_vec().into());
    let info = st.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.domain, "roster.dev");
    (code, info.reason)
}

fn ok() -> (Code, String) {
    (Code::Ok, String::new())
}

fn err(code: Code, reason: &str) -> (Code, String) {
    (code, reason.to_owned())
}

struct Org {
    s: TestServer,
    package: String,
    org: String,
    admin: String,
    admin_token: String,
    members: Vec<String>,
}

/// An organization whose only admin is signed in, with three plain
/// members.
async fn org(b: Backend, seats: i32) -> Org {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Enterprise, seats).await;
    let org = s.create_org(&package, &admin).await;
    let mut members = Vec::new();
    for name in ["Ann", "Bob", "Cem"] {
        members.push(s.new_member(&org, name, MEMBER).await);
    }
    Org {
        s,
        package,
        org,
        admin,
        admin_token,
        members,
    }
}

fn remove_request(
    o: &Org,
    ids: &[&str],
    atomic: bool,
    validate_only: bool,
) -> pb::BatchRemoveMembersRequest {
    pb::BatchRemoveMembersRequest {
        request_id: String::new(),
        organization_id: o.org.clone(),
        items: ids
            .iter()
            .map(|id| pb::RemoveMemberItem {
                identity_id: (*id).to_owned(),
                successor_identity_id: String::new(),
            })
            .collect(),
        atomic,
        validate_only,
    }
}

async fn w4_remove_bad_items_in_the_middle_stop_nothing(b: Backend) {
    let o = org(b, 50).await;
    let s = &o.s;
    let (m, seats) = (&o.members, s.seats_used(&o.package).await);
    let stranger = s.create_identity("Stranger").await;
    // Unknown member and the last admin in the middle.
    let ids = [m[0].as_str(), &stranger, &o.admin, &m[2]];
    let res = s
        .membership(Some(&o.admin_token))
        .batch_remove_members(remove_request(&o, &ids, false, false))
        .await
        .expect("a non-atomic batch answers OK")
        .into_inner();
    let got: Vec<_> = res.results.iter().map(|r| outcome(&r.status)).collect();
    assert_eq!(
        got,
        vec![
            ok(),
            err(Code::NotFound, "MEMBER_NOT_FOUND"),
            err(Code::FailedPrecondition, "LAST_ORGANIZATION_ADMIN"),
            ok(),
        ]
    );
    let summary = res.summary.expect("summary");
    assert_eq!((summary.succeeded, summary.failed), (2, 2));
    assert!(!res.validate_only);
    let removal = res.results[0].removal.as_ref().expect("figures");
    assert!(removal.seat_freed);
    assert!(res.results[1].removal.is_none());
    // Exactly the good ones applied.
    assert!(s.member(&o.org, &m[0]).await.is_none());
    assert!(s.member(&o.org, &m[1]).await.is_some());
    assert!(s.member(&o.org, &m[2]).await.is_none());
    assert!(s.member(&o.org, &o.admin).await.is_some());
    assert_eq!(s.seats_used(&o.package).await, seats - 2);
}

async fn w4_atomic_remove_with_a_bad_item_writes_nothing(b: Backend) {
    let o = org(b, 50).await;
    let s = &o.s;
    let m = &o.members;
    let (seats, events) = (
        s.seats_used(&o.package).await,
        s.org_events(&o.org).await.len(),
    );
    let ids = [m[0].as_str(), STRANGER, &o.admin, &m[2]];
    let mut admin = s.membership(Some(&o.admin_token));
    let status = assert_status(
        admin
            .batch_remove_members(remove_request(&o, &ids, true, false))
            .await,
        Code::NotFound,
        Some("MEMBER_NOT_FOUND"),
    );
    assert!(status.message().starts_with("items[1]: "), "{status:?}");
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.metadata["item_index"], "1");
    assert_eq!(info.metadata["failed_item_count"], "2");
    assert_eq!(info.metadata["failed_item_indexes"], "1,2");
    for id in m {
        assert!(s.member(&o.org, id).await.is_some(), "nothing written");
    }
    assert_eq!(s.seats_used(&o.package).await, seats);
    assert_eq!(s.org_events(&o.org).await.len(), events, "no event");

    // validate_only shows every item's status, and writes nothing.
    let plan = admin
        .batch_remove_members(remove_request(&o, &ids, true, true))
        .await
        .expect("validate_only answers OK")
        .into_inner();
    assert!(plan.validate_only);
    let got: Vec<_> = plan.results.iter().map(|r| outcome(&r.status)).collect();
    assert_eq!(
        got,
        vec![
            ok(),
            err(Code::NotFound, "MEMBER_NOT_FOUND"),
            err(Code::FailedPrecondition, "LAST_ORGANIZATION_ADMIN"),
            ok(),
        ]
    );
    assert_eq!(s.org_events(&o.org).await.len(), events, "no event");
    assert_eq!(s.seats_used(&o.package).await, seats);

    // All good: all applied in one transaction.
    let done = admin
        .batch_remove_members(remove_request(&o, &[&m[0], &m[1], &m[2]], true, false))
        .await
        .expect("atomic")
        .into_inner();
    assert_eq!(done.summary.expect("summary").succeeded, 3);
    for id in m {
        assert!(s.member(&o.org, id).await.is_none());
    }
    assert_eq!(s.seats_used(&o.package).await, seats - 3);
}

fn add_request(
    o: &Org,
    ids: &[&str],
    atomic: bool,
    validate_only: bool,
) -> pb::BatchAddMembersRequest {
    pb::BatchAddMembersRequest {
        request_id: String::new(),
        organization_id: o.org.clone(),
        items: ids
            .iter()
            .map(|id| pb::AddMemberItem {
                identity_id: (*id).to_owned(),
                role: MEMBER as i32,
            })
            .collect(),
        atomic,
        validate_only,
    }
}

async fn w4_add_unknown_identity_and_seat_limit(b: Backend) {
    // Admin + three members + the admin's sign-in: 4 seats used of 6.
    let o = org(b, 6).await;
    let s = &o.s;
    let seats = s.seats_used(&o.package).await;
    assert_eq!(seats, 4);
    let mut new = Vec::new();
    for name in ["Dan", "Eve", "Fay"] {
        new.push(s.create_identity(name).await);
    }
    let ids = [new[0].as_str(), STRANGER, &new[1], &new[2]];
    let expected = vec![
        ok(),
        err(Code::NotFound, "IDENTITY_NOT_FOUND"),
        ok(),
        err(Code::ResourceExhausted, "SEAT_LIMIT_REACHED"),
    ];
    let mut admin = s.membership(Some(&o.admin_token));
    let events = s.org_events(&o.org).await.len();

    // validate_only: the same verdicts, nothing written.
    for atomic in [false, true] {
        let plan = admin
            .batch_add_members(add_request(&o, &ids, atomic, true))
            .await
            .expect("validate_only")
            .into_inner();
        let got: Vec<_> = plan.results.iter().map(|r| outcome(&r.status)).collect();
        assert_eq!(got, expected);
        assert!(plan.validate_only);
        assert_eq!(s.seats_used(&o.package).await, seats);
        assert_eq!(s.org_events(&o.org).await.len(), events);
        assert!(s.member(&o.org, &new[0]).await.is_none());
    }

    // Atomic: refused as a whole with the first bad item's status.
    let status = assert_status(
        admin
            .batch_add_members(add_request(&o, &ids, true, false))
            .await,
        Code::NotFound,
        Some("IDENTITY_NOT_FOUND"),
    );
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.metadata["failed_item_indexes"], "1,3");
    assert_eq!(s.seats_used(&o.package).await, seats);
    assert_eq!(s.org_events(&o.org).await.len(), events);
    assert!(s.member(&o.org, &new[0]).await.is_none());

    // Not atomic: the good ones are in, up to the seat limit.
    let res = admin
        .batch_add_members(add_request(&o, &ids, false, false))
        .await
        .expect("non-atomic")
        .into_inner();
    let got: Vec<_> = res.results.iter().map(|r| outcome(&r.status)).collect();
    assert_eq!(got, expected);
    let added = res.results[0].member.as_ref().expect("member");
    assert_eq!(added.identity_id, new[0]);
    assert_eq!(added.state, pb::MemberState::Active as i32);
    assert!(s.member(&o.org, &new[0]).await.is_some());
    assert!(s.member(&o.org, &new[1]).await.is_some());
    assert!(s.member(&o.org, &new[2]).await.is_none());
    assert_eq!(s.seats_used(&o.package).await, 6);

    // Adding again: ALREADY_MEMBER per item.
    let again = admin
        .batch_add_members(add_request(&o, &[&new[0]], false, false))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(
        outcome(&again.results[0].status),
        err(Code::AlreadyExists, "ALREADY_MEMBER")
    );
}

async fn w4_deactivate_last_room_admin_in_the_middle(b: Backend) {
    let o = org(b, 50).await;
    let s = &o.s;
    let m = &o.members;
    // m[1] is the only admin of a room.
    let room = s.create_room(&o.org, &m[1]).await;
    let item = |id: &str, successor: &str| pb::DeactivateMemberItem {
        identity_id: id.to_owned(),
        reason: pb::DeactivationReason::Sabbatical as i32,
        note: "back in spring".to_owned(),
        expected_return_time: None,
        successor_identity_id: successor.to_owned(),
    };
    let request = |items: Vec<pb::DeactivateMemberItem>, atomic, validate_only| {
        pb::BatchDeactivateMembersRequest {
            request_id: String::new(),
            organization_id: o.org.clone(),
            items,
            atomic,
            validate_only,
        }
    };
    let mut admin = s.membership(Some(&o.admin_token));
    let events = s.org_events(&o.org).await.len();
    // With a successor it would go through: validate_only says so, writes nothing.
    let plan = admin
        .batch_deactivate_members(request(vec![item(&m[1], &o.admin)], true, true))
        .await
        .expect("validate_only")
        .into_inner();
    assert_eq!(outcome(&plan.results[0].status), ok());
    assert_eq!(
        plan.results[0].member.as_ref().expect("member").state,
        pb::MemberState::Deactivated as i32
    );
    assert_eq!(s.org_events(&o.org).await.len(), events);
    assert_eq!(
        s.member(&o.org, &m[1]).await.expect("member").state,
        pb::MemberState::Active as i32
    );

    let res = admin
        .batch_deactivate_members(request(
            vec![item(&m[0], ""), item(&m[1], ""), item(&m[2], "")],
            false,
            false,
        ))
        .await
        .expect("non-atomic")
        .into_inner();
    let got: Vec<_> = res.results.iter().map(|r| outcome(&r.status)).collect();
    assert_eq!(
        got,
        vec![ok(), err(Code::FailedPrecondition, "LAST_ROOM_ADMIN"), ok()]
    );
    let state = |m: Option<pb::Member>| m.expect("member").state;
    let deactivated = pb::MemberState::Deactivated as i32;
    assert_eq!(state(s.member(&o.org, &m[0]).await), deactivated);
    assert_eq!(
        state(s.member(&o.org, &m[1]).await),
        pb::MemberState::Active as i32
    );
    assert_eq!(state(s.member(&o.org, &m[2]).await), deactivated);
    let d = res.results[0].member.as_ref().expect("member");
    assert_eq!(d.state, deactivated);

    // Deactivating again: ALREADY_DEACTIVATED; with the successor m[1] goes.
    let res = admin
        .batch_deactivate_members(request(
            vec![item(&m[1], &o.admin), item(&m[0], "")],
            false,
            false,
        ))
        .await
        .expect("non-atomic")
        .into_inner();
    let got: Vec<_> = res.results.iter().map(|r| outcome(&r.status)).collect();
    assert_eq!(
        got,
        vec![ok(), err(Code::FailedPrecondition, "ALREADY_DEACTIVATED")]
    );
    assert!(
        s.room_members(&room)
            .await
            .iter()
            .any(|r| r.identity_id == o.admin && r.role == pb::RoomRole::Admin as i32)
    );
}

async fn w4_item_cap_and_duplicates_are_invalid(b: Backend) {
    let o = org(b, 50).await;
    let s = &o.s;
    let mut svc = s.svc_membership();
    let many: Vec<String> = (0..1001).map(|i| format!("A{i:07}")).collect();
    let ids: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_invalid(
        svc.batch_remove_members(remove_request(&o, &ids, false, false))
            .await,
        "items",
    );
    assert_invalid(
        svc.batch_add_members(add_request(&o, &ids, true, false))
            .await,
        "items",
    );
    assert_invalid(
        svc.batch_remove_members(remove_request(&o, &[], false, false))
            .await,
        "items",
    );
    let m = &o.members;
    assert_invalid(
        svc.batch_remove_members(remove_request(&o, &[&m[0], &m[1], &m[0]], false, false))
            .await,
        "items[2].identity_id",
    );
    assert_invalid(
        svc.batch_add_members(add_request(&o, &[&m[0], "bad id"], false, false))
            .await,
        "items[1].identity_id",
    );
    let res = svc
        .batch_deactivate_members(pb::BatchDeactivateMembersRequest {
            organization_id: o.org.clone(),
            items: vec![pb::DeactivateMemberItem {
                identity_id: m[0].clone(),
                reason: pb::DeactivationReason::Inactivity as i32,
                successor_identity_id: m[0].clone(),
                ..Default::default()
            }],
            ..Default::default()
        })
        .await;
    let status = assert_status(res, Code::InvalidArgument, None);
    let fields: Vec<_> = status
        .get_details_bad_request()
        .expect("BadRequest")
        .field_violations
        .into_iter()
        .map(|f| f.field)
        .collect();
    assert_eq!(
        fields,
        vec!["items[0].reason", "items[0].successor_identity_id"]
    );
    // Nothing was touched.
    for id in m {
        assert!(s.member(&o.org, id).await.is_some());
    }
}

async fn w4_only_org_admins_and_service_keys_run_batches(b: Backend) {
    let o = org(b, 50).await;
    let s = &o.s;
    let m = &o.members;
    let member_token = s.token_for(&o.package, &m[0]).await;
    let mut plain = s.membership(Some(&member_token));
    assert_status(
        plain
            .batch_remove_members(remove_request(&o, &[&m[1]], false, false))
            .await,
        Code::PermissionDenied,
        Some("NOT_ORGANIZATION_ADMIN"),
    );
    let stranger = s.create_identity("Dan").await;
    assert_status(
        plain
            .batch_add_members(add_request(&o, &[&stranger], true, false))
            .await,
        Code::PermissionDenied,
        Some("NOT_ORGANIZATION_ADMIN"),
    );
    assert_status(
        plain
            .batch_deactivate_members(pb::BatchDeactivateMembersRequest {
                organization_id: o.org.clone(),
                items: vec![pb::DeactivateMemberItem {
                    identity_id: m[1].clone(),
                    ..Default::default()
                }],
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        Some("NOT_ORGANIZATION_ADMIN"),
    );
    assert!(s.member(&o.org, &m[1]).await.is_some());
    // A service key may.
    let res = s
        .svc_membership()
        .batch_add_members(add_request(&o, &[&stranger], true, false))
        .await
        .expect("service key")
        .into_inner();
    assert_eq!(outcome(&res.results[0].status), ok());
    assert!(s.member(&o.org, &stranger).await.is_some());
}

crate::db_tests!(
    w4_remove_bad_items_in_the_middle_stop_nothing,
    w4_atomic_remove_with_a_bad_item_writes_nothing,
    w4_add_unknown_identity_and_seat_limit,
    w4_deactivate_last_room_admin_in_the_middle,
    w4_item_cap_and_duplicates_are_invalid,
    w4_only_org_admins_and_service_keys_run_batches,
);
