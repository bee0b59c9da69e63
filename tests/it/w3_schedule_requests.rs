//! W3: ScheduleMemberChange / ListScheduledChanges / CancelScheduledChange
//! requests — invalid input is INVALID_ARGUMENT naming the field, and only
//! those who may make a change now may schedule, list or cancel it
//! (organization admins for deactivations and removals, package admins for
//! OffboardIdentity, service keys).

use std::time::Duration;

use roster::pb;
use roster::pb::scheduled_change::Change;
use tonic::Code;

use crate::harness::{Backend, assert_invalid, assert_status};
use crate::w3_scheduled_changes::{
    DAY, HOUR, MEMBER, at, deactivation, list_org, removal, schedule, start, ts,
};

async fn w3_invalid_requests_name_the_field(b: Backend) {
    let s = start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let member = s.new_member(&org, "Member", MEMBER).await;
    let mut svc = s.svc_membership();
    let soon = at(&s, HOUR);
    let call = |change: Option<pb::ScheduledChange>| {
        let mut svc = s.svc_membership();
        async move {
            svc.schedule_member_change(pb::ScheduleMemberChangeRequest {
                request_id: String::new(),
                scheduled_change: change,
            })
            .await
        }
    };
    assert_invalid(call(None).await, "scheduled_change");
    let with = |f: fn(&mut pb::ScheduledChange)| {
        let mut c = deactivation(&org, &member, soon);
        f(&mut c);
        Some(c)
    };
    assert_invalid(
        call(with(|c| c.identity_id = "nope".to_owned())).await,
        "scheduled_change.identity_id",
    );
    assert_invalid(
        call(with(|c| c.organization_id = String::new())).await,
        "scheduled_change.organization_id",
    );
    assert_invalid(
        call(with(|c| c.schedule_time = None)).await,
        "scheduled_change.schedule_time",
    );
    let past = Some(deactivation(&org, &member, at(&s, Duration::ZERO) - 1000));
    assert_invalid(call(past).await, "scheduled_change.schedule_time");
    let too_far = Some(deactivation(&org, &member, at(&s, 367 * DAY)));
    assert_invalid(call(too_far).await, "scheduled_change.schedule_time");
    assert_invalid(
        call(with(|c| c.change = None)).await,
        "scheduled_change.change",
    );
    assert_invalid(
        call(with(|c| c.time_zone = "Mars/Olympus_Mons".to_owned())).await,
        "scheduled_change.time_zone",
    );
    let mut early_return = deactivation(&org, &member, soon);
    if let Some(Change::Deactivate(d)) = &mut early_return.change {
        d.expected_return_time = ts(soon - 1);
        d.reason = pb::DeactivationReason::Inactivity as i32;
        d.successor_identity_id = member.clone();
    }
    let res = call(Some(early_return.clone()))
        .await
        .map(|r| r.into_inner());
    for field in [
        "scheduled_change.deactivate.expected_return_time",
        "scheduled_change.deactivate.reason",
        "scheduled_change.deactivate.successor_identity_id",
    ] {
        assert_invalid(res.clone(), field);
    }
    let offboard = pb::ScheduledChange {
        organization_id: org.clone(),
        identity_id: member.clone(),
        change: Some(Change::OffboardIdentity(pb::ScheduledOffboarding {
            package_id: "pkg_bad".to_owned(),
            ..Default::default()
        })),
        schedule_time: ts(soon),
        ..Default::default()
    };
    let res = call(Some(offboard)).await.map(|r| r.into_inner());
    for field in [
        "scheduled_change.organization_id",
        "scheduled_change.offboard_identity.package_id",
        "scheduled_change.offboard_identity.action",
    ] {
        assert_invalid(res.clone(), field);
    }
    // Unknown organization and member: NOT_FOUND, nothing scheduled.
    let unknown_member = Some(deactivation(&org, "ZZZZZZZZ", soon));
    assert_status(
        call(unknown_member).await,
        Code::NotFound,
        Some("MEMBER_NOT_FOUND"),
    );
    assert_invalid(
        svc.cancel_scheduled_change(pb::CancelScheduledChangeRequest {
            request_id: String::new(),
            scheduled_change_id: "org_0000000000000000".to_owned(),
        })
        .await,
        "scheduled_change_id",
    );
    assert_invalid(
        svc.list_scheduled_changes(pb::ListScheduledChangesRequest {
            organization_id: org.clone(),
            package_id: package.clone(),
            ..Default::default()
        })
        .await,
        "organization_id",
    );
    assert_invalid(
        svc.list_scheduled_changes(pb::ListScheduledChangesRequest {
            organization_id: org.clone(),
            state: 99,
            ..Default::default()
        })
        .await,
        "state",
    );
    assert!(
        list_org(&s, &org, pb::ScheduledChangeState::Unspecified)
            .await
            .is_empty()
    );
}

