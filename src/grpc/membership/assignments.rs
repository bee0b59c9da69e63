//! Assignments (M9): create, list, transfer.

use tonic::{Request, Response, Status};

use super::super::Ctx;
use super::super::authn;
use super::super::authz;
use super::super::convert;
use super::checked;
use super::messages::kind_from_pb;
use crate::domain::validate::{self, Violations};
use crate::domain::{Error, IdentityId, OrgId, Reason, RoomId};
use crate::pb;
use crate::store::{AssignmentFilter, NewAssignment};

/// Longest assignment title.
const MAX_TITLE: usize = 200;

pub(super) async fn create_assignment(
    ctx: &Ctx,
    request: Request<pb::CreateAssignmentRequest>,
) -> Result<Response<pb::Assignment>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let Some(a) = req.assignment else {
        return Err(Error::invalid("assignment", "is required").into());
    };
    let mut v = Violations::new();
    let room = v.id("assignment.room_id", RoomId::parse(&a.room_id));
    let assignee = v.id(
        "assignment.assignee_identity_id",
        IdentityId::parse(&a.assignee_identity_id),
    );
    let kind = convert::required_enum(&mut v, "assignment.kind", a.kind, kind_from_pb);
    let title = validate::display_name(&mut v, "assignment.title", &a.title, MAX_TITLE);
    v.finish()?;
    let room = checked(room, "assignment.room_id")?;
    if !authz::room_caller(ctx, &principal, &room)
        .await?
        .uses_room()
    {
        return Err(Error::denied(
            Reason::NotAuthorized,
            format!("only active members of room {room} or admins of its organization may do this"),
        )
        .into());
    }
    let created = ctx
        .store
        .create_assignment(
            principal.actor(),
            NewAssignment {
                room_id: room,
                assignee: checked(assignee, "assignment.assignee_identity_id")?,
                kind: checked(kind, "assignment.kind")?,
                title,
            },
        )
        .await?;
    Ok(Response::new(created.into()))
}

pub(super) async fn list_assignments(
    ctx: &Ctx,
    request: Request<pb::ListAssignmentsRequest>,
) -> Result<Response<pb::ListAssignmentsResponse>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let org = v.id("organization_id", OrgId::parse(&req.organization_id));
    let mut filter = AssignmentFilter {
        assignee: v.optional_id(
            "assignee_identity_id",
            &req.assignee_identity_id,
            IdentityId::parse,
        ),
        room: v.optional_id("room_id", &req.room_id, RoomId::parse),
    };
    let page = convert::page_request(&mut v, req.page_size, &req.page_token);
    v.finish()?;
    let org = checked(org, "organization_id")?;
    let caller = authz::require_org_member(ctx, &principal, &org, false).await?;
    if let Some(room) = &filter.room
        && ctx.store.get_room(room).await?.org_id != org
    {
        // As elsewhere: another organization's room does not exist here.
        return Err(Error::not_found(
            Reason::RoomNotFound,
            format!("room {room} does not exist in organization {org}"),
        )
        .into());
    }
    if !caller.is_admin() {
        // Members see their own assignments only.
        let me = caller.identity().cloned();
        match &filter.assignee {
            None => filter.assignee = me,
            Some(a) if Some(a) == me.as_ref() => {}
            Some(_) => {
                return Err(Error::denied(
                    Reason::NotOrganizationAdmin,
                    "members may list only their own assignments",
                )
                .into());
            }
        }
    }
    let page = ctx.store.list_assignments(&org, &filter, &page).await?;
    Ok(Response::new(pb::ListAssignmentsResponse {
        assignments: page.items.into_iter().map(Into::into).collect(),
        next_page_token: convert::page_token(page.next),
    }))
}

pub(super) async fn transfer_assignments(
    ctx: &Ctx,
    request: Request<pb::TransferAssignmentsRequest>,
) -> Result<Response<pb::TransferAssignmentsResponse>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let org = v.id("organization_id", OrgId::parse(&req.organization_id));
    let from = v.id("from_identity_id", IdentityId::parse(&req.from_identity_id));
    let to = v.id("to_identity_id", IdentityId::parse(&req.to_identity_id));
    if from.is_some() && from == to {
        v.add("to_identity_id", "must differ from from_identity_id");
    }
    let room = v.optional_id("room_id", &req.room_id, RoomId::parse);
    v.finish()?;
    let org = checked(org, "organization_id")?;
    authz::require_org_admin(ctx, &principal, &org).await?;
    let moved = ctx
        .store
        .transfer_assignments(
            principal.actor(),
            &org,
            &checked(from, "from_identity_id")?,
            &checked(to, "to_identity_id")?,
            room.as_ref(),
        )
        .await?;
    Ok(Response::new(pb::TransferAssignmentsResponse {
        transferred_count: moved.min(i32::MAX as u64) as i32,
    }))
}
