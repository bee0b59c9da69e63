//! License packages, their administrators and credentials, seats (L1–L6).

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entities::{attachment, credential, license_package, package_admin};
use super::{Store, Txn, is_unique_violation, placeholders, seats};
use crate::domain::{
    ActiveUser, Actor, AttachMethod, Credential, CredentialId, Error, EventType, IdentityId,
    IdentityState, LicensePackage, NewEvent, PackageId, Page, PageRequest, Plan, Reason, Result,
    SeatUsage,
};

/// Fields of a new package, already validated.
#[derive(Debug, Clone)]
pub struct NewPackage {
    /// Display name.
    pub display_name: String,
    /// Plan.
    pub plan: Plan,
    /// Seat limit.
    pub seat_limit: i32,
    /// Administrators (deduplicated).
    pub admins: Vec<IdentityId>,
}

/// The fields UpdateLicensePackage changes (`None`: keep), already
/// validated; who may change what is decided by the caller.
#[derive(Debug, Clone, Default)]
pub struct PackageUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// New administrators (deduplicated; must not be empty).
    pub admins: Option<Vec<IdentityId>>,
    /// New plan.
    pub plan: Option<Plan>,
    /// New seat limit (refused below the seats in use).
    pub seat_limit: Option<i32>,
}

impl PackageUpdate {
    /// Names of the fields this update changes, in mask order.
    fn field_names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.display_name.is_some() {
            out.push("display_name");
        }
        if self.admins.is_some() {
            out.push("admin_identity_ids");
        }
        if self.plan.is_some() {
            out.push("plan");
        }
        if self.seat_limit.is_some() {
            out.push("seat_limit");
        }
        out
    }
}

fn package_not_found(id: &PackageId) -> Error {
    Error::not_found(
        Reason::PackageNotFound,
        format!("license package {id} does not exist"),
    )
}

fn to_package(m: license_package::Model, mut admins: Vec<IdentityId>) -> LicensePackage {
    admins.sort();
    LicensePackage {
        id: PackageId::from_trusted(m.id),
        display_name: m.display_name,
        plan: Plan::from_db(&m.plan).unwrap_or(Plan::Basic),
        seat_limit: m.seat_limit,
        seats_used: m.seats_used,
        admins,
        created_at: super::to_time(m.created_at),
        updated_at: super::to_time(m.updated_at),
    }
}

fn credential_not_found(id: &CredentialId) -> Error {
    Error::not_found(
        Reason::CredentialNotFound,
        format!("credential {id} does not exist"),
    )
}

fn not_attached(package: &PackageId, identity: &IdentityId) -> Error {
    Error::not_found(
        Reason::IdentityNotAttached,
        format!("identity {identity} is not attached to license package {package}"),
    )
}

fn to_credential(m: credential::Model) -> Credential {
    Credential {
        id: CredentialId::from_trusted(m.id),
        package_id: PackageId::from_trusted(m.package_id),
        username: m.username,
        created_at: super::to_time(m.created_at),
    }
}

fn to_active_user(m: attachment::Model) -> ActiveUser {
    ActiveUser {
        identity_id: IdentityId::from_trusted(m.identity_id),
        package_id: PackageId::from_trusted(m.package_id),
        attached_at: super::to_time(m.attached_at),
        method: AttachMethod::from_db(&m.method).unwrap_or(AttachMethod::SignIn),
        signed_in: m.signed_in,
        credential_id: m.credential_id.map(CredentialId::from_trusted),
        last_seen_at: m.last_seen_at.map(super::to_time),
    }
}

