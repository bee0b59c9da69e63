//! Organizations, members, rooms and assignments (M1–M12).
//!
//! Every membership-changing operation is one transaction that locks the
//! organization row first (after the identity row when it locks one, before
//! any license package), so the last-admin and room-admin guards decide on
//! a stable picture; each is wrapped in `retrying!`. Bulk effects (leaving
//! every room, dropping assignments, handing rooms to a successor, the
//! inactivity sweep) are set-based statements whose number does not grow
//! with the number of rooms or assignments.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, QueryResult, Value};

use super::entities::{member, organization, room};
use super::identity::lock_active_identity;
use super::{Store, Txn, placeholders, seats, statement, to_time};
use crate::domain::{
    AccessDecision, AccessDenial, Actor, Assignment, AssignmentId, AssignmentKind, AttachMethod,
    Deactivation, DeactivationReason, Error, EventType, IdentityId, IdentityState, Member,
    MemberRole, MemberState, NewEvent, OrgId, Organization, PackageId, Page, PageRequest, Plan,
    Profile, Reason, Result, Room, RoomId, RoomMember, RoomRole,
};

/// Largest number of values bound in one `IN (…)` list of a bulk statement.
const CHUNK: usize = 500;
/// At most this many room IDs go into a LAST_ROOM_ADMIN error's metadata
/// (`room_count` has the total; PreviewOffboarding lists them all).
const MAX_ROOM_IDS_IN_ERROR: usize = 100;
/// At most this many members are returned by the inactivity sweep.
pub const MAX_SWEEP_MEMBERS: usize = 1000;

const MEMBER_COLS: &str = "organization_id, identity_id, package_id, role, state, joined_at, \
     last_activity_at, deactivation_reason, deactivation_note, expected_return_at, \
     deactivated_at, deactivated_by, tenure";
const ORG_COLS: &str = "id, display_name, package_id, parent_id, guest_inactivity_ms, created_at";
/// Joins assignments `a` to the membership `m` that holds them: the
/// assignee's current tenure (see the assignee-tenure migration). An
/// assignment without such a member is unassigned.
const HELD_BY: &str = "m.organization_id = a.organization_id \
     AND m.identity_id = a.assignee_id AND m.tenure = a.assignee_tenure";

// ---- inputs and outputs --------------------------------------------------

/// A new organization, already validated.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    /// Display name.
    pub display_name: String,
    /// Package (top-level); for a sub-organization empty or the parent's.
    pub package_id: Option<PackageId>,
    /// Parent, for a sub-organization.
    pub parent_id: Option<OrgId>,
    /// Guest inactivity period in seconds; `None` = never.
    pub guest_inactivity_secs: Option<i64>,
    /// The first ADMIN.
    pub admin: IdentityId,
}

/// Changes to an organization's settings (`None` = leave as is).
#[derive(Debug, Clone, Default)]
pub struct OrganizationChanges {
    /// New display name.
    pub display_name: Option<String>,
    /// New guest inactivity period (`Some(None)` = never).
    pub guest_inactivity_secs: Option<Option<i64>>,
}

/// Filters of ListMembers.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemberFilter {
    /// Only this state.
    pub state: Option<MemberState>,
    /// Only this role.
    pub role: Option<MemberRole>,
}

/// What DeactivateMember records.
#[derive(Debug, Clone)]
pub struct DeactivationInput {
    /// Reason code (never INACTIVITY from the API).
    pub reason: DeactivationReason,
    /// Free text (may be empty).
    pub note: String,
    /// Expected return, ms since the epoch.
    pub expected_return_ms: Option<i64>,
}

/// What RemoveMember did (M6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// Rooms the member left.
    pub rooms_left: u64,
    /// Assignments dropped.
    pub assignments_dropped: u64,
    /// Rooms whose admin role went to the successor.
    pub successor_rooms: Vec<RoomId>,
    /// Whether the seat was freed.
    pub seat_freed: bool,
}

/// Which offboarding PreviewOffboarding simulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffboardingAction {
    /// DeactivateMember.
    Deactivate,
    /// RemoveMember.
    Remove,
}

/// What an offboarding would do (M8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffboardingPreview {
    /// Rooms that would lose their last active admin.
    pub orphaned_rooms: Vec<RoomId>,
    /// Rooms the member is in.
    pub room_count: u64,
    /// Assignments the member holds in the organization.
    pub assignment_count: u64,
    /// Whether the seat would be freed.
    pub seat_freed: bool,
    /// Other organizations of the package where the identity stays active.
    pub other_active_orgs: Vec<OrgId>,
    /// Reason codes that would make the real call fail.
    pub blocking: Vec<Reason>,
}

/// A new assignment, already validated.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    /// The room.
    pub room_id: RoomId,
    /// The assignee.
    pub assignee: IdentityId,
    /// Kind.
    pub kind: AssignmentKind,
    /// Title.
    pub title: String,
}

/// Filters of ListAssignments.
#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    /// Only this assignee's.
    pub assignee: Option<IdentityId>,
    /// Only this room's.
    pub room: Option<RoomId>,
}

/// Result of an inactivity sweep (M12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepOutcome {
    /// Deactivated (or, dry run, would-be deactivated) guests, at most
    /// [`MAX_SWEEP_MEMBERS`], ordered by organization and identity.
    pub members: Vec<Member>,
    /// How many in total.
    pub count: u64,
}

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

// ---- errors --------------------------------------------------------------

fn org_not_found(org: &OrgId) -> Error {
    Error::not_found(
        Reason::OrganizationNotFound,
        format!("organization {org} does not exist"),
    )
}

fn room_not_found(room: &RoomId) -> Error {
    Error::not_found(Reason::RoomNotFound, format!("room {room} does not exist"))
}

fn member_not_found(org: &OrgId, id: &IdentityId) -> Error {
    Error::not_found(
        Reason::MemberNotFound,
        format!("{id} is not a member of organization {org}"),
    )
}

fn room_member_not_found(room: &RoomId, id: &IdentityId) -> Error {
    Error::not_found(
        Reason::RoomMemberNotFound,
        format!("{id} is not a member of room {room}"),
    )
}

fn last_room_admin(rooms: &[RoomId]) -> Error {
    let listed: Vec<&str> = rooms
        .iter()
        .take(MAX_ROOM_IDS_IN_ERROR)
        .map(RoomId::as_str)
        .collect();
    Error::FailedPrecondition {
        reason: Reason::LastRoomAdmin,
        message: format!(
            "{} room(s) would be left without an active room admin ({}{}); name a successor \
             or make another active member room admin first",
            rooms.len(),
            listed.join(", "),
            if rooms.len() > listed.len() {
                ", …"
            } else {
                ""
            }
        ),
        metadata: vec![
            ("room_ids", listed.join(",")),
            ("room_count", rooms.len().to_string()),
        ],
    }
}

// ---- row helpers ---------------------------------------------------------

async fn rows<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Vec<QueryResult>> {
    Ok(
        c.query_all_raw(statement(c.get_database_backend(), sql, values))
            .await?,
    )
}

