//! Identities (I1–I4) and sessions (I5–I7).

use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::entities::{credential, identity, session};
use super::offboarding::purge_identity;
use super::records::{identity_not_found, lock_active_identity};
use super::{Store, Txn, is_unique_violation, seats};
use crate::domain::{
    Actor, AttachMethod, CredentialId, Error, EventType, Identity, IdentityId, IdentityState,
    NewEvent, NewIdentity, PackageId, Plan, Reason, Result, Session, SessionId,
};

/// What a session token resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionLookup {
    /// A live session of an ACTIVE identity.
    Valid(Session),
    /// The session ran out.
    Expired,
    /// No such session (never, signed out, or ended by a lifecycle change).
    Missing,
}

/// Who revokes an identity; checked inside the revoking transaction.
#[derive(Debug, Clone)]
pub enum Revoker {
    /// The identity itself, its revocation password already verified.
    Itself,
    /// An administrator of a package the identity is attached to.
    PackageAdmin {
        /// The administrator.
        admin: IdentityId,
        /// The package to act through, or any the admin administers.
        package: Option<PackageId>,
    },
}

/// A credential as SignIn needs it.
#[derive(Debug, Clone)]
pub struct SignInCredential {
    /// The credential.
    pub id: CredentialId,
    /// Its package.
    pub package_id: PackageId,
    /// argon2id PHC string.
    pub password_hash: String,
}

pub(super) fn to_identity(m: identity::Model) -> Identity {
    let state = IdentityState::from_db(&m.state).unwrap_or(IdentityState::Revoked);
    Identity {
        id: IdentityId::from_trusted(m.id),
        display_name: m.display_name.unwrap_or_default(),
        email: m.email.unwrap_or_default(),
        avatar_url: m.avatar_url.unwrap_or_default(),
        state,
        created_at: super::to_time(m.created_at),
        revoked_at: m.revoked_at.map(super::to_time),
    }
}

impl Store {
    /// I1: creates an ACTIVE identity with a fresh random ID.
    pub async fn create_identity(&self, actor: Actor, new: NewIdentity) -> Result<Identity> {
        // 36^8 IDs: a collision is rare; retry with a new one if it happens.
        let new = &new;
        for _ in 0..8 {
            let id = IdentityId::generate();
            let id = &id;
            let created = self
                .write(&actor, |mut txn| async move {
                    let model = identity::ActiveModel {
                        id: Set(id.to_string()),
                        display_name: Set(Some(new.display_name.clone())),
                        email: Set(new.email.clone()),
                        avatar_url: Set(new.avatar_url.clone()),
                        state: Set(IdentityState::Active.as_str().to_owned()),
                        revocation_password_hash: Set(None),
                        created_at: Set(txn.now_ms()),
                        revoked_at: Set(None),
                    };
                    match identity::Entity::insert(model).exec(txn.conn()).await {
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => {
                            txn.nothing_changed();
                            return Ok((txn, None));
                        }
                        Err(e) => return Err(e.into()),
                    }
                    txn.emit(NewEvent::new(EventType::IdentityCreated, id.as_str()).identity(id));
                    let now = txn.now_ms();
                    Ok((txn, Some(now)))
                })
                .await?;
            let Some(now) = created else { continue };
            return Ok(Identity {
                id: id.clone(),
                display_name: new.display_name.clone(),
                email: new.email.clone().unwrap_or_default(),
                avatar_url: new.avatar_url.clone().unwrap_or_default(),
                state: IdentityState::Active,
                created_at: super::to_time(now),
                revoked_at: None,
            });
        }
        Err(Error::Internal(
            "could not find a free identity ID".to_owned(),
        ))
    }

    /// I2: one identity (revoked ones come back with personal data erased).
    pub async fn get_identity(&self, id: &IdentityId) -> Result<Identity> {
        identity::Entity::find_by_id(id.as_str())
            .one(&self.db)
            .await?
            .map(to_identity)
            .ok_or_else(|| identity_not_found(id))
    }

