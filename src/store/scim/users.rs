//! SCIM Users: the members of an organization with their SCIM attributes
//! (`scim_users`); create, replace/patch and delete run AddMember's,
//! DeactivateMember's, ReactivateMember's and RemoveMember's steps.

use sea_orm::{QueryResult, Value};

use super::{external_id_taken, hand_rooms_to_org_admins, report_left_without_admin};
use crate::domain::{
    Actor, AttachMethod, DeactivationReason, Error, EventType, IdentityId, IdentityState,
    MemberRole, MemberState, NewEvent, NewScimUser, OrgId, PackageId, Reason, Result, ScimUser,
    ScimUserChange, ScimUserFilter,
};
use crate::store::entities::identity;
use crate::store::members::apply_reactivation;
use crate::store::offboarding::{
    DeactivationInput, OffboardingAction, apply_deactivation, apply_removal, plan_for_provisioning,
};
use crate::store::records::{
    insert_member, load_member, lock_active_identity, lock_org, member_event, member_not_found,
};
use crate::store::rows::{count, one, rows};
use crate::store::{Store, Txn, is_unique_violation, seats, to_time};

/// The User columns: every member of the organization, with its SCIM
/// attributes when a SCIM client set them (a member added over gRPC has
/// its identity ID as userName and its identity's name and e-mail until a
/// SCIM client writes its attributes).
const USER_SELECT: &str = "SELECT m.identity_id AS identity_id, \
     m.organization_id AS organization_id, \
     COALESCE(su.user_name, m.identity_id) AS user_name, su.external_id AS external_id, \
     CASE WHEN su.identity_id IS NULL THEN i.display_name ELSE su.display_name END \
     AS display_name, \
     su.given_name AS given_name, su.family_name AS family_name, \
     su.formatted_name AS formatted_name, su.email_type AS email_type, \
     su.email_primary AS email_primary, \
     CASE WHEN su.identity_id IS NULL THEN i.email ELSE su.email END AS email, \
     m.state AS state, \
     CASE WHEN su.active_unassigned THEN 1 ELSE 0 END AS active_unassigned, \
     COALESCE(su.created_at, m.joined_at) AS created_at, \
     COALESCE(su.updated_at, m.joined_at) AS updated_at \
     FROM members m JOIN identities i ON i.id = m.identity_id \
     LEFT JOIN scim_users su ON su.organization_id = m.organization_id \
     AND su.identity_id = m.identity_id \
     WHERE m.organization_id = ?";

/// [`USER_SELECT`] without its organization condition (lists over several
/// organizations add theirs).
fn user_select_any_org() -> &'static str {
    USER_SELECT
        .strip_suffix(" WHERE m.organization_id = ?")
        .unwrap_or(USER_SELECT)
}

fn user_from_row(r: &QueryResult) -> Result<ScimUser> {
    let state: String = r.try_get("", "state")?;
    Ok(ScimUser {
        identity_id: IdentityId::from_trusted(r.try_get("", "identity_id")?),
        org_id: OrgId::from_trusted(r.try_get("", "organization_id")?),
        user_name: r.try_get("", "user_name")?,
        external_id: r.try_get("", "external_id")?,
        display_name: r.try_get("", "display_name")?,
        given_name: r.try_get("", "given_name")?,
        family_name: r.try_get("", "family_name")?,
        formatted_name: r.try_get("", "formatted_name")?,
        email: r.try_get("", "email")?,
        email_type: r.try_get("", "email_type")?,
        email_primary: match r.try_get::<Option<bool>>("", "email_primary") {
            Ok(b) => b,
            Err(_) => r
                .try_get::<Option<i64>>("", "email_primary")?
                .map(|v| v != 0),
        },
        state: MemberState::from_db(&state).unwrap_or(MemberState::Deactivated),
        active_unassigned: match r.try_get::<i32>("", "active_unassigned") {
            Ok(v) => v != 0,
            Err(_) => r.try_get::<i64>("", "active_unassigned")? != 0,
        },
        created_at: to_time(r.try_get("", "created_at")?),
        updated_at: to_time(r.try_get("", "updated_at")?),
    })
}

fn user_name_taken(user_name: &str) -> Error {
    Error::already_exists(
        Reason::UsernameTaken,
        format!("userName {user_name:?} is already used by another user of this organization"),
    )
}

