//! SCIM 2.0 provisioning (issue 15): provisioning tokens, and Users =
//! members of an organization with the SCIM attributes kept beside the
//! membership (`scim_users`, keyed by organization and identity; userName
//! and externalId unique per organization).
//!
//! Every SCIM change is one write with its events, and runs the very
//! steps of the gRPC calls: AddMember's (`insert_member`, `seats::attach`),
//! DeactivateMember's and RemoveMember's (`plan_for_provisioning`, the
//! guard of `plan_and_guard` under provisioning's policy,
//! `apply_deactivation`, `apply_removal`), ReactivateMember's
//! (`apply_reactivation`). Before an offboarding, rooms that would lose
//! their last active admin are handed to the organization's other active
//! admins (reason PROVISIONING); with none, the offboarding goes ahead
//! and LEFT_WITHOUT_ADMIN names what was left without an admin, so an
//! IdP's automated offboarding is never refused by M2/M7 (it would retry
//! forever).

use sea_orm::{QueryResult, Value};

use super::entities::identity;
use super::members::apply_reactivation;
use super::offboarding::{
    DeactivationInput, OffboardingAction, apply_deactivation, apply_removal, plan_for_provisioning,
};
use super::records::{
    insert_member, insert_room_member, load_member, load_room_member, lock_active_identity,
    lock_org, member_event, member_not_found, require_active_member, room_not_found,
};
use super::room_guard::{hand_over_rooms, orphaned_rooms};
use super::rooms::apply_room_deletion;
use super::rows::{count, one, rows};
use super::{Store, Txn, is_unique_violation, seats, to_time};
use crate::domain::policy::LeftWithoutAdmin;
use crate::domain::{
    Actor, AttachMethod, DeactivationReason, Error, EventType, IdentityId, IdentityState,
    MemberRole, MemberState, NewEvent, NewScimUser, OrgId, PackageId, Reason, Result, RoomId,
    RoomRole, ScimGroup, ScimGroupChange, ScimToken, ScimTokenId, ScimUser, ScimUserChange,
    ScimUserFilter,
};

const TOKEN_COLS: &str = "id, organization_id, include_sub_organizations, description, \
                          created_by, created_at, revoked_at";

fn token_from_row(r: &QueryResult) -> Result<ScimToken> {
    let include: bool = match r.try_get::<bool>("", "include_sub_organizations") {
        Ok(b) => b,
        Err(_) => r.try_get::<i64>("", "include_sub_organizations")? != 0,
    };
    Ok(ScimToken {
        id: ScimTokenId::from_trusted(r.try_get("", "id")?),
        org_id: OrgId::from_trusted(r.try_get("", "organization_id")?),
        include_sub_organizations: include,
        description: r.try_get("", "description")?,
        created_by: r.try_get("", "created_by")?,
        created_at: to_time(r.try_get("", "created_at")?),
        revoked_at: r.try_get::<Option<i64>>("", "revoked_at")?.map(to_time),
    })
}

/// The User columns: every member of the organization, with its SCIM
/// attributes when a SCIM client set them (a member added over gRPC has
/// its identity ID as userName and its identity's name and e-mail until a
/// SCIM client writes its attributes).
const USER_SELECT: &str = "SELECT m.identity_id AS identity_id, \
     m.organization_id AS organization_id, \
     COALESCE(su.user_name, m.identity_id) AS user_name, su.external_id AS external_id, \
     CASE WHEN su.identity_id IS NULL THEN i.display_name ELSE su.display_name END \
     AS display_name, \
     su.given_name AS given_name, su.family_name AS family_name, \
     su.formatted_name AS formatted_name, su.email_type AS email_type, \
     su.email_primary AS email_primary, \
     CASE WHEN su.identity_id IS NULL THEN i.email ELSE su.email END AS email, \
     m.state AS state, \
     CASE WHEN su.active_unassigned THEN 1 ELSE 0 END AS active_unassigned, \
     COALESCE(su.created_at, m.joined_at) AS created_at, \
     COALESCE(su.updated_at, m.joined_at) AS updated_at \
     FROM members m JOIN identities i ON i.id = m.identity_id \
     LEFT JOIN scim_users su ON su.organization_id = m.organization_id \
     AND su.identity_id = m.identity_id \
     WHERE m.organization_id = ?";