    /// I2: many identities in one query, keyed by ID (unknown IDs absent).
    pub async fn batch_get_identities(
        &self,
        ids: &[IdentityId],
    ) -> Result<HashMap<String, Identity>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = identity::Entity::find()
            .filter(identity::Column::Id.is_in(ids.iter().map(|i| i.as_str())))
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|m| (m.id.clone(), to_identity(m)))
            .collect())
    }

    /// The state and revocation-password hash of an identity (for checks
    /// done before a transaction, such as argon2 verification).
    pub async fn revocation_password_hash(
        &self,
        id: &IdentityId,
    ) -> Result<(IdentityState, Option<String>)> {
        let m = identity::Entity::find_by_id(id.as_str())
            .one(&self.db)
            .await?
            .ok_or_else(|| identity_not_found(id))?;
        let state = IdentityState::from_db(&m.state).unwrap_or(IdentityState::Revoked);
        Ok((state, m.revocation_password_hash))
    }

    /// I3: stores a new revocation-password hash.
    pub async fn set_revocation_password(
        &self,
        actor: Actor,
        id: &IdentityId,
        password_hash: String,
    ) -> Result<()> {
        let password_hash = password_hash.as_str();
        self.write(&actor, |mut txn| async move {
            lock_active_identity(&txn, id).await?;
            txn.exec(
                "UPDATE identities SET revocation_password_hash = ? WHERE id = ?",
                vec![password_hash.into(), id.as_str().into()],
            )
            .await?;
            txn.emit(NewEvent::new(EventType::RevocationPasswordSet, id.as_str()).identity(id));
            Ok((txn, ()))
        })
        .await
    }

    /// I4: revokes `id` irreversibly, in one transaction: state REVOKED,
    /// personal data erased, sessions ended, detached from every package,
    /// removed from every organization and room, dropped as package admin.
    pub async fn revoke_identity(
        &self,
        actor: Actor,
        id: &IdentityId,
        by: Revoker,
    ) -> Result<Identity> {
        let by = &by;
        let (created_at, now) = self
                .write(&actor, |mut txn| async move {
            let created_at = lock_active_identity(&txn, id).await?;
            let reason = match by {
                Revoker::Itself => "SELF_REVOCATION",
                Revoker::PackageAdmin { admin, package } => {
                    check_admin_revocation(&txn, admin, id, package.as_ref()).await?;
                    "ADMIN_REVOCATION"
                }
            };
            let now = txn.now_ms();
            txn.exec(
                "UPDATE identities SET state = ?, display_name = NULL, email = NULL, \
                     avatar_url = NULL, revocation_password_hash = NULL, revoked_at = ? WHERE id = ?",
                vec![
                    IdentityState::Revoked.as_str().into(),
                    now.into(),
                    id.as_str().into(),
                ],
            )
            .await?;
            txn.exec(
                "DELETE FROM sessions WHERE identity_id = ?",
                vec![id.as_str().into()],
            )
            .await?;
            txn.exec(
                "DELETE FROM package_admins WHERE identity_id = ?",
                vec![id.as_str().into()],
            )
            .await?;
            purge_identity(&mut txn, id, reason).await?;
            super::idempotency::forget_identity(&txn, id).await?;
            for package in attached_packages(&txn, id).await? {
                seats::detach(&mut txn, &package, id, reason).await?;
            }
            txn.emit(
                NewEvent::new(EventType::IdentityRevoked, id.as_str())
                    .identity(id)
                    .reason(reason),
            );
                Ok((txn, (created_at, now)))
            })
            .await?;
        self.scrub_after_erasure();
        Ok(Identity {
            id: id.clone(),
            display_name: String::new(),
            email: String::new(),
            avatar_url: String::new(),
            state: IdentityState::Revoked,
            created_at: super::to_time(created_at),
            revoked_at: Some(super::to_time(now)),
        })
    }

    /// The credential behind a username, for SignIn.
    pub async fn credential_for_sign_in(&self, username: &str) -> Result<Option<SignInCredential>> {
        Ok(credential::Entity::find()
            .filter(credential::Column::Username.eq(username))
            .one(&self.db)
            .await?
            .map(|m| SignInCredential {
                id: CredentialId::from_trusted(m.id),
                package_id: PackageId::from_trusted(m.package_id),
                password_hash: m.password_hash,
            }))
    }

    /// Replaces a credential's password hash made at an older argon2 cost
    /// with `new_hash` (the same password at the configured cost), unless
    /// the hash changed meanwhile. Maintenance, not a lifecycle change: the
    /// password, the credential and its sessions stay as they are, so no
    /// event is written (like RecordActivity). Returns whether it replaced.
    pub async fn rehash_credential(
        &self,
        id: &CredentialId,
        old_hash: &str,
        new_hash: String,
    ) -> Result<bool> {
        let update = credential::Entity::update_many()
            .col_expr(
                credential::Column::PasswordHash,
                sea_orm::sea_query::Expr::value(new_hash),
            )
            .filter(credential::Column::Id.eq(id.as_str()))
            .filter(credential::Column::PasswordHash.eq(old_hash));
        let done =
            super::retry_aborted(|| async { Ok(update.clone().exec(&self.db).await?) }).await?;
        Ok(done.rows_affected > 0)
    }

    /// I5: opens a session for `identity` with an already verified
    /// credential, attaching the identity to the package (taking a seat) if
    /// needed. Fails with BAD_CREDENTIALS when the identity is unknown or
    /// revoked or the credential vanished meanwhile.
    pub async fn sign_in(
        &self,
        identity_id: &IdentityId,
        credential: &SignInCredential,
        token_hash: String,
        ttl_ms: i64,
    ) -> Result<Session> {
        let actor = Actor {
            kind: crate::domain::ActorKind::Identity,
            id: identity_id.to_string(),
        };
        let token_hash = token_hash.as_str();
        self.write(&actor, |mut txn| async move {
            let bad = || {
                Error::unauthenticated(
                    Reason::BadCredentials,
                    "identity, username or password is wrong",
                )
            };
            match lock_active_identity(&txn, identity_id).await {
                Ok(_) => {}
                Err(Error::NotFound { .. } | Error::FailedPrecondition { .. }) => return Err(bad()),
                Err(e) => return Err(e),
            }
            if !txn
                .lock_row("credentials", "id", credential.id.as_str())
                .await?
            {
                return Err(bad());
            }
            seats::attach(
                &mut txn,
                &credential.package_id,
                identity_id,
                AttachMethod::SignIn,
                Some(&credential.id),
            )
            .await?;
            let now = txn.now_ms();
            let session = Session {
                id: SessionId::generate(),
                identity_id: identity_id.clone(),
                package_id: credential.package_id.clone(),
                credential_id: credential.id.clone(),
                created_at: super::to_time(now),
                expires_at: super::to_time(now + ttl_ms),
            };
            session::ActiveModel {
                token_hash: Set(token_hash.to_owned()),
                session_id: Set(session.id.to_string()),
                identity_id: Set(identity_id.to_string()),
                package_id: Set(credential.package_id.to_string()),
                credential_id: Set(credential.id.to_string()),
                created_at: Set(now),
                expires_at: Set(now + ttl_ms),
            }
            .insert(txn.conn())
            .await?;
            txn.emit(
                NewEvent::new(EventType::SessionStarted, session.id.as_str())
                    .identity(identity_id)
                    .package(&credential.package_id)
                    .credential(&credential.id),
            );
            Ok((txn, session))
        })
        .await
    }

    /// I6: what a session token (by its hash) stands for right now.
    pub async fn resolve_session(&self, token_hash: &str) -> Result<SessionLookup> {
        let Some(m) = session::Entity::find_by_id(token_hash)
            .one(&self.db)
            .await?
        else {
            return Ok(SessionLookup::Missing);
        };
        if m.expires_at <= self.now_ms() {
            return Ok(SessionLookup::Expired);
        }
        Ok(SessionLookup::Valid(Session {
            id: SessionId::from_trusted(m.session_id),
            identity_id: IdentityId::from_trusted(m.identity_id),
            package_id: PackageId::from_trusted(m.package_id),
            credential_id: CredentialId::from_trusted(m.credential_id),
            created_at: super::to_time(m.created_at),
            expires_at: super::to_time(m.expires_at),
        }))
    }

    /// I7: ends the session with this token hash. Returns whether one ended.
    pub async fn sign_out(&self, actor: Actor, token_hash: &str) -> Result<bool> {
        self.write(&actor, |mut txn| async move {
            let Some(m) = session::Entity::find_by_id(token_hash)
                .one(txn.conn())
                .await?
            else {
                txn.nothing_changed();
                return Ok((txn, false));
            };
            session::Entity::delete_by_id(token_hash)
                .exec(txn.conn())
                .await?;
            let identity = IdentityId::from_trusted(m.identity_id);
            txn.emit(
                NewEvent::new(EventType::SessionEnded, m.session_id)
                    .identity(&identity)
                    .package(&PackageId::from_trusted(m.package_id))
                    .credential(&CredentialId::from_trusted(m.credential_id))
                    .reason("SIGN_OUT"),
            );
            Ok((txn, true))
        })
        .await
    }

    /// Whether `identity` administers `package`.
    pub async fn is_package_admin(
        &self,
        package: &PackageId,
        identity: &IdentityId,
    ) -> Result<bool> {
        use super::entities::package_admin;
        Ok(
            package_admin::Entity::find_by_id((package.to_string(), identity.to_string()))
                .one(&self.db)
                .await?
                .is_some(),
        )
    }
}

