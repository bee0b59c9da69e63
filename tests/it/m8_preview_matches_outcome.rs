//! M8 = M4/M6: PreviewOffboarding and the real Deactivate/RemoveMember
//! compute one plan (`domain::policy::plan_offboarding`), so over many
//! generated situations (rooms with and without other admins, assignments,
//! a successor active or not, the seat held by a sign-in or by another
//! organization of the package, the member already deactivated, the last
//! admin) the preview says exactly what the call then does — or the reason
//! it is refused with, and then nothing changes.

use roster::pb;
use tonic_types::StatusExt;

use crate::harness::{Backend, TestServer};

const TRIALS: usize = 40;

/// A small deterministic generator (the trials are reproducible).
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.roll(100) < percent
    }
}

async fn deactivate(
    s: &TestServer,
    org: &str,
    id: &str,
    successor: &str,
) -> Result<(), tonic::Status> {
    s.svc_membership()
        .deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.into(),
            identity_id: id.into(),
            successor_identity_id: successor.into(),
            ..Default::default()
        })
        .await
        .map(drop)
}

fn reason_of(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

async fn m8_the_preview_is_the_outcome_over_generated_situations(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = s.create_identity("Admin").await;
    let package = s
        .create_package(pb::Plan::Enterprise, 1000, &[&admin])
        .await;
    let mut dice = Dice(0x5eed);
    let (mut applied, mut refused) = (0, 0);
    let mut reasons = std::collections::BTreeSet::new();
    for trial in 0..TRIALS {
        let org = s.create_org(&package, &admin).await;
        let role = match dice.roll(3) {
            0 => pb::MemberRole::Admin,
            1 => pb::MemberRole::Member,
            _ => pb::MemberRole::Guest,
        };
        let who = s.new_member(&org, "Leaver", role).await;
        // The organization's own admin stays unless the leaver is the last.
        let admin_away = role == pb::MemberRole::Admin && dice.chance(30);
        if admin_away {
            deactivate(&s, &org, &admin, "")
                .await
                .expect("admin steps back");
        }
        let successor = s
            .new_member(&org, "Successor", pb::MemberRole::Member)
            .await;
        let successor_active = dice.chance(75);
        let mut rooms = Vec::new();
        for _ in 0..dice.roll(4) {
            // Guests create no rooms here; a deactivated admin cannot.
            let by_leaver = role != pb::MemberRole::Guest && (admin_away || dice.chance(60));
            let creator = if by_leaver { &who } else { &admin };
            let room = s.create_room(&org, creator).await;
            if creator != &who {
                s.add_room_member(&room, &who, pb::RoomRole::Member).await;
            }
            if dice.chance(30) {
                s.add_room_member(&room, &successor, pb::RoomRole::Admin)
                    .await;
            }
            rooms.push(room);
        }
        for room in &rooms {
            for _ in 0..dice.roll(3) {
                s.create_assignment(room, &who, "Task").await;
            }
        }
        if !successor_active {
            deactivate(&s, &org, &successor, "")
                .await
                .expect("successor away");
        }
        if dice.chance(25) {
            // The seat is also held by a membership in another organization
            // of the same package (the enterprise rule).
            let other = s.create_org(&package, &admin).await;
            s.add_member(&other, &who, pb::MemberRole::Member).await;
        }
        if dice.chance(20) {
            let (_, user, pass) = s
                .issue_credential(&package, &format!("leaver-{trial}"))
                .await;
            s.sign_in(&who, &user, &pass).await;
        }
        if dice.chance(15) {
            let _ = deactivate(&s, &org, &who, "").await;
        }
        let action = if dice.chance(50) {
            pb::OffboardingAction::Remove
        } else {
            pb::OffboardingAction::Deactivate
        };
        let named = if dice.chance(50) {
            successor.as_str()
        } else {
            ""
        };

        let preview = s
            .svc_membership()
            .preview_offboarding(pb::PreviewOffboardingRequest {
                organization_id: org.clone(),
                identity_id: who.clone(),
                action: action as i32,
                successor_identity_id: named.into(),
            })
            .await
            .expect("preview")
            .into_inner();
        let seats_before = s.seats_used(&package).await;
        let member_before = s.member(&org, &who).await;
        let result = match action {
            pb::OffboardingAction::Remove => s
                .svc_membership()
                .remove_member(pb::RemoveMemberRequest {
                    request_id: String::new(),
                    organization_id: org.clone(),
                    identity_id: who.clone(),
                    successor_identity_id: named.into(),
                    etag: String::new(),
                })
                .await
                .map(|r| Some(r.into_inner())),
            _ => deactivate(&s, &org, &who, named).await.map(|()| None),
        };
        let seats_after = s.seats_used(&package).await;
        let context = format!("trial {trial}: {action:?} successor {named:?}: {preview:?}");
        match result {
            Ok(removal) => {
                applied += 1;
                assert!(preview.blocking_reasons.is_empty(), "{context}");
                assert_eq!(
                    seats_before - seats_after,
                    i32::from(preview.seat_freed),
                    "{context}"
                );
                if let Some(removal) = removal {
                    assert_eq!(removal.rooms_left, preview.room_count, "{context}");
                    assert_eq!(
                        removal.assignments_dropped, preview.assignment_count,
                        "{context}"
                    );
                    assert_eq!(removal.seat_freed, preview.seat_freed, "{context}");
                    let handed = if named.is_empty() {
                        Vec::new()
                    } else {
                        preview.orphaned_room_ids.clone()
                    };
                    assert_eq!(removal.successor_room_ids, handed, "{context}");
                    assert!(s.member(&org, &who).await.is_none(), "{context}");
                } else {
                    let m = s.member(&org, &who).await.expect("still a member");
                    assert_eq!(m.state, pb::MemberState::Deactivated as i32, "{context}");
                }
                // The successor now administers exactly the rooms the
                // preview listed (M7).
                if !named.is_empty() {
                    for room in &preview.orphaned_room_ids {
                        let members = s.room_members(room).await;
                        assert!(
                            members.iter().any(|m| m.identity_id == successor
                                && m.role == pb::RoomRole::Admin as i32),
                            "{context}: {room}"
                        );
                    }
                }
            }
            Err(status) => {
                refused += 1;
                let reason = reason_of(&status);
                assert_eq!(
                    preview.blocking_reasons.first(),
                    Some(&reason),
                    "{context}: {status:?}"
                );
                reasons.insert(reason);
                // A refused call changes nothing.
                assert_eq!(seats_after, seats_before, "{context}");
                assert_eq!(s.member(&org, &who).await, member_before, "{context}");
            }
        }
    }
    assert_eq!(applied + refused, TRIALS);
    assert!(
        applied >= TRIALS / 4 && refused >= 4,
        "both outcomes are exercised: {applied} applied, {refused} refused ({reasons:?})"
    );
    assert!(reasons.len() >= 2, "several refusal reasons: {reasons:?}");
}

crate::db_tests!(m8_the_preview_is_the_outcome_over_generated_situations);