async fn load_user(txn: &Txn, org: &OrgId, identity: &IdentityId) -> Result<ScimUser> {
    let row = txn
        .query_one(
            &format!("{USER_SELECT} AND m.identity_id = ?"),
            vec![org.as_str().into(), identity.as_str().into()],
        )
        .await?
        .ok_or_else(|| member_not_found(org, identity))?;
    user_from_row(&row)
}

/// The member (if any) holding `user_name` in `org`, other than `me`.
/// Rows of identities that are no members any more (removed) are deleted:
/// their userName is free again.
async fn claim_user_name(
    txn: &Txn,
    org: &OrgId,
    me: Option<&IdentityId>,
    user_name: &str,
) -> Result<()> {
    let key = user_name.to_lowercase();
    let holders = txn
        .query_all(
            "SELECT su.identity_id AS identity_id, \
             CASE WHEN m.identity_id IS NULL THEN 0 ELSE 1 END AS member \
             FROM scim_users su LEFT JOIN members m ON m.organization_id = su.organization_id \
             AND m.identity_id = su.identity_id \
             WHERE su.organization_id = ? AND su.user_name_key = ?",
            vec![org.as_str().into(), key.clone().into()],
        )
        .await?;
    for h in &holders {
        let id: String = h.try_get("", "identity_id")?;
        if me.is_some_and(|me| me.as_str() == id) {
            continue;
        }
        let member: i32 = match h.try_get::<i32>("", "member") {
            Ok(v) => v,
            Err(_) => h.try_get::<i64>("", "member")? as i32,
        };
        if member != 0 {
            return Err(user_name_taken(user_name));
        }
        txn.exec(
            "DELETE FROM scim_users WHERE organization_id = ? AND identity_id = ?",
            vec![org.as_str().into(), id.into()],
        )
        .await?;
    }
    // A member added over gRPC answers to its identity ID as userName.
    if let Some(m) = txn
        .query_one(
            "SELECT m.identity_id AS identity_id FROM members m WHERE m.organization_id = ? \
             AND LOWER(m.identity_id) = ? AND NOT EXISTS (SELECT 1 FROM scim_users su \
             WHERE su.organization_id = m.organization_id AND su.identity_id = m.identity_id)",
            vec![org.as_str().into(), key.into()],
        )
        .await?
    {
        let id: String = m.try_get("", "identity_id")?;
        if me.is_none_or(|me| me.as_str() != id) {
            return Err(user_name_taken(user_name));
        }
    }
    Ok(())
}

/// Refuses an externalId another member of `org` holds; frees it from a
/// removed identity's row unless that identity is `me`.
async fn claim_external_id(
    txn: &Txn,
    org: &OrgId,
    me: &IdentityId,
    external_id: Option<&str>,
) -> Result<()> {
    let Some(ext) = external_id else {
        return Ok(());
    };
    let holder = txn
        .query_one(
            "SELECT su.identity_id AS identity_id, \
             CASE WHEN m.identity_id IS NULL THEN 0 ELSE 1 END AS member \
             FROM scim_users su LEFT JOIN members m ON m.organization_id = su.organization_id \
             AND m.identity_id = su.identity_id \
             WHERE su.organization_id = ? AND su.external_id = ?",
            vec![org.as_str().into(), ext.into()],
        )
        .await?;
    if let Some(h) = holder {
        let id: String = h.try_get("", "identity_id")?;
        if id == me.as_str() {
            return Ok(());
        }
        let member: i64 = match h.try_get::<i32>("", "member") {
            Ok(v) => i64::from(v),
            Err(_) => h.try_get::<i64>("", "member")?,
        };
        if member != 0 {
            return Err(external_id_taken(ext));
        }
        txn.exec(
            "DELETE FROM scim_users WHERE organization_id = ? AND identity_id = ?",
            vec![org.as_str().into(), id.into()],
        )
        .await?;
    }
    Ok(())
}