async fn attached_packages(txn: &Txn, id: &IdentityId) -> Result<Vec<PackageId>> {
    use super::entities::attachment;
    let mut packages: Vec<PackageId> = attachment::Entity::find()
        .filter(attachment::Column::IdentityId.eq(id.as_str()))
        .all(txn.conn())
        .await?
        .into_iter()
        .map(|a| PackageId::from_trusted(a.package_id))
        .collect();
    packages.sort();
    Ok(packages)
}

/// I4's rule for admins: the target must be attached to a package the
/// caller administers, and that package's plan must be ENTERPRISE.
async fn check_admin_revocation(
    txn: &Txn,
    admin: &IdentityId,
    target: &IdentityId,
    package: Option<&PackageId>,
) -> Result<()> {
    let mut sql = String::from(
        "SELECT p.id AS id, p.plan AS plan FROM license_packages p \
         JOIN package_admins pa ON pa.package_id = p.id AND pa.identity_id = ? \
         JOIN attachments a ON a.package_id = p.id AND a.identity_id = ?",
    );
    let mut values: Vec<sea_orm::Value> = vec![admin.as_str().into(), target.as_str().into()];
    if let Some(p) = package {
        sql.push_str(" WHERE p.id = ?");
        values.push(p.as_str().into());
    }
    let rows = txn.query_all(&sql, values).await?;
    if rows.is_empty() {
        // Either not an admin at all, or the identity is not (or no longer)
        // attached to the admin's packages: the seed's "detached IDs can no
        // longer be revoked by that package's admins".
        let admin_of_any = !txn
            .query_all(
                &format!(
                    "SELECT 1 FROM package_admins WHERE identity_id = ?{}",
                    if package.is_some() {
                        " AND package_id = ?"
                    } else {
                        ""
                    }
                ),
                std::iter::once(admin.as_str().into())
                    .chain(package.map(|p| p.as_str().into()))
                    .collect(),
            )
            .await?
            .is_empty();
        return Err(if admin_of_any {
            Error::denied(
                Reason::IdentityNotAttached,
                format!("identity {target} is not attached to a package you administer"),
            )
        } else {
            Error::denied(
                Reason::NotPackageAdmin,
                "only the identity itself or an administrator of its ENTERPRISE package may revoke it",
            )
        });
    }
    for row in &rows {
        let plan: String = row.try_get("", "plan")?;
        if plan == Plan::Enterprise.as_str() {
            return Ok(());
        }
    }
    Err(Error::precondition(
        Reason::EnterprisePlanRequired,
        "revoking an identity as a package administrator needs an ENTERPRISE license package",
    ))
}