/// Locks the identity rows (in ID order, one statement) and checks that
/// every one exists and is ACTIVE, so a concurrent revocation cannot slip
/// between the check and the write (inside `txn`).
pub(super) async fn require_active_identities(txn: &Txn, ids: &[IdentityId]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut sorted: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let lock = if txn.backend() == DbBackend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let rows = txn
        .query_all(
            &format!(
                "SELECT id, state FROM identities WHERE id IN ({}) ORDER BY id{lock}",
                placeholders(sorted.len())
            ),
            sorted.iter().map(|&i| i.into()).collect(),
        )
        .await?;
    let mut states = HashMap::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get("", "id")?;
        let state: String = row.try_get("", "state")?;
        states.insert(id, state);
    }
    for id in ids {
        match states.get(id.as_str()) {
            None => {
                return Err(Error::not_found(
                    Reason::IdentityNotFound,
                    format!("identity {id} does not exist"),
                ));
            }
            Some(state) if state != IdentityState::Active.as_str() => {
                return Err(Error::precondition(
                    Reason::IdentityRevoked,
                    format!("identity {id} is revoked"),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

impl Store {
    /// L1: creates a package with its administrators.
    pub async fn create_license_package(
        &self,
        actor: Actor,
        new: NewPackage,
    ) -> Result<LicensePackage> {
        let new = &new;
        self.write(&actor, |mut txn| async move {
            let id = PackageId::generate();
            require_active_identities(&txn, &new.admins).await?;
            let now = txn.now_ms();
            let model = license_package::Model {
                id: id.to_string(),
                display_name: new.display_name.clone(),
                plan: new.plan.as_str().to_owned(),
                seat_limit: new.seat_limit,
                seats_used: 0,
                created_at: now,
                updated_at: now,
            };
            license_package::Entity::insert(model.clone().into_active_model())
                .exec(txn.conn())
                .await?;
            insert_admins(&txn, &id, &new.admins).await?;
            txn.emit(
                NewEvent::new(EventType::PackageCreated, id.as_str())
                    .package(&id)
                    .attr("plan", new.plan.as_str())
                    .attr("seat_limit", new.seat_limit.to_string()),
            );
            Ok((txn, to_package(model, new.admins.clone())))
        })
        .await
    }

    /// L1: one package with its administrators.
    pub async fn get_license_package(&self, id: &PackageId) -> Result<LicensePackage> {
        let m = license_package::Entity::find_by_id(id.as_str())
            .one(&self.db)
            .await?
            .ok_or_else(|| package_not_found(id))?;
        let admins = package_admin::Entity::find()
            .filter(package_admin::Column::PackageId.eq(id.as_str()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| IdentityId::from_trusted(a.identity_id))
            .collect();
        Ok(to_package(m, admins))
    }

    /// L6: seat limit and seats in use.
    pub async fn seat_usage(&self, id: &PackageId) -> Result<SeatUsage> {
        let m = license_package::Entity::find_by_id(id.as_str())
            .one(&self.db)
            .await?
            .ok_or_else(|| package_not_found(id))?;
        Ok(SeatUsage {
            limit: m.seat_limit,
            used: m.seats_used,
        })
    }

    /// L2: issues a credential; `password_hash` is the argon2id hash of the
    /// password the caller will show once.
    pub async fn issue_credential(
        &self,
        actor: Actor,
        package: &PackageId,
        username: &str,
        password_hash: String,
    ) -> Result<Credential> {
        let password_hash = &password_hash;
        self.write(&actor, |mut txn| async move {
            let id = CredentialId::generate();
            if !txn
                .lock_row("license_packages", "id", package.as_str())
                .await?
            {
                return Err(package_not_found(package));
            }
            let now = txn.now_ms();
            let insert = credential::Entity::insert(credential::ActiveModel {
                id: Set(id.to_string()),
                package_id: Set(package.to_string()),
                username: Set(username.to_owned()),
                password_hash: Set(password_hash.to_owned()),
                created_at: Set(now),
            })
            .exec(txn.conn())
            .await;
            match insert {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => {
                    return Err(Error::already_exists(
                        Reason::UsernameTaken,
                        format!("username {username} is taken"),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
            txn.emit(
                NewEvent::new(EventType::CredentialIssued, id.as_str())
                    .package(package)
                    .credential(&id),
            );

            Ok((
                txn,
                Credential {
                    id,
                    package_id: package.clone(),
                    username: username.to_owned(),
                    created_at: super::to_time(now),
                },
            ))
        })
        .await
    }

    /// The administrators of a package, sorted.
    pub async fn package_admins(&self, id: &PackageId) -> Result<Vec<IdentityId>> {
        Ok(package_admin::Entity::find()
            .filter(package_admin::Column::PackageId.eq(id.as_str()))
            .order_by_asc(package_admin::Column::IdentityId)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|a| IdentityId::from_trusted(a.identity_id))
            .collect())
    }

    /// L1: applies `update` under the package row lock (new administrators
    /// locked first, as the lock order wants). Lowering the seat limit
    /// below the seats in use is refused; the admin list never ends up
    /// empty. One PACKAGE_UPDATED event.
    pub async fn update_license_package(
        &self,
        actor: Actor,
        id: &PackageId,
        update: PackageUpdate,
    ) -> Result<LicensePackage> {
        let update = &update;
        self.write(&actor, |mut txn| async move {
            if let Some(admins) = &update.admins {
                if admins.is_empty() {
                    return Err(Error::precondition(
                        Reason::NoPackageAdmin,
                        "a license package needs at least one administrator",
                    ));
                }
                require_active_identities(&txn, admins).await?;
            }
            if !txn.lock_row("license_packages", "id", id.as_str()).await? {
                return Err(package_not_found(id));
            }
            let mut m = license_package::Entity::find_by_id(id.as_str())
                .one(txn.conn())
                .await?
                .ok_or_else(|| package_not_found(id))?;
            if let Some(limit) = update.seat_limit
                && limit < m.seats_used
            {
                return Err(Error::FailedPrecondition {
                    reason: Reason::SeatLimitBelowUsage,
                    message: format!(
                        "license package {id} has {} seats in use; the limit cannot go below that",
                        m.seats_used
                    ),
                    metadata: vec![("seats_used", m.seats_used.to_string())],
                });
            }
            if let Some(name) = &update.display_name {
                m.display_name = name.clone();
            }
            if let Some(plan) = update.plan {
                m.plan = plan.as_str().to_owned();
            }
            if let Some(limit) = update.seat_limit {
                m.seat_limit = limit;
            }
            m.updated_at = txn.now_ms();
            txn.exec(
                "UPDATE license_packages SET display_name = ?, plan = ?, seat_limit = ?, \
             updated_at = ? WHERE id = ?",
                vec![
                    m.display_name.clone().into(),
                    m.plan.clone().into(),
                    m.seat_limit.into(),
                    m.updated_at.into(),
                    id.as_str().into(),
                ],
            )
            .await?;
            if let Some(admins) = &update.admins {
                txn.exec(
                    "DELETE FROM package_admins WHERE package_id = ?",
                    vec![id.as_str().into()],
                )
                .await?;
                insert_admins(&txn, id, admins).await?;
            }
            txn.emit(package_updated(id, update));
            let admins = admin_ids_in(&txn, id).await?;

            Ok((txn, to_package(m, admins)))
        })
        .await
    }

    /// Adds `identity` (existing, not revoked) to the administrators of
    /// `id`, keeping the others: UpdateLicensePackage's admin handling
    /// (identity locked and checked, then the package row, one
    /// PACKAGE_UPDATED event naming `admin_identity_ids`) for one more
    /// admin. The break-glass path of M2 (`roster grant-package-admin`),
    /// for a package nobody with a session may repair. Returns the package
    /// and whether the identity was added (`false`: it already was an
    /// administrator; nothing is written).
    pub async fn add_package_admin(
        &self,
        actor: Actor,
        id: &PackageId,
        identity: &IdentityId,
        reason: &str,
    ) -> Result<(LicensePackage, bool)> {
        self.write(&actor, |mut txn| async move {
            let admin = std::slice::from_ref(identity);
            require_active_identities(&txn, admin).await?;
            if !txn.lock_row("license_packages", "id", id.as_str()).await? {
                return Err(package_not_found(id));
            }
            let mut m = license_package::Entity::find_by_id(id.as_str())
                .one(txn.conn())
                .await?
                .ok_or_else(|| package_not_found(id))?;
            let admins = admin_ids_in(&txn, id).await?;
            if admins.contains(identity) {
                txn.nothing_changed();
                return Ok((txn, (to_package(m, admins), false)));
            }
            m.updated_at = txn.now_ms();
            txn.exec(
                "UPDATE license_packages SET updated_at = ? WHERE id = ?",
                vec![m.updated_at.into(), id.as_str().into()],
            )
            .await?;
            insert_admins(&txn, id, admin).await?;
            let update = PackageUpdate {
                admins: Some(Vec::new()),
                ..PackageUpdate::default()
            };
            txn.emit(
                package_updated(id, &update)
                    .identity(identity)
                    .attr("admin_added", identity.as_str())
                    .reason(reason),
            );
            let admins = admin_ids_in(&txn, id).await?;
            Ok((txn, (to_package(m, admins), true)))
        })
        .await
    }

    /// L2: a package's credentials ordered by ID, one page.
    pub async fn list_credentials(
        &self,
        package: &PackageId,
        page: &PageRequest,
    ) -> Result<Page<Credential>> {
        self.require_package(package).await?;
        let mut q = credential::Entity::find()
            .filter(credential::Column::PackageId.eq(package.as_str()))
            .order_by_asc(credential::Column::Id)
            .limit(page.size + 1);
        if let Some(after) = &page.after {
            q = q.filter(credential::Column::Id.gt(after.as_str()));
        }
        let rows = q.all(&self.db).await?;
        let page = Page::from_overfetch(rows, page.size, |c| c.id.clone());
        Ok(Page {
            items: page.items.into_iter().map(to_credential).collect(),
            next: page.next,
        })
    }

    /// The package a credential belongs to (NOT_FOUND when there is no
    /// such credential).
    pub async fn credential_package(&self, id: &CredentialId) -> Result<PackageId> {
        credential::Entity::find_by_id(id.as_str())
            .one(&self.db)
            .await?
            .map(|m| PackageId::from_trusted(m.package_id))
            .ok_or_else(|| credential_not_found(id))
    }

    /// L2: deletes a credential and, in the same transaction, every session
    /// opened with it. The identities stay attached (L6).
    pub async fn delete_credential(&self, actor: Actor, id: &CredentialId) -> Result<()> {
        self.write(&actor, |mut txn| async move {
            if !txn.lock_row("credentials", "id", id.as_str()).await? {
                return Err(credential_not_found(id));
            }
            let package = credential::Entity::find_by_id(id.as_str())
                .one(txn.conn())
                .await?
                .map(|m| PackageId::from_trusted(m.package_id))
                .ok_or_else(|| credential_not_found(id))?;
            txn.exec(
                "DELETE FROM credentials WHERE id = ?",
                vec![id.as_str().into()],
            )
            .await?;
            let ended = txn
                .exec(
                    "DELETE FROM sessions WHERE credential_id = ?",
                    vec![id.as_str().into()],
                )
                .await?;
            txn.emit(
                NewEvent::new(EventType::CredentialDeleted, id.as_str())
                    .credential(id)
                    .package(&package)
                    .attr("sessions_ended", ended.to_string()),
            );

            Ok((txn, ()))
        })
        .await
    }

    /// L3: the identities attached to a package ordered by identity ID, one
    /// page.
    pub async fn list_active_users(
        &self,
        package: &PackageId,
        page: &PageRequest,
    ) -> Result<Page<ActiveUser>> {
        self.require_package(package).await?;
        let mut q = attachment::Entity::find()
            .filter(attachment::Column::PackageId.eq(package.as_str()))
            .order_by_asc(attachment::Column::IdentityId)
            .limit(page.size + 1);
        if let Some(after) = &page.after {
            q = q.filter(attachment::Column::IdentityId.gt(after.as_str()));
        }
        let rows = q.all(&self.db).await?;
        let page = Page::from_overfetch(rows, page.size, |a| a.identity_id.clone());
        Ok(Page {
            items: page.items.into_iter().map(to_active_user).collect(),
            next: page.next,
        })
    }

    /// L4: detaches `identity` from `package` (seat freed, that package's
    /// sessions ended), unless it is still an ACTIVE member of an
    /// organization bound to the package: then FAILED_PRECONDITION
    /// ACTIVE_MEMBERSHIPS naming those organizations.
    pub async fn detach_identity(
        &self,
        actor: Actor,
        package: &PackageId,
        identity: &IdentityId,
    ) -> Result<()> {
        self.write(&actor, |mut txn| async move {
            if !txn.lock_row("identities", "id", identity.as_str()).await? {
                return Err(not_attached(package, identity));
            }
            if !txn
                .lock_row("license_packages", "id", package.as_str())
                .await?
            {
                return Err(package_not_found(package));
            }
            let attached =
                attachment::Entity::find_by_id((package.to_string(), identity.to_string()))
                    .one(txn.conn())
                    .await?
                    .is_some();
            if !attached {
                return Err(not_attached(package, identity));
            }
            let orgs = txn
                .query_all(
                    "SELECT organization_id FROM members \
                 WHERE package_id = ? AND identity_id = ? AND state = ? \
                 ORDER BY organization_id",
                    vec![
                        package.as_str().into(),
                        identity.as_str().into(),
                        crate::domain::MemberState::Active.as_str().into(),
                    ],
                )
                .await?
                .into_iter()
                .map(|row| row.try_get::<String>("", "organization_id"))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            if !orgs.is_empty() {
                return Err(Error::FailedPrecondition {
                    reason: Reason::ActiveMemberships,
                    message: format!(
                        "identity {identity} is still an active member of organizations bound to \
                     license package {package}: {}; remove or deactivate it there first",
                        orgs.join(", ")
                    ),
                    metadata: vec![("organization_ids", orgs.join(","))],
                });
            }
            seats::detach(&mut txn, package, identity, "DETACHED").await?;

            Ok((txn, ()))
        })
        .await
    }

    /// L5: for each given identity, the packages it is attached to (one
    /// query for all of them). Identities attached nowhere are absent.
    pub async fn attached_packages_of(
        &self,
        identities: &[IdentityId],
    ) -> Result<HashMap<String, HashSet<String>>> {
        let mut ids: Vec<&str> = identities.iter().map(|i| i.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut out: HashMap<String, HashSet<String>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let rows = self
            .query_all(
                &format!(
                    "SELECT identity_id, package_id FROM attachments WHERE identity_id IN ({})",
                    placeholders(ids.len())
                ),
                ids.into_iter().map(Into::into).collect(),
            )
            .await?;
        for row in rows {
            let identity: String = row.try_get("", "identity_id")?;
            let package: String = row.try_get("", "package_id")?;
            out.entry(identity).or_default().insert(package);
        }
        Ok(out)
    }

    async fn require_package(&self, id: &PackageId) -> Result<()> {
        license_package::Entity::find_by_id(id.as_str())
            .one(&self.db)
            .await?
            .map(|_| ())
            .ok_or_else(|| package_not_found(id))
    }
}

/// The PACKAGE_UPDATED event of `update` on `id`: the fields it names, and
/// the new plan and seat limit when it sets them.
fn package_updated(id: &PackageId, update: &PackageUpdate) -> NewEvent {
    let mut event = NewEvent::new(EventType::PackageUpdated, id.as_str())
        .package(id)
        .attr("fields", update.field_names().join(","));
    if let Some(plan) = update.plan {
        event = event.attr("plan", plan.as_str());
    }
    if let Some(limit) = update.seat_limit {
        event = event.attr("seat_limit", limit.to_string());
    }
    event
}

async fn admin_ids_in(txn: &Txn, package: &PackageId) -> Result<Vec<IdentityId>> {
    Ok(package_admin::Entity::find()
        .filter(package_admin::Column::PackageId.eq(package.as_str()))
        .order_by_asc(package_admin::Column::IdentityId)
        .all(txn.conn())
        .await?
        .into_iter()
        .map(|a| IdentityId::from_trusted(a.identity_id))
        .collect())
}

async fn insert_admins(txn: &Txn, package: &PackageId, admins: &[IdentityId]) -> Result<()> {
    if admins.is_empty() {
        return Ok(());
    }
    package_admin::Entity::insert_many(admins.iter().map(|a| package_admin::ActiveModel {
        package_id: Set(package.to_string()),
        identity_id: Set(a.to_string()),
    }))
    .exec(txn.conn())
    .await?;
    Ok(())
}