/// Writes the SCIM attributes of `identity` in `org` (insert or replace).
/// Returns whether they changed.
async fn put_attributes(
    txn: &Txn,
    org: &OrgId,
    identity: &IdentityId,
    u: &NewScimUser,
) -> Result<bool> {
    let current = txn
        .query_one(
            "SELECT user_name, external_id, display_name, given_name, family_name, \
             formatted_name, email, email_type, \
             CASE WHEN email_primary IS NULL THEN NULL WHEN email_primary THEN 'true' \
             ELSE 'false' END AS email_primary, \
             CASE WHEN active_unassigned THEN 'true' ELSE 'false' END AS active_unassigned \
             FROM scim_users WHERE organization_id = ? AND identity_id = ?",
            vec![org.as_str().into(), identity.as_str().into()],
        )
        .await?;
    let now = txn.now_ms();
    let values = |r: &QueryResult| -> Result<[Option<String>; 10]> {
        Ok([
            r.try_get("", "user_name")?,
            r.try_get("", "external_id")?,
            r.try_get("", "display_name")?,
            r.try_get("", "given_name")?,
            r.try_get("", "family_name")?,
            r.try_get("", "formatted_name")?,
            r.try_get("", "email")?,
            r.try_get("", "email_type")?,
            r.try_get("", "email_primary")?,
            r.try_get("", "active_unassigned")?,
        ])
    };
    let wanted = [
        Some(u.user_name.clone()),
        u.external_id.clone(),
        u.display_name.clone(),
        u.given_name.clone(),
        u.family_name.clone(),
        u.formatted_name.clone(),
        u.email.clone(),
        u.email_type.clone(),
        u.email_primary.map(|b| b.to_string()),
        Some(u.active_unassigned.to_string()),
    ];
    let attrs: Vec<Value> = vec![
        u.user_name.clone().into(),
        u.user_name.to_lowercase().into(),
        u.external_id.clone().into(),
        u.display_name.clone().into(),
        u.given_name.clone().into(),
        u.family_name.clone().into(),
        u.formatted_name.clone().into(),
        u.email.clone().into(),
        u.email.as_ref().map(|e| e.to_lowercase()).into(),
        u.email_type.clone().into(),
        u.email_primary.into(),
        u.active_unassigned.into(),
    ];
    let result = match current {
        Some(r) if values(&r)? == wanted => return Ok(false),
        Some(_) => {
            let mut v = attrs;
            v.extend([now.into(), org.as_str().into(), identity.as_str().into()]);
            txn.exec(
                "UPDATE scim_users SET user_name = ?, user_name_key = ?, external_id = ?, \
                 display_name = ?, given_name = ?, family_name = ?, formatted_name = ?, \
                 email = ?, email_key = ?, email_type = ?, email_primary = ?, \
                 active_unassigned = ?, updated_at = ? WHERE organization_id = ? AND identity_id = ?",
                v,
            )
            .await
        }
        None => {
            let mut v: Vec<Value> = vec![org.as_str().into(), identity.as_str().into()];
            v.extend(attrs);
            v.extend([now.into(), now.into()]);
            txn.exec(
                "INSERT INTO scim_users (organization_id, identity_id, user_name, user_name_key, \
                 external_id, display_name, given_name, family_name, formatted_name, email, \
                 email_key, email_type, email_primary, active_unassigned, created_at, \
                 updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                v,
            )
            .await
        }
    };
    // The claims ran under the organization's lock: no one else can take
    // the name between the check and this write.
    result?;
    Ok(true)
}

/// DeactivateMember's steps after the provisioning hand-over; with no
/// other active admin to take over, it goes ahead anyway
/// (LEFT_WITHOUT_ADMIN).
async fn deactivate(txn: &mut Txn, org: &OrgId, identity: &IdentityId) -> Result<()> {
    hand_rooms_to_org_admins(txn, org, identity).await?;
    let (m, package, plan, left) =
        plan_for_provisioning(txn, OffboardingAction::Deactivate, org, identity).await?;
    report_left_without_admin(txn, org, identity, &left);
    let input = DeactivationInput {
        reason: DeactivationReason::Other,
        note: "SCIM: active=false".to_owned(),
        expected_return_ms: None,
    };
    apply_deactivation(txn, m, &package, &plan, &input, None).await?;
    Ok(())
}

