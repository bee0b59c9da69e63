//! Rows, locks and conversions shared by the membership areas
//! (organizations, members, rooms, assignments, offboarding, the sweep).
//!
//! Every membership-changing operation is one transaction that locks the
//! organization row first (after the identity row when it locks one, before
//! any license package), so the last-admin and room-admin guards decide on
//! a stable picture. Bulk effects (leaving every room, dropping
//! assignments, handing rooms to a successor, the inactivity sweep) are
//! set-based statements whose number does not grow with the number of rooms
//! or assignments.

use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, QueryResult};

use super::entities::{member, organization, room};
use super::rows::{CHUNK, count, one};
use super::{Txn, placeholders, to_time};
use crate::domain::{
    Deactivation, DeactivationReason, Error, EventType, IdentityId, IdentityState, Member,
    MemberRole, MemberState, NewEvent, OrgId, Organization, PackageId, Reason, Result, Room,
    RoomId, RoomMember, RoomRole,
};

pub(super) const MEMBER_COLS: &str = "organization_id, identity_id, package_id, role, state, joined_at, \
     last_activity_at, deactivation_reason, deactivation_note, expected_return_at, \
     deactivated_at, deactivated_by, tenure";

pub(super) const ORG_COLS: &str = "id, display_name, package_id, parent_id, guest_inactivity_ms, removal_undo_window_ms, \
     created_at";

pub(super) fn org_not_found(org: &OrgId) -> Error {
    Error::not_found(
        Reason::OrganizationNotFound,
        format!("organization {org} does not exist"),
    )
}

pub(super) fn room_not_found(room: &RoomId) -> Error {
    Error::not_found(Reason::RoomNotFound, format!("room {room} does not exist"))
}

pub(super) fn member_not_found(org: &OrgId, id: &IdentityId) -> Error {
    Error::not_found(
        Reason::MemberNotFound,
        format!("{id} is not a member of organization {org}"),
    )
}

pub(super) fn room_member_not_found(room: &RoomId, id: &IdentityId) -> Error {
    Error::not_found(
        Reason::RoomMemberNotFound,
        format!("{id} is not a member of room {room}"),
    )
}

pub(super) fn to_org(m: organization::Model) -> Organization {
    Organization {
        id: OrgId::from_trusted(m.id),
        display_name: m.display_name,
        package_id: PackageId::from_trusted(m.package_id),
        parent_id: m.parent_id.map(OrgId::from_trusted),
        guest_inactivity_secs: m.guest_inactivity_ms.map(|ms| ms / 1000),
        removal_undo_window_secs: m.removal_undo_window_ms / 1000,
        created_at: to_time(m.created_at),
    }
}

pub(super) fn member_role(s: &str) -> MemberRole {
    MemberRole::from_db(s).unwrap_or(MemberRole::Guest)
}

pub(super) fn member_state(s: &str) -> MemberState {
    MemberState::from_db(s).unwrap_or(MemberState::Deactivated)
}

pub(super) fn room_role(s: &str) -> RoomRole {
    RoomRole::from_db(s).unwrap_or(RoomRole::Member)
}

pub(super) fn to_member(m: member::Model) -> Member {
    let state = member_state(&m.state);
    let deactivation = (state == MemberState::Deactivated).then(|| Deactivation {
        reason: m
            .deactivation_reason
            .as_deref()
            .and_then(DeactivationReason::from_db)
            .unwrap_or(DeactivationReason::Other),
        note: m.deactivation_note.clone().unwrap_or_default(),
        expected_return_at: m.expected_return_at.map(to_time),
        deactivated_at: to_time(m.deactivated_at.unwrap_or_default()),
        actor_id: m.deactivated_by.clone().unwrap_or_default(),
    });
    Member {
        org_id: OrgId::from_trusted(m.organization_id),
        identity_id: IdentityId::from_trusted(m.identity_id),
        role: member_role(&m.role),
        state,
        joined_at: to_time(m.joined_at),
        last_activity_at: to_time(m.last_activity_at),
        deactivation,
    }
}

pub(super) fn member_from_row(r: &QueryResult) -> Result<Member> {
    Ok(to_member(member::Model::from_query_result(r, "")?))
}