async fn w3_only_those_who_may_make_the_change_may_schedule_it(b: Backend) {
    let s = start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let member = s.new_member(&org, "Member", MEMBER).await;
    let peer = s.new_member(&org, "Peer", MEMBER).await;
    let org_admin = s.new_member(&org, "OrgAdmin", pb::MemberRole::Admin).await;
    let member_token = s.token_for(&package, &member).await;
    let org_admin_token = s.token_for(&package, &org_admin).await;
    let soon = at(&s, HOUR);

    let mut as_member = s.membership(Some(&member_token));
    let res = as_member
        .schedule_member_change(pb::ScheduleMemberChangeRequest {
            request_id: String::new(),
            scheduled_change: Some(removal(&org, &peer, soon)),
        })
        .await;
    assert_status(res, Code::PermissionDenied, Some("NOT_ORGANIZATION_ADMIN"));
    let res = as_member
        .list_scheduled_changes(pb::ListScheduledChangesRequest {
            organization_id: org.clone(),
            ..Default::default()
        })
        .await;
    assert_status(res, Code::PermissionDenied, Some("NOT_ORGANIZATION_ADMIN"));
    let theirs = schedule(&s, &org_admin_token, removal(&org, &peer, soon)).await;
    let res = as_member
        .cancel_scheduled_change(pb::CancelScheduledChangeRequest {
            request_id: String::new(),
            scheduled_change_id: theirs.scheduled_change_id.clone(),
        })
        .await;
    assert_status(res, Code::PermissionDenied, Some("NOT_ORGANIZATION_ADMIN"));

    // An organization admin is no package admin: no OffboardIdentity.
    let offboard = pb::ScheduledChange {
        identity_id: member.clone(),
        change: Some(Change::OffboardIdentity(pb::ScheduledOffboarding {
            package_id: package.clone(),
            action: pb::OffboardingAction::Deactivate as i32,
            ..Default::default()
        })),
        schedule_time: ts(soon),
        ..Default::default()
    };
    let res = s
        .membership(Some(&org_admin_token))
        .schedule_member_change(pb::ScheduleMemberChangeRequest {
            request_id: String::new(),
            scheduled_change: Some(offboard.clone()),
        })
        .await;
    assert_status(res, Code::PermissionDenied, Some("NOT_PACKAGE_ADMIN"));
    let res = s
        .membership(Some(&org_admin_token))
        .list_scheduled_changes(pb::ListScheduledChangesRequest {
            package_id: package.clone(),
            ..Default::default()
        })
        .await;
    assert_status(res, Code::PermissionDenied, Some("NOT_PACKAGE_ADMIN"));
    // The package admin and a service key may.
    schedule(&s, &admin_token, offboard).await;
    let cancelled = s
        .membership(Some(&admin_token))
        .cancel_scheduled_change(pb::CancelScheduledChangeRequest {
            request_id: String::new(),
            scheduled_change_id: theirs.scheduled_change_id,
        })
        .await
        .expect("another admin of the organization may cancel")
        .into_inner();
    assert_eq!(cancelled.state, pb::ScheduledChangeState::Cancelled as i32);
    let by_service = schedule(
        &s,
        crate::harness::SERVICE_KEY,
        deactivation(&org, &member, soon),
    )
    .await;
    assert_eq!(
        by_service.created_by.expect("created_by").r#type,
        pb::ActorType::Service as i32
    );
}

crate::db_tests!(
    w3_invalid_requests_name_the_field,
    w3_only_those_who_may_make_the_change_may_schedule_it,
);