impl Store {
    /// GET /Users/{id}: the member as a SCIM User, if a member.
    pub async fn scim_user(&self, org: &OrgId, identity: &IdentityId) -> Result<Option<ScimUser>> {
        one(
            &self.db,
            &format!("{USER_SELECT} AND m.identity_id = ?"),
            vec![org.as_str().into(), identity.as_str().into()],
        )
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    /// GET /Users: the total number of matches among the members of
    /// `orgs` (one User per membership) and the `limit` users from
    /// `offset` (0-based), ordered by identity ID, then organization.
    pub async fn scim_users(
        &self,
        orgs: &[OrgId],
        filter: &ScimUserFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(u64, Vec<ScimUser>)> {
        let orgs: Vec<&OrgId> = match &filter.organization_id {
            Some(only) => orgs.iter().filter(|o| *o == only).collect(),
            None => orgs.iter().collect(),
        };
        if orgs.is_empty() {
            return Ok((0, Vec::new()));
        }
        let mut cond = format!(
            " WHERE m.organization_id IN ({})",
            crate::store::placeholders(orgs.len())
        );
        let mut values: Vec<Value> = orgs.iter().map(|o| o.as_str().into()).collect();
        if let Some(u) = &filter.user_name {
            cond.push_str(" AND COALESCE(su.user_name_key, LOWER(m.identity_id)) = ?");
            values.push(u.to_lowercase().into());
        }
        if let Some(e) = &filter.external_id {
            cond.push_str(" AND su.external_id = ?");
            values.push(e.clone().into());
        }
        if let Some(e) = &filter.email {
            cond.push_str(
                " AND LOWER(CASE WHEN su.identity_id IS NULL THEN i.email ELSE su.email END) = ?",
            );
            values.push(e.to_lowercase().into());
        }
        if let Some(id) = &filter.identity_id {
            cond.push_str(" AND m.identity_id = ?");
            values.push(id.clone().into());
        }
        let select = user_select_any_org();
        let from = select.split_once(" FROM ").map_or(select, |(_, rest)| rest);
        let total = count(
            &self.db,
            &format!("SELECT COUNT(*) AS n FROM {from}{cond}"),
            values.clone(),
        )
        .await?;
        if limit == 0 {
            return Ok((total, Vec::new()));
        }
        let mut page_values = values;
        page_values.push((limit.min(i64::MAX as u64) as i64).into());
        page_values.push((offset.min(i64::MAX as u64) as i64).into());
        let users = rows(
            &self.db,
            &format!("{select}{cond} ORDER BY m.identity_id, m.organization_id LIMIT ? OFFSET ?"),
            page_values,
        )
        .await?
        .iter()
        .map(user_from_row)
        .collect::<Result<_>>()?;
        Ok((total, users))
    }

    /// POST /Users: creates the identity (or reuses the one this
    /// organization linked to `externalId` before, if not revoked), adds it
    /// as an ACTIVE MEMBER taking a seat (AddMember's steps), stores the
    /// SCIM attributes, and deactivates it at once when `active` is false.
    /// One transaction.
    pub async fn scim_create_user(
        &self,
        actor: Actor,
        org: &OrgId,
        new: NewScimUser,
    ) -> Result<ScimUser> {
        let new = &new;
        self.write(&actor, |mut txn| async move {
            // Identities before organizations (lock order).
            let linked = match &new.external_id {
                Some(ext) => txn
                    .query_one(
                        "SELECT su.identity_id AS identity_id FROM scim_users su \
                         JOIN identities i ON i.id = su.identity_id \
                         WHERE su.organization_id = ? AND su.external_id = ? AND i.state = ?",
                        vec![
                            org.as_str().into(),
                            ext.clone().into(),
                            IdentityState::Active.as_str().into(),
                        ],
                    )
                    .await?
                    .map(|r| r.try_get::<String>("", "identity_id"))
                    .transpose()?
                    .map(IdentityId::from_trusted),
                None => None,
            };
            let identity = match linked {
                Some(id) => {
                    lock_active_identity(&txn, &id).await?;
                    id
                }
                None => {
                    let id = IdentityId::generate();
                    let display = new
                        .display_name
                        .clone()
                        .or_else(|| {
                            let full = [new.given_name.as_deref(), new.family_name.as_deref()]
                                .into_iter()
                                .flatten()
                                .collect::<Vec<_>>()
                                .join(" ");
                            (!full.is_empty()).then_some(full)
                        })
                        .unwrap_or_else(|| new.user_name.clone());
                    let model = identity::ActiveModel {
                        id: sea_orm::Set(id.to_string()),
                        display_name: sea_orm::Set(Some(display)),
                        email: sea_orm::Set(new.email.clone()),
                        avatar_url: sea_orm::Set(None),
                        state: sea_orm::Set(IdentityState::Active.as_str().to_owned()),
                        revocation_password_hash: sea_orm::Set(None),
                        created_at: sea_orm::Set(txn.now_ms()),
                        revoked_at: sea_orm::Set(None),
                    };
                    use sea_orm::EntityTrait;
                    match identity::Entity::insert(model).exec(txn.conn()).await {
                        Ok(_) => {}
                        Err(e) if is_unique_violation(&e) => {
                            return Err(Error::Aborted(
                                "a fresh identity ID was taken; retry".to_owned(),
                            ));
                        }
                        Err(e) => return Err(e.into()),
                    }
                    txn.emit(NewEvent::new(EventType::IdentityCreated, id.as_str()).identity(&id));
                    id
                }
            };
            let o = lock_org(&txn, org).await?;
            if load_member(txn.conn(), org, &identity).await?.is_some() {
                return Err(match &new.external_id {
                    Some(ext) => external_id_taken(ext),
                    None => user_name_taken(&new.user_name),
                });
            }
            claim_user_name(&txn, org, Some(&identity), &new.user_name).await?;
            claim_external_id(&txn, org, &identity, new.external_id.as_deref()).await?;
            let package = PackageId::from_trusted(o.package_id);
            insert_member(&txn, org, &identity, &package, MemberRole::Member).await?;
            txn.emit(
                member_event(EventType::MemberAdded, org, &identity)
                    .package(&package)
                    .attr("role", MemberRole::Member.as_str()),
            );
            seats::attach(
                &mut txn,
                &package,
                &identity,
                AttachMethod::Membership,
                None,
            )
            .await?;
            put_attributes(&txn, org, &identity, new).await?;
            if !new.active {
                deactivate(&mut txn, org, &identity).await?;
            }
            let user = load_user(&txn, org, &identity).await?;
            Ok((txn, user))
        })
        .await
    }

    /// PUT / PATCH /Users/{id}: `change` computes the wanted attributes
    /// from the current user, read inside the write under the identity's
    /// and the organization's locks (so a concurrent change is never
    /// overwritten; `change` may run again when the write is retried). The
    /// SCIM attributes are replaced (SCIM_USER_UPDATED when they differ),
    /// then `active` applied: false deactivates (DeactivateMember's steps
    /// after the provisioning hand-over), true reactivates
    /// (ReactivateMember's). An unchanged user writes nothing. One
    /// transaction.
    pub async fn scim_update_user<F>(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
        change: F,
    ) -> Result<ScimUser>
    where
        F: Fn(&ScimUser) -> Result<ScimUserChange> + Send + Sync,
    {
        let change = &change;
        self.write(&actor, |mut txn| async move {
            // Identities before organizations (lock order). A revoked or
            // unknown identity is no member of anything.
            lock_active_identity(&txn, identity)
                .await
                .map_err(|e| match e {
                    Error::NotFound { .. } | Error::FailedPrecondition { .. } => {
                        member_not_found(org, identity)
                    }
                    other => other,
                })?;
            lock_org(&txn, org).await?;
            let current = load_user(&txn, org, identity).await?;
            let change = change(&current)?;
            let change = &change;
            claim_user_name(&txn, org, Some(identity), &change.user_name).await?;
            claim_external_id(&txn, org, identity, change.external_id.as_deref()).await?;
            let mut changed = put_attributes(&txn, org, identity, change).await?;
            if changed {
                // No attributes: userName and the rest are personal data (I4).
                txn.emit(member_event(EventType::ScimUserUpdated, org, identity));
            }
            let active = current.state == MemberState::Active;
            if active && !change.active {
                deactivate(&mut txn, org, identity).await?;
                changed = true;
            } else if !active && change.active {
                apply_reactivation(&mut txn, org, identity).await?;
                changed = true;
            }
            if !changed {
                txn.nothing_changed();
            }
            let user = load_user(&txn, org, identity).await?;
            Ok((txn, user))
        })
        .await
    }

    /// DELETE /Users/{id}: RemoveMember's steps after the provisioning
    /// hand-over. The SCIM attributes stay (a later POST with the same
    /// externalId links the same identity again); the identity is never
    /// revoked. One transaction.
    pub async fn scim_delete_user(
        &self,
        actor: Actor,
        org: &OrgId,
        identity: &IdentityId,
    ) -> Result<()> {
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            if load_member(txn.conn(), org, identity).await?.is_none() {
                return Err(member_not_found(org, identity));
            }
            hand_rooms_to_org_admins(&mut txn, org, identity).await?;
            let (_, package, plan, left) =
                plan_for_provisioning(&mut txn, OffboardingAction::Remove, org, identity).await?;
            report_left_without_admin(&mut txn, org, identity, &left);
            apply_removal(&mut txn, org, identity, &package, &plan, None).await?;
            Ok((txn, ()))
        })
        .await
    }
}
