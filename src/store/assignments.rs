//! Assignments (tasks, appointments) and their transfer (M9).

use sea_orm::{QueryResult, Value};

use super::records::{
    load_room, load_room_member, lock_org, require_active_member, room_not_found,
};
use super::rows::keyset_page;
use super::rules::HELD_BY;
use super::{Store, Txn, to_time};
use crate::domain::{
    Actor, Assignment, AssignmentId, AssignmentKind, Error, EventType, IdentityId, NewEvent, OrgId,
    Page, PageRequest, Reason, Result, RoomId,
};

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

pub(super) fn assignment_from_row(r: &QueryResult) -> Result<Assignment> {
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

impl Store {
    /// M9: registers a work item assigned to an active room member.
    pub async fn create_assignment(&self, actor: Actor, new: NewAssignment) -> Result<Assignment> {
        let new = &new;
        self.write(&actor, |mut txn| async move {
            let org =
                OrgId::from_trusted(load_room(txn.conn(), &new.room_id).await?.organization_id);
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

            Ok((
                txn,
                Assignment {
                    id,
                    org_id: org,
                    room_id: new.room_id.clone(),
                    assignee: Some(new.assignee.clone()),
                    kind: new.kind,
                    title: new.title.clone(),
                    created_at: to_time(now),
                },
            ))
        })
        .await
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
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            if let Some(room) = room
                && load_room(txn.conn(), room).await?.organization_id != org.as_str()
            {
                return Err(room_not_found(room));
            }
            require_active_member(txn.conn(), org, to, Reason::SuccessorNotActive).await?;
            let moved = move_assignments(&mut txn, org, from, to, room).await?;
            if moved == 0 {
                txn.nothing_changed();
            }
            Ok((txn, moved))
        })
        .await
    }
}

/// M9 inside a transaction: moves what `from` holds in its current tenure
/// in `org` (or one room of it) to `to`, an ACTIVE member (checked by the
/// caller, so its tenure exists), in one statement; emits
/// ASSIGNMENTS_TRANSFERRED when anything moved. Returns how many moved.
pub(super) async fn move_assignments(
    txn: &mut Txn,
    org: &OrgId,
    from: &IdentityId,
    to: &IdentityId,
    room: Option<&RoomId>,
) -> Result<u64> {
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
    if moved > 0 {
        let mut event = NewEvent::new(EventType::AssignmentsTransferred, from.as_str())
            .identity(from)
            .org(org)
            .attr("to_identity_id", to.as_str())
            .attr("count", moved.to_string());
        if let Some(room) = room {
            event = event.room(room);
        }
        txn.emit(event);
    }
    Ok(moved)
}
