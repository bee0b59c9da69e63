//! W3: scheduled changes — ScheduleMemberChange / ListScheduledChanges /
//! CancelScheduledChange. A due change runs exactly once with two replicas
//! on one database and clocks moved by the test, audited with the
//! scheduler as actor and the scheduling admin recorded; a change that can
//! no longer apply fails visibly (FAILED, SCHEDULED_CHANGE_FAILED) and
//! leaves no partial effect; OffboardIdentity across sub-organizations; the
//! reminder of an expected return, once. Validation and authorization:
//! `w3_schedule_requests`.

use std::time::{Duration, Instant};

use prost_types::Timestamp;
use roster::config::Config;
use roster::domain::{ActorKind, Event, EventType};
use roster::pb;
use roster::pb::scheduled_change::Change;
use roster::store::Clock;
use tonic::Code;
use tonic_types::StatusExt;

use crate::harness::{Backend, TestServer, assert_status};

pub(crate) const MEMBER: pb::MemberRole = pb::MemberRole::Member;
pub(crate) const HOUR: Duration = Duration::from_secs(3600);
pub(crate) const DAY: Duration = Duration::from_secs(24 * 3600);

/// Test servers poll for due changes every 50 ms (the default is 1 s).
pub(crate) fn fast(c: &mut Config) {
    c.schedule_poll_interval = Duration::from_millis(50);
}

pub(crate) async fn start(b: Backend) -> TestServer {
    TestServer::start_tuned(b, fast).await
}

pub(crate) fn ts(ms: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    })
}

/// The server's now plus `ahead`, in ms.
pub(crate) fn at(s: &TestServer, ahead: Duration) -> i64 {
    s.clock.now_ms() + ahead.as_millis() as i64
}

pub(crate) fn deactivation(org: &str, identity: &str, run_at: i64) -> pb::ScheduledChange {
    pb::ScheduledChange {
        organization_id: org.to_owned(),
        identity_id: identity.to_owned(),
        change: Some(Change::Deactivate(pb::ScheduledDeactivation {
            reason: pb::DeactivationReason::Sabbatical as i32,
            note: "last working day".to_owned(),
            ..Default::default()
        })),
        schedule_time: ts(run_at),
        time_zone: "Europe/Berlin".to_owned(),
        ..Default::default()
    }
}

pub(crate) fn removal(org: &str, identity: &str, run_at: i64) -> pb::ScheduledChange {
    pb::ScheduledChange {
        organization_id: org.to_owned(),
        identity_id: identity.to_owned(),
        change: Some(Change::Remove(pb::ScheduledRemoval::default())),
        schedule_time: ts(run_at),
        ..Default::default()
    }
}

pub(crate) async fn schedule(
    s: &TestServer,
    token: &str,
    change: pb::ScheduledChange,
) -> pb::ScheduledChange {
    s.membership(Some(token))
        .schedule_member_change(pb::ScheduleMemberChangeRequest {
            request_id: String::new(),
            scheduled_change: Some(change),
        })
        .await
        .expect("schedule")
        .into_inner()
}