/// [`USER_SELECT`] without its organization condition (lists over several
/// organizations add theirs).
fn user_select_any_org() -> &'static str {
    USER_SELECT
        .strip_suffix(" WHERE m.organization_id = ?")
        .unwrap_or(USER_SELECT)
}

fn user_from_row(r: &QueryResult) -> Result<ScimUser> {
    let state: String = r.try_get("", "state")?;
    Ok(ScimUser {
        identity_id: IdentityId::from_trusted(r.try_get("", "identity_id")?),
        org_id: OrgId::from_trusted(r.try_get("", "organization_id")?),
        user_name: r.try_get("", "user_name")?,
        external_id: r.try_get("", "external_id")?,
        display_name: r.try_get("", "display_name")?,
        given_name: r.try_get("", "given_name")?,
        family_name: r.try_get("", "family_name")?,
        formatted_name: r.try_get("", "formatted_name")?,
        email: r.try_get("", "email")?,
        email_type: r.try_get("", "email_type")?,
        email_primary: match r.try_get::<Option<bool>>("", "email_primary") {
            Ok(b) => b,
            Err(_) => r
                .try_get::<Option<i64>>("", "email_primary")?
                .map(|v| v != 0),
        },
        state: MemberState::from_db(&state).unwrap_or(MemberState::Deactivated),
        active_unassigned: match r.try_get::<i32>("", "active_unassigned") {
            Ok(v) => v != 0,
            Err(_) => r.try_get::<i64>("", "active_unassigned")? != 0,
        },
        created_at: to_time(r.try_get("", "created_at")?),
        updated_at: to_time(r.try_get("", "updated_at")?),
    })
}

fn token_not_found(org: &OrgId, id: &ScimTokenId) -> Error {
    Error::not_found(
        Reason::ScimTokenNotFound,
        format!("organization {org} has no SCIM token {id}"),
    )
}

fn user_name_taken(user_name: &str) -> Error {
    Error::already_exists(
        Reason::UsernameTaken,
        format!("userName {user_name:?} is already used by another user of this organization"),
    )
}

fn external_id_taken(external_id: &str) -> Error {
    Error::already_exists(
        Reason::UsernameTaken,
        format!("externalId {external_id:?} is already used by another user of this organization"),
    )
}

async fn load_user(txn: &Txn, org: &OrgId, identity: &IdentityId) -> Result<ScimUser> {
    let row = txn
        .query_one(
            &format!("{USER_SELECT} AND m.identity_id = ?"),
            vec![org.as_str().into(), identity.as_str().into()],
        )
        .await?
        .ok_or_else(|| member_not_found(org, identity))?;
    user_from_row(&row)
}

/// The member (if any) holding `user_name` in `org`, other than `me`.
/// Rows of identities that are no members any more (removed) are deleted:
/// their userName is free again.
async fn claim_user_name(
    txn: &Txn,
    org: &OrgId,
    me: Option<&IdentityId>,
    user_name: &str,
) -> Result<()> {
    let key = user_name.to_lowercase();
    let holders = txn
        .query_all(
            "SELECT su.identity_id AS identity_id, \
             CASE WHEN m.identity_id IS NULL THEN 0 ELSE 1 END AS member \
             FROM scim_users su LEFT JOIN members m ON m.organization_id = su.organization_id \
             AND m.identity_id = su.identity_id \
             WHERE su.organization_id = ? AND su.user_name_key = ?",
            vec![org.as_str().into(), key.clone().into()],
        )
        .await?;
    for h in &holders {
        let id: String = h.try_get("", "identity_id")?;
        if me.is_some_and(|me| me.as_str() == id) {
            continue;
        }
        let member: i32 = match h.try_get::<i32>("", "member") {
            Ok(v) => v,
            Err(_) => h.try_get::<i64>("", "member")? as i32,
        };
        if member != 0 {
            return Err(user_name_taken(user_name));
        }
        txn.exec(
            "DELETE FROM scim_users WHERE organization_id = ? AND identity_id = ?",
            vec![org.as_str().into(), id.into()],
        )
        .await?;
    }
    // A member added over gRPC answers to its identity ID as userName.
    if let Some(m) = txn
        .query_one(
            "SELECT m.identity_id AS identity_id FROM members m WHERE m.organization_id = ? \
             AND LOWER(m.identity_id) = ? AND NOT EXISTS (SELECT 1 FROM scim_users su \
             WHERE su.organization_id = m.organization_id AND su.identity_id = m.identity_id)",
            vec![org.as_str().into(), key.into()],
        )
        .await?
    {
        let id: String = m.try_get("", "identity_id")?;
        if me.is_none_or(|me| me.as_str() != id) {
            return Err(user_name_taken(user_name));
        }
    }
    Ok(())
}

