//! SCIM Groups: the rooms of an organization (`scim_groups` keeps their
//! externalId); membership changes run the room steps of the gRPC calls.

use sea_orm::{QueryResult, Value};

use super::{external_id_taken, org_admins, report_left_without_admin};
use crate::domain::policy::LeftWithoutAdmin;
use crate::domain::{
    Actor, Error, EventType, IdentityId, MemberState, NewEvent, OrgId, Reason, Result, RoomId,
    RoomRole, ScimGroup, ScimGroupChange,
};
use crate::store::records::{
    insert_room_member, load_room_member, lock_org, member_event, require_active_member,
    room_not_found,
};
use crate::store::room_guard::{hand_over_rooms, orphaned_rooms};
use crate::store::rooms::apply_room_deletion;
use crate::store::rows::{count, rows};
use crate::store::{Store, Txn, to_time};

/// A room as a Group row (alias `r`, with `scim_groups` as `sg`).
const GROUP_SELECT: &str = "SELECT r.id AS id, r.organization_id AS organization_id, \
     r.display_name AS display_name, \
     r.created_at AS created_at, sg.external_id AS external_id \
     FROM rooms r LEFT JOIN scim_groups sg ON sg.room_id = r.id";

/// Sets (or, with None, clears) a room's SCIM externalId; refuses one
/// another room of `org` holds. Returns whether it changed.
async fn put_group_external_id(
    txn: &Txn,
    org: &OrgId,
    room: &RoomId,
    current: Option<&str>,
    wanted: Option<&str>,
) -> Result<bool> {
    if current == wanted {
        return Ok(false);
    }
    txn.exec(
        "DELETE FROM scim_groups WHERE room_id = ?",
        vec![room.as_str().into()],
    )
    .await?;
    if let Some(ext) = wanted {
        let taken = txn
            .query_one(
                "SELECT room_id FROM scim_groups WHERE organization_id = ? AND external_id = ?",
                vec![org.as_str().into(), ext.into()],
            )
            .await?;
        if taken.is_some() {
            return Err(external_id_taken(ext));
        }
        txn.exec(
            "INSERT INTO scim_groups (room_id, organization_id, external_id) VALUES (?, ?, ?)",
            vec![room.as_str().into(), org.as_str().into(), ext.into()],
        )
        .await?;
    }
    Ok(true)
}

/// The rooms of `org` with their members (one query for the rooms'
/// members): every room member but the room's steward, the admin Roster
/// appointed when a SCIM client created the room (`scim_group_stewards`,
/// matched with the membership's `added_at`).
async fn groups_with_members<C: sea_orm::ConnectionTrait>(
    c: &C,
    rooms: Vec<QueryResult>,
) -> Result<Vec<ScimGroup>> {
    let mut groups: Vec<ScimGroup> = rooms
        .iter()
        .map(|r| {
            Ok(ScimGroup {
                room_id: RoomId::from_trusted(r.try_get("", "id")?),
                org_id: OrgId::from_trusted(r.try_get("", "organization_id")?),
                display_name: r.try_get("", "display_name")?,
                external_id: r.try_get("", "external_id")?,
                members: Vec::new(),
                created_at: to_time(r.try_get("", "created_at")?),
            })
        })
        .collect::<Result<_>>()?;
    if groups.is_empty() {
        return Ok(groups);
    }
    let ids: Vec<Value> = groups.iter().map(|g| g.room_id.as_str().into()).collect();
    let members = rows(
        c,
        &format!(
            "SELECT rm.room_id AS room_id, rm.identity_id AS identity_id FROM room_members rm \
             WHERE rm.room_id IN ({}) AND NOT EXISTS (SELECT 1 FROM scim_group_stewards st \
             WHERE st.room_id = rm.room_id AND st.identity_id = rm.identity_id \
             AND st.added_at = rm.added_at) \
             ORDER BY rm.room_id, rm.identity_id",
            crate::store::placeholders(ids.len())
        ),
        ids,
    )
    .await?;
    for m in &members {
        let room: String = m.try_get("", "room_id")?;
        if let Some(g) = groups.iter_mut().find(|g| g.room_id.as_str() == room) {
            g.members
                .push(IdentityId::from_trusted(m.try_get("", "identity_id")?));
        }
    }
    Ok(groups)
}

async fn load_group(txn: &Txn, org: &OrgId, room: &RoomId) -> Result<ScimGroup> {
    let rows = txn
        .query_all(
            &format!("{GROUP_SELECT} WHERE r.organization_id = ? AND r.id = ?"),
            vec![org.as_str().into(), room.as_str().into()],
        )
        .await?;
    groups_with_members(txn.conn(), rows)
        .await?
        .pop()
        .ok_or_else(|| room_not_found(room))
}

