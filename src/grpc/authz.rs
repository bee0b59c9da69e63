//! Authorization (A2, A3): the role rules shared by the services. Each
//! check returns PERMISSION_DENIED with a reason code when it fails.

use crate::domain::{
    Error, IdentityId, MemberRole, MemberState, OrgId, PackageId, Principal, Reason, Result,
    RoomId, RoomRole,
};
use crate::store::RoomStanding;

use super::Ctx;

/// Service keys only.
pub fn require_service(principal: &Principal) -> Result<()> {
    if principal.is_service() {
        Ok(())
    } else {
        Err(Error::denied(
            Reason::NotAuthorized,
            "only trusted services (service keys) may call this",
        ))
    }
}

/// The identity itself, through one of its sessions.
pub fn require_self(principal: &Principal, identity: &IdentityId) -> Result<()> {
    match principal.identity_id() {
        Some(me) if me == identity => Ok(()),
        _ => Err(Error::denied(
            Reason::NotSelf,
            format!("only identity {identity} itself may do this"),
        )),
    }
}

/// A service key, or the identity itself.
pub fn require_service_or_self(principal: &Principal, identity: &IdentityId) -> Result<()> {
    if principal.is_service() {
        return Ok(());
    }
    require_self(principal, identity)
}

/// A service key, or an administrator of `package`, or (the recovery
/// path, M2) an ACTIVE ADMIN of an organization bound to `package` while
/// the package has no administrator at all ([`stand_in_package_admin`]).
/// A package administrator costs one query, as before: the stand-in is
/// looked up only when that check fails.
pub async fn require_package_admin(
    ctx: &Ctx,
    principal: &Principal,
    package: &PackageId,
) -> Result<()> {
    let Some(me) = principal.identity_id() else {
        return Ok(());
    };
    if ctx.store.is_package_admin(package, me).await? {
        return Ok(());
    }
    // Only on the refusal path: one more query.
    if stand_in_package_admin(ctx, me, package).await? {
        return Ok(());
    }
    Err(Error::denied(
        Reason::NotPackageAdmin,
        format!("you do not administer license package {package}"),
    ))
}

/// Whether `me` acts as an administrator of `package` without being one
/// (the recovery path, M2, mirror of [`stand_in_admin`]): while the
/// package has no administrator (its last one revoked their ID), the
/// ACTIVE ADMINs of the organizations bound to it — top-level or
/// sub-organizations — act as its administrators, so one of them can
/// appoint a new one (UpdateLicensePackage), after which the package
/// admins stand in for an organization left without an admin as usual.
/// The right ends as soon as the package has an administrator again.
///
/// When the package has no administrator and none of its organizations
/// has an active admin either, nobody with a session can repair it: only
/// a service key or the break-glass command `roster grant-package-admin`
/// (database access) can. One query.
pub async fn stand_in_package_admin(
    ctx: &Ctx,
    me: &IdentityId,
    package: &PackageId,
) -> Result<bool> {
    ctx.store.stewards_adminless_package(package, me).await
}

/// Where the caller stands in one organization (A2, A3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgCaller {
    /// A trusted service (service key): may do everything.
    Service,
    /// A person, with its role and state when a member of that very
    /// organization (parent organizations confer nothing).
    Identity {
        /// The caller.
        id: IdentityId,
        /// Role and state, when a member.
        standing: Option<(MemberRole, MemberState)>,
    },
}

impl OrgCaller {
    /// A service, or an ACTIVE ADMIN of the organization.
    pub fn is_admin(&self) -> bool {
        match self {
            OrgCaller::Service => true,
            OrgCaller::Identity { standing, .. } => {
                *standing == Some((MemberRole::Admin, MemberState::Active))
            }
        }
    }

    /// A service, or an ACTIVE member in any role.
    pub fn is_active_member(&self) -> bool {
        match self {
            OrgCaller::Service => true,
            OrgCaller::Identity { standing, .. } => {
                matches!(standing, Some((_, MemberState::Active)))
            }
        }
    }

    /// The calling identity, unless a service.
    pub fn identity(&self) -> Option<&IdentityId> {
        match self {
            OrgCaller::Service => None,
            OrgCaller::Identity { id, .. } => Some(id),
        }
    }
}

/// The caller's standing in `org` (one query for sessions, none for
/// service keys). An unknown organization is simply one the caller is not
/// a member of, so people learn nothing about other tenants (A3).
pub async fn org_caller(ctx: &Ctx, principal: &Principal, org: &OrgId) -> Result<OrgCaller> {
    match principal.identity_id() {
        None => Ok(OrgCaller::Service),
        Some(me) => Ok(OrgCaller::Identity {
            id: me.clone(),
            standing: ctx.store.member_standing(org, me).await?,
        }),
    }
}

/// `caller` as an ACTIVE ADMIN of `org` when it is not one but stands in
/// for the admins (the recovery path, M2): an admin of the organization's
/// license package while the organization has no active admin at all.
/// Otherwise `caller` unchanged (one query for a non-admin identity).
pub async fn stand_in_admin(ctx: &Ctx, caller: OrgCaller, org: &OrgId) -> Result<OrgCaller> {
    if caller.is_admin() {
        return Ok(caller);
    }
    if let Some(me) = caller.identity()
        && ctx.store.stewards_orphaned_org(org, me).await?
    {
        // Acts as an admin for this call: the org has none to overrule.
        return Ok(OrgCaller::Identity {
            id: me.clone(),
            standing: Some((MemberRole::Admin, MemberState::Active)),
        });
    }
    Ok(caller)
}

