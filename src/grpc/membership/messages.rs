//! Enum and message conversions between the wire and the domain.

use prost_types::Duration as PbDuration;

use super::super::convert::{opt_ts, ts};
use crate::domain::{
    self, AccessDecision, AccessDenial, IdentityId, MemberRole, Profile, RoomRole,
};
use crate::pb;

pub(super) fn role_from_pb(r: pb::MemberRole) -> Option<MemberRole> {
    match r {
        pb::MemberRole::Unspecified => None,
        pb::MemberRole::Admin => Some(MemberRole::Admin),
        pb::MemberRole::Member => Some(MemberRole::Member),
        pb::MemberRole::Guest => Some(MemberRole::Guest),
    }
}

pub(super) fn role_to_pb(r: MemberRole) -> pb::MemberRole {
    match r {
        MemberRole::Admin => pb::MemberRole::Admin,
        MemberRole::Member => pb::MemberRole::Member,
        MemberRole::Guest => pb::MemberRole::Guest,
    }
}

pub(super) fn state_from_pb(s: pb::MemberState) -> Option<domain::MemberState> {
    match s {
        pb::MemberState::Unspecified => None,
        pb::MemberState::Active => Some(domain::MemberState::Active),
        pb::MemberState::Deactivated => Some(domain::MemberState::Deactivated),
    }
}

pub(super) fn state_to_pb(s: domain::MemberState) -> pb::MemberState {
    match s {
        domain::MemberState::Active => pb::MemberState::Active,
        domain::MemberState::Deactivated => pb::MemberState::Deactivated,
    }
}

pub(super) fn room_role_from_pb(r: pb::RoomRole) -> Option<RoomRole> {
    match r {
        pb::RoomRole::Unspecified => None,
        pb::RoomRole::Admin => Some(RoomRole::Admin),
        pb::RoomRole::Member => Some(RoomRole::Member),
    }
}

pub(super) fn room_role_to_pb(r: RoomRole) -> pb::RoomRole {
    match r {
        RoomRole::Admin => pb::RoomRole::Admin,
        RoomRole::Member => pb::RoomRole::Member,
    }
}

pub(super) fn reason_to_pb(r: domain::DeactivationReason) -> pb::DeactivationReason {
    use domain::DeactivationReason as D;
    match r {
        D::ParentalLeave => pb::DeactivationReason::ParentalLeave,
        D::Sabbatical => pb::DeactivationReason::Sabbatical,
        D::ProjectPaused => pb::DeactivationReason::ProjectPaused,
        D::Other => pb::DeactivationReason::Other,
        D::Inactivity => pb::DeactivationReason::Inactivity,
    }
}

pub(super) fn kind_from_pb(k: pb::AssignmentKind) -> Option<domain::AssignmentKind> {
    match k {
        pb::AssignmentKind::Unspecified => None,
        pb::AssignmentKind::Task => Some(domain::AssignmentKind::Task),
        pb::AssignmentKind::Appointment => Some(domain::AssignmentKind::Appointment),
    }
}

pub(super) fn kind_to_pb(k: domain::AssignmentKind) -> pb::AssignmentKind {
    match k {
        domain::AssignmentKind::Task => pb::AssignmentKind::Task,
        domain::AssignmentKind::Appointment => pb::AssignmentKind::Appointment,
    }
}

pub(super) fn permissions(can_delete_entries: bool) -> Vec<i32> {
    if can_delete_entries {
        vec![pb::RoomPermission::DeleteEntries as i32]
    } else {
        Vec::new()
    }
}

impl From<domain::Organization> for pb::Organization {
    fn from(o: domain::Organization) -> Self {
        pb::Organization {
            organization_id: o.id.to_string(),
            display_name: o.display_name,
            package_id: o.package_id.to_string(),
            parent_organization_id: o.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            guest_inactivity_deactivation: o
                .guest_inactivity_secs
                .map(|seconds| PbDuration { seconds, nanos: 0 }),
            removal_undo_window: Some(PbDuration {
                seconds: o.removal_undo_window_secs,
                nanos: 0,
            }),
            create_time: ts(o.created_at),
        }
    }
}