/// AddRoomMember's steps for a group push (room MEMBER, no delete
/// permission); a present member is left as it is, but the room's steward
/// becomes one of the Group's members (ROOM_MEMBER_UPDATED, its role kept).
async fn add_to_room(
    txn: &mut Txn,
    org: &OrgId,
    room: &RoomId,
    identity: &IdentityId,
) -> Result<bool> {
    if load_room_member(txn.conn(), room, identity)
        .await?
        .is_some()
    {
        let listed = txn
            .exec(
                "DELETE FROM scim_group_stewards WHERE room_id = ? AND identity_id = ?",
                vec![room.as_str().into(), identity.as_str().into()],
            )
            .await?;
        if listed > 0 {
            txn.emit(
                member_event(EventType::RoomMemberUpdated, org, identity)
                    .room(room)
                    .reason("PROVISIONING")
                    .attr("scim_group_member", "true"),
            );
        }
        return Ok(listed > 0);
    }
    require_active_member(txn.conn(), org, identity, Reason::NotActiveMember).await?;
    insert_room_member(txn, room, org, identity, RoomRole::Member, false).await?;
    txn.emit(
        member_event(EventType::RoomMemberAdded, org, identity)
            .room(room)
            .attr("role", RoomRole::Member.as_str())
            .attr("delete_entries", "false"),
    );
    Ok(true)
}

/// RemoveRoomMember's steps for a group push; the last active room admin
/// hands the room to the organization's other active admins first
/// (PROVISIONING), as offboarding does, and with none the room is left
/// without an admin (LEFT_WITHOUT_ADMIN). An absent member is skipped, and
/// a room admin too when `keep_admins`.
async fn remove_from_room(
    txn: &mut Txn,
    org: &OrgId,
    room: &RoomId,
    identity: &IdentityId,
    keep_admins: bool,
) -> Result<bool> {
    let Some(current) = load_room_member(txn.conn(), room, identity).await? else {
        return Ok(false);
    };
    if keep_admins && current.role == RoomRole::Admin {
        return Ok(false);
    }
    if current.role == RoomRole::Admin && current.member_state == MemberState::Active {
        let orphaned = orphaned_rooms(txn.conn(), org, identity, Some(room)).await?;
        if !orphaned.is_empty() {
            let admins = org_admins(txn, org, Some(identity)).await?;
            if admins.is_empty() {
                // Nobody can take over: the push goes ahead (an IdP retries
                // a refused one forever).
                let left = LeftWithoutAdmin {
                    rooms: orphaned.clone(),
                    organization: false,
                };
                report_left_without_admin(txn, org, identity, &left);
            }
            for admin in &admins {
                hand_over_rooms(txn, org, admin, &orphaned, "PROVISIONING").await?;
            }
        }
    }
    for table in ["room_members", "scim_group_stewards"] {
        txn.exec(
            &format!("DELETE FROM {table} WHERE room_id = ? AND identity_id = ?"),
            vec![room.as_str().into(), identity.as_str().into()],
        )
        .await?;
    }
    txn.emit(
        member_event(EventType::RoomMemberRemoved, org, identity)
            .room(room)
            .reason("REMOVED"),
    );
    Ok(true)
}

impl Store {
    /// GET /Groups: the total number of the rooms of `orgs` matching
    /// `display_name` (exact) and `room` and the `limit` rooms from
    /// `offset`, ordered by ID, with their members.
    pub async fn scim_groups(
        &self,
        orgs: &[OrgId],
        display_name: Option<&str>,
        room: Option<&str>,
        external_id: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<ScimGroup>)> {
        if orgs.is_empty() {
            return Ok((0, Vec::new()));
        }
        let mut cond = format!(
            " WHERE r.organization_id IN ({})",
            crate::store::placeholders(orgs.len())
        );
        let mut values: Vec<Value> = orgs.iter().map(|o| o.as_str().into()).collect();
        if let Some(d) = display_name {
            cond.push_str(" AND r.display_name = ?");
            values.push(d.into());
        }
        if let Some(r) = room {
            cond.push_str(" AND r.id = ?");
            values.push(r.into());
        }
        if let Some(e) = external_id {
            cond.push_str(" AND sg.external_id = ?");
            values.push(e.into());
        }
        let total = count(
            &self.db,
            &format!(
                "SELECT COUNT(*) AS n FROM rooms r LEFT JOIN scim_groups sg ON sg.room_id = r.id{cond}"
            ),
            values.clone(),
        )
        .await?;
        if limit == 0 {
            return Ok((total, Vec::new()));
        }
        values.push((limit.min(i64::MAX as u64) as i64).into());
        values.push((offset.min(i64::MAX as u64) as i64).into());
        let found = rows(
            &self.db,
            &format!("{GROUP_SELECT}{cond} ORDER BY r.id LIMIT ? OFFSET ?"),
            values,
        )
        .await?;
        Ok((total, groups_with_members(&self.db, found).await?))
    }

    /// GET /Groups/{id}: the room, if it belongs to `org`.
    pub async fn scim_group(&self, org: &OrgId, room: &RoomId) -> Result<Option<ScimGroup>> {
        let found = rows(
            &self.db,
            &format!("{GROUP_SELECT} WHERE r.organization_id = ? AND r.id = ?"),
            vec![org.as_str().into(), room.as_str().into()],
        )
        .await?;
        Ok(groups_with_members(&self.db, found).await?.pop())
    }