pub(super) fn to_room(m: room::Model) -> Room {
    Room {
        id: RoomId::from_trusted(m.id),
        org_id: OrgId::from_trusted(m.organization_id),
        display_name: m.display_name,
        created_at: to_time(m.created_at),
    }
}

pub(super) fn room_member_from_row(r: &QueryResult) -> Result<RoomMember> {
    let role: String = r.try_get("", "role")?;
    let state: Option<String> = r.try_get("", "member_state")?;
    Ok(RoomMember {
        room_id: RoomId::from_trusted(r.try_get("", "room_id")?),
        identity_id: IdentityId::from_trusted(r.try_get("", "identity_id")?),
        role: room_role(&role),
        can_delete_entries: r.try_get("", "can_delete_entries")?,
        member_state: state
            .as_deref()
            .map_or(MemberState::Deactivated, member_state),
    })
}

/// Locks the organization row (PostgreSQL `FOR UPDATE`) and returns it.
pub(super) async fn lock_org(txn: &Txn, org: &OrgId) -> Result<organization::Model> {
    let sql = format!(
        "SELECT {ORG_COLS} FROM organizations WHERE id = ?{}",
        txn.for_update()
    );
    let row = txn
        .query_one(&sql, vec![org.as_str().into()])
        .await?
        .ok_or_else(|| org_not_found(org))?;
    Ok(organization::Model::from_query_result(&row, "")?)
}

