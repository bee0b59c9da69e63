//! License packages, their administrators and credentials, seats (L1–L6).

use sea_orm::{ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set};

use super::entities::{credential, license_package, package_admin};
use super::{Store, Txn, is_unique_violation};
use crate::domain::{
    Actor, Credential, CredentialId, Error, EventType, IdentityId, IdentityState, LicensePackage,
    NewEvent, PackageId, Plan, Reason, Result, SeatUsage,
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

/// Checks that every identity exists and is ACTIVE (inside `txn`).
pub(super) async fn require_active_identities(txn: &Txn, ids: &[IdentityId]) -> Result<()> {
    use super::entities::identity;
    if ids.is_empty() {
        return Ok(());
    }
    let rows = identity::Entity::find()
        .filter(identity::Column::Id.is_in(ids.iter().map(|i| i.as_str())))
        .all(txn.conn())
        .await?;
    for id in ids {
        match rows.iter().find(|r| r.id == id.as_str()) {
            None => {
                return Err(Error::not_found(
                    Reason::IdentityNotFound,
                    format!("identity {id} does not exist"),
                ));
            }
            Some(r) if r.state != IdentityState::Active.as_str() => {
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
        let id = PackageId::generate();
        let mut txn = self.begin(actor).await?;
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
        txn.commit(self).await?;
        Ok(to_package(model, new.admins))
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
        let id = CredentialId::generate();
        let mut txn = self.begin(actor).await?;
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
            password_hash: Set(password_hash),
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
        txn.commit(self).await?;
        Ok(Credential {
            id,
            package_id: package.clone(),
            username: username.to_owned(),
            created_at: super::to_time(now),
        })
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
