//! The rules of the seeds as pure functions. The store gathers the facts
//! in set-based queries, a function here decides, and the store applies
//! the decision; nothing here touches the database or the wire. Each rule
//! carries its SPEC tag, so `grep -rn M7 src` lands here.
//!
//! Rules that SQL must evaluate in bulk (the idle guest, the seat held by a
//! membership, the assignment held by a tenure) are written once as SQL
//! fragments in `store/rules.rs` and mirror the functions here.

use super::error::{Error, Reason};
use super::ids::{IdentityId, OrgId, RoomId};
use super::model::{
    AccessDecision, AccessDenial, IdentityState, MemberRole, MemberState, Profile, RoomRole,
};

// ---- M11: the access decision -------------------------------------------

/// What CheckAccess decides on (M11): one snapshot of an identity, its
/// membership in one organization and, when a room was asked for, its
/// place in that room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessFacts {
    /// The identity's state; `None` when no such identity exists.
    pub identity: Option<IdentityState>,
    /// The membership's role and state; `None` when not a member.
    pub membership: Option<(MemberRole, MemberState)>,
    /// `None` when no room was asked for; otherwise the identity's room
    /// role and delete permission there, `Some(None)` when it is not in
    /// the room.
    pub room: Option<Option<(RoomRole, bool)>>,
}

/// M11 CheckAccess: allowed only for an ACTIVE identity that is an ACTIVE
/// member (and, when a room is asked for, a member of that room). The
/// first failing condition names the denial, in this order: unknown
/// identity, revoked, not a member, deactivated, not in the room.
pub fn access_decision(facts: &AccessFacts) -> AccessDecision {
    let denied = AccessDecision::Denied;
    match facts.identity {
        None => return denied(AccessDenial::UnknownIdentity),
        Some(IdentityState::Revoked) => return denied(AccessDenial::Revoked),
        Some(IdentityState::Active) => {}
    }
    let Some((role, state)) = facts.membership else {
        return denied(AccessDenial::NotMember);
    };
    if state != MemberState::Active {
        return denied(AccessDenial::Deactivated { role });
    }
    match facts.room {
        None => AccessDecision::Allowed { role, room: None },
        Some(None) => denied(AccessDenial::NotInRoom { role }),
        Some(Some(room)) => AccessDecision::Allowed {
            role,
            room: Some(room),
        },
    }
}

// ---- M10: profile rendering ---------------------------------------------

/// What ResolveProfiles renders one identity from (M10).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileFacts {
    /// The identity's state; `None` when no such identity exists.
    pub identity: Option<IdentityState>,
    /// The membership's state in the organization; `None` when the
    /// identity is not (or no longer) a member.
    pub member: Option<MemberState>,
    /// The identity's display name.
    pub display_name: String,
    /// The identity's avatar URL.
    pub avatar_url: String,
}

/// M10 ResolveProfiles: an ACTIVE member shows name and avatar; a
/// DEACTIVATED one its name only (struck through, badge "D"); anyone
/// removed, never a member, unknown or revoked is "Unknown user" and
/// nothing of the person shows.
pub fn render_profile(facts: ProfileFacts) -> Profile {
    match (facts.identity, facts.member) {
        (Some(IdentityState::Active), Some(MemberState::Active)) => Profile::Active {
            display_name: facts.display_name,
            avatar_url: facts.avatar_url,
        },
        (Some(IdentityState::Active), Some(MemberState::Deactivated)) => Profile::Deactivated {
            display_name: facts.display_name,
        },
        _ => Profile::Unknown,
    }
}

// ---- L6: the seat -------------------------------------------------------

/// One identity's seat in one license package (L6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeatFacts {
    /// The identity is attached to the package (holds a seat now).
    pub attached: bool,
    /// The attachment came from a sign-in (kept until detach or
    /// revocation).
    pub signed_in: bool,
    /// ACTIVE memberships in organizations bound to the package, counted
    /// as they will be after the change being decided on.
    pub holding_memberships: u64,
}

/// L6: an identity holds a seat while a sign-in attachment or an ACTIVE
/// membership in any organization bound to the package holds it (the
/// enterprise rule: deactivate in every organization to free it).
pub fn seat_held(facts: &SeatFacts) -> bool {
    facts.attached && (facts.signed_in || facts.holding_memberships > 0)
}