    /// POST /Groups: CreateRoom's steps with the organization's first
    /// active admin (by ID) as room admin (the room's steward, not one of
    /// the Group's members), then the members as room MEMBERs (each an
    /// ACTIVE member of `org`). One transaction.
    pub async fn scim_create_group(
        &self,
        actor: Actor,
        org: &OrgId,
        display_name: &str,
        external_id: Option<&str>,
        members: &[IdentityId],
    ) -> Result<ScimGroup> {
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            let admin = org_admins(&txn, org, None)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| {
                    Error::precondition(
                        Reason::NotActiveMember,
                        format!(
                            "organization {org} has no active admin to be the new room's admin"
                        ),
                    )
                })?;
            let id = RoomId::generate();
            txn.exec(
                "INSERT INTO rooms (id, organization_id, display_name, created_at) \
                 VALUES (?, ?, ?, ?)",
                vec![
                    id.as_str().into(),
                    org.as_str().into(),
                    display_name.into(),
                    txn.now_ms().into(),
                ],
            )
            .await?;
            insert_room_member(&txn, &id, org, &admin, RoomRole::Admin, true).await?;
            // The admin is the room's steward, not a member the IdP pushed.
            txn.exec(
                "INSERT INTO scim_group_stewards (room_id, identity_id, added_at) \
                 SELECT room_id, identity_id, added_at FROM room_members \
                 WHERE room_id = ? AND identity_id = ?",
                vec![id.as_str().into(), admin.as_str().into()],
            )
            .await?;
            txn.emit(
                NewEvent::new(EventType::RoomCreated, id.as_str())
                    .org(org)
                    .room(&id)
                    .reason("PROVISIONING"),
            );
            txn.emit(
                member_event(EventType::RoomMemberAdded, org, &admin)
                    .room(&id)
                    .reason("PROVISIONING")
                    .attr("role", RoomRole::Admin.as_str()),
            );
            put_group_external_id(&txn, org, &id, None, external_id).await?;
            for m in members {
                add_to_room(&mut txn, org, &id, m).await?;
            }
            let group = load_group(&txn, org, &id).await?;
            Ok((txn, group))
        })
        .await
    }

    /// DELETE /Groups/{id}: DeleteRoom's step (room memberships and the
    /// room's assignments go with it; ROOM_DELETED, reason PROVISIONING),
    /// if the room belongs to `org`. One transaction.
    pub async fn scim_delete_group(&self, actor: Actor, org: &OrgId, room: &RoomId) -> Result<()> {
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            apply_room_deletion(&mut txn, org, room, Some("PROVISIONING")).await?;
            Ok((txn, ()))
        })
        .await
    }

    /// PATCH / PUT /Groups/{id}: rename (ROOM_UPDATED), then members
    /// added (AddRoomMember's steps) and removed (RemoveRoomMember's, with
    /// the provisioning hand-over for a last room admin). An unchanged
    /// group writes nothing. One transaction.
    pub async fn scim_update_group(
        &self,
        actor: Actor,
        org: &OrgId,
        room: &RoomId,
        change: ScimGroupChange,
    ) -> Result<ScimGroup> {
        let change = &change;
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            let current = load_group(&txn, org, room).await?;
            let mut changed = false;
            if let Some(name) = &change.display_name
                && *name != current.display_name
            {
                txn.exec(
                    "UPDATE rooms SET display_name = ? WHERE id = ?",
                    vec![name.clone().into(), room.as_str().into()],
                )
                .await?;
                txn.emit(
                    NewEvent::new(EventType::RoomUpdated, room.as_str())
                        .org(org)
                        .room(room),
                );
                changed = true;
            }
            if let Some(ext) = &change.external_id
                && put_group_external_id(
                    &txn,
                    org,
                    room,
                    current.external_id.as_deref(),
                    ext.as_deref(),
                )
                .await?
            {
                txn.emit(
                    NewEvent::new(EventType::RoomUpdated, room.as_str())
                        .org(org)
                        .room(room),
                );
                changed = true;
            }
            let mut add = change.add.clone();
            // A replaced member list keeps the room's admins (the room
            // needs one; SCIM does not know room roles).
            let mut unlisted = Vec::new();
            if let Some(all) = &change.replace {
                add.extend(all.iter().cloned());
                unlisted.extend(current.members.iter().filter(|m| !all.contains(m)).cloned());
            }
            for m in &add {
                changed |= add_to_room(&mut txn, org, room, m).await?;
            }
            for m in &change.remove {
                changed |= remove_from_room(&mut txn, org, room, m, false).await?;
            }
            for m in &unlisted {
                changed |= remove_from_room(&mut txn, org, room, m, true).await?;
            }
            if !changed {
                txn.nothing_changed();
            }
            let group = load_group(&txn, org, room).await?;
            Ok((txn, group))
        })
        .await
    }
}