impl From<domain::Member> for pb::Member {
    fn from(m: domain::Member) -> Self {
        pb::Member {
            organization_id: m.org_id.to_string(),
            identity_id: m.identity_id.to_string(),
            role: role_to_pb(m.role) as i32,
            state: state_to_pb(m.state) as i32,
            join_time: ts(m.joined_at),
            last_activity_time: ts(m.last_activity_at),
            deactivation: m.deactivation.map(|d| pb::Deactivation {
                reason: reason_to_pb(d.reason) as i32,
                note: d.note,
                expected_return_time: opt_ts(d.expected_return_at),
                deactivate_time: ts(d.deactivated_at),
                actor_id: d.actor_id,
            }),
        }
    }
}

impl From<domain::Room> for pb::Room {
    fn from(r: domain::Room) -> Self {
        pb::Room {
            room_id: r.id.to_string(),
            organization_id: r.org_id.to_string(),
            display_name: r.display_name,
            create_time: ts(r.created_at),
        }
    }
}

impl From<domain::RoomMember> for pb::RoomMember {
    fn from(m: domain::RoomMember) -> Self {
        pb::RoomMember {
            room_id: m.room_id.to_string(),
            identity_id: m.identity_id.to_string(),
            role: room_role_to_pb(m.role) as i32,
            permissions: permissions(m.can_delete_entries),
            member_state: state_to_pb(m.member_state) as i32,
        }
    }
}

impl From<domain::Assignment> for pb::Assignment {
    fn from(a: domain::Assignment) -> Self {
        pb::Assignment {
            assignment_id: a.id.to_string(),
            organization_id: a.org_id.to_string(),
            room_id: a.room_id.to_string(),
            assignee_identity_id: a.assignee.map(|i| i.to_string()).unwrap_or_default(),
            kind: kind_to_pb(a.kind) as i32,
            title: a.title,
            create_time: ts(a.created_at),
        }
    }
}

/// The name shown for removed, never-member, revoked and unknown IDs.
pub const UNKNOWN_USER: &str = "Unknown user";
/// The badge of a deactivated member.
pub const DEACTIVATED_BADGE: &str = "D";

pub(super) fn profile_to_pb(id: &IdentityId, p: Profile) -> pb::Profile {
    match p {
        Profile::Active {
            display_name,
            avatar_url,
        } => pb::Profile {
            identity_id: id.to_string(),
            status: pb::ProfileStatus::Active as i32,
            display_name,
            avatar_url,
            strikethrough: false,
            badge: String::new(),
        },
        Profile::Deactivated { display_name } => pb::Profile {
            identity_id: id.to_string(),
            status: pb::ProfileStatus::Deactivated as i32,
            display_name,
            avatar_url: String::new(),
            strikethrough: true,
            badge: DEACTIVATED_BADGE.to_owned(),
        },
        Profile::Unknown => pb::Profile {
            identity_id: id.to_string(),
            status: pb::ProfileStatus::Unknown as i32,
            display_name: UNKNOWN_USER.to_owned(),
            avatar_url: String::new(),
            strikethrough: false,
            badge: String::new(),
        },
    }
}

pub(super) fn access_to_pb(d: AccessDecision) -> pb::CheckAccessResponse {
    let denied =
        |reason: pb::AccessDenialReason, role: Option<MemberRole>| pb::CheckAccessResponse {
            allowed: false,
            denial_reason: reason as i32,
            role: role.map_or(pb::MemberRole::Unspecified, role_to_pb) as i32,
            room_role: pb::RoomRole::Unspecified as i32,
            room_permissions: Vec::new(),
        };
    match d {
        AccessDecision::Allowed { role, room } => pb::CheckAccessResponse {
            allowed: true,
            denial_reason: pb::AccessDenialReason::Unspecified as i32,
            role: role_to_pb(role) as i32,
            room_role: room.map_or(pb::RoomRole::Unspecified, |(r, _)| room_role_to_pb(r)) as i32,
            room_permissions: room.map(|(_, d)| permissions(d)).unwrap_or_default(),
        },
        AccessDecision::Denied(AccessDenial::NotMember) => {
            denied(pb::AccessDenialReason::NotMember, None)
        }
        AccessDecision::Denied(AccessDenial::Deactivated { role }) => {
            denied(pb::AccessDenialReason::Deactivated, Some(role))
        }
        AccessDecision::Denied(AccessDenial::Revoked) => {
            denied(pb::AccessDenialReason::Revoked, None)
        }
        AccessDecision::Denied(AccessDenial::NotInRoom { role }) => {
            denied(pb::AccessDenialReason::NotInRoom, Some(role))
        }
        AccessDecision::Denied(AccessDenial::UnknownIdentity) => {
            denied(pb::AccessDenialReason::UnknownIdentity, None)
        }
    }
}