/// L6: whether the change described by `facts` (memberships counted after
/// it) frees the seat: attached now, and nothing holds it any more.
pub fn seat_freed(facts: &SeatFacts) -> bool {
    facts.attached && !seat_held(facts)
}

// ---- M4, M6, M7, M8: the offboarding plan -------------------------------

/// Deactivate (M4) or remove (M6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffboardingAction {
    /// M4.
    Deactivate,
    /// M6.
    Remove,
}

/// What an offboarding decides on, gathered for one member of one
/// organization (under the organization's lock when it is applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffboardingFacts {
    /// The member is ACTIVE (not deactivated).
    pub active: bool,
    /// The member is an organization ADMIN.
    pub admin: bool,
    /// Another ACTIVE ADMIN exists in the organization (M2).
    pub other_active_admin: bool,
    /// `None` without a successor; otherwise whether the named successor
    /// is an ACTIVE member of the organization.
    pub successor_active: Option<bool>,
    /// Rooms where the member is room ADMIN and no other room admin is an
    /// ACTIVE member (M7), ordered by ID. Only gathered while the member
    /// is ACTIVE.
    pub last_admin_rooms: Vec<RoomId>,
    /// Rooms the member is in.
    pub room_count: u64,
    /// Assignments the member holds in the organization.
    pub assignment_count: u64,
    /// The member's seat in the organization's package, with memberships
    /// counted *without* this one (it stops holding the seat either way).
    pub seat: SeatFacts,
}

/// What an offboarding does (M4/M6), or why it cannot (M2, M7): the same
/// plan answers PreviewOffboarding (M8) and is what Deactivate/RemoveMember
/// apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffboardingPlan {
    /// Why the action would be refused, in the order the checks run; the
    /// action is refused with the first one. Empty: it goes ahead.
    pub blocking: Vec<Reason>,
    /// Rooms that would lose their last active admin: handed to the
    /// successor when there is one (M7).
    pub last_admin_rooms: Vec<RoomId>,
    /// Rooms the member leaves (removal: all of them; deactivation: none,
    /// memberships stay).
    pub rooms_left: u64,
    /// Assignments dropped (removal: all it holds in the organization;
    /// deactivation: none, they stay).
    pub assignments_dropped: u64,
    /// Whether the seat is freed (L6).
    pub seat_freed: bool,
}

/// M4/M6 with the guards of M2 and M7, as PreviewOffboarding (M8) shows
/// it. Checks, in order: deactivating someone already deactivated
/// (ALREADY_DEACTIVATED); the last ACTIVE ADMIN (LAST_ORGANIZATION_ADMIN);
/// a named successor that is not an ACTIVE member (SUCCESSOR_NOT_ACTIVE);
/// rooms left without an active admin and no successor (LAST_ROOM_ADMIN).
/// A member that is not ACTIVE guards nothing: it is no room's active
/// admin.
pub fn plan_offboarding(action: OffboardingAction, facts: &OffboardingFacts) -> OffboardingPlan {
    let mut blocking = Vec::new();
    if action == OffboardingAction::Deactivate && !facts.active {
        blocking.push(Reason::AlreadyDeactivated);
    }
    if facts.active && facts.admin && !facts.other_active_admin {
        blocking.push(Reason::LastOrganizationAdmin);
    }
    if facts.successor_active == Some(false) {
        blocking.push(Reason::SuccessorNotActive);
    }
    let last_admin_rooms = if facts.active {
        facts.last_admin_rooms.clone()
    } else {
        Vec::new()
    };
    if !last_admin_rooms.is_empty() && facts.successor_active.is_none() {
        blocking.push(Reason::LastRoomAdmin);
    }
    let removing = action == OffboardingAction::Remove;
    OffboardingPlan {
        blocking,
        last_admin_rooms,
        rooms_left: if removing { facts.room_count } else { 0 },
        assignments_dropped: if removing { facts.assignment_count } else { 0 },
        seat_freed: seat_freed(&facts.seat),
    }
}

