//! Inactive guests (M12): RecordActivity, RunInactivitySweep with dry run,
//! the organization setting (default never), guests only, audit reason
//! INACTIVITY, seats freed, manual reactivation, the background loop.

use std::time::Duration;

use roster::domain::EventType;
use roster::pb;
use tonic::Code;

use crate::harness::{Backend, TestServer, assert_invalid, assert_status};

const GUEST: pb::MemberRole = pb::MemberRole::Guest;
const DAY: Duration = Duration::from_secs(86400);

async fn set_period(s: &TestServer, org: &str, seconds: i64) {
    s.svc_membership()
        .update_organization_settings(pb::UpdateOrganizationSettingsRequest {
            request_id: String::new(),
            organization: Some(pb::Organization {
                organization_id: org.into(),
                guest_inactivity_deactivation: Some(prost_types::Duration { seconds, nanos: 0 }),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["guest_inactivity_deactivation".into()],
            }),
        })
        .await
        .unwrap();
}

async fn sweep(s: &TestServer, org: &str, dry_run: bool) -> pb::RunInactivitySweepResponse {
    s.svc_membership()
        .run_inactivity_sweep(pb::RunInactivitySweepRequest {
            request_id: String::new(),
            organization_id: org.into(),
            dry_run,
        })
        .await
        .unwrap()
        .into_inner()
}

async fn record(s: &TestServer, org: &str, id: &str) {
    s.svc_membership()
        .record_activity(pb::RecordActivityRequest {
            organization_id: org.into(),
            identity_id: id.into(),
        })
        .await
        .unwrap();
}

async fn state(s: &TestServer, org: &str, id: &str) -> pb::MemberState {
    pb::MemberState::try_from(s.member(org, id).await.expect("member").state).unwrap()
}

async fn m12_sweep_deactivates_idle_guests_only_where_the_organization_set_a_period(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 20, &[&admin]).await;
    let never = s.create_org(&package, &admin).await;
    let strict = s.create_org(&package, &admin).await;
    set_period(&s, &strict, 86400).await;
    let guest_never = s.new_member(&never, "GuestNever", GUEST).await;
    let idle = s.new_member(&strict, "Idle", GUEST).await;
    let busy = s.new_member(&strict, "Busy", GUEST).await;
    let member = s
        .new_member(&strict, "Member", pb::MemberRole::Member)
        .await;
    // Idle for 2 days, except Busy who was active a moment ago.
    s.clock.advance(2 * DAY);
    record(&s, &strict, &busy).await;
    let seats = s.seats_used(&package).await;
    let events_before = s.org_events(&strict).await.len();

    // Dry run: reports, changes nothing.
    let dry = sweep(&s, "", true).await;
    assert_eq!(dry.deactivated_count, 1);
    assert_eq!(dry.deactivated_members.len(), 1);
    assert_eq!(dry.deactivated_members[0].identity_id, idle);
    assert_eq!(state(&s, &strict, &idle).await, pb::MemberState::Active);
    assert_eq!(s.org_events(&strict).await.len(), events_before);
    assert_eq!(s.seats_used(&package).await, seats);

    let done = sweep(&s, "", false).await;
    assert_eq!(done.deactivated_count, 1);
    let m = &done.deactivated_members[0];
    assert_eq!(m.identity_id, idle);
    assert_eq!(m.state, pb::MemberState::Deactivated as i32);
    let d = m.deactivation.as_ref().expect("deactivation");
    assert_eq!(d.reason, pb::DeactivationReason::Inactivity as i32);
    assert_eq!(
        state(&s, &strict, &idle).await,
        pb::MemberState::Deactivated
    );
    // Guests only, and only where a period is set (default: never).
    assert_eq!(state(&s, &strict, &busy).await, pb::MemberState::Active);
    assert_eq!(state(&s, &strict, &member).await, pb::MemberState::Active);
    assert_eq!(
        state(&s, &never, &guest_never).await,
        pb::MemberState::Active
    );
    assert_eq!(s.seats_used(&package).await, seats - 1);
    let events = s.org_events(&strict).await;
    assert!(events.iter().any(|e| {
        e.event_type == EventType::MemberDeactivated
            && e.identity_id.as_deref() == Some(idle.as_str())
            && e.reason == "INACTIVITY"
    }));
    // Nothing left to do.
    assert_eq!(sweep(&s, "", false).await.deactivated_count, 0);

    // Reactivation stays manual and restarts the idle clock.
    s.svc_membership()
        .reactivate_member(pb::ReactivateMemberRequest {
            request_id: String::new(),
            organization_id: strict.clone(),
            identity_id: idle.clone(),
        })
        .await
        .unwrap();
    assert_eq!(sweep(&s, &strict, false).await.deactivated_count, 0);
    s.clock.advance(2 * DAY);
    // An organization admin sweeps their own organization only.
    let admin_token = s.token_for(&package, &admin).await;
    let mut admin_c = s.membership(Some(&admin_token));
    assert_invalid(
        admin_c
            .run_inactivity_sweep(pb::RunInactivitySweepRequest {
                request_id: String::new(),
                organization_id: String::new(),
                dry_run: true,
            })
            .await,
        "organization_id",
    );
    let res = admin_c
        .run_inactivity_sweep(pb::RunInactivitySweepRequest {
            request_id: String::new(),
            organization_id: strict.clone(),
            dry_run: false,
        })
        .await
        .unwrap()
        .into_inner();
    let mut swept: Vec<_> = res
        .deactivated_members
        .iter()
        .map(|m| m.identity_id.clone())
        .collect();
    swept.sort();
    let mut expected = vec![idle.clone(), busy.clone()];
    expected.sort();
    assert_eq!(swept, expected);
    assert_eq!(
        state(&s, &never, &guest_never).await,
        pb::MemberState::Active
    );
}

