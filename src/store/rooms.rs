//! Rooms, room members, room roles and permissions (M9), with the
//! room-admin guard (M7) on demotion and removal.

use sea_orm::Value;

use super::records::{
    insert_room_member, load_room, load_room_member, lock_org, member_event, member_role,
    member_state, require_active_member, room_member_from_row, room_member_not_found,
    room_not_found, room_role, to_room,
};
use super::room_guard::guard_rooms;
use super::rows::{keyset_page, one};
use super::{Store, Txn, to_time};
use crate::domain::{
    Actor, Error, EventType, IdentityId, MemberRole, MemberState, NewEvent, OrgId, Page,
    PageRequest, Reason, Result, Room, RoomId, RoomMember, RoomRole,
};

/// An identity's standing in a room and its organization (authorization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomStanding {
    /// The room's organization.
    pub org_id: OrgId,
    /// Role and state in the organization, when a member.
    pub member: Option<(MemberRole, MemberState)>,
    /// Role in the room, when in it.
    pub room_role: Option<RoomRole>,
}

impl Store {
    /// A room's organization and `identity`'s standing in both; `None` when
    /// the room does not exist. One query.
    pub async fn room_standing(
        &self,
        room: &RoomId,
        identity: &IdentityId,
    ) -> Result<Option<RoomStanding>> {
        let Some(r) = one(
            &self.db,
            "SELECT r.organization_id AS organization_id, m.role AS member_role, \
                    m.state AS member_state, rm.role AS room_role \
             FROM rooms r \
             LEFT JOIN members m ON m.organization_id = r.organization_id AND m.identity_id = ? \
             LEFT JOIN room_members rm ON rm.room_id = r.id AND rm.identity_id = ? \
             WHERE r.id = ?",
            vec![
                identity.as_str().into(),
                identity.as_str().into(),
                room.as_str().into(),
            ],
        )
        .await?
        else {
            return Ok(None);
        };
        let role: Option<String> = r.try_get("", "member_role")?;
        let state: Option<String> = r.try_get("", "member_state")?;
        let room_role_text: Option<String> = r.try_get("", "room_role")?;
        Ok(Some(RoomStanding {
            org_id: OrgId::from_trusted(r.try_get("", "organization_id")?),
            member: role
                .zip(state)
                .map(|(role, state)| (member_role(&role), member_state(&state))),
            room_role: room_role_text.as_deref().map(room_role),
        }))
    }