/// W1: the etag of a plan: a digest of everything
/// [`plan_offboarding`] decides on (the facts, the action, the named
/// successor). PreviewOffboarding returns it; Deactivate/RemoveMember given
/// it recompute it under their locks and refuse with ABORTED
/// (ETAG_MISMATCH) when it differs, so what an admin confirmed is what
/// happens. 24 lowercase hex characters.
pub fn offboarding_etag(
    action: OffboardingAction,
    successor: Option<&IdentityId>,
    facts: &OffboardingFacts,
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut put = |part: &str| {
        h.update(part.as_bytes());
        h.update([0u8]);
    };
    put("roster.offboarding.v1");
    put(match action {
        OffboardingAction::Deactivate => "deactivate",
        OffboardingAction::Remove => "remove",
    });
    put(successor.map_or("", IdentityId::as_str));
    let flags = [
        facts.active,
        facts.admin,
        facts.other_active_admin,
        facts.successor_active.is_some(),
        facts.successor_active == Some(true),
        facts.seat.attached,
        facts.seat.signed_in,
    ];
    put(&flags
        .map(|f| if f { '1' } else { '0' })
        .iter()
        .collect::<String>());
    put(&facts.room_count.to_string());
    put(&facts.assignment_count.to_string());
    put(&facts.seat.holding_memberships.to_string());
    for room in &facts.last_admin_rooms {
        put(room.as_str());
    }
    h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `etag` has the shape [`offboarding_etag`] produces.
pub fn is_offboarding_etag(etag: &str) -> bool {
    etag.len() == 24
        && etag
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// At most this many room IDs go into a LAST_ROOM_ADMIN error's metadata
/// (`room_count` has the total; PreviewOffboarding lists them all).
pub const MAX_ROOM_IDS_IN_ERROR: usize = 100;

/// M7's refusal: LAST_ROOM_ADMIN naming the rooms (at most
/// [`MAX_ROOM_IDS_IN_ERROR`]) in the message and in `room_ids`, with the
/// total in `room_count`.
pub fn last_room_admin_error(rooms: &[RoomId]) -> Error {
    let listed: Vec<&str> = rooms
        .iter()
        .take(MAX_ROOM_IDS_IN_ERROR)
        .map(RoomId::as_str)
        .collect();
    let more = if rooms.len() > listed.len() {
        ", …"
    } else {
        ""
    };
    Error::FailedPrecondition {
        reason: Reason::LastRoomAdmin,
        message: format!(
            "{} room(s) would be left without an active room admin ({}{more}); name a \
             successor or make another active member room admin first",
            rooms.len(),
            listed.join(", "),
        ),
        metadata: vec![
            ("room_ids", listed.join(",")),
            ("room_count", rooms.len().to_string()),
        ],
    }
}

impl OffboardingPlan {
    /// The error the action is refused with (the first blocking reason),
    /// or `None` when it goes ahead.
    pub fn refusal(
        &self,
        org: &OrgId,
        identity: &IdentityId,
        successor: Option<&IdentityId>,
    ) -> Option<Error> {
        let reason = *self.blocking.first()?;
        Some(match reason {
            Reason::AlreadyDeactivated => Error::precondition(
                reason,
                format!("{identity} is already deactivated in organization {org}"),
            ),
            Reason::LastOrganizationAdmin => Error::precondition(
                reason,
                format!(
                    "{identity} is the last active admin of organization {org}; make another \
                     member ADMIN first"
                ),
            ),
            Reason::SuccessorNotActive => Error::precondition(
                reason,
                format!(
                    "{} is not an active member of organization {org}",
                    successor.map_or("the successor", IdentityId::as_str)
                ),
            ),
            Reason::LastRoomAdmin => last_room_admin_error(&self.last_admin_rooms),
            other => Error::precondition(other, format!("offboarding {identity} is refused")),
        })
    }

    /// The rooms a successor takes over: the last-admin rooms when the
    /// action goes ahead with a successor.
    pub fn handed_to_successor(&self, successor: Option<&IdentityId>) -> &[RoomId] {
        match successor {
            Some(_) if self.blocking.is_empty() => &self.last_admin_rooms,
            _ => &[],
        }
    }
}

/// What an automated offboarding (SCIM provisioning, issue 15) left
/// without an admin because nobody could take over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeftWithoutAdmin {
    /// Rooms left without an active room admin.
    pub rooms: Vec<RoomId>,
    /// The organization has no active ADMIN any more (M2: its package's
    /// admins stand in until a person repairs it).
    pub organization: bool,
}

/// M2/M7 for automated provisioning (issue 15): an IdP retries a refused
/// update forever, so its offboarding is never refused for want of an
/// admin. The caller has handed the rooms to every other active admin of
/// the organization first; whatever still blocks for LAST_ROOM_ADMIN or
/// LAST_ORGANIZATION_ADMIN then has nobody to go to and goes ahead,
/// reported in the returned [`LeftWithoutAdmin`]. Every other refusal
/// (ALREADY_DEACTIVATED, SUCCESSOR_NOT_ACTIVE) stays.
pub fn provisioning_plan(mut plan: OffboardingPlan) -> (OffboardingPlan, LeftWithoutAdmin) {
    let mut left = LeftWithoutAdmin::default();
    plan.blocking.retain(|r| match r {
        Reason::LastRoomAdmin => {
            left.rooms = plan.last_admin_rooms.clone();
            false
        }
        Reason::LastOrganizationAdmin => {
            left.organization = true;
            false
        }
        _ => true,
    });
    (plan, left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m7_provisioning_goes_ahead_without_an_admin_to_take_over() {
        let mut f = facts();
        f.admin = true;
        f.other_active_admin = false;
        f.last_admin_rooms = vec![room(1), room(2)];
        let plan = plan_offboarding(OffboardingAction::Deactivate, &f);
        assert_eq!(
            plan.blocking,
            vec![Reason::LastOrganizationAdmin, Reason::LastRoomAdmin]
        );
        let (plan, left) = provisioning_plan(plan);
        assert!(plan.blocking.is_empty());
        assert_eq!(
            left,
            LeftWithoutAdmin {
                rooms: vec![room(1), room(2)],
                organization: true,
            }
        );
        // Nothing to override: nothing reported.
        let (plan, left) = provisioning_plan(plan_offboarding(OffboardingAction::Remove, &facts()));
        assert!(plan.blocking.is_empty());
        assert_eq!(left, LeftWithoutAdmin::default());
        // Other refusals stay.
        let mut again = f.clone();
        again.active = false;
        let (plan, _) = provisioning_plan(plan_offboarding(OffboardingAction::Deactivate, &again));
        assert_eq!(plan.blocking, vec![Reason::AlreadyDeactivated]);
    }

    fn room(n: u8) -> RoomId {
        RoomId::from_trusted(format!("room_{:016}", n))
    }

    fn access(
        identity: Option<IdentityState>,
        membership: Option<(MemberRole, MemberState)>,
        room: Option<Option<(RoomRole, bool)>>,
    ) -> AccessDecision {
        access_decision(&AccessFacts {
            identity,
            membership,
            room,
        })
    }

    const ACTIVE_MEMBER: Option<(MemberRole, MemberState)> =
        Some((MemberRole::Member, MemberState::Active));

    #[test]
    fn m11_active_member_is_allowed_with_role_and_room_rights() {
        assert_eq!(
            access(Some(IdentityState::Active), ACTIVE_MEMBER, None),
            AccessDecision::Allowed {
                role: MemberRole::Member,
                room: None
            }
        );
        assert_eq!(
            access(
                Some(IdentityState::Active),
                Some((MemberRole::Guest, MemberState::Active)),
                Some(Some((RoomRole::Admin, true)))
            ),
            AccessDecision::Allowed {
                role: MemberRole::Guest,
                room: Some((RoomRole::Admin, true))
            }
        );
    }

    #[test]
    fn m11_denials_in_order() {
        let denied = AccessDecision::Denied;
        // Unknown identity wins over everything else.
        assert_eq!(
            access(None, ACTIVE_MEMBER, Some(None)),
            denied(AccessDenial::UnknownIdentity)
        );
        // Revoked wins over a membership row (there is none after I4, but
        // the decision must not depend on that).
        assert_eq!(
            access(Some(IdentityState::Revoked), ACTIVE_MEMBER, None),
            denied(AccessDenial::Revoked)
        );
        assert_eq!(
            access(
                Some(IdentityState::Active),
                None,
                Some(Some((RoomRole::Member, false)))
            ),
            denied(AccessDenial::NotMember)
        );
        // Deactivated denies even inside a room it still belongs to (M4).
        assert_eq!(
            access(
                Some(IdentityState::Active),
                Some((MemberRole::Admin, MemberState::Deactivated)),
                Some(Some((RoomRole::Admin, true)))
            ),
            denied(AccessDenial::Deactivated {
                role: MemberRole::Admin
            })
        );
        assert_eq!(
            access(Some(IdentityState::Active), ACTIVE_MEMBER, Some(None)),
            denied(AccessDenial::NotInRoom {
                role: MemberRole::Member
            })
        );
    }

    fn profile(identity: Option<IdentityState>, member: Option<MemberState>) -> Profile {
        render_profile(ProfileFacts {
            identity,
            member,
            display_name: "Ada".into(),
            avatar_url: "https://a/x.png".into(),
        })
    }

    #[test]
    fn m10_profiles_render_by_membership_and_identity_state() {
        assert_eq!(
            profile(Some(IdentityState::Active), Some(MemberState::Active)),
            Profile::Active {
                display_name: "Ada".into(),
                avatar_url: "https://a/x.png".into()
            }
        );
        // Deactivated: the name, never the avatar.
        assert_eq!(
            profile(Some(IdentityState::Active), Some(MemberState::Deactivated)),
            Profile::Deactivated {
                display_name: "Ada".into()
            }
        );
        // Removed (no membership), revoked, unknown: "Unknown user".
        assert_eq!(profile(Some(IdentityState::Active), None), Profile::Unknown);
        assert_eq!(
            profile(Some(IdentityState::Revoked), Some(MemberState::Active)),
            Profile::Unknown
        );
        assert_eq!(profile(None, None), Profile::Unknown);
    }

    #[test]
    fn l6_seat_is_held_by_sign_in_or_any_active_membership() {
        let seat = |attached, signed_in, holding_memberships| SeatFacts {
            attached,
            signed_in,
            holding_memberships,
        };
        assert!(seat_held(&seat(true, true, 0)));
        assert!(seat_held(&seat(true, false, 1)));
        assert!(!seat_held(&seat(true, false, 0)));
        assert!(!seat_held(&seat(false, false, 3)), "not attached: no seat");
        // Freed only when attached and nothing holds it any more.
        assert!(seat_freed(&seat(true, false, 0)));
        assert!(!seat_freed(&seat(true, true, 0)), "a sign-in keeps it");
        assert!(!seat_freed(&seat(true, false, 2)), "enterprise rule");
        assert!(!seat_freed(&seat(false, false, 0)), "freed only once");
    }

    fn facts() -> OffboardingFacts {
        OffboardingFacts {
            active: true,
            admin: false,
            other_active_admin: true,
            successor_active: None,
            last_admin_rooms: Vec::new(),
            room_count: 3,
            assignment_count: 2,
            seat: SeatFacts {
                attached: true,
                signed_in: false,
                holding_memberships: 0,
            },
        }
    }

    #[test]
    fn m6_removal_leaves_every_room_drops_assignments_frees_the_seat() {
        let plan = plan_offboarding(OffboardingAction::Remove, &facts());
        assert_eq!(
            plan,
            OffboardingPlan {
                blocking: vec![],
                last_admin_rooms: vec![],
                rooms_left: 3,
                assignments_dropped: 2,
                seat_freed: true,
            }
        );
    }

    #[test]
    fn m4_deactivation_keeps_rooms_and_assignments() {
        let plan = plan_offboarding(OffboardingAction::Deactivate, &facts());
        assert!(plan.blocking.is_empty());
        assert_eq!((plan.rooms_left, plan.assignments_dropped), (0, 0));
        assert!(plan.seat_freed);
        let mut again = facts();
        again.active = false;
        let plan = plan_offboarding(OffboardingAction::Deactivate, &again);
        assert_eq!(plan.blocking, vec![Reason::AlreadyDeactivated]);
    }

    #[test]
    fn m7_last_admin_rooms_block_without_a_successor_and_go_to_one() {
        let mut f = facts();
        f.last_admin_rooms = vec![room(1), room(2)];
        let plan = plan_offboarding(OffboardingAction::Remove, &f);
        assert_eq!(plan.blocking, vec![Reason::LastRoomAdmin]);
        let org = OrgId::from_trusted("org_0000000000000001".into());
        let who = IdentityId::from_trusted("AAAAAAAA".into());
        let Some(Error::FailedPrecondition { metadata, .. }) = plan.refusal(&org, &who, None)
        else {
            panic!("LAST_ROOM_ADMIN is a failed precondition");
        };
        assert!(metadata.contains(&("room_count", "2".to_owned())));
        assert!(plan.handed_to_successor(None).is_empty());

        f.successor_active = Some(true);
        let plan = plan_offboarding(OffboardingAction::Remove, &f);
        assert!(plan.blocking.is_empty());
        let successor = IdentityId::from_trusted("BBBBBBBB".into());
        assert_eq!(
            plan.handed_to_successor(Some(&successor)),
            &[room(1), room(2)]
        );
        // A deactivated member is no room's active admin: nothing to guard.
        f.active = false;
        f.successor_active = None;
        let plan = plan_offboarding(OffboardingAction::Remove, &f);
        assert!(plan.blocking.is_empty() && plan.last_admin_rooms.is_empty());
    }

    #[test]
    fn m2_m7_every_blocking_reason_in_check_order() {
        let mut f = facts();
        f.admin = true;
        f.other_active_admin = false;
        f.successor_active = Some(false);
        f.last_admin_rooms = vec![room(1)];
        let plan = plan_offboarding(OffboardingAction::Deactivate, &f);
        // With a successor named (even an inactive one), LAST_ROOM_ADMIN
        // does not apply: the successor check speaks instead.
        assert_eq!(
            plan.blocking,
            vec![Reason::LastOrganizationAdmin, Reason::SuccessorNotActive]
        );
        f.successor_active = None;
        let plan = plan_offboarding(OffboardingAction::Remove, &f);
        assert_eq!(
            plan.blocking,
            vec![Reason::LastOrganizationAdmin, Reason::LastRoomAdmin]
        );
        let org = OrgId::from_trusted("org_0000000000000001".into());
        let who = IdentityId::from_trusted("AAAAAAAA".into());
        let refusal = plan.refusal(&org, &who, None).and_then(|e| e.reason());
        assert_eq!(refusal, Some(Reason::LastOrganizationAdmin));
    }

    #[test]
    fn w1_the_etag_changes_with_every_fact_the_plan_depends_on() {
        let base = facts();
        let etag = |f: &OffboardingFacts| offboarding_etag(OffboardingAction::Remove, None, f);
        let same = etag(&base);
        assert!(is_offboarding_etag(&same), "{same}");
        assert_eq!(etag(&base.clone()), same, "stable for the same facts");
        let changes: Vec<fn(&mut OffboardingFacts)> = vec![
            |f| f.active = false,
            |f| f.admin = true,
            |f| f.other_active_admin = false,
            |f| f.successor_active = Some(true),
            |f| f.successor_active = Some(false),
            |f| f.last_admin_rooms.push(room(9)),
            |f| f.room_count += 1,
            |f| f.assignment_count += 1,
            |f| f.seat.attached = false,
            |f| f.seat.signed_in = true,
            |f| f.seat.holding_memberships += 1,
        ];
        let mut seen = std::collections::HashSet::from([same.clone()]);
        for change in &changes {
            let mut f = base.clone();
            change(&mut f);
            assert!(
                seen.insert(etag(&f)),
                "a change left the etag as it was: {f:?}"
            );
        }
        assert_ne!(
            offboarding_etag(OffboardingAction::Deactivate, None, &base),
            same,
            "the action is part of the plan"
        );
        let successor = IdentityId::from_trusted("BBBBBBBB".into());
        assert_ne!(
            offboarding_etag(OffboardingAction::Remove, Some(&successor), &base),
            same,
            "so is the successor"
        );
        assert!(!is_offboarding_etag("ABCDEF0123456789abcdef01"));
        assert!(!is_offboarding_etag("abc"));
    }

    #[test]
    fn l6_seat_effect_of_offboarding_follows_the_seat_rule() {
        let mut f = facts();
        f.seat.holding_memberships = 1;
        assert!(!plan_offboarding(OffboardingAction::Remove, &f).seat_freed);
        f.seat = SeatFacts {
            attached: true,
            signed_in: true,
            holding_memberships: 0,
        };
        assert!(!plan_offboarding(OffboardingAction::Deactivate, &f).seat_freed);
    }
}