/// Refuses an externalId another member of `org` holds; frees it from a
/// removed identity's row unless that identity is `me`.
async fn claim_external_id(
    txn: &Txn,
    org: &OrgId,
    me: &IdentityId,
    external_id: Option<&str>,
) -> Result<()> {
    let Some(ext) = external_id else {
        return Ok(());
    };
    let holder = txn
        .query_one(
            "SELECT su.identity_id AS identity_id, \
             CASE WHEN m.identity_id IS NULL THEN 0 ELSE 1 END AS member \
             FROM scim_users su LEFT JOIN members m ON m.organization_id = su.organization_id \
             AND m.identity_id = su.identity_id \
             WHERE su.organization_id = ? AND su.external_id = ?",
            vec![org.as_str().into(), ext.into()],
        )
        .await?;
    if let Some(h) = holder {
        let id: String = h.try_get("", "identity_id")?;
        if id == me.as_str() {
            return Ok(());
        }
        let member: i64 = match h.try_get::<i32>("", "member") {
            Ok(v) => i64::from(v),
            Err(_) => h.try_get::<i64>("", "member")?,
        };
        if member != 0 {
            return Err(external_id_taken(ext));
        }
        txn.exec(
            "DELETE FROM scim_users WHERE organization_id = ? AND identity_id = ?",
            vec![org.as_str().into(), id.into()],
        )
        .await?;
    }
    Ok(())
}

/// Writes the SCIM attributes of `identity` in `org` (insert or replace).
/// Returns whether they changed.
async fn put_attributes(
    txn: &Txn,
    org: &OrgId,
    identity: &IdentityId,
    u: &NewScimUser,
) -> Result<bool> {
    let current = txn
        .query_one(
            "SELECT user_name, external_id, display_name, given_name, family_name, \
             formatted_name, email, email_type, \
             CASE WHEN email_primary IS NULL THEN NULL WHEN email_primary THEN 'true' \
             ELSE 'false' END AS email_primary, \
             CASE WHEN active_unassigned THEN 'true' ELSE 'false' END AS active_unassigned \
             FROM scim_users WHERE organization_id = ? AND identity_id = ?",
            vec![org.as_str().into(), identity.as_str().into()],
        )
        .await?;
    let now = txn.now_ms();
    let values = |r: &QueryResult| -> Result<[Option<String>; 10]> {
        Ok([
            r.try_get("", "user_name")?,
            r.try_get("", "external_id")?,
            r.try_get("", "display_name")?,
            r.try_get("", "given_name")?,
            r.try_get("", "family_name")?,
            r.try_get("", "formatted_name")?,
            r.try_get("", "email")?,
            r.try_get("", "email_type")?,
            r.try_get("", "email_primary")?,
            r.try_get("", "active_unassigned")?,
        ])
    };
    let wanted = [
        Some(u.user_name.clone()),
        u.external_id.clone(),
        u.display_name.clone(),
        u.given_name.clone(),
        u.family_name.clone(),
        u.formatted_name.clone(),
        u.email.clone(),
        u.email_type.clone(),
        u.email_primary.map(|b| b.to_string()),
        Some(u.active_unassigned.to_string()),
    ];
    let attrs: Vec<Value> = vec![
        u.user_name.clone().into(),
        u.user_name.to_lowercase().into(),
        u.external_id.clone().into(),
        u.display_name.clone().into(),
        u.given_name.clone().into(),
        u.family_name.clone().into(),
        u.formatted_name.clone().into(),
        u.email.clone().into(),
        u.email.as_ref().map(|e| e.to_lowercase()).into(),
        u.email_type.clone().into(),
        u.email_primary.into(),
        u.active_unassigned.into(),
    ];
    let result = match current {
        Some(r) if values(&r)? == wanted => return Ok(false),
        Some(_) => {
            let mut v = attrs;
            v.extend([now.into(), org.as_str().into(), identity.as_str().into()]);
            txn.exec(
                "UPDATE scim_users SET user_name = ?, user_name_key = ?, external_id = ?, \
                 display_name = ?, given_name = ?, family_name = ?, formatted_name = ?, \
                 email = ?, email_key = ?, email_type = ?, email_primary = ?, \
                 active_unassigned = ?, updated_at = ? WHERE organization_id = ? AND identity_id = ?",
                v,
            )
            .await
        }
        None => {
            let mut v: Vec<Value> = vec![org.as_str().into(), identity.as_str().into()];
            v.extend(attrs);
            v.extend([now.into(), now.into()]);
            txn.exec(
                "INSERT INTO scim_users (organization_id, identity_id, user_name, user_name_key, \
                 external_id, display_name, given_name, family_name, formatted_name, email, \
                 email_key, email_type, email_primary, active_unassigned, created_at, \
                 updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                v,
            )
            .await
        }
    };
    // The claims ran under the organization's lock: no one else can take
    // the name between the check and this write.
    result?;
    Ok(true)
}

