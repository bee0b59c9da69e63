//! Rooms and room members (M3): create, delete, add, update, remove, leave,
//! list.

use tonic::{Request, Response, Status};

use super::super::Ctx;
use super::super::authn;
use super::super::authz::{self, OrgCaller};
use super::super::convert;
use super::messages::room_role_from_pb;
use super::{checked, mask_paths, require_session, successor};
use crate::domain::validate::{self, Violations};
use crate::domain::{self, Error, IdentityId, MemberRole, OrgId, Reason, RoomId, RoomRole};
use crate::pb;

/// Most entries of a `permissions` list (there is one permission; some
/// room for repeats and future ones).
const MAX_PERMISSIONS: usize = 16;

/// Reads room permissions: every entry must be a known permission.
fn room_permissions(v: &mut Violations, field: &str, raw: &[i32]) -> bool {
    let mut delete = false;
    if raw.len() > MAX_PERMISSIONS {
        v.add(
            field,
            format!("must list at most {MAX_PERMISSIONS} permissions"),
        );
        return false;
    }
    for (i, p) in raw.iter().enumerate() {
        match pb::RoomPermission::try_from(*p) {
            Ok(pb::RoomPermission::DeleteEntries) => delete = true,
            _ => v.add(format!("{field}[{i}]"), "must be a known permission"),
        }
    }
    delete
}

pub(super) async fn create_room(
    ctx: &Ctx,
    request: Request<pb::CreateRoomRequest>,
) -> Result<Response<pb::Room>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let Some(r) = req.room else {
        return Err(Error::invalid("room", "is required").into());
    };
    let mut v = Violations::new();
    let org = v.id("room.organization_id", OrgId::parse(&r.organization_id));
    let display_name = validate::display_name(&mut v, "room.display_name", &r.display_name, 100);
    let admin = v.optional_id(
        "admin_identity_id",
        &req.admin_identity_id,
        IdentityId::parse,
    );
    if req.admin_identity_id.is_empty() && principal.is_service() {
        v.add("admin_identity_id", "is required for service keys");
    }
    v.finish()?;
    let org = checked(org, "room.organization_id")?;
    let mut caller = authz::org_caller(ctx, &principal, &org).await?;
    // An active member may create a room it administers itself; anything
    // else needs an admin, or a stand-in for the admins of an organization
    // that has none (M2).
    let own_room = matches!(
        &caller,
        OrgCaller::Identity {
            id,
            standing: Some((MemberRole::Member, domain::MemberState::Active)),
        } if admin.as_ref().is_none_or(|a| a == id)
    );
    if !own_room {
        caller = authz::stand_in_admin(ctx, caller, &org).await?;
    }
    let admin = match &caller {
        OrgCaller::Service => checked(admin, "admin_identity_id")?,
        _ if caller.is_admin() => checked(
            admin.or_else(|| caller.identity().cloned()),
            "admin_identity_id",
        )?,
        OrgCaller::Identity {
            id,
            standing: Some((MemberRole::Member, domain::MemberState::Active)),
        } => match admin {
            Some(a) if a != *id => {
                return Err(Error::denied(
                    Reason::NotOrganizationAdmin,
                    "only organization admins may name someone else as the room admin",
                )
                .into());
            }
            _ => id.clone(),
        },
        OrgCaller::Identity { .. } => {
            return Err(Error::denied(
                Reason::NotAuthorized,
                format!("only active members (not guests) of organization {org} may create rooms"),
            )
            .into());
        }
    };
    let room = ctx
        .store
        .create_room(principal.actor(), &org, &display_name, &admin)
        .await?;
    Ok(Response::new(room.into()))
}

pub(super) async fn add_room_member(
    ctx: &Ctx,
    request: Request<pb::AddRoomMemberRequest>,
) -> Result<Response<pb::RoomMember>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let room = v.id("room_id", RoomId::parse(&req.room_id));
    let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
    let role = convert::optional_enum(&mut v, "role", req.role, room_role_from_pb)
        .unwrap_or(RoomRole::Member);
    let delete = if req.without_permissions {
        if !req.permissions.is_empty() {
            v.add(
                "permissions",
                "must be empty when without_permissions is set",
            );
        }
        false
    } else {
        req.permissions.is_empty() || room_permissions(&mut v, "permissions", &req.permissions)
    };
    v.finish()?;
    let (room, id) = (checked(room, "room_id")?, checked(id, "identity_id")?);
    authz::require_room_admin(ctx, &principal, &room).await?;
    let member = ctx
        .store
        .add_room_member(principal.actor(), &room, &id, role, delete)
        .await?;
    Ok(Response::new(member.into()))
}