/// Locks several organization rows in ID order (one statement per 500).
pub(super) async fn lock_orgs(txn: &Txn, orgs: &[OrgId]) -> Result<()> {
    let mut sorted: Vec<&str> = orgs.iter().map(OrgId::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    for chunk in sorted.chunks(CHUNK) {
        let sql = format!(
            "SELECT id FROM organizations WHERE id IN ({}) ORDER BY id{}",
            placeholders(chunk.len()),
            txn.for_update()
        );
        txn.query_all(&sql, chunk.iter().map(|s| (*s).into()).collect())
            .await?;
    }
    Ok(())
}

pub(super) async fn load_member<C: ConnectionTrait>(
    c: &C,
    org: &OrgId,
    identity: &IdentityId,
) -> Result<Option<member::Model>> {
    Ok(
        member::Entity::find_by_id((org.to_string(), identity.to_string()))
            .one(c)
            .await?,
    )
}

pub(super) async fn load_room<C: ConnectionTrait>(c: &C, id: &RoomId) -> Result<room::Model> {
    room::Entity::find_by_id(id.as_str())
        .one(c)
        .await?
        .ok_or_else(|| room_not_found(id))
}

/// The member row of an ACTIVE member, or `reason` (SUCCESSOR_NOT_ACTIVE,
/// NOT_ACTIVE_MEMBER).
pub(super) async fn require_active_member<C: ConnectionTrait>(
    c: &C,
    org: &OrgId,
    identity: &IdentityId,
    reason: Reason,
) -> Result<member::Model> {
    match load_member(c, org, identity).await? {
        Some(m) if m.state == MemberState::Active.as_str() => Ok(m),
        _ => Err(Error::precondition(
            reason,
            format!("{identity} is not an active member of organization {org}"),
        )),
    }
}

/// Refuses when `identity` is the organization's only ACTIVE ADMIN (M2).
pub(super) async fn ensure_other_active_admin<C: ConnectionTrait>(
    c: &C,
    org: &OrgId,
    identity: &IdentityId,
) -> Result<()> {
    if has_other_active_admin(c, org, identity).await? {
        Ok(())
    } else {
        Err(Error::precondition(
            Reason::LastOrganizationAdmin,
            format!(
                "{identity} is the last active admin of organization {org}; make another \
                 member ADMIN first"
            ),
        ))
    }
}

pub(super) async fn has_other_active_admin<C: ConnectionTrait>(
    c: &C,
    org: &OrgId,
    identity: &IdentityId,
) -> Result<bool> {
    Ok(count(
        c,
        "SELECT COUNT(*) AS n FROM members WHERE organization_id = ? AND role = 'ADMIN' \
         AND state = 'ACTIVE' AND identity_id <> ?",
        vec![org.as_str().into(), identity.as_str().into()],
    )
    .await?
        > 0)
}

pub(super) fn member_event(kind: EventType, org: &OrgId, identity: &IdentityId) -> NewEvent {
    NewEvent::new(kind, identity.as_str())
        .identity(identity)
        .org(org)
}

pub(super) fn prefixed_member_cols(alias: &str) -> String {
    MEMBER_COLS
        .split(", ")
        .map(|c| format!("{alias}.{c} AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A fresh tenure for a joining member: random, so a re-added identity
/// never matches the assignments of an earlier membership.
pub(super) fn new_tenure() -> i64 {
    use rand::RngExt;
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).random::<i64>()
}

pub(super) async fn insert_member(
    txn: &Txn,
    org: &OrgId,
    identity: &IdentityId,
    package: &PackageId,
    role: MemberRole,
) -> Result<Member> {
    let now = txn.now_ms();
    txn.exec(
        "INSERT INTO members (organization_id, identity_id, package_id, role, state, joined_at, \
         last_activity_at, tenure) VALUES (?, ?, ?, ?, 'ACTIVE', ?, ?, ?)",
        vec![
            org.as_str().into(),
            identity.as_str().into(),
            package.as_str().into(),
            role.as_str().into(),
            now.into(),
            now.into(),
            new_tenure().into(),
        ],
    )
    .await?;
    Ok(Member {
        org_id: org.clone(),
        identity_id: identity.clone(),
        role,
        state: MemberState::Active,
        joined_at: to_time(now),
        last_activity_at: to_time(now),
        deactivation: None,
    })
}

pub(super) async fn insert_room_member(
    txn: &Txn,
    room: &RoomId,
    org: &OrgId,
    identity: &IdentityId,
    role: RoomRole,
    can_delete_entries: bool,
) -> Result<()> {
    txn.exec(
        "INSERT INTO room_members (room_id, identity_id, organization_id, role, \
         can_delete_entries, added_at) VALUES (?, ?, ?, ?, ?, ?)",
        vec![
            room.as_str().into(),
            identity.as_str().into(),
            org.as_str().into(),
            role.as_str().into(),
            can_delete_entries.into(),
            txn.now_ms().into(),
        ],
    )
    .await?;
    Ok(())
}

/// A room member with its state in the organization, when in the room.
pub(super) async fn load_room_member<C: ConnectionTrait>(
    c: &C,
    room: &RoomId,
    identity: &IdentityId,
) -> Result<Option<RoomMember>> {
    one(
        c,
        "SELECT rm.room_id AS room_id, rm.identity_id AS identity_id, rm.role AS role, \
                rm.can_delete_entries AS can_delete_entries, m.state AS member_state \
         FROM room_members rm LEFT JOIN members m \
           ON m.organization_id = rm.organization_id AND m.identity_id = rm.identity_id \
         WHERE rm.room_id = ? AND rm.identity_id = ?",
        vec![room.as_str().into(), identity.as_str().into()],
    )
    .await?
    .as_ref()
    .map(room_member_from_row)
    .transpose()
}

/// Locks the identity row (one statement) and checks it is ACTIVE;
/// returns its creation time in milliseconds.
pub(super) async fn lock_active_identity(txn: &Txn, id: &IdentityId) -> Result<i64> {
    let row = txn
        .query_one(
            &format!(
                "SELECT state, created_at FROM identities WHERE id = ?{}",
                txn.for_update()
            ),
            vec![id.as_str().into()],
        )
        .await?
        .ok_or_else(|| identity_not_found(id))?;
    let state: String = row.try_get("", "state")?;
    if state != IdentityState::Active.as_str() {
        return Err(identity_revoked(id));
    }
    Ok(row.try_get("", "created_at")?)
}

pub(super) fn identity_revoked(id: &IdentityId) -> Error {
    Error::precondition(Reason::IdentityRevoked, format!("identity {id} is revoked"))
}

pub(super) fn identity_not_found(id: &IdentityId) -> Error {
    Error::not_found(
        Reason::IdentityNotFound,
        format!("identity {id} does not exist"),
    )
}