/// Provisioning's successor policy (M7): the rooms `identity` would leave
/// without an active admin get every other ACTIVE ADMIN of `org` as room
/// admin (reason PROVISIONING, one event per room and admin). With no
/// other active admin nothing is handed over (the offboarding then goes
/// ahead with LEFT_WITHOUT_ADMIN).
async fn hand_rooms_to_org_admins(txn: &mut Txn, org: &OrgId, identity: &IdentityId) -> Result<()> {
    let rooms = orphaned_rooms(txn.conn(), org, identity, None).await?;
    if rooms.is_empty() {
        return Ok(());
    }
    let admins = org_admins(txn, org, Some(identity)).await?;
    for admin in &admins {
        hand_over_rooms(txn, org, admin, &rooms, "PROVISIONING").await?;
    }
    Ok(())
}

/// The other ACTIVE ADMINs of `org` (all of them when `except` is None).
async fn org_admins(
    txn: &Txn,
    org: &OrgId,
    except: Option<&IdentityId>,
) -> Result<Vec<IdentityId>> {
    txn.query_all(
        "SELECT identity_id FROM members WHERE organization_id = ? AND role = 'ADMIN' \
         AND state = 'ACTIVE' AND identity_id <> ? ORDER BY identity_id",
        vec![
            org.as_str().into(),
            except.map_or("", IdentityId::as_str).into(),
        ],
    )
    .await?
    .iter()
    .map(|r| Ok(IdentityId::from_trusted(r.try_get("", "identity_id")?)))
    .collect()
}

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
            super::placeholders(ids.len())
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

/// LEFT_WITHOUT_ADMIN when an automated offboarding of `identity` left
/// rooms (or the organization) without an admin; nothing otherwise.
fn report_left_without_admin(
    txn: &mut Txn,
    org: &OrgId,
    identity: &IdentityId,
    left: &LeftWithoutAdmin,
) {
    if left.rooms.is_empty() && !left.organization {
        return;
    }
    let listed: Vec<&str> = left
        .rooms
        .iter()
        .take(crate::domain::policy::MAX_ROOM_IDS_IN_ERROR)
        .map(RoomId::as_str)
        .collect();
    txn.emit(
        member_event(EventType::LeftWithoutAdmin, org, identity)
            .reason("PROVISIONING")
            .attr("room_ids", listed.join(","))
            .attr("room_count", left.rooms.len().to_string())
            .attr("organization_without_admin", left.organization.to_string()),
    );
}

/// DeactivateMember's steps after the provisioning hand-over; with no
/// other active admin to take over, it goes ahead anyway
/// (LEFT_WITHOUT_ADMIN).
async fn deactivate(txn: &mut Txn, org: &OrgId, identity: &IdentityId) -> Result<()> {
    hand_rooms_to_org_admins(txn, org, identity).await?;
    let (m, package, plan, left) =
        plan_for_provisioning(txn, OffboardingAction::Deactivate, org, identity).await?;
    report_left_without_admin(txn, org, identity, &left);
    let input = DeactivationInput {
        reason: DeactivationReason::Other,
        note: "SCIM: active=false".to_owned(),
        expected_return_ms: None,
    };
    apply_deactivation(txn, m, &package, &plan, &input, None).await?;
    Ok(())
}

