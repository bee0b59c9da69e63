//! Authorization (A2, A3): the role rules shared by the services. Each
//! check returns PERMISSION_DENIED with a reason code when it fails.

use crate::domain::{Error, IdentityId, PackageId, Principal, Reason, Result};

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

/// A service key, or an administrator of `package`.
pub async fn require_package_admin(
    ctx: &Ctx,
    principal: &Principal,
    package: &PackageId,
) -> Result<()> {
    match principal.identity_id() {
        None => Ok(()),
        Some(me) => {
            if ctx.store.is_package_admin(package, me).await? {
                Ok(())
            } else {
                Err(Error::denied(
                    Reason::NotPackageAdmin,
                    format!("you do not administer license package {package}"),
                ))
            }
        }
    }
}