    /// M3: creates a room whose first admin is an ACTIVE member.
    pub async fn create_room(
        &self,
        actor: Actor,
        org: &OrgId,
        display_name: &str,
        admin: &IdentityId,
    ) -> Result<Room> {
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            require_active_member(txn.conn(), org, admin, Reason::NotActiveMember).await?;
            let id = RoomId::generate();
            let now = txn.now_ms();
            txn.exec(
            "INSERT INTO rooms (id, organization_id, display_name, created_at) VALUES (?, ?, ?, ?)",
            vec![
                id.as_str().into(),
                org.as_str().into(),
                display_name.into(),
                now.into(),
            ],
        )
        .await?;
            insert_room_member(&txn, &id, org, admin, RoomRole::Admin, true).await?;
            txn.emit(
                NewEvent::new(EventType::RoomCreated, id.as_str())
                    .org(org)
                    .room(&id),
            );
            txn.emit(
                member_event(EventType::RoomMemberAdded, org, admin)
                    .room(&id)
                    .attr("role", RoomRole::Admin.as_str()),
            );

            Ok((
                txn,
                Room {
                    id,
                    org_id: org.clone(),
                    display_name: display_name.to_owned(),
                    created_at: to_time(now),
                },
            ))
        })
        .await
    }

    /// One room.
    pub async fn get_room(&self, room: &RoomId) -> Result<Room> {
        Ok(to_room(load_room(&self.db, room).await?))
    }

    /// M3: adds an ACTIVE member of the room's organization to the room.
    pub async fn add_room_member(
        &self,
        actor: Actor,
        room: &RoomId,
        identity: &IdentityId,
        role: RoomRole,
        can_delete_entries: bool,
    ) -> Result<RoomMember> {
        self.write(&actor, |mut txn| async move {
            let org = OrgId::from_trusted(load_room(txn.conn(), room).await?.organization_id);
            lock_org(&txn, &org).await?;
            // A DeleteRoom may have committed while this waited for the lock.
            load_room(txn.conn(), room).await?;
            require_active_member(txn.conn(), &org, identity, Reason::NotActiveMember).await?;
            if load_room_member(txn.conn(), room, identity)
                .await?
                .is_some()
            {
                return Err(Error::already_exists(
                    Reason::AlreadyRoomMember,
                    format!("{identity} is already in room {room}"),
                ));
            }
            insert_room_member(&txn, room, &org, identity, role, can_delete_entries).await?;
            txn.emit(
                member_event(EventType::RoomMemberAdded, &org, identity)
                    .room(room)
                    .attr("role", role.as_str())
                    .attr("delete_entries", can_delete_entries.to_string()),
            );

            Ok((
                txn,
                RoomMember {
                    room_id: room.clone(),
                    identity_id: identity.clone(),
                    role,
                    can_delete_entries,
                    member_state: MemberState::Active,
                },
            ))
        })
        .await
    }

    /// M3/M7: changes a room member's role and delete permission; the
    /// room's last active admin cannot be demoted.
    pub async fn update_room_member(
        &self,
        actor: Actor,
        room: &RoomId,
        identity: &IdentityId,
        role: Option<RoomRole>,
        can_delete_entries: Option<bool>,
    ) -> Result<RoomMember> {
        self.write(&actor, |mut txn| async move {
            let org = OrgId::from_trusted(load_room(txn.conn(), room).await?.organization_id);
            lock_org(&txn, &org).await?;
            let mut current = load_room_member(txn.conn(), room, identity)
                .await?
                .ok_or_else(|| room_member_not_found(room, identity))?;
            let new_role = role.unwrap_or(current.role);
            let new_delete = can_delete_entries.unwrap_or(current.can_delete_entries);
            if new_role == current.role && new_delete == current.can_delete_entries {
                txn.nothing_changed();
                return Ok((txn, current));
            }
            if current.role == RoomRole::Admin && new_role != RoomRole::Admin {
                guard_rooms(
                    &mut txn,
                    &org,
                    identity,
                    current.member_state == MemberState::Active,
                    Some(room),
                    None,
                )
                .await?;
            }
            txn.exec(
                "UPDATE room_members SET role = ?, can_delete_entries = ? \
             WHERE room_id = ? AND identity_id = ?",
                vec![
                    new_role.as_str().into(),
                    new_delete.into(),
                    room.as_str().into(),
                    identity.as_str().into(),
                ],
            )
            .await?;
            txn.emit(
                member_event(EventType::RoomMemberUpdated, &org, identity)
                    .room(room)
                    .attr("role", new_role.as_str())
                    .attr("delete_entries", new_delete.to_string()),
            );

            current.role = new_role;
            current.can_delete_entries = new_delete;
            Ok((txn, current))
        })
        .await
    }

    /// M3/M7: takes `identity` out of a room (RemoveRoomMember, or LeaveRoom
    /// when `leaving`). The room's last active admin needs a successor, who
    /// becomes room admin in the same transaction.
    pub async fn remove_room_member(
        &self,
        actor: Actor,
        room: &RoomId,
        identity: &IdentityId,
        successor: Option<&IdentityId>,
        leaving: bool,
    ) -> Result<()> {
        self.write(&actor, |mut txn| async move {
            let org = OrgId::from_trusted(load_room(txn.conn(), room).await?.organization_id);
            lock_org(&txn, &org).await?;
            let current = load_room_member(txn.conn(), room, identity)
                .await?
                .ok_or_else(|| room_member_not_found(room, identity))?;
            if current.role == RoomRole::Admin {
                guard_rooms(
                    &mut txn,
                    &org,
                    identity,
                    current.member_state == MemberState::Active,
                    Some(room),
                    successor,
                )
                .await?;
            } else if let Some(s) = successor {
                require_active_member(txn.conn(), &org, s, Reason::SuccessorNotActive).await?;
            }
            txn.exec(
                "DELETE FROM room_members WHERE room_id = ? AND identity_id = ?",
                vec![room.as_str().into(), identity.as_str().into()],
            )
            .await?;
            txn.emit(
                member_event(EventType::RoomMemberRemoved, &org, identity)
                    .room(room)
                    .reason(if leaving { "LEFT" } else { "REMOVED" }),
            );

            Ok((txn, ()))
        })
        .await
    }

    /// M3: DeleteRoom. The room, its room memberships and its assignments
    /// are deleted in one transaction with ROOM_DELETED.
    pub async fn delete_room(&self, actor: Actor, room: &RoomId) -> Result<()> {
        self.write(&actor, |mut txn| async move {
            let org = OrgId::from_trusted(load_room(txn.conn(), room).await?.organization_id);
            lock_org(&txn, &org).await?;
            apply_room_deletion(&mut txn, &org, room, None).await?;
            Ok((txn, ()))
        })
        .await
    }

    /// M3: a room's members ordered by identity ID, with their state in the
    /// organization.
    pub async fn list_room_members(
        &self,
        room: &RoomId,
        page: &PageRequest,
    ) -> Result<Page<RoomMember>> {
        load_room(&self.db, room).await?;
        let sql = String::from(
            "SELECT rm.room_id AS room_id, rm.identity_id AS identity_id, rm.role AS role, \
                    rm.can_delete_entries AS can_delete_entries, m.state AS member_state \
             FROM room_members rm LEFT JOIN members m \
               ON m.organization_id = rm.organization_id AND m.identity_id = rm.identity_id \
             WHERE rm.room_id = ?",
        );
        let values: Vec<Value> = vec![room.as_str().into()];
        keyset_page(
            &self.db,
            sql,
            values,
            "rm.identity_id",
            page,
            room_member_from_row,
            |m| m.identity_id.to_string(),
        )
        .await
    }
}