async fn m12_record_activity_by_the_member_itself_or_a_service(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 20).await;
    let org = s.create_org(&package, &admin).await;
    let guest = s.new_member(&org, "Guest", GUEST).await;
    let before = s
        .member(&org, &guest)
        .await
        .unwrap()
        .last_activity_time
        .unwrap();
    s.clock.advance(Duration::from_secs(3600));
    let token = s.token_for(&package, &guest).await;
    let events_before = s.org_events(&org).await.len();
    s.membership(Some(&token))
        .record_activity(pb::RecordActivityRequest {
            organization_id: org.clone(),
            identity_id: guest.clone(),
        })
        .await
        .unwrap();
    let after = s
        .member(&org, &guest)
        .await
        .unwrap()
        .last_activity_time
        .unwrap();
    assert!(after.seconds >= before.seconds + 3600);
    // Telemetry, not a lifecycle change: no audit event.
    assert_eq!(s.org_events(&org).await.len(), events_before);
    // Not for someone else, even as an admin.
    assert_status(
        s.membership(Some(&admin_token))
            .record_activity(pb::RecordActivityRequest {
                organization_id: org.clone(),
                identity_id: guest.clone(),
            })
            .await,
        Code::PermissionDenied,
        Some("NOT_SELF"),
    );
    let outsider = s.create_identity("Outsider").await;
    assert_status(
        s.svc_membership()
            .record_activity(pb::RecordActivityRequest {
                organization_id: org.clone(),
                identity_id: outsider,
            })
            .await,
        Code::NotFound,
        Some("MEMBER_NOT_FOUND"),
    );
    assert_status(
        s.svc_membership()
            .record_activity(pb::RecordActivityRequest {
                organization_id: "org_0000000000000000".into(),
                identity_id: guest,
            })
            .await,
        Code::NotFound,
        Some("ORGANIZATION_NOT_FOUND"),
    );
}

async fn m12_background_sweep_runs_on_its_interval(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s.create_package(pb::Plan::Business, 20, &[&admin]).await;
    let org = s.create_org(&package, &admin).await;
    set_period(&s, &org, 3600).await;
    let guest = s.new_member(&org, "Guest", GUEST).await;
    s.clock.advance(2 * DAY);
    // The test server runs with the loop off; start one on its database
    // and clock, as `roster serve` does with --sweep-interval.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let job = roster::sweep::spawn(s.store().await, Duration::from_millis(50), stop_rx);
    let mut swept = false;
    for _ in 0..200 {
        if state(&s, &org, &guest).await == pb::MemberState::Deactivated {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(swept, "the background sweep deactivated the idle guest");
    // The stop signal of shutdown ends the loop.
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), job)
        .await
        .expect("stopped sweep ends")
        .unwrap();
    let events = s.org_events(&org).await;
    let e = events
        .iter()
        .find(|e| e.event_type == EventType::MemberDeactivated)
        .expect("audited");
    assert_eq!(e.reason, "INACTIVITY");
    assert_eq!(e.actor.kind, roster::domain::ActorKind::System);
    // Interval zero: disabled, the task ends at once.
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let off = roster::sweep::spawn(s.store().await, Duration::ZERO, stop_rx);
    tokio::time::timeout(Duration::from_secs(5), off)
        .await
        .expect("disabled sweep ends")
        .unwrap();
}

crate::db_tests!(
    m12_sweep_deactivates_idle_guests_only_where_the_organization_set_a_period,
    m12_record_activity_by_the_member_itself_or_a_service,
    m12_background_sweep_runs_on_its_interval,
);