pub(crate) async fn list_org(
    s: &TestServer,
    org: &str,
    state: pb::ScheduledChangeState,
) -> Vec<pb::ScheduledChange> {
    s.svc_membership()
        .list_scheduled_changes(pb::ListScheduledChangesRequest {
            organization_id: org.to_owned(),
            state: state as i32,
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list scheduled changes")
        .into_inner()
        .scheduled_changes
}

/// Polls until every one of `ids` has left PENDING in `org`; panics after
/// 20 s. Returns them in list order.
async fn settled(s: &TestServer, org: &str, ids: &[String]) -> Vec<pb::ScheduledChange> {
    let start = Instant::now();
    loop {
        let all = list_org(s, org, pb::ScheduledChangeState::Unspecified).await;
        let mine: Vec<_> = all
            .into_iter()
            .filter(|c| ids.contains(&c.scheduled_change_id))
            .collect();
        if mine.len() == ids.len()
            && mine
                .iter()
                .all(|c| c.state != pb::ScheduledChangeState::Pending as i32)
        {
            return mine;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "still pending after 20 s: {mine:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn of_type(events: &[Event], t: EventType) -> Vec<&Event> {
    events.iter().filter(|e| e.event_type == t).collect()
}

fn attr<'a>(e: &'a Event, key: &str) -> Option<&'a str> {
    e.attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The event was written by the scheduler for `change`, scheduled by
/// `by` (`IDENTITY:<id>` or `SERVICE:<name>`).
#[track_caller]
fn by_scheduler(e: &Event, change: &str, by: &str) {
    assert_eq!(e.actor.kind, ActorKind::System, "{e:?}");
    assert_eq!(e.actor.id, "scheduler", "{e:?}");
    assert_eq!(attr(e, "scheduled_change_id"), Some(change), "{e:?}");
    assert_eq!(attr(e, "scheduled_by"), Some(by), "{e:?}");
}

fn advance_both(a: &TestServer, b: &TestServer, by: Duration) {
    a.clock.advance(by);
    b.clock.advance(by);
}

async fn w3_scheduled_deactivation_runs_once_on_two_replicas(b: Backend) {
    let s = start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let leaver = s.new_member(&org, "Leaver", MEMBER).await;
    let seats = s.seats_used(&package).await;

    let run_at = at(&s, HOUR);
    let created = schedule(&s, &admin_token, deactivation(&org, &leaver, run_at)).await;
    assert!(
        created.scheduled_change_id.starts_with("sch_"),
        "{created:?}"
    );
    assert_eq!(created.state, pb::ScheduledChangeState::Pending as i32);
    assert_eq!(created.schedule_time, ts(run_at));
    assert_eq!(created.time_zone, "Europe/Berlin");
    assert_eq!(created.package_id, package);
    let creator = created.created_by.clone().expect("created_by");
    assert_eq!(
        (creator.r#type, creator.id.as_str()),
        (pb::ActorType::Identity as i32, admin.as_str())
    );
    let pending = list_org(&s, &org, pb::ScheduledChangeState::Pending).await;
    assert_eq!(pending, vec![created.clone()]);

    // Not due yet: several polls later it is still pending.
    let r = s.replica_tuned(fast).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        list_org(&r, &org, pb::ScheduledChangeState::Pending)
            .await
            .len(),
        1
    );
    assert_eq!(
        s.member(&org, &leaver).await.expect("member").state,
        pb::MemberState::Active as i32
    );

    advance_both(&s, &r, HOUR + Duration::from_secs(1));
    let done = settled(&r, &org, std::slice::from_ref(&created.scheduled_change_id)).await;
    assert_eq!(
        done[0].state,
        pb::ScheduledChangeState::Done as i32,
        "{done:?}"
    );
    assert!(done[0].run_time.is_some());
    let m = s.member(&org, &leaver).await.expect("still a member");
    assert_eq!(m.state, pb::MemberState::Deactivated as i32);
    let d = m.deactivation.expect("deactivation");
    assert_eq!(d.reason, pb::DeactivationReason::Sabbatical as i32);
    assert_eq!(d.note, "last working day");
    assert_eq!(d.actor_id, "scheduler");
    assert_eq!(s.seats_used(&package).await, seats - 1, "seat freed (L6)");

    let events = s.org_events(&org).await;
    let deactivated = of_type(&events, EventType::MemberDeactivated);
    assert_eq!(
        deactivated.len(),
        1,
        "exactly one deactivation: {deactivated:?}"
    );
    by_scheduler(
        deactivated[0],
        &created.scheduled_change_id,
        &format!("IDENTITY:{admin}"),
    );
    assert_eq!(
        of_type(&events, EventType::ScheduledChangeExecuted).len(),
        1
    );
    assert_eq!(of_type(&events, EventType::ScheduledChangeCreated).len(), 1);

    // A change that ran cannot be cancelled.
    let res = s
        .membership(Some(&admin_token))
        .cancel_scheduled_change(pb::CancelScheduledChangeRequest {
            request_id: String::new(),
            scheduled_change_id: created.scheduled_change_id.clone(),
        })
        .await;
    let status = assert_status(
        res,
        Code::FailedPrecondition,
        Some("SCHEDULED_CHANGE_NOT_PENDING"),
    );
    let info = status.get_details_error_info().expect("error info");
    assert_eq!(info.metadata.get("state").map(String::as_str), Some("DONE"));
}

async fn w3_ten_changes_at_one_instant_run_exactly_once_on_two_replicas(b: Backend) {
    let s = start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 30).await;
    let org = s.create_org(&package, &admin).await;
    let run_at = at(&s, HOUR);
    let mut ids = Vec::new();
    for i in 0..10 {
        let member = s.new_member(&org, &format!("Member{i}"), MEMBER).await;
        // Half deactivations, half removals, all at the same instant.
        let change = if i % 2 == 0 {
            deactivation(&org, &member, run_at)
        } else {
            removal(&org, &member, run_at)
        };
        ids.push(schedule(&s, &admin_token, change).await.scheduled_change_id);
    }
    let r = s.replica_tuned(fast).await;
    advance_both(&s, &r, HOUR);
    let all = settled(&s, &org, &ids).await;
    assert!(
        all.iter()
            .all(|c| c.state == pb::ScheduledChangeState::Done as i32),
        "{all:?}"
    );
    let events = s.org_events(&org).await;
    let executed = of_type(&events, EventType::ScheduledChangeExecuted);
    assert_eq!(executed.len(), 10, "one execution per change");
    let mut subjects: Vec<_> = executed.iter().map(|e| e.subject_id.clone()).collect();
    subjects.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(subjects, expected);
    assert_eq!(of_type(&events, EventType::MemberDeactivated).len(), 5);
    assert_eq!(of_type(&events, EventType::MemberRemoved).len(), 5);
    for e in of_type(&events, EventType::MemberDeactivated)
        .into_iter()
        .chain(of_type(&events, EventType::MemberRemoved))
    {
        assert_eq!(e.actor.id, "scheduler", "{e:?}");
        assert_eq!(
            attr(e, "scheduled_by"),
            Some(format!("IDENTITY:{admin}").as_str())
        );
    }
}

async fn w3_cancelled_change_never_runs(b: Backend) {
    let s = start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let member = s.new_member(&org, "Member", MEMBER).await;
    let created = schedule(&s, &admin_token, removal(&org, &member, at(&s, HOUR))).await;
    let cancelled = s
        .membership(Some(&admin_token))
        .cancel_scheduled_change(pb::CancelScheduledChangeRequest {
            request_id: String::new(),
            scheduled_change_id: created.scheduled_change_id.clone(),
        })
        .await
        .expect("cancel")
        .into_inner();
    assert_eq!(cancelled.state, pb::ScheduledChangeState::Cancelled as i32);
    assert!(cancelled.cancel_time.is_some());
    assert_eq!(cancelled.cancelled_by.expect("cancelled_by").id, admin);
    s.clock.advance(2 * HOUR);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(s.member(&org, &member).await.is_some(), "never ran");
    assert_eq!(
        list_org(&s, &org, pb::ScheduledChangeState::Cancelled)
            .await
            .len(),
        1
    );
    assert!(
        list_org(&s, &org, pb::ScheduledChangeState::Pending)
            .await
            .is_empty()
    );
    let events = s.org_events(&org).await;
    assert_eq!(
        of_type(&events, EventType::ScheduledChangeCancelled).len(),
        1
    );
    assert!(of_type(&events, EventType::MemberRemoved).is_empty());
    let again = s
        .svc_membership()
        .cancel_scheduled_change(pb::CancelScheduledChangeRequest {
            request_id: String::new(),
            scheduled_change_id: created.scheduled_change_id,
        })
        .await;
    assert_status(
        again,
        Code::FailedPrecondition,
        Some("SCHEDULED_CHANGE_NOT_PENDING"),
    );
    let unknown = s
        .svc_membership()
        .cancel_scheduled_change(pb::CancelScheduledChangeRequest {
            request_id: String::new(),
            scheduled_change_id: "sch_0000000000000000".to_owned(),
        })
        .await;
    assert_status(unknown, Code::NotFound, Some("SCHEDULED_CHANGE_NOT_FOUND"));
}

async fn w3_change_that_can_no_longer_apply_fails_and_leaves_no_trace(b: Backend) {
    let s = start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let leaver = s.new_member(&org, "Leaver", MEMBER).await;
    let gone = s.new_member(&org, "Gone", MEMBER).await;
    let other = s.new_member(&org, "Other", MEMBER).await;
    let run_at = at(&s, HOUR);
    let removal_id = schedule(&s, &admin_token, removal(&org, &leaver, run_at))
        .await
        .scheduled_change_id;
    let deactivation_id = schedule(&s, &admin_token, deactivation(&org, &gone, run_at))
        .await
        .scheduled_change_id;

    // Meanwhile the leaver becomes the only admin of a room (M7) with an
    // assignment, and the other member is removed by hand.
    let room = s.create_room(&org, &leaver).await;
    s.add_room_member(&room, &other, pb::RoomRole::Member).await;
    let assignment = s.create_assignment(&room, &leaver, "Ongoing").await;
    s.svc_membership()
        .remove_member(pb::RemoveMemberRequest {
            organization_id: org.clone(),
            identity_id: gone.clone(),
            ..Default::default()
        })
        .await
        .expect("remove by hand");
    let seats = s.seats_used(&package).await;
    let before = s.member(&org, &leaver).await.expect("member");
    let rooms_before = s.room_members(&room).await;
    let events_before = s.org_events(&org).await;

    s.clock.advance(HOUR);
    let ids = [removal_id.clone(), deactivation_id.clone()];
    let failed = settled(&s, &org, &ids).await;
    let by_id = |id: &str| {
        failed
            .iter()
            .find(|c| c.scheduled_change_id == id)
            .expect("listed")
            .clone()
    };
    let r = by_id(&removal_id);
    assert_eq!(r.state, pb::ScheduledChangeState::Failed as i32, "{r:?}");
    assert_eq!(r.failure_reason, "LAST_ROOM_ADMIN");
    assert!(r.failure_message.contains(&room), "{r:?}");
    assert!(r.run_time.is_some());
    let d = by_id(&deactivation_id);
    assert_eq!(d.state, pb::ScheduledChangeState::Failed as i32, "{d:?}");
    assert_eq!(d.failure_reason, "MEMBER_NOT_FOUND");

    // Nothing of the removal happened.
    assert_eq!(s.member(&org, &leaver).await, Some(before));
    assert_eq!(s.room_members(&room).await, rooms_before);
    assert_eq!(s.seats_used(&package).await, seats);
    let assignments = s
        .svc_membership()
        .list_assignments(pb::ListAssignmentsRequest {
            organization_id: org.clone(),
            assignee_identity_id: leaver.clone(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("assignments")
        .into_inner()
        .assignments;
    assert_eq!(assignments.len(), 1);
    assert_eq!(assignments[0].assignment_id, assignment);

    // Only the failures were written, visibly, for the organization.
    let events = s.org_events(&org).await;
    let new: Vec<_> = events[events_before.len()..].iter().collect();
    assert_eq!(new.len(), 2, "{new:?}");
    for e in &new {
        assert_eq!(e.event_type, EventType::ScheduledChangeFailed, "{e:?}");
        assert_eq!(e.actor.id, "scheduler");
        assert_eq!(e.org_id.as_deref(), Some(org.as_str()));
        assert_eq!(
            attr(e, "scheduled_by"),
            Some(format!("IDENTITY:{admin}").as_str())
        );
    }
    let reasons: Vec<_> = new.iter().map(|e| e.reason.as_str()).collect();
    assert!(reasons.contains(&"LAST_ROOM_ADMIN"), "{reasons:?}");
    assert!(reasons.contains(&"MEMBER_NOT_FOUND"), "{reasons:?}");
}

async fn w3_scheduled_offboarding_across_sub_organizations(b: Backend) {
    let s = start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Enterprise, 20).await;
    let parent = s.create_org(&package, &admin).await;
    let leaver = s.new_member(&parent, "Leaver", MEMBER).await;
    let successor = s.new_member(&parent, "Successor", MEMBER).await;
    let mut orgs = vec![parent.clone()];
    let mut rooms = Vec::new();
    for _ in 0..2 {
        let sub = s.create_sub_org(&parent, &admin).await;
        s.add_member(&sub, &leaver, MEMBER).await;
        s.add_member(&sub, &successor, MEMBER).await;
        let room = s.create_room(&sub, &leaver).await;
        s.add_room_member(&room, &successor, pb::RoomRole::Member)
            .await;
        orgs.push(sub);
        rooms.push(room);
    }
    let seats = s.seats_used(&package).await;
    let created = schedule(
        &s,
        &admin_token,
        pb::ScheduledChange {
            identity_id: leaver.clone(),
            change: Some(Change::OffboardIdentity(pb::ScheduledOffboarding {
                package_id: package.clone(),
                action: pb::OffboardingAction::Remove as i32,
                successor_identity_id: successor.clone(),
                ..Default::default()
            })),
            schedule_time: ts(at(&s, DAY)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(created.organization_id, "");
    // Listed under the package, not under an organization.
    assert!(
        list_org(&s, &parent, pb::ScheduledChangeState::Unspecified)
            .await
            .is_empty()
    );
    let by_package = || async {
        s.membership(Some(&admin_token))
            .list_scheduled_changes(pb::ListScheduledChangesRequest {
                package_id: package.clone(),
                ..Default::default()
            })
            .await
            .expect("list by package")
            .into_inner()
            .scheduled_changes
    };
    assert_eq!(by_package().await, vec![created.clone()]);

    s.clock.advance(DAY);
    let start = Instant::now();
    let done = loop {
        let listed = by_package().await;
        if listed[0].state != pb::ScheduledChangeState::Pending as i32 {
            break listed[0].clone();
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{listed:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(
        done.state,
        pb::ScheduledChangeState::Done as i32,
        "{done:?}"
    );
    for org in &orgs {
        assert!(s.member(org, &leaver).await.is_none(), "{org}");
        let removed: Vec<_> = s
            .org_events(org)
            .await
            .into_iter()
            .filter(|e| e.event_type == EventType::MemberRemoved)
            .collect();
        assert_eq!(removed.len(), 1, "{org}: {removed:?}");
        by_scheduler(
            &removed[0],
            &created.scheduled_change_id,
            &format!("IDENTITY:{admin}"),
        );
    }
    for room in &rooms {
        let members = s.room_members(room).await;
        assert_eq!(members.len(), 1, "{members:?}");
        assert_eq!(members[0].identity_id, successor);
        assert_eq!(members[0].role, pb::RoomRole::Admin as i32);
    }
    assert_eq!(s.seats_used(&package).await, seats - 1, "seat freed once");
}

async fn w3_expected_return_reminds_the_admins_once(b: Backend) {
    let s = start(b).await;
    let (package, admin, admin_token) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let member = s.new_member(&org, "Member", MEMBER).await;
    let run_at = at(&s, HOUR);
    let back = run_at + 14 * DAY.as_millis() as i64;
    let mut change = deactivation(&org, &member, run_at);
    if let Some(Change::Deactivate(d)) = &mut change.change {
        d.expected_return_time = ts(back);
    }
    let created = schedule(&s, &admin_token, change).await;
    let r = s.replica_tuned(fast).await;
    advance_both(&s, &r, HOUR);
    settled(&s, &org, std::slice::from_ref(&created.scheduled_change_id)).await;
    let m = s.member(&org, &member).await.expect("member");
    assert_eq!(
        m.deactivation.expect("deactivated").expected_return_time,
        ts(back)
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let due = |events: &[Event]| {
        events
            .iter()
            .filter(|e| e.event_type == EventType::DeactivationReturnDue)
            .count()
    };
    assert_eq!(due(&s.org_events(&org).await), 0, "not before the return");

    advance_both(&s, &r, 14 * DAY);
    let start = Instant::now();
    while due(&s.org_events(&org).await) == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "no reminder");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Many polls of both replicas later: still one, and the member is
    // still deactivated (reactivation stays manual, M5).
    tokio::time::sleep(Duration::from_millis(400)).await;
    advance_both(&s, &r, DAY);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let events = s.org_events(&org).await;
    let reminders = of_type(&events, EventType::DeactivationReturnDue);
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    let e = reminders[0];
    assert_eq!(e.identity_id.as_deref(), Some(member.as_str()));
    assert_eq!(e.org_id.as_deref(), Some(org.as_str()));
    assert_eq!(e.reason, "SABBATICAL");
    assert_eq!(
        s.member(&org, &member).await.expect("member").state,
        pb::MemberState::Deactivated as i32
    );
}

crate::db_tests!(
    w3_scheduled_deactivation_runs_once_on_two_replicas,
    w3_ten_changes_at_one_instant_run_exactly_once_on_two_replicas,
    w3_cancelled_change_never_runs,
    w3_change_that_can_no_longer_apply_fails_and_leaves_no_trace,
    w3_scheduled_offboarding_across_sub_organizations,
    w3_expected_return_reminds_the_admins_once,
);