/// DeleteRoom's step (also SCIM's DELETE /Groups/{id}), under the
/// organization's lock: the room's assignments, room memberships and SCIM
/// attributes, then the room, with one ROOM_DELETED (counts in its
/// attributes; `reason` when given). A room that is gone (deleted since it
/// was read) is ROOM_NOT_FOUND. The undo copies of removed members keep
/// their rows of the room: an undo counts the room as gone (W6).
pub(super) async fn apply_room_deletion(
    txn: &mut Txn,
    org: &OrgId,
    room: &RoomId,
    reason: Option<&str>,
) -> Result<()> {
    let gone = txn
        .query_one(
            "SELECT id FROM rooms WHERE id = ? AND organization_id = ?",
            vec![room.as_str().into(), org.as_str().into()],
        )
        .await?
        .is_none();
    if gone {
        return Err(room_not_found(room));
    }
    let key = || -> Vec<Value> { vec![room.as_str().into()] };
    let assignments = txn
        .exec("DELETE FROM assignments WHERE room_id = ?", key())
        .await?;
    let members = txn
        .exec("DELETE FROM room_members WHERE room_id = ?", key())
        .await?;
    for table in ["scim_groups", "scim_group_stewards"] {
        txn.exec(&format!("DELETE FROM {table} WHERE room_id = ?"), key())
            .await?;
    }
    txn.exec("DELETE FROM rooms WHERE id = ?", key()).await?;
    let mut event = NewEvent::new(EventType::RoomDeleted, room.as_str())
        .org(org)
        .room(room)
        .attr("room_members_removed", members.to_string())
        .attr("assignments_deleted", assignments.to_string());
    if let Some(r) = reason {
        event = event.reason(r);
    }
    txn.emit(event);
    Ok(())
}