/// A service key, or an ACTIVE ADMIN of that very organization, or (the
/// recovery path, M2) an admin of its license package while the
/// organization has no active admin at all ([`stand_in_admin`]).
pub async fn require_org_admin(ctx: &Ctx, principal: &Principal, org: &OrgId) -> Result<OrgCaller> {
    let caller = org_caller(ctx, principal, org).await?;
    let caller = stand_in_admin(ctx, caller, org).await?;
    if caller.is_admin() {
        Ok(caller)
    } else {
        Err(not_org_admin(org))
    }
}

/// A service key, or a member of the organization (ACTIVE only unless
/// `any_state`), or the stand-in of an orphaned organization's admins
/// ([`stand_in_admin`], M2: whoever may act as its admin may read it).
pub async fn require_org_member(
    ctx: &Ctx,
    principal: &Principal,
    org: &OrgId,
    any_state: bool,
) -> Result<OrgCaller> {
    let caller = org_caller(ctx, principal, org).await?;
    let ok = match &caller {
        OrgCaller::Service => true,
        OrgCaller::Identity { standing, .. } => match standing {
            Some((_, MemberState::Active)) => true,
            Some((_, MemberState::Deactivated)) => any_state,
            None => false,
        },
    };
    if ok {
        return Ok(caller);
    }
    // Only on the refusal path: one more query.
    let caller = stand_in_admin(ctx, caller, org).await?;
    if caller.is_admin() {
        Ok(caller)
    } else {
        Err(Error::denied(
            Reason::NotActiveMember,
            format!("you are not an active member of organization {org}"),
        ))
    }
}

/// PERMISSION_DENIED for someone who does not administer `org`.
pub fn not_org_admin(org: &OrgId) -> Error {
    Error::denied(
        Reason::NotOrganizationAdmin,
        format!("only admins of organization {org} may do this"),
    )
}

/// Where the caller stands in a room and its organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomCaller {
    /// A trusted service.
    Service,
    /// A person; `standing` is `None` when the room does not exist.
    Identity {
        /// The caller.
        id: IdentityId,
        /// Standing in the room and its organization.
        standing: Option<RoomStanding>,
    },
}

impl RoomCaller {
    fn active_standing(&self) -> Option<(MemberRole, Option<RoomRole>)> {
        match self {
            RoomCaller::Service => None,
            RoomCaller::Identity { standing, .. } => {
                standing.as_ref().and_then(|s| match s.member {
                    Some((role, MemberState::Active)) => Some((role, s.room_role)),
                    _ => None,
                })
            }
        }
    }

    /// A service, an ACTIVE room admin, or an ACTIVE admin of the room's
    /// organization.
    pub fn manages_room(&self) -> bool {
        matches!(self, RoomCaller::Service)
            || matches!(
                self.active_standing(),
                Some((MemberRole::Admin, _)) | Some((_, Some(RoomRole::Admin)))
            )
    }

    /// A service, an ACTIVE member who is in the room, or an ACTIVE admin
    /// of the room's organization.
    pub fn uses_room(&self) -> bool {
        matches!(self, RoomCaller::Service)
            || matches!(
                self.active_standing(),
                Some((MemberRole::Admin, _)) | Some((_, Some(_)))
            )
    }
}

/// The caller's standing in `room` (one query for sessions, none for
/// service keys).
pub async fn room_caller(ctx: &Ctx, principal: &Principal, room: &RoomId) -> Result<RoomCaller> {
    match principal.identity_id() {
        None => Ok(RoomCaller::Service),
        Some(me) => Ok(RoomCaller::Identity {
            id: me.clone(),
            standing: ctx.store.room_standing(room, me).await?,
        }),
    }
}

/// A service key, an ACTIVE room admin, or an ACTIVE admin of the room's
/// organization (M3).
pub async fn require_room_admin(
    ctx: &Ctx,
    principal: &Principal,
    room: &RoomId,
) -> Result<RoomCaller> {
    let caller = room_caller(ctx, principal, room).await?;
    if caller.manages_room() {
        return Ok(caller);
    }
    // The recovery path (M2, M7): the package admins of an organization
    // without an active admin manage its rooms too.
    if let RoomCaller::Identity {
        id,
        standing: Some(standing),
    } = &caller
        && ctx
            .store
            .stewards_orphaned_org(&standing.org_id, id)
            .await?
    {
        return Ok(RoomCaller::Identity {
            id: id.clone(),
            standing: Some(RoomStanding {
                org_id: standing.org_id.clone(),
                member: Some((MemberRole::Admin, MemberState::Active)),
                room_role: standing.room_role,
            }),
        });
    }
    Err(Error::denied(
        Reason::NotRoomAdmin,
        format!("only admins of room {room} or of its organization may do this"),
    ))
}