/// Runs `sql` (a SELECT whose WHERE clause is open for more conditions) as
/// one keyset page ordered by `key_col`: continues after `page.after`,
/// over-fetches one row to know whether another page follows.
async fn keyset_page<C: ConnectionTrait, T>(
    c: &C,
    mut sql: String,
    mut values: Vec<Value>,
    key_col: &str,
    page: &PageRequest,
    from_row: fn(&QueryResult) -> Result<T>,
    key: fn(&T) -> String,
) -> Result<Page<T>> {
    if let Some(after) = &page.after {
        sql.push_str(&format!(" AND {key_col} > ?"));
        values.push(after.clone().into());
    }
    sql.push_str(&format!(" ORDER BY {key_col} LIMIT ?"));
    values.push(((page.size + 1) as i64).into());
    let items = rows(c, &sql, values)
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_overfetch(items, page.size, key))
}

async fn one<C: ConnectionTrait>(
    c: &C,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<QueryResult>> {
    Ok(
        c.query_one_raw(statement(c.get_database_backend(), sql, values))
            .await?,
    )
}

async fn count<C: ConnectionTrait>(c: &C, sql: &str, values: Vec<Value>) -> Result<u64> {
    let n: i64 = match one(c, sql, values).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(n.max(0) as u64)
}

fn to_org(m: organization::Model) -> Organization {
    Organization {
        id: OrgId::from_trusted(m.id),
        display_name: m.display_name,
        package_id: PackageId::from_trusted(m.package_id),
        parent_id: m.parent_id.map(OrgId::from_trusted),
        guest_inactivity_secs: m.guest_inactivity_ms.map(|ms| ms / 1000),
        created_at: to_time(m.created_at),
    }
}

fn member_role(s: &str) -> MemberRole {
    MemberRole::from_db(s).unwrap_or(MemberRole::Guest)
}

fn member_state(s: &str) -> MemberState {
    MemberState::from_db(s).unwrap_or(MemberState::Deactivated)
}

fn room_role(s: &str) -> RoomRole {
    RoomRole::from_db(s).unwrap_or(RoomRole::Member)
}

fn to_member(m: member::Model) -> Member {
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

fn member_from_row(r: &QueryResult) -> Result<Member> {
    Ok(to_member(member::Model::from_query_result(r, "")?))
}

fn to_room(m: room::Model) -> Room {
    Room {
        id: RoomId::from_trusted(m.id),
        org_id: OrgId::from_trusted(m.organization_id),
        display_name: m.display_name,
        created_at: to_time(m.created_at),
    }
}

fn room_member_from_row(r: &QueryResult) -> Result<RoomMember> {
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

fn assignment_from_row(r: &QueryResult) -> Result<Assignment> {
    let kind: String = r.try_get("", "kind")?;
    let assignee: Option<String> = r.try_get("", "assignee_id")?;
    Ok(Assignment {
        id: AssignmentId::from_trusted(r.try_get("", "id")?),
        org_id: OrgId::from_trusted(r.try_get("", "organization_id")?),
        room_id: RoomId::from_trusted(r.try_get("", "room_id")?),
        assignee: assignee.map(IdentityId::from_trusted),
        kind: AssignmentKind::from_db(&kind).unwrap_or(AssignmentKind::Task),
        title: r.try_get("", "title")?,
        created_at: to_time(r.try_get("", "created_at")?),
    })
}

// ---- shared transactional helpers ---------------------------------------

/// Locks the organization row (PostgreSQL `FOR UPDATE`) and returns it.
async fn lock_org(txn: &Txn, org: &OrgId) -> Result<organization::Model> {
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
async fn lock_orgs(txn: &Txn, orgs: &[OrgId]) -> Result<()> {
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

async fn load_member<C: ConnectionTrait>(
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

async fn load_room<C: ConnectionTrait>(c: &C, id: &RoomId) -> Result<room::Model> {
    room::Entity::find_by_id(id.as_str())
        .one(c)
        .await?
        .ok_or_else(|| room_not_found(id))
}

/// The member row of an ACTIVE member, or `reason` (SUCCESSOR_NOT_ACTIVE,
/// NOT_ACTIVE_MEMBER).
async fn require_active_member<C: ConnectionTrait>(
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
async fn ensure_other_active_admin<C: ConnectionTrait>(
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

async fn has_other_active_admin<C: ConnectionTrait>(
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

/// M7: rooms of `org` where `identity` is room ADMIN and no other room
/// admin is an ACTIVE member of the organization. One query. Only
/// meaningful while `identity` itself is an ACTIVE member.
async fn orphaned_rooms<C: ConnectionTrait>(
    c: &C,
    org: &OrgId,
    identity: &IdentityId,
    only_room: Option<&RoomId>,
) -> Result<Vec<RoomId>> {
    let mut sql = String::from(
        "SELECT rm.room_id AS room_id FROM room_members rm \
         WHERE rm.organization_id = ? AND rm.identity_id = ? AND rm.role = 'ADMIN' \
         AND NOT EXISTS (SELECT 1 FROM room_members o JOIN members m \
             ON m.organization_id = o.organization_id AND m.identity_id = o.identity_id \
             WHERE o.room_id = rm.room_id AND o.role = 'ADMIN' \
             AND o.identity_id <> rm.identity_id AND m.state = 'ACTIVE')",
    );
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
async fn hand_over_rooms(
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
async fn guard_rooms(
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
        return Err(last_room_admin(&orphaned));
    };
    hand_over_rooms(txn, org, successor, &orphaned, "SUCCESSOR").await?;
    Ok(orphaned)
}

/// M6's bulk effect for `identity` in `orgs`: out of every room of those
/// organizations, assignments there dropped (items stay; they held the
/// member's tenure, which ends with its `members` row, so they need no
/// write), member rows deleted. Three statements per 500 organizations.
/// Returns (rooms left, assignments dropped). Shared by RemoveMember and
/// revocation.
async fn remove_from_orgs(txn: &Txn, identity: &IdentityId, orgs: &[OrgId]) -> Result<(u64, u64)> {
    let (mut rooms, mut assignments) = (0, 0);
    for chunk in orgs.chunks(CHUNK) {
        let list = placeholders(chunk.len());
        let values = || -> Vec<Value> {
            std::iter::once(identity.as_str().into())
                .chain(chunk.iter().map(|o| o.as_str().into()))
                .collect()
        };
        rooms += txn
            .exec(
                &format!(
                    "DELETE FROM room_members WHERE identity_id = ? AND organization_id IN ({list})"
                ),
                values(),
            )
            .await?;
        assignments += count(
            txn.conn(),
            &format!(
                "SELECT COUNT(*) AS n FROM members m JOIN assignments a ON {HELD_BY} \
                 WHERE m.identity_id = ? AND m.organization_id IN ({list})"
            ),
            values(),
        )
        .await?;
        txn.exec(
            &format!("DELETE FROM members WHERE identity_id = ? AND organization_id IN ({list})"),
            values(),
        )
        .await?;
    }
    Ok((rooms, assignments))
}

/// Removes `identity` from every organization and room as in M6 (used by
/// revocation, I4): organization rows locked in ID order, then the shared
/// set-based removal, one MEMBER_REMOVED event per organization. Guards do
/// not apply: revocation is irreversible and always wins. Seats are
/// released by the caller (revocation detaches from every package).
/// Returns the organizations it was removed from.
pub(super) async fn purge_identity(
    txn: &mut Txn,
    identity: &IdentityId,
    reason: &str,
) -> Result<Vec<OrgId>> {
    let orgs: Vec<OrgId> = txn
        .query_all(
            "SELECT organization_id FROM members WHERE identity_id = ? ORDER BY organization_id",
            vec![identity.as_str().into()],
        )
        .await?
        .iter()
        .map(|r| Ok(OrgId::from_trusted(r.try_get("", "organization_id")?)))
        .collect::<Result<_>>()?;
    if orgs.is_empty() {
        return Ok(orgs);
    }
    lock_orgs(txn, &orgs).await?;
    remove_from_orgs(txn, identity, &orgs).await?;
    for org in &orgs {
        txn.emit(
            NewEvent::new(EventType::MemberRemoved, identity.as_str())
                .identity(identity)
                .org(org)
                .reason(reason),
        );
    }
    Ok(orgs)
}

fn member_event(kind: EventType, org: &OrgId, identity: &IdentityId) -> NewEvent {
    NewEvent::new(kind, identity.as_str())
        .identity(identity)
        .org(org)
}

impl Store {
    // ---- authorization facts (one query each) ----------------------------

    /// Role and state of `identity` in `org`, when a member. One query.
    pub async fn member_standing(
        &self,
        org: &OrgId,
        identity: &IdentityId,
    ) -> Result<Option<(MemberRole, MemberState)>> {
        Ok(load_member(&self.db, org, identity)
            .await?
            .map(|m| (member_role(&m.role), member_state(&m.state))))
    }

    /// M2 recovery: whether `identity` administers the license package of
    /// `org` while `org` has no ACTIVE ADMIN (its last one revoked their
    /// ID). Such package admins act as the organization's admins until it
    /// has one again. One query.
    pub async fn stewards_orphaned_org(&self, org: &OrgId, identity: &IdentityId) -> Result<bool> {
        let n = count(
            &self.db,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM organizations o \
             JOIN package_admins pa ON pa.package_id = o.package_id AND pa.identity_id = ? \
             WHERE o.id = ? AND NOT EXISTS (SELECT 1 FROM members m \
               WHERE m.organization_id = o.id AND m.role = ? AND m.state = ?)",
            vec![
                identity.as_str().into(),
                org.as_str().into(),
                MemberRole::Admin.as_str().into(),
                MemberState::Active.as_str().into(),
            ],
        )
        .await?;
        Ok(n > 0)
    }

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

    // ---- M1 organizations ------------------------------------------------

    /// M1: creates an organization (or sub-organization) with its first
    /// ADMIN, who takes a seat in the package if it holds none.
    pub async fn create_organization(
        &self,
        actor: Actor,
        new: NewOrganization,
    ) -> Result<(Organization, Member)> {
        retrying!(self.create_organization_once(&actor, &new).await)
    }

    async fn create_organization_once(
        &self,
        actor: &Actor,
        new: &NewOrganization,
    ) -> Result<(Organization, Member)> {
        let mut txn = self.begin(actor.clone()).await?;
        lock_active_identity(&txn, &new.admin).await?;
        let package = match &new.parent_id {
            Some(parent) => {
                let p = lock_org(&txn, parent).await?;
                let package = PackageId::from_trusted(p.package_id);
                if new
                    .package_id
                    .as_ref()
                    .is_some_and(|given| *given != package)
                {
                    return Err(Error::invalid(
                        "organization.package_id",
                        "must be empty or the parent organization's package",
                    ));
                }
                package
            }
            None => new
                .package_id
                .clone()
                .ok_or_else(|| Error::invalid("organization.package_id", "is required"))?,
        };
        let plan: String = txn
            .query_one(
                "SELECT plan FROM license_packages WHERE id = ?",
                vec![package.as_str().into()],
            )
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    Reason::PackageNotFound,
                    format!("license package {package} does not exist"),
                )
            })?
            .try_get("", "plan")?;
        if new.parent_id.is_some() && plan != Plan::Enterprise.as_str() {
            return Err(Error::precondition(
                Reason::EnterprisePlanRequired,
                "sub-organizations need an organization bound to an ENTERPRISE package",
            ));
        }
        let id = OrgId::generate();
        let now = txn.now_ms();
        let model = organization::Model {
            id: id.to_string(),
            display_name: new.display_name.clone(),
            package_id: package.to_string(),
            parent_id: new.parent_id.as_ref().map(OrgId::to_string),
            guest_inactivity_ms: new.guest_inactivity_secs.map(|s| s * 1000),
            created_at: now,
        };
        txn.exec(
            &format!("INSERT INTO organizations ({ORG_COLS}) VALUES (?, ?, ?, ?, ?, ?)"),
            vec![
                model.id.clone().into(),
                model.display_name.clone().into(),
                model.package_id.clone().into(),
                model.parent_id.clone().into(),
                model.guest_inactivity_ms.into(),
                now.into(),
            ],
        )
        .await?;
        let member = insert_member(&txn, &id, &new.admin, &package, MemberRole::Admin).await?;
        let mut created = NewEvent::new(EventType::OrganizationCreated, id.as_str())
            .org(&id)
            .package(&package);
        if let Some(parent) = &new.parent_id {
            created = created.attr("parent_organization_id", parent.as_str());
        }
        txn.emit(created);
        txn.emit(
            member_event(EventType::MemberAdded, &id, &new.admin)
                .package(&package)
                .attr("role", MemberRole::Admin.as_str()),
        );
        seats::attach(
            &mut txn,
            &package,
            &new.admin,
            AttachMethod::Membership,
            None,
        )
        .await?;
        txn.commit(self).await?;
        Ok((to_org(model), member))
    }

    /// M1: one organization.
    pub async fn get_organization(&self, org: &OrgId) -> Result<Organization> {
        organization::Entity::find_by_id(org.as_str())
            .one(&self.db)
            .await?
            .map(to_org)
            .ok_or_else(|| org_not_found(org))
    }

    /// M1/M12: changes the display name and the guest inactivity period.
    pub async fn update_organization_settings(
        &self,
        actor: Actor,
        org: &OrgId,
        changes: OrganizationChanges,
    ) -> Result<Organization> {
        retrying!(
            self.update_organization_settings_once(&actor, org, &changes)
                .await
        )
    }

    async fn update_organization_settings_once(
        &self,
        actor: &Actor,
        org: &OrgId,
        changes: &OrganizationChanges,
    ) -> Result<Organization> {
        let mut txn = self.begin(actor.clone()).await?;
        let mut model = lock_org(&txn, org).await?;
        let mut event = NewEvent::new(EventType::OrganizationUpdated, org.as_str()).org(org);
        if let Some(name) = &changes.display_name {
            model.display_name = name.clone();
            event = event.attr("display_name", "changed");
        }
        if let Some(period) = changes.guest_inactivity_secs {
            model.guest_inactivity_ms = period.map(|s| s * 1000);
            event = event.attr(
                "guest_inactivity_seconds",
                period.map_or_else(|| "never".to_owned(), |s| s.to_string()),
            );
        }
        txn.exec(
            "UPDATE organizations SET display_name = ?, guest_inactivity_ms = ? WHERE id = ?",
            vec![
                model.display_name.clone().into(),
                model.guest_inactivity_ms.into(),
                org.as_str().into(),
            ],
        )
        .await?;
        txn.emit(event);
        txn.commit(self).await?;
        Ok(to_org(model))
    }

    // ---- M2 members ------------------------------------------------------

    /// M2: adds an ACTIVE member, taking a seat when the identity holds none
    /// in the package. Refuses revoked identities and existing members.
    pub async fn add_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        role: MemberRole,
    ) -> Result<Member> {
        retrying!(self.add_member_once(&actor, org, identity, role).await)
    }

    async fn add_member_once(
        &self,
        actor: &Actor,
        org: &OrgId,
        identity: &IdentityId,
        role: MemberRole,
    ) -> Result<Member> {
        let mut txn = self.begin(actor.clone()).await?;
        lock_active_identity(&txn, identity).await?;
        let o = lock_org(&txn, org).await?;
        if let Some(existing) = load_member(txn.conn(), org, identity).await? {
            return Err(Error::already_exists(
                Reason::AlreadyMember,
                format!(
                    "{identity} is already a member of organization {org} ({})",
                    existing.state
                ),
            ));
        }
        let package = PackageId::from_trusted(o.package_id);
        let member = insert_member(&txn, org, identity, &package, role).await?;
        txn.emit(
            member_event(EventType::MemberAdded, org, identity)
                .package(&package)
                .attr("role", role.as_str()),
        );
        seats::attach(&mut txn, &package, identity, AttachMethod::Membership, None).await?;
        txn.commit(self).await?;
        Ok(member)
    }

    /// M2: changes a member's role; the last active ADMIN keeps it.
    pub async fn update_member_role(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        role: MemberRole,
    ) -> Result<Member> {
        retrying!(
            self.update_member_role_once(&actor, org, identity, role)
                .await
        )
    }

    async fn update_member_role_once(
        &self,
        actor: &Actor,
        org: &OrgId,
        identity: &IdentityId,
        role: MemberRole,
    ) -> Result<Member> {
        let mut txn = self.begin(actor.clone()).await?;
        lock_org(&txn, org).await?;
        let mut m = load_member(txn.conn(), org, identity)
            .await?
            .ok_or_else(|| member_not_found(org, identity))?;
        let old = member_role(&m.role);
        if old == role {
            txn.rollback().await?;
            return Ok(to_member(m));
        }
        if old == MemberRole::Admin && m.state == MemberState::Active.as_str() {
            ensure_other_active_admin(txn.conn(), org, identity).await?;
        }
        txn.exec(
            "UPDATE members SET role = ? WHERE organization_id = ? AND identity_id = ?",
            vec![
                role.as_str().into(),
                org.as_str().into(),
                identity.as_str().into(),
            ],
        )
        .await?;
        m.role = role.as_str().to_owned();
        txn.emit(
            member_event(EventType::MemberRoleUpdated, org, identity)
                .attr("old_role", old.as_str())
                .attr("role", role.as_str()),
        );
        txn.commit(self).await?;
        Ok(to_member(m))
    }

    /// M2: members ordered by identity ID, filtered by state and role.
    pub async fn list_members(
        &self,
        org: &OrgId,
        filter: MemberFilter,
        page: &PageRequest,
    ) -> Result<Page<Member>> {
        self.get_organization(org).await?;
        let mut sql = format!("SELECT {MEMBER_COLS} FROM members WHERE organization_id = ?");
        let mut values: Vec<Value> = vec![org.as_str().into()];
        if let Some(state) = filter.state {
            sql.push_str(" AND state = ?");
            values.push(state.as_str().into());
        }
        if let Some(role) = filter.role {
            sql.push_str(" AND role = ?");
            values.push(role.as_str().into());
        }
        keyset_page(
            &self.db,
            sql,
            values,
            "identity_id",
            page,
            member_from_row,
            |m| m.identity_id.to_string(),
        )
        .await
    }

    // ---- M3 rooms --------------------------------------------------------

    /// M3: creates a room whose first admin is an ACTIVE member.
    pub async fn create_room(
        &self,
        actor: Actor,
        org: &OrgId,
        display_name: &str,
        admin: &IdentityId,
    ) -> Result<Room> {
        retrying!(
            self.create_room_once(&actor, org, display_name, admin)
                .await
        )
    }

    async fn create_room_once(
        &self,
        actor: &Actor,
        org: &OrgId,
        display_name: &str,
        admin: &IdentityId,
    ) -> Result<Room> {
        let mut txn = self.begin(actor.clone()).await?;
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
        txn.commit(self).await?;
        Ok(Room {
            id,
            org_id: org.clone(),
            display_name: display_name.to_owned(),
            created_at: to_time(now),
        })
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
        retrying!(
            self.add_room_member_once(&actor, room, identity, role, can_delete_entries)
                .await
        )
    }

    async fn add_room_member_once(
        &self,
        actor: &Actor,
        room: &RoomId,
        identity: &IdentityId,
        role: RoomRole,
        can_delete_entries: bool,
    ) -> Result<RoomMember> {
        let mut txn = self.begin(actor.clone()).await?;
        let org = OrgId::from_trusted(load_room(txn.conn(), room).await?.organization_id);
        lock_org(&txn, &org).await?;
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
        txn.commit(self).await?;
        Ok(RoomMember {
            room_id: room.clone(),
            identity_id: identity.clone(),
            role,
            can_delete_entries,
            member_state: MemberState::Active,
        })
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
        retrying!(
            self.update_room_member_once(&actor, room, identity, role, can_delete_entries)
                .await
        )
    }

    async fn update_room_member_once(
        &self,
        actor: &Actor,
        room: &RoomId,
        identity: &IdentityId,
        role: Option<RoomRole>,
        can_delete_entries: Option<bool>,
    ) -> Result<RoomMember> {
        let mut txn = self.begin(actor.clone()).await?;
        let org = OrgId::from_trusted(load_room(txn.conn(), room).await?.organization_id);
        lock_org(&txn, &org).await?;
        let mut current = load_room_member(txn.conn(), room, identity)
            .await?
            .ok_or_else(|| room_member_not_found(room, identity))?;
        let new_role = role.unwrap_or(current.role);
        let new_delete = can_delete_entries.unwrap_or(current.can_delete_entries);
        if new_role == current.role && new_delete == current.can_delete_entries {
            txn.rollback().await?;
            return Ok(current);
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
        txn.commit(self).await?;
        current.role = new_role;
        current.can_delete_entries = new_delete;
        Ok(current)
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
        retrying!(
            self.remove_room_member_once(&actor, room, identity, successor, leaving)
                .await
        )
    }

    async fn remove_room_member_once(
        &self,
        actor: &Actor,
        room: &RoomId,
        identity: &IdentityId,
        successor: Option<&IdentityId>,
        leaving: bool,
    ) -> Result<()> {
        let mut txn = self.begin(actor.clone()).await?;
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
        txn.commit(self).await?;
        Ok(())
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

    // ---- M4 / M5 / M6 offboarding ---------------------------------------

    /// M4 (+M7): deactivates a member: memberships, content and assignments
    /// stay, access ends, the seat is freed per L6.
    pub async fn deactivate_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        input: DeactivationInput,
        successor: Option<&IdentityId>,
    ) -> Result<Member> {
        retrying!(
            self.deactivate_member_once(&actor, org, identity, &input, successor)
                .await
        )
    }

    async fn deactivate_member_once(
        &self,
        actor: &Actor,
        org: &OrgId,
        identity: &IdentityId,
        input: &DeactivationInput,
        successor: Option<&IdentityId>,
    ) -> Result<Member> {
        let mut txn = self.begin(actor.clone()).await?;
        lock_org(&txn, org).await?;
        let mut m = load_member(txn.conn(), org, identity)
            .await?
            .ok_or_else(|| member_not_found(org, identity))?;
        if m.state == MemberState::Deactivated.as_str() {
            return Err(Error::precondition(
                Reason::AlreadyDeactivated,
                format!("{identity} is already deactivated in organization {org}"),
            ));
        }
        if m.role == MemberRole::Admin.as_str() {
            ensure_other_active_admin(txn.conn(), org, identity).await?;
        }
        let handed = guard_rooms(&mut txn, org, identity, true, None, successor).await?;
        let now = txn.now_ms();
        let note = (!input.note.is_empty()).then(|| input.note.clone());
        txn.exec(
            "UPDATE members SET state = 'DEACTIVATED', deactivation_reason = ?, \
             deactivation_note = ?, expected_return_at = ?, deactivated_at = ?, deactivated_by = ? \
             WHERE organization_id = ? AND identity_id = ?",
            vec![
                input.reason.as_str().into(),
                note.clone().into(),
                input.expected_return_ms.into(),
                now.into(),
                actor.id.clone().into(),
                org.as_str().into(),
                identity.as_str().into(),
            ],
        )
        .await?;
        let mut event = member_event(EventType::MemberDeactivated, org, identity)
            .package(&PackageId::from_trusted(m.package_id.clone()))
            .reason(input.reason.as_str());
        if !handed.is_empty() {
            event = event.attr("successor_room_count", handed.len().to_string());
        }
        if let Some(s) = successor.filter(|_| !handed.is_empty()) {
            event = event.attr("successor_identity_id", s.as_str());
        }
        txn.emit(event);
        let package = PackageId::from_trusted(m.package_id.clone());
        seats::release_if_unheld(&mut txn, &package, identity, "MEMBER_DEACTIVATED").await?;
        txn.commit(self).await?;
        m.state = MemberState::Deactivated.as_str().to_owned();
        m.deactivation_reason = Some(input.reason.as_str().to_owned());
        m.deactivation_note = note;
        m.expected_return_at = input.expected_return_ms;
        m.deactivated_at = Some(now);
        m.deactivated_by = Some(actor.id.clone());
        Ok(to_member(m))
    }

    /// M5: reactivates a deactivated member (rooms and all access back),
    /// taking a seat atomically.
    pub async fn reactivate_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
    ) -> Result<Member> {
        retrying!(self.reactivate_member_once(&actor, org, identity).await)
    }

    async fn reactivate_member_once(
        &self,
        actor: &Actor,
        org: &OrgId,
        identity: &IdentityId,
    ) -> Result<Member> {
        let mut txn = self.begin(actor.clone()).await?;
        // Never deleted, so only revocation can make this fail; a revoked
        // identity is no member any more either (NOT_FOUND otherwise).
        lock_active_identity(&txn, identity).await?;
        lock_org(&txn, org).await?;
        let mut m = load_member(txn.conn(), org, identity)
            .await?
            .ok_or_else(|| member_not_found(org, identity))?;
        if m.state != MemberState::Deactivated.as_str() {
            return Err(Error::precondition(
                Reason::NotDeactivated,
                format!("{identity} is not deactivated in organization {org}"),
            ));
        }
        let now = txn.now_ms();
        // Activity restarts now, or an idle guest would be swept again at once.
        txn.exec(
            "UPDATE members SET state = 'ACTIVE', deactivation_reason = NULL, \
             deactivation_note = NULL, expected_return_at = NULL, deactivated_at = NULL, \
             deactivated_by = NULL, last_activity_at = ? \
             WHERE organization_id = ? AND identity_id = ?",
            vec![now.into(), org.as_str().into(), identity.as_str().into()],
        )
        .await?;
        let package = PackageId::from_trusted(m.package_id.clone());
        txn.emit(member_event(EventType::MemberReactivated, org, identity).package(&package));
        seats::attach(&mut txn, &package, identity, AttachMethod::Membership, None).await?;
        txn.commit(self).await?;
        m.state = MemberState::Active.as_str().to_owned();
        m.deactivation_reason = None;
        m.deactivation_note = None;
        m.expected_return_at = None;
        m.deactivated_at = None;
        m.deactivated_by = None;
        m.last_activity_at = now;
        Ok(to_member(m))
    }

    /// M6 (+M7): removes a member: out of the organization and all its
    /// rooms, assignments there dropped, seat freed per L6. A fixed number
    /// of statements whatever the number of rooms and assignments.
    pub async fn remove_member(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        successor: Option<&IdentityId>,
    ) -> Result<Removal> {
        retrying!(
            self.remove_member_once(&actor, org, identity, successor)
                .await
        )
    }

    async fn remove_member_once(
        &self,
        actor: &Actor,
        org: &OrgId,
        identity: &IdentityId,
        successor: Option<&IdentityId>,
    ) -> Result<Removal> {
        let mut txn = self.begin(actor.clone()).await?;
        lock_org(&txn, org).await?;
        let m = load_member(txn.conn(), org, identity)
            .await?
            .ok_or_else(|| member_not_found(org, identity))?;
        let active = m.state == MemberState::Active.as_str();
        if active && m.role == MemberRole::Admin.as_str() {
            ensure_other_active_admin(txn.conn(), org, identity).await?;
        }
        let handed = guard_rooms(&mut txn, org, identity, active, None, successor).await?;
        let (rooms_left, assignments_dropped) =
            remove_from_orgs(&txn, identity, std::slice::from_ref(org)).await?;
        let package = PackageId::from_trusted(m.package_id);
        let mut event = member_event(EventType::MemberRemoved, org, identity)
            .package(&package)
            .reason("REMOVED")
            .attr("rooms_left", rooms_left.to_string())
            .attr("assignments_dropped", assignments_dropped.to_string());
        if let Some(s) = successor.filter(|_| !handed.is_empty()) {
            event = event
                .attr("successor_identity_id", s.as_str())
                .attr("successor_room_count", handed.len().to_string());
        }
        txn.emit(event);
        let seat_freed =
            seats::release_if_unheld(&mut txn, &package, identity, "MEMBER_REMOVED").await?;
        txn.commit(self).await?;
        Ok(Removal {
            rooms_left,
            assignments_dropped,
            successor_rooms: handed,
            seat_freed,
        })
    }

    /// M8: what deactivating or removing would do, without writing. Five
    /// read queries.
    pub async fn preview_offboarding(
        &self,
        org: &OrgId,
        identity: &IdentityId,
        action: OffboardingAction,
        successor: Option<&IdentityId>,
    ) -> Result<OffboardingPreview> {
        let o = self.get_organization(org).await?;
        let m = load_member(&self.db, org, identity)
            .await?
            .ok_or_else(|| member_not_found(org, identity))?;
        let active = m.state == MemberState::Active.as_str();
        let mut blocking = Vec::new();
        if action == OffboardingAction::Deactivate && !active {
            blocking.push(Reason::AlreadyDeactivated);
        }
        if active
            && m.role == MemberRole::Admin.as_str()
            && !has_other_active_admin(&self.db, org, identity).await?
        {
            blocking.push(Reason::LastOrganizationAdmin);
        }
        if let Some(s) = successor
            && require_active_member(&self.db, org, s, Reason::SuccessorNotActive)
                .await
                .is_err()
        {
            blocking.push(Reason::SuccessorNotActive);
        }
        let orphaned_rooms = if active {
            orphaned_rooms(&self.db, org, identity, None).await?
        } else {
            Vec::new()
        };
        if !orphaned_rooms.is_empty() && successor.is_none() {
            blocking.push(Reason::LastRoomAdmin);
        }
        let counts = one(
            &self.db,
            &format!(
                "SELECT (SELECT COUNT(*) FROM room_members \
                         WHERE organization_id = ? AND identity_id = ?) AS rooms, \
                        (SELECT COUNT(*) FROM members m JOIN assignments a ON {HELD_BY} \
                         WHERE m.organization_id = ? AND m.identity_id = ?) AS assignments, \
                        (SELECT COUNT(*) FROM attachments \
                         WHERE package_id = ? AND identity_id = ? AND signed_in = ?) AS releasable"
            ),
            vec![
                org.as_str().into(),
                identity.as_str().into(),
                org.as_str().into(),
                identity.as_str().into(),
                o.package_id.as_str().into(),
                identity.as_str().into(),
                false.into(),
            ],
        )
        .await?
        .ok_or_else(|| Error::Internal("count query returned no row".to_owned()))?;
        let room_count: i64 = counts.try_get("", "rooms")?;
        let assignment_count: i64 = counts.try_get("", "assignments")?;
        let releasable: i64 = counts.try_get("", "releasable")?;
        let other_active_orgs: Vec<OrgId> = rows(
            &self.db,
            "SELECT organization_id FROM members WHERE package_id = ? AND identity_id = ? \
             AND state = 'ACTIVE' AND organization_id <> ? ORDER BY organization_id",
            vec![
                o.package_id.as_str().into(),
                identity.as_str().into(),
                org.as_str().into(),
            ],
        )
        .await?
        .iter()
        .map(|r| Ok(OrgId::from_trusted(r.try_get("", "organization_id")?)))
        .collect::<Result<_>>()?;
        Ok(OffboardingPreview {
            orphaned_rooms,
            room_count: room_count.max(0) as u64,
            assignment_count: assignment_count.max(0) as u64,
            seat_freed: releasable > 0 && other_active_orgs.is_empty(),
            other_active_orgs,
            blocking,
        })
    }

    // ---- M9 assignments -------------------------------------------------

    /// M9: registers a work item assigned to an active room member.
    pub async fn create_assignment(&self, actor: Actor, new: NewAssignment) -> Result<Assignment> {
        retrying!(self.create_assignment_once(&actor, &new).await)
    }

    async fn create_assignment_once(
        &self,
        actor: &Actor,
        new: &NewAssignment,
    ) -> Result<Assignment> {
        let mut txn = self.begin(actor.clone()).await?;
        let org = OrgId::from_trusted(load_room(txn.conn(), &new.room_id).await?.organization_id);
        lock_org(&txn, &org).await?;
        require_active_member(txn.conn(), &org, &new.assignee, Reason::NotActiveMember).await?;
        if load_room_member(txn.conn(), &new.room_id, &new.assignee)
            .await?
            .is_none()
        {
            return Err(Error::precondition(
                Reason::NotRoomMember,
                format!("{} is not a member of room {}", new.assignee, new.room_id),
            ));
        }
        let id = AssignmentId::generate();
        let now = txn.now_ms();
        txn.exec(
            "INSERT INTO assignments (id, organization_id, room_id, kind, title, created_at, \
             assignee_id, assignee_tenure) \
             SELECT ?, ?, ?, ?, ?, ?, identity_id, tenure FROM members \
             WHERE organization_id = ? AND identity_id = ?",
            vec![
                id.as_str().into(),
                org.as_str().into(),
                new.room_id.as_str().into(),
                new.kind.as_str().into(),
                new.title.clone().into(),
                now.into(),
                org.as_str().into(),
                new.assignee.as_str().into(),
            ],
        )
        .await?;
        txn.emit(
            NewEvent::new(EventType::AssignmentCreated, id.as_str())
                .identity(&new.assignee)
                .org(&org)
                .room(&new.room_id)
                .attr("kind", new.kind.as_str()),
        );
        txn.commit(self).await?;
        Ok(Assignment {
            id,
            org_id: org,
            room_id: new.room_id.clone(),
            assignee: Some(new.assignee.clone()),
            kind: new.kind,
            title: new.title.clone(),
            created_at: to_time(now),
        })
    }

    /// M9: assignments of an organization ordered by ID.
    pub async fn list_assignments(
        &self,
        org: &OrgId,
        filter: &AssignmentFilter,
        page: &PageRequest,
    ) -> Result<Page<Assignment>> {
        self.get_organization(org).await?;
        let mut sql = format!(
            "SELECT a.id AS id, a.organization_id AS organization_id, a.room_id AS room_id, \
                    m.identity_id AS assignee_id, a.kind AS kind, a.title AS title, \
                    a.created_at AS created_at \
             FROM assignments a LEFT JOIN members m ON {HELD_BY} \
             WHERE a.organization_id = ?"
        );
        let mut values: Vec<Value> = vec![org.as_str().into()];
        if let Some(a) = &filter.assignee {
            sql.push_str(" AND a.assignee_id = ? AND m.identity_id IS NOT NULL");
            values.push(a.as_str().into());
        }
        if let Some(r) = &filter.room {
            sql.push_str(" AND a.room_id = ?");
            values.push(r.as_str().into());
        }
        keyset_page(
            &self.db,
            sql,
            values,
            "a.id",
            page,
            assignment_from_row,
            |a| a.id.to_string(),
        )
        .await
    }

    /// M9: moves all (or one room's) assignments of `from` to the ACTIVE
    /// member `to` in one statement. Returns how many moved.
    pub async fn transfer_assignments(
        &self,
        actor: Actor,
        org: &OrgId,
        from: &IdentityId,
        to: &IdentityId,
        room: Option<&RoomId>,
    ) -> Result<u64> {
        retrying!(
            self.transfer_assignments_once(&actor, org, from, to, room)
                .await
        )
    }

    async fn transfer_assignments_once(
        &self,
        actor: &Actor,
        org: &OrgId,
        from: &IdentityId,
        to: &IdentityId,
        room: Option<&RoomId>,
    ) -> Result<u64> {
        let mut txn = self.begin(actor.clone()).await?;
        lock_org(&txn, org).await?;
        if let Some(room) = room
            && load_room(txn.conn(), room).await?.organization_id != org.as_str()
        {
            return Err(room_not_found(room));
        }
        require_active_member(txn.conn(), org, to, Reason::SuccessorNotActive).await?;
        // Only what `from` holds in its current tenure; `to` is an active
        // member (checked above), so its tenure exists.
        let mut sql = String::from(
            "UPDATE assignments SET assignee_id = ?, assignee_tenure = \
               (SELECT tenure FROM members WHERE organization_id = ? AND identity_id = ?) \
             WHERE organization_id = ? AND assignee_id = ? AND assignee_tenure = \
               (SELECT tenure FROM members WHERE organization_id = ? AND identity_id = ?)",
        );
        let mut values: Vec<Value> = vec![
            to.as_str().into(),
            org.as_str().into(),
            to.as_str().into(),
            org.as_str().into(),
            from.as_str().into(),
            org.as_str().into(),
            from.as_str().into(),
        ];
        if let Some(room) = room {
            sql.push_str(" AND room_id = ?");
            values.push(room.as_str().into());
        }
        let moved = txn.exec(&sql, values).await?;
        if moved == 0 {
            txn.rollback().await?;
            return Ok(0);
        }
        let mut event = NewEvent::new(EventType::AssignmentsTransferred, from.as_str())
            .identity(from)
            .org(org)
            .attr("to_identity_id", to.as_str())
            .attr("count", moved.to_string());
        if let Some(room) = room {
            event = event.room(room);
        }
        txn.emit(event);
        txn.commit(self).await?;
        Ok(moved)
    }

    // ---- M10 / M11 hot paths --------------------------------------------

    /// M10: how each of `ids` renders in `org`, in request order (duplicates
    /// repeated). Exactly ONE query whatever the number of IDs (up to
    /// 1,000): the organization LEFT JOIN its members among `ids` JOIN
    /// identities; the organization row tells NOT_FOUND apart from "no
    /// member among them".
    pub async fn resolve_profiles(&self, org: &OrgId, ids: &[IdentityId]) -> Result<Vec<Profile>> {
        let mut distinct: Vec<&str> = ids.iter().map(IdentityId::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let in_list = if distinct.is_empty() {
            // Matches nothing; keeps the statement well-formed.
            "NULL".to_owned()
        } else {
            placeholders(distinct.len())
        };
        let sql = format!(
            "SELECT o.id AS org_id, m.identity_id AS identity_id, m.state AS member_state, \
                    i.state AS identity_state, i.display_name AS display_name, \
                    i.avatar_url AS avatar_url \
             FROM organizations o \
             LEFT JOIN members m ON m.organization_id = o.id AND m.identity_id IN ({in_list}) \
             LEFT JOIN identities i ON i.id = m.identity_id \
             WHERE o.id = ?"
        );
        let mut values: Vec<Value> = distinct.iter().map(|s| (*s).into()).collect();
        values.push(org.as_str().into());
        let found = rows(&self.db, &sql, values).await?;
        if found.is_empty() {
            return Err(org_not_found(org));
        }
        let mut profiles = std::collections::HashMap::with_capacity(found.len());
        for r in &found {
            let Some(id) = r.try_get::<Option<String>>("", "identity_id")? else {
                continue;
            };
            let member_state: Option<String> = r.try_get("", "member_state")?;
            let identity_state: Option<String> = r.try_get("", "identity_state")?;
            let name: Option<String> = r.try_get("", "display_name")?;
            let avatar: Option<String> = r.try_get("", "avatar_url")?;
            let profile = match (identity_state.as_deref(), member_state.as_deref()) {
                (Some(s), Some(m)) if s == IdentityState::Active.as_str() => {
                    if m == MemberState::Active.as_str() {
                        Profile::Active {
                            display_name: name.unwrap_or_default(),
                            avatar_url: avatar.unwrap_or_default(),
                        }
                    } else {
                        Profile::Deactivated {
                            display_name: name.unwrap_or_default(),
                        }
                    }
                }
                _ => Profile::Unknown,
            };
            profiles.insert(id, profile);
        }
        Ok(ids
            .iter()
            .map(|id| {
                profiles
                    .get(id.as_str())
                    .cloned()
                    .unwrap_or(Profile::Unknown)
            })
            .collect())
    }

    /// M11: whether `identity` may access `org` (and `room`). Exactly ONE
    /// query: the organization LEFT JOIN the identity, its membership, the
    /// room (which must belong to the organization) and its room
    /// membership. Unknown organization or room: NOT_FOUND.
    pub async fn check_access(
        &self,
        identity: &IdentityId,
        org: &OrgId,
        room: Option<&RoomId>,
    ) -> Result<AccessDecision> {
        let r = one(
            &self.db,
            "SELECT i.state AS identity_state, m.role AS member_role, m.state AS member_state, \
                    r.id AS room_id, rm.role AS room_role, rm.can_delete_entries AS can_delete \
             FROM organizations o \
             LEFT JOIN identities i ON i.id = ? \
             LEFT JOIN members m ON m.organization_id = o.id AND m.identity_id = ? \
             LEFT JOIN rooms r ON r.id = ? AND r.organization_id = o.id \
             LEFT JOIN room_members rm ON rm.room_id = r.id AND rm.identity_id = ? \
             WHERE o.id = ?",
            vec![
                identity.as_str().into(),
                identity.as_str().into(),
                room.map(|r| r.to_string()).into(),
                identity.as_str().into(),
                org.as_str().into(),
            ],
        )
        .await?
        .ok_or_else(|| org_not_found(org))?;
        let room_found: Option<String> = r.try_get("", "room_id")?;
        if let Some(room) = room
            && room_found.is_none()
        {
            return Err(room_not_found(room));
        }
        let identity_state: Option<String> = r.try_get("", "identity_state")?;
        let role: Option<String> = r.try_get("", "member_role")?;
        let state: Option<String> = r.try_get("", "member_state")?;
        let room_role_text: Option<String> = r.try_get("", "room_role")?;
        let deny = |d| Ok(AccessDecision::Denied(d));
        match identity_state.as_deref() {
            None => return deny(AccessDenial::UnknownIdentity),
            Some(s) if s != IdentityState::Active.as_str() => return deny(AccessDenial::Revoked),
            Some(_) => {}
        }
        let (Some(role), Some(state)) = (role, state) else {
            return deny(AccessDenial::NotMember);
        };
        let role = member_role(&role);
        if member_state(&state) != MemberState::Active {
            return deny(AccessDenial::Deactivated { role });
        }
        let room = match (room, room_role_text) {
            (None, _) => None,
            (Some(_), None) => return deny(AccessDenial::NotInRoom { role }),
            (Some(_), Some(rr)) => {
                let can_delete: Option<bool> = r.try_get("", "can_delete")?;
                Some((room_role(&rr), can_delete.unwrap_or(false)))
            }
        };
        Ok(AccessDecision::Allowed { role, room })
    }

    // ---- M12 inactive guests --------------------------------------------

    /// M12: records that a member was active now (telemetry: a plain
    /// UPDATE, no audit event). Never moves the time backwards.
    pub async fn record_activity(&self, org: &OrgId, identity: &IdentityId) -> Result<()> {
        let now = self.now_ms();
        let updated = self
            .db
            .execute_raw(statement(
                self.backend(),
                "UPDATE members SET last_activity_at = CASE WHEN last_activity_at < ? THEN ? \
                 ELSE last_activity_at END WHERE organization_id = ? AND identity_id = ?",
                vec![
                    now.into(),
                    now.into(),
                    org.as_str().into(),
                    identity.as_str().into(),
                ],
            ))
            .await?
            .rows_affected();
        if updated == 0 {
            self.get_organization(org).await?;
            return Err(member_not_found(org, identity));
        }
        Ok(())
    }

    /// M12: deactivates ACTIVE GUEST members idle longer than their
    /// organization's `guest_inactivity` (organizations without one are
    /// skipped), each audited as MEMBER_DEACTIVATED with reason INACTIVITY,
    /// seats released per L6. Set-based: one selection of the organizations
    /// concerned, their rows locked, one `UPDATE … RETURNING` per 500
    /// organizations, one seat statement per 500 guests. With `dry_run`
    /// only the selection runs. The room-admin guard (M7) does not stop
    /// the sweep: the organization's setting is the admins' decision, and
    /// organization admins still manage such rooms.
    pub async fn run_inactivity_sweep(
        &self,
        actor: Actor,
        org: Option<&OrgId>,
        dry_run: bool,
    ) -> Result<SweepOutcome> {
        if let Some(org) = org {
            self.get_organization(org).await?;
        }
        if dry_run {
            return self.sweep_candidates(org).await;
        }
        retrying!(self.sweep_once(&actor, org).await)
    }

    async fn sweep_candidates(&self, org: Option<&OrgId>) -> Result<SweepOutcome> {
        let now = self.now_ms();
        let mut sql = format!(
            "SELECT {} FROM members m JOIN organizations o ON o.id = m.organization_id \
             WHERE m.role = 'GUEST' AND m.state = 'ACTIVE' AND o.guest_inactivity_ms IS NOT NULL \
             AND m.last_activity_at < ? - o.guest_inactivity_ms",
            prefixed_member_cols("m")
        );
        let mut values: Vec<Value> = vec![now.into()];
        if let Some(org) = org {
            sql.push_str(" AND m.organization_id = ?");
            values.push(org.as_str().into());
        }
        sql.push_str(" ORDER BY m.organization_id, m.identity_id");
        let mut members = rows(&self.db, &sql, values)
            .await?
            .iter()
            .map(member_from_row)
            .collect::<Result<Vec<_>>>()?;
        let count = members.len() as u64;
        members.truncate(MAX_SWEEP_MEMBERS);
        Ok(SweepOutcome { members, count })
    }

    async fn sweep_once(&self, actor: &Actor, org: Option<&OrgId>) -> Result<SweepOutcome> {
        let mut txn = self.begin(actor.clone()).await?;
        let now = txn.now_ms();
        let mut sql = String::from(
            "SELECT DISTINCT m.organization_id AS organization_id FROM members m \
             JOIN organizations o ON o.id = m.organization_id \
             WHERE m.role = 'GUEST' AND m.state = 'ACTIVE' AND o.guest_inactivity_ms IS NOT NULL \
             AND m.last_activity_at < ? - o.guest_inactivity_ms",
        );
        let mut values: Vec<Value> = vec![now.into()];
        if let Some(org) = org {
            sql.push_str(" AND m.organization_id = ?");
            values.push(org.as_str().into());
        }
        let mut orgs: Vec<OrgId> = txn
            .query_all(&sql, values)
            .await?
            .iter()
            .map(|r| Ok(OrgId::from_trusted(r.try_get("", "organization_id")?)))
            .collect::<Result<_>>()?;
        if orgs.is_empty() {
            txn.rollback().await?;
            return Ok(SweepOutcome {
                members: Vec::new(),
                count: 0,
            });
        }
        orgs.sort();
        lock_orgs(&txn, &orgs).await?;
        let mut members = Vec::new();
        for chunk in orgs.chunks(CHUNK) {
            let mut values: Vec<Value> = vec![now.into(), actor.id.clone().into()];
            values.extend(chunk.iter().map(|o| o.as_str().into()));
            values.push(now.into());
            // A join, not a correlated subquery: PostgreSQL then uses the
            // sweep index with each organization's cutoff (and no JIT).
            let sql = format!(
                "UPDATE members SET state = 'DEACTIVATED', deactivation_reason = 'INACTIVITY', \
                 deactivation_note = NULL, expected_return_at = NULL, deactivated_at = ?, \
                 deactivated_by = ? \
                 FROM organizations o \
                 WHERE o.id = members.organization_id AND members.role = 'GUEST' \
                 AND members.state = 'ACTIVE' AND members.organization_id IN ({}) \
                 AND o.guest_inactivity_ms IS NOT NULL \
                 AND members.last_activity_at < ? - o.guest_inactivity_ms \
                 RETURNING {}",
                placeholders(chunk.len()),
                prefixed_member_cols("members")
            );
            for r in txn.query_all(&sql, values).await? {
                members.push(member::Model::from_query_result(&r, "")?);
            }
        }
        members.sort_by(|a, b| {
            (&a.organization_id, &a.identity_id).cmp(&(&b.organization_id, &b.identity_id))
        });
        let held: Vec<(PackageId, IdentityId)> = members
            .iter()
            .map(|m| {
                (
                    PackageId::from_trusted(m.package_id.clone()),
                    IdentityId::from_trusted(m.identity_id.clone()),
                )
            })
            .collect();
        for m in &members {
            txn.emit(
                NewEvent::new(EventType::MemberDeactivated, m.identity_id.as_str())
                    .identity(&IdentityId::from_trusted(m.identity_id.clone()))
                    .org(&OrgId::from_trusted(m.organization_id.clone()))
                    .package(&PackageId::from_trusted(m.package_id.clone()))
                    .reason(DeactivationReason::Inactivity.as_str()),
            );
        }
        if members.is_empty() {
            txn.rollback().await?;
            return Ok(SweepOutcome {
                members: Vec::new(),
                count: 0,
            });
        }
        seats::release_all_if_unheld(&mut txn, &held, DeactivationReason::Inactivity.as_str())
            .await?;
        txn.commit(self).await?;
        let count = members.len() as u64;
        Ok(SweepOutcome {
            members: members
                .into_iter()
                .take(MAX_SWEEP_MEMBERS)
                .map(to_member)
                .collect(),
            count,
        })
    }
}

fn prefixed_member_cols(alias: &str) -> String {
    MEMBER_COLS
        .split(", ")
        .map(|c| format!("{alias}.{c} AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A fresh tenure for a joining member: random, so a re-added identity
/// never matches the assignments of an earlier membership.
fn new_tenure() -> i64 {
    use rand::RngExt;
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).random::<i64>()
}

async fn insert_member(
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

async fn insert_room_member(
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
async fn load_room_member<C: ConnectionTrait>(
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