impl Store {
    /// CreateScimToken: stores the hash of a new token for `org`.
    pub async fn create_scim_token(
        &self,
        actor: Actor,
        org: &OrgId,
        include_sub_organizations: bool,
        description: &str,
        token_hash: &str,
    ) -> Result<ScimToken> {
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            let id = ScimTokenId::generate();
            let now = txn.now_ms();
            let created_by = txn.actor().label();
            txn.exec(
                "INSERT INTO scim_tokens (id, organization_id, token_hash, \
                 include_sub_organizations, description, created_by, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![
                    id.as_str().into(),
                    org.as_str().into(),
                    token_hash.into(),
                    include_sub_organizations.into(),
                    description.into(),
                    created_by.clone().into(),
                    now.into(),
                ],
            )
            .await?;
            txn.emit(
                NewEvent::new(EventType::ScimTokenCreated, id.as_str())
                    .org(org)
                    .attr(
                        "include_sub_organizations",
                        include_sub_organizations.to_string(),
                    ),
            );
            Ok((
                txn,
                ScimToken {
                    id,
                    org_id: org.clone(),
                    include_sub_organizations,
                    description: description.to_owned(),
                    created_by,
                    created_at: to_time(now),
                    revoked_at: None,
                },
            ))
        })
        .await
    }

    /// ListScimTokens: the organization's tokens (revoked ones too), oldest
    /// first.
    pub async fn list_scim_tokens(&self, org: &OrgId) -> Result<Vec<ScimToken>> {
        self.get_organization(org).await?;
        rows(
            &self.db,
            &format!(
                "SELECT {TOKEN_COLS} FROM scim_tokens WHERE organization_id = ? \
                 ORDER BY created_at, id"
            ),
            vec![org.as_str().into()],
        )
        .await?
        .iter()
        .map(token_from_row)
        .collect()
    }

    /// RevokeScimToken: the token authenticates nothing from the commit on
    /// (every request looks the token up). Revoking a revoked token changes
    /// nothing and returns it.
    pub async fn revoke_scim_token(
        &self,
        actor: Actor,
        org: &OrgId,
        id: &ScimTokenId,
    ) -> Result<ScimToken> {
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            let row = txn
                .query_one(
                    &format!(
                        "SELECT {TOKEN_COLS} FROM scim_tokens WHERE id = ? AND organization_id = ?"
                    ),
                    vec![id.as_str().into(), org.as_str().into()],
                )
                .await?
                .ok_or_else(|| token_not_found(org, id))?;
            let mut token = token_from_row(&row)?;
            if token.revoked_at.is_some() {
                txn.nothing_changed();
                return Ok((txn, token));
            }
            let now = txn.now_ms();
            txn.exec(
                "UPDATE scim_tokens SET revoked_at = ? WHERE id = ?",
                vec![now.into(), id.as_str().into()],
            )
            .await?;
            txn.emit(NewEvent::new(EventType::ScimTokenRevoked, id.as_str()).org(org));
            token.revoked_at = Some(to_time(now));
            Ok((txn, token))
        })
        .await
    }

    /// The organizations `token` provisions: its own first, then, with
    /// `include_sub_organizations`, every organization below it (any
    /// depth), by ID.
    pub async fn scim_scope(&self, token: &ScimToken) -> Result<Vec<OrgId>> {
        let mut orgs = vec![token.org_id.clone()];
        if !token.include_sub_organizations {
            return Ok(orgs);
        }
        let below = rows(
            &self.db,
            "WITH RECURSIVE below(id) AS (SELECT id FROM organizations WHERE parent_id = ? \
             UNION SELECT o.id FROM organizations o JOIN below b ON o.parent_id = b.id) \
             SELECT id FROM below ORDER BY id",
            vec![token.org_id.as_str().into()],
        )
        .await?;
        for r in &below {
            orgs.push(OrgId::from_trusted(r.try_get("", "id")?));
        }
        Ok(orgs)
    }

    /// The live (not revoked) token with this hash, if any.
    pub async fn scim_token_by_hash(&self, token_hash: &str) -> Result<Option<ScimToken>> {
        one(
            &self.db,
            &format!(
                "SELECT {TOKEN_COLS} FROM scim_tokens WHERE token_hash = ? AND revoked_at IS NULL"
            ),
            vec![token_hash.into()],
        )
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
    }

    /// GET /Users/{id}: the member as a SCIM User, if a member.
    pub async fn scim_user(&self, org: &OrgId, identity: &IdentityId) -> Result<Option<ScimUser>> {
        one(
            &self.db,
            &format!("{USER_SELECT} AND m.identity_id = ?"),
            vec![org.as_str().into(), identity.as_str().into()],
        )
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    /// GET /Users: the total number of matches among the members of
    /// `orgs` (one User per membership) and the `limit` users from
    /// `offset` (0-based), ordered by identity ID, then organization.
    pub async fn scim_users(
        &self,
        orgs: &[OrgId],
        filter: &ScimUserFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<ScimUser>)> {
        let orgs: Vec<&OrgId> = match &filter.organization_id {
            Some(only) => orgs.iter().filter(|o| *o == only).collect(),
            None => orgs.iter().collect(),
        };
        if orgs.is_empty() {
            return Ok((0, Vec::new()));
        }
        let mut cond = format!(
            " WHERE m.organization_id IN ({})",
            super::placeholders(orgs.len())
        );
        let mut values: Vec<Value> = orgs.iter().map(|o| o.as_str().into()).collect();
        if let Some(u) = &filter.user_name {
            cond.push_str(" AND COALESCE(su.user_name_key, LOWER(m.identity_id)) = ?");
            values.push(u.to_lowercase().into());
        }
        if let Some(e) = &filter.external_id {
            cond.push_str(" AND su.external_id = ?");
            values.push(e.clone().into());
        }
        if let Some(e) = &filter.email {
            cond.push_str(
                " AND LOWER(CASE WHEN su.identity_id IS NULL THEN i.email ELSE su.email END) = ?",
            );
            values.push(e.to_lowercase().into());
        }
        if let Some(id) = &filter.identity_id {
            cond.push_str(" AND m.identity_id = ?");
            values.push(id.clone().into());
        }
        let select = user_select_any_org();
        let from = select.split_once(" FROM ").map_or(select, |(_, rest)| rest);
        let total = count(
            &self.db,
            &format!("SELECT COUNT(*) AS n FROM {from}{cond}"),
            values.clone(),
        )
        .await?;
        if limit == 0 {
            return Ok((total, Vec::new()));
        }
        let mut page_values = values;
        page_values.push((limit.min(i64::MAX as u64) as i64).into());
        page_values.push((offset.min(i64::MAX as u64) as i64).into());
        let users = rows(
            &self.db,
            &format!("{select}{cond} ORDER BY m.identity_id, m.organization_id LIMIT ? OFFSET ?"),
            page_values,
        )
        .await?
        .iter()
        .map(user_from_row)
        .collect::<Result<_>>()?;
        Ok((total, users))
    }

    /// POST /Users: creates the identity (or reuses the one this
    /// organization linked to `externalId` before, if not revoked), adds it
    /// as an ACTIVE MEMBER taking a seat (AddMember's steps), stores the
    /// SCIM attributes, and deactivates it at once when `active` is false.
    /// One transaction.
    pub async fn scim_create_user(
        &self,
        actor: Actor,
        org: &OrgId,
        new: NewScimUser,
    ) -> Result<ScimUser> {
        let new = &new;
        self.write(&actor, |mut txn| async move {
            // Identities before organizations (lock order).
            let linked = match &new.external_id {
                Some(ext) => txn
                    .query_one(
                        "SELECT su.identity_id AS identity_id FROM scim_users su \
                         JOIN identities i ON i.id = su.identity_id \
                         WHERE su.organization_id = ? AND su.external_id = ? AND i.state = ?",
                        vec![
                            org.as_str().into(),
                            ext.clone().into(),
                            IdentityState::Active.as_str().into(),
                        ],
                    )
                    .await?
                    .map(|r| r.try_get::<String>("", "identity_id"))
                    .transpose()?
                    .map(IdentityId::from_trusted),
                None => None,
            };
            let identity = match linked {
                Some(id) => {
                    lock_active_identity(&txn, &id).await?;
                    id
                }
                None => {
                    let id = IdentityId::generate();
                    let display = new
                        .display_name
                        .clone()
                        .or_else(|| {
                            let full = [new.given_name.as_deref(), new.family_name.as_deref()]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" ");
                            (!full.is_empty()).then_some(full)
                        })
                        .unwrap_or_else(|| new.user_name.clone());
                    let model = identity::ActiveModel {
                        id: sea_orm::Set(id.to_string()),
                        display_name: sea_orm::Set(Some(display)),
                        email: sea_orm::Set(new.email.clone()),
                        avatar_url: sea_orm::Set(None),
                        state: sea_orm::Set(IdentityState::Active.as_str().to_owned()),
                        revocation_password_hash: sea_orm::Set(None),
                        created_at: sea_orm::Set(txn.now_ms()),
                        revoked_at: sea_orm::Set(None),
                    };
                    use sea_orm::EntityTrait;
                    match identity::Entity::insert(model).exec(txn.conn()).await {
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => {
                            return Err(Error::Aborted(
                                "a fresh identity ID was taken; retry".to_owned(),
                            ));
                        }
                        Err(e) => return Err(e.into()),
                    }
                    txn.emit(NewEvent::new(EventType::IdentityCreated, id.as_str()).identity(&id));
                    id
                }
            };
            let o = lock_org(&txn, org).await?;
            if load_member(txn.conn(), org, &identity).await?.is_some() {
                return Err(match &new.external_id {
                    Some(ext) => external_id_taken(ext),
                    None => user_name_taken(&new.user_name),
                });
            }
            claim_user_name(&txn, org, Some(&identity), &new.user_name).await?;
            claim_external_id(&txn, org, &identity, new.external_id.as_deref()).await?;
            let package = PackageId::from_trusted(o.package_id);
            insert_member(&txn, org, &identity, &package, MemberRole::Member).await?;
            txn.emit(
                member_event(EventType::MemberAdded, org, &identity)
                    .package(&package)
                    .attr("role", MemberRole::Member.as_str()),
            );
            seats::attach(
                &mut txn,
                &package,
                &identity,
                AttachMethod::Membership,
                None,
            )
            .await?;
            put_attributes(&txn, org, &identity, new).await?;
            if !new.active {
                deactivate(&mut txn, org, &identity).await?;
            }
            let user = load_user(&txn, org, &identity).await?;
            Ok((txn, user))
        })
        .await
    }

    /// PUT / PATCH /Users/{id}: `change` computes the wanted attributes
    /// from the current user, read inside the write under the identity's
    /// and the organization's locks (so a concurrent change is never
    /// overwritten; `change` may run again when the write is retried). The
    /// SCIM attributes are replaced (SCIM_USER_UPDATED when they differ),
    /// then `active` applied: false deactivates (DeactivateMember's steps
    /// after the provisioning hand-over), true reactivates
    /// (ReactivateMember's). An unchanged user writes nothing. One
    /// transaction.
    pub async fn scim_update_user<F>(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        change: F,
    ) -> Result<ScimUser>
    where
        F: Fn(&ScimUser) -> Result<ScimUserChange> + Send + Sync,
    {
        let change = &change;
        self.write(&actor, |mut txn| async move {
            // Identities before organizations (lock order). A revoked or
            // unknown identity is no member of anything.
            lock_active_identity(&txn, identity)
                .await
                .map_err(|e| match e {
                    Error::NotFound { .. } | Error::FailedPrecondition { .. } => {
                        member_not_found(org, identity)
                    }
                    other => other,
                })?;
            lock_org(&txn, org).await?;
            let current = load_user(&txn, org, identity).await?;
            let change = change(&current)?;
            let change = &change;
            claim_user_name(&txn, org, Some(identity), &change.user_name).await?;
            claim_external_id(&txn, org, identity, change.external_id.as_deref()).await?;
            let mut changed = put_attributes(&txn, org, identity, change).await?;
            if changed {
                // No attributes: userName and the rest are personal data (I4).
                txn.emit(member_event(EventType::ScimUserUpdated, org, identity));
            }
            let active = current.state == MemberState::Active;
            if active && !change.active {
                deactivate(&mut txn, org, identity).await?;
                changed = true;
            } else if !active && change.active {
                apply_reactivation(&mut txn, org, identity).await?;
                changed = true;
            }
            if !changed {
                txn.nothing_changed();
            }
            let user = load_user(&txn, org, identity).await?;
            Ok((txn, user))
        })
        .await
    }

    /// DELETE /Users/{id}: RemoveMember's steps after the provisioning
    /// hand-over. The SCIM attributes stay (a later POST with the same
    /// externalId links the same identity again); the identity is never
    /// revoked. One transaction.
    pub async fn scim_delete_user(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
    ) -> Result<()> {
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            if load_member(txn.conn(), org, identity).await?.is_none() {
                return Err(member_not_found(org, identity));
            }
            hand_rooms_to_org_admins(&mut txn, org, identity).await?;
            let (_, package, plan, left) =
                plan_for_provisioning(&mut txn, OffboardingAction::Remove, org, identity).await?;
            report_left_without_admin(&mut txn, org, identity, &left);
            apply_removal(&mut txn, org, identity, &package, &plan, None).await?;
            Ok((txn, ()))
        })
        .await
    }

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
            super::placeholders(orgs.len())
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