pub(super) async fn update_room_member(
    ctx: &Ctx,
    request: Request<pb::UpdateRoomMemberRequest>,
) -> Result<Response<pb::RoomMember>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let Some(m) = req.room_member else {
        return Err(Error::invalid("room_member", "is required").into());
    };
    let mut v = Violations::new();
    let room = v.id("room_member.room_id", RoomId::parse(&m.room_id));
    let id = v.id("room_member.identity_id", IdentityId::parse(&m.identity_id));
    let (mut role, mut delete) = (None, None);
    for path in mask_paths(
        &mut v,
        req.update_mask.as_ref(),
        &["role", "permissions"],
        &[m.role != 0, !m.permissions.is_empty()],
    ) {
        if path == "role" {
            role = convert::required_enum(&mut v, "room_member.role", m.role, room_role_from_pb);
        } else {
            delete = Some(room_permissions(
                &mut v,
                "room_member.permissions",
                &m.permissions,
            ));
        }
    }
    if role.is_none() && delete.is_none() && v.is_empty() {
        v.add(
            "update_mask",
            "names nothing to change: set role or permissions, or name them in \
             update_mask (withdrawing every permission needs update_mask: permissions)",
        );
    }
    v.finish()?;
    let (room, id) = (
        checked(room, "room_member.room_id")?,
        checked(id, "room_member.identity_id")?,
    );
    authz::require_room_admin(ctx, &principal, &room).await?;
    let updated = ctx
        .store
        .update_room_member(principal.actor(), &room, &id, role, delete)
        .await?;
    Ok(Response::new(updated.into()))
}

pub(super) async fn remove_room_member(
    ctx: &Ctx,
    request: Request<pb::RemoveRoomMemberRequest>,
) -> Result<Response<()>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let room = v.id("room_id", RoomId::parse(&req.room_id));
    let id = v.id("identity_id", IdentityId::parse(&req.identity_id));
    v.finish()?;
    let (room, id) = (checked(room, "room_id")?, checked(id, "identity_id")?);
    authz::require_room_admin(ctx, &principal, &room).await?;
    ctx.store
        .remove_room_member(principal.actor(), &room, &id, None, false)
        .await?;
    Ok(Response::new(()))
}

pub(super) async fn delete_room(
    ctx: &Ctx,
    request: Request<pb::DeleteRoomRequest>,
) -> Result<Response<()>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let room = v.id("room_id", RoomId::parse(&req.room_id));
    v.finish()?;
    let room = checked(room, "room_id")?;
    authz::require_room_admin(ctx, &principal, &room).await?;
    ctx.store.delete_room(principal.actor(), &room).await?;
    Ok(Response::new(()))
}

pub(super) async fn leave_room(
    ctx: &Ctx,
    request: Request<pb::LeaveRoomRequest>,
) -> Result<Response<()>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let room = v.id("room_id", RoomId::parse(&req.room_id));
    let successor = successor(
        &mut v,
        "successor_identity_id",
        &req.successor_identity_id,
        principal.identity_id(),
    );
    v.finish()?;
    let room = checked(room, "room_id")?;
    let me = require_session(&principal)?;
    match ctx
        .store
        .remove_room_member(principal.actor(), &room, me, successor.as_ref(), true)
        .await
    {
        Ok(()) => Ok(Response::new(())),
        // Whether a room exists is nobody's business outside it (A3).
        Err(Error::NotFound { .. }) => Err(Error::not_found(
            Reason::RoomMemberNotFound,
            format!("you are not a member of room {room}"),
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn list_room_members(
    ctx: &Ctx,
    request: Request<pb::ListRoomMembersRequest>,
) -> Result<Response<pb::ListRoomMembersResponse>, Status> {
    let principal = authn::principal(&request)?;
    let req = request.into_inner();
    let mut v = Violations::new();
    let room = v.id("room_id", RoomId::parse(&req.room_id));
    let page = convert::page_request(&mut v, req.page_size, &req.page_token);
    v.finish()?;
    let room = checked(room, "room_id")?;
    if !authz::room_caller(ctx, &principal, &room)
        .await?
        .uses_room()
    {
        // Whoever manages the room may list it: the stand-in of an
        // orphaned organization's admins too (M2).
        match authz::require_room_admin(ctx, &principal, &room).await {
            Ok(_) => {}
            Err(Error::PermissionDenied { .. }) => {
                return Err(Error::denied(
                    Reason::NotAuthorized,
                    format!(
                        "only active members of room {room} or admins of its organization may \
                         list it"
                    ),
                )
                .into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    let page = ctx.store.list_room_members(&room, &page).await?;
    Ok(Response::new(pb::ListRoomMembersResponse {
        room_members: page.items.into_iter().map(Into::into).collect(),
        next_page_token: convert::page_token(page.next),
    }))
}
