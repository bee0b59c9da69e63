//! SCIM provisioning tokens: one per SCIM client, scoped to an
//! organization (and optionally its sub-organizations); stored as a hash.

use sea_orm::QueryResult;

use crate::domain::{
    Actor, Error, EventType, NewEvent, OrgId, Reason, Result, ScimToken, ScimTokenId,
};
use crate::store::records::lock_org;
use crate::store::rows::{one, rows};
use crate::store::{Store, to_time};

const TOKEN_COLS: &str = "id, organization_id, include_sub_organizations, description, \
                          created_by, created_at, revoked_at";

fn token_from_row(r: &QueryResult) -> Result<ScimToken> {
    let include: bool = match r.try_get::<bool>("", "include_sub_organizations") {
        Ok(b) => b,
        Err(_) => r.try_get::<i64>("", "include_sub_organizations")? != 0,
    };
    Ok(ScimToken {
        id: ScimTokenId::from_trusted(r.try_get("", "id")?),
        org_id: OrgId::from_trusted(r.try_get("", "organization_id")?),
        include_sub_organizations: include,
        description: r.try_get("", "description")?,
        created_by: r.try_get("", "created_by")?,
        created_at: to_time(r.try_get("", "created_at")?),
        revoked_at: r.try_get::<Option<i64>>("", "revoked_at")?.map(to_time),
    })
}

fn token_not_found(org: &OrgId, id: &ScimTokenId) -> Error {
    Error::not_found(
        Reason::ScimTokenNotFound,
        format!("organization {org} has no SCIM token {id}"),
    )
}

impl Store {
    /// CreateScimToken: stores the hash of a new token for `org`.
    pub async fn create_scim_token(
        &self,
        actor: Actor,
        org: &OrgId,
        include_sub_organizations: bool,
        description: &str,
        token_hash: &str,
    ) -> Result<ScimToken> {
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            let id = ScimTokenId::generate();
            let now = txn.now_ms();
            let created_by = txn.actor().label();
            txn.exec(
                "INSERT INTO scim_tokens (id, organization_id, token_hash, \
                 include_sub_organizations, description, created_by, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![
                    id.as_str().into(),
                    org.as_str().into(),
                    token_hash.into(),
                    include_sub_organizations.into(),
                    description.into(),
                    created_by.clone().into(),
                    now.into(),
                ],
            )
            .await?;
            txn.emit(
                NewEvent::new(EventType::ScimTokenCreated, id.as_str())
                    .org(org)
                    .attr(
                        "include_sub_organizations",
                        include_sub_organizations.to_string(),
                    ),
            );
            Ok((
                txn,
                ScimToken {
                    id,
                    org_id: org.clone(),
                    include_sub_organizations,
                    description: description.to_owned(),
                    created_by,
                    created_at: to_time(now),
                    revoked_at: None,
                },
            ))
        })
        .await
    }

    /// ListScimTokens: the organization's tokens (revoked ones too), oldest
    /// first.
    pub async fn list_scim_tokens(&self, org: &OrgId) -> Result<Vec<ScimToken>> {
        self.get_organization(org).await?;
        rows(
            &self.db,
            &format!(
                "SELECT {TOKEN_COLS} FROM scim_tokens WHERE organization_id = ? \
                 ORDER BY created_at, id"
            ),
            vec![org.as_str().into()],
        )
        .await?
        .iter()
        .map(token_from_row)
        .collect()
    }

    /// RevokeScimToken: the token authenticates nothing from the commit on
    /// (every request looks the token up). Revoking a revoked token changes
    /// nothing and returns it.
    pub async fn revoke_scim_token(
        &self,
        actor: Actor,
        org: &OrgId,
        id: &ScimTokenId,
    ) -> Result<ScimToken> {
        self.write(&actor, |mut txn| async move {
            lock_org(&txn, org).await?;
            let row = txn
                .query_one(
                    &format!(
                        "SELECT {TOKEN_COLS} FROM scim_tokens WHERE id = ? AND organization_id = ?"
                    ),
                    vec![id.as_str().into(), org.as_str().into()],
                )
                .await?
                .ok_or_else(|| token_not_found(org, id))?;
            let mut token = token_from_row(&row)?;
            if token.revoked_at.is_some() {
                txn.nothing_changed();
                return Ok((txn, token));
            }
            let now = txn.now_ms();
            txn.exec(
                "UPDATE scim_tokens SET revoked_at = ? WHERE id = ?",
                vec![now.into(), id.as_str().into()],
            )
            .await?;
            txn.emit(NewEvent::new(EventType::ScimTokenRevoked, id.as_str()).org(org));
            token.revoked_at = Some(to_time(now));
            Ok((txn, token))
        })
        .await
    }

    /// The organizations `token` provisions: its own first, then, with
    /// `include_sub_organizations`, every organization below it (any
    /// depth), by ID.
    pub async fn scim_scope(&self, token: &ScimToken) -> Result<Vec<OrgId>> {
        let mut orgs = vec![token.org_id.clone()];
        if !token.include_sub_organizations {
            return Ok(orgs);
        }
        let below = rows(
            &self.db,
            "WITH RECURSIVE below(id) AS (SELECT id FROM organizations WHERE parent_id = ? \
             UNION SELECT o.id FROM organizations o JOIN below b ON o.parent_id = b.id) \
             SELECT id FROM below ORDER BY id",
            vec![token.org_id.as_str().into()],
        )
        .await?;
        for r in &below {
            orgs.push(OrgId::from_trusted(r.try_get("", "id")?));
        }
        Ok(orgs)
    }

    /// The live (not revoked) token with this hash, if any.
    pub async fn scim_token_by_hash(&self, token_hash: &str) -> Result<Option<ScimToken>> {
        one(
            &self.db,
            &format!(
                "SELECT {TOKEN_COLS} FROM scim_tokens WHERE token_hash = ? AND revoked_at IS NULL"
            ),
            vec![token_hash.into()],
        )
        .await?
        .as_ref()
        .map(token_from_row)
        .transpose()
    }
}
