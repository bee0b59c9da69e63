//! Organizations and sub-organizations (M1), their settings (M12), the
//! stand-in right of package admins for an orphaned organization and that
//! of organization admins for a package without an admin (M2).

use sea_orm::EntityTrait;

use super::entities::organization;
use super::records::{
    ORG_COLS, insert_member, lock_active_identity, lock_org, member_event, org_not_found, to_org,
};
use super::rows::count;
use super::{Store, seats};
use crate::domain::{
    Actor, AttachMethod, Error, EventType, IdentityId, IdentityState, Member, MemberRole,
    MemberState, NewEvent, OrgId, Organization, PackageId, Plan, Reason, Result,
};

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
    /// W6: undo window in seconds; `None` = the default (seven days).
    pub removal_undo_window_secs: Option<i64>,
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
    /// W6: new undo window in seconds (0 = off).
    pub removal_undo_window_secs: Option<i64>,
}

/// W6: the undo window of a new organization (seven days).
pub const DEFAULT_REMOVAL_UNDO_WINDOW_SECS: i64 = 7 * 24 * 3600;

impl Store {
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

    /// M2 recovery, the package side: whether `identity` is an ACTIVE ADMIN
    /// of an organization bound to `package` (top-level or sub-organization;
    /// `members.package_id` is the organization's package)
    /// while `package` has no administrator at all (no admin row of an
    /// identity that is not revoked; its last one revoked their ID). Such
    /// organization admins act as the package's administrators until it has
    /// one again. When neither exists (no package admin, no organization of
    /// the package with an active admin), nobody holding a session can
    /// repair it: only a service key or `roster grant-package-admin`. One
    /// query.
    pub async fn stewards_adminless_package(
        &self,
        package: &PackageId,
        identity: &IdentityId,
    ) -> Result<bool> {
        let n = count(
            &self.db,
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM members m \
             WHERE m.package_id = ? AND m.identity_id = ? AND m.role = ? AND m.state = ? \
               AND NOT EXISTS (SELECT 1 FROM package_admins pa \
                 JOIN identities i ON i.id = pa.identity_id \
                 WHERE pa.package_id = m.package_id AND i.state <> ?)",
            vec![
                package.as_str().into(),
                identity.as_str().into(),
                MemberRole::Admin.as_str().into(),
                MemberState::Active.as_str().into(),
                IdentityState::Revoked.as_str().into(),
            ],
        )
        .await?;
        Ok(n > 0)
    }

    /// M1: creates an organization (or sub-organization) with its first
    /// ADMIN, who takes a seat in the package if it holds none.
    pub async fn create_organization(
        &self,
        actor: Actor,
        new: NewOrganization,
    ) -> Result<(Organization, Member)> {
        let new = &new;
        self.write(&actor, |mut txn| async move {
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
                removal_undo_window_ms: new
                    .removal_undo_window_secs
                    .unwrap_or(DEFAULT_REMOVAL_UNDO_WINDOW_SECS)
                    * 1000,
                created_at: now,
            };
            txn.exec(
                &format!("INSERT INTO organizations ({ORG_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                vec![
                    model.id.clone().into(),
                    model.display_name.clone().into(),
                    model.package_id.clone().into(),
                    model.parent_id.clone().into(),
                    model.guest_inactivity_ms.into(),
                    model.removal_undo_window_ms.into(),
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

            Ok((txn, (to_org(model), member)))
        })
        .await
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
        let changes = &changes;
        self.write(&actor, |mut txn| async move {
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
            if let Some(window) = changes.removal_undo_window_secs {
                model.removal_undo_window_ms = window * 1000;
                event = event.attr("removal_undo_window_seconds", window.to_string());
            }
            txn.exec(
                "UPDATE organizations SET display_name = ?, guest_inactivity_ms = ?, \
                 removal_undo_window_ms = ? WHERE id = ?",
                vec![
                    model.display_name.clone().into(),
                    model.guest_inactivity_ms.into(),
                    model.removal_undo_window_ms.into(),
                    org.as_str().into(),
                ],
            )
            .await?;
            txn.emit(event);

            Ok((txn, to_org(model)))
        })
        .await
    }
}
