//! M7, the room-admin guard: the rooms an identity would leave without an
//! active room admin, refused (LAST_ROOM_ADMIN) or handed to a successor.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, Value};

use super::records::require_active_member;
use super::rows::{CHUNK, rows};
use super::{Txn, placeholders};
use crate::domain::policy::last_room_admin_error;
use crate::domain::{EventType, IdentityId, NewEvent, OrgId, Reason, Result, RoomId, RoomRole};

/// M7: the rooms of an organization (`rm`) where an identity is the last
/// active ADMIN; binds the organization and the identity.
pub(super) const LAST_ADMIN_ROOMS: &str = "FROM room_members rm \
     WHERE rm.organization_id = ? AND rm.identity_id = ? AND rm.role = 'ADMIN' \
     AND NOT EXISTS (SELECT 1 FROM room_members o JOIN members m \
         ON m.organization_id = o.organization_id AND m.identity_id = o.identity_id \
         WHERE o.room_id = rm.room_id AND o.role = 'ADMIN' \
         AND o.identity_id <> rm.identity_id AND m.state = 'ACTIVE')";

/// M7: rooms of `org` where `identity` is room ADMIN and no other room
/// admin is an ACTIVE member of the organization. One query. Only
/// meaningful while `identity` itself is an ACTIVE member.
pub(super) async fn orphaned_rooms<C: ConnectionTrait>(
    c: &C,
    org: &OrgId,
    identity: &IdentityId,
    only_room: Option<&RoomId>,
) -> Result<Vec<RoomId>> {
    let mut sql = format!("SELECT rm.room_id AS room_id {LAST_ADMIN_ROOMS}");
    let mut values: Vec<Value> = vec![org.as_str().into(), identity.as_str().into()];
    if let Some(room) = only_room {
        sql.push_str(" AND rm.room_id = ?");
        values.push(room.as_str().into());
    }
    sql.push_str(" ORDER BY rm.room_id");
    rows(c, &sql, values)
        .await?
        .iter()
        .map(|r| Ok(RoomId::from_trusted(r.try_get("", "room_id")?)))
        .collect()
}

/// Makes `successor` room ADMIN of `rooms` (adding it where it is not in
/// the room yet): one upsert per 500 rooms, one event per room.
pub(super) async fn hand_over_rooms(
    txn: &mut Txn,
    org: &OrgId,
    successor: &IdentityId,
    rooms: &[RoomId],
    reason: &str,
) -> Result<()> {
    let now = txn.now_ms();
    for chunk in rooms.chunks(CHUNK) {
        let mut values: Vec<Value> = vec![successor.as_str().into()];
        values.extend(chunk.iter().map(|r| r.as_str().into()));
        let existing: HashSet<String> = txn
            .query_all(
                &format!(
                    "SELECT room_id FROM room_members WHERE identity_id = ? AND room_id IN ({})",
                    placeholders(chunk.len())
                ),
                values,
            )
            .await?
            .iter()
            .map(|r| r.try_get::<String>("", "room_id"))
            .collect::<std::result::Result<_, _>>()?;
        let mut sql = String::from(
            "INSERT INTO room_members \
             (room_id, identity_id, organization_id, role, can_delete_entries, added_at) VALUES ",
        );
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 5);
        for (i, room) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str("(?, ?, ?, 'ADMIN', ?, ?)");
            values.extend([
                room.as_str().into(),
                successor.as_str().into(),
                org.as_str().into(),
                true.into(),
                now.into(),
            ]);
        }
        sql.push_str(" ON CONFLICT (room_id, identity_id) DO UPDATE SET role = 'ADMIN'");
        txn.exec(&sql, values).await?;
        for room in chunk {
            let kind = if existing.contains(room.as_str()) {
                EventType::RoomMemberUpdated
            } else {
                EventType::RoomMemberAdded
            };
            txn.emit(
                NewEvent::new(kind, successor.as_str())
                    .identity(successor)
                    .org(org)
                    .room(room)
                    .reason(reason)
                    .attr("role", RoomRole::Admin.as_str()),
            );
        }
    }
    Ok(())
}

/// The M7 guard with an optional successor, inside the transaction: finds
/// the rooms `identity` would leave without an active admin and either
/// refuses (LAST_ROOM_ADMIN) or hands them to `successor`. Returns the
/// rooms handed over.
pub(super) async fn guard_rooms(
    txn: &mut Txn,
    org: &OrgId,
    identity: &IdentityId,
    identity_active: bool,
    only_room: Option<&RoomId>,
    successor: Option<&IdentityId>,
) -> Result<Vec<RoomId>> {
    if let Some(s) = successor {
        require_active_member(txn.conn(), org, s, Reason::SuccessorNotActive).await?;
    }
    if !identity_active {
        return Ok(Vec::new());
    }
    let orphaned = orphaned_rooms(txn.conn(), org, identity, only_room).await?;
    if orphaned.is_empty() {
        return Ok(orphaned);
    }
    let Some(successor) = successor else {
        return Err(last_room_admin_error(&orphaned));
    };
    hand_over_rooms(txn, org, successor, &orphaned, "SUCCESSOR").await?;
    Ok(orphaned)
}
