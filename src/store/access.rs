//! The hot-path reads: CheckAccess (M11), ResolveProfiles (M10), and the
//! activity record the guest sweep uses.

use sea_orm::{ConnectionTrait, Value};

use super::records::{
    member_not_found, member_role, member_state as member_state_of, org_not_found, room_not_found,
    room_role,
};
use super::rows::{one, rows};
use super::{Store, placeholders, statement};
use crate::domain::policy::{self, AccessFacts, ProfileFacts};
use crate::domain::{AccessDecision, IdentityId, IdentityState, OrgId, Profile, Result, RoomId};

impl Store {
    /// M10: how each of `ids` renders in `org`, in request order (duplicates
    /// repeated). Exactly ONE query whatever the number of IDs (up to
    /// 1,000): the organization LEFT JOIN its members among `ids` JOIN
    /// identities; the organization row tells NOT_FOUND apart from "no
    /// member among them".
    pub async fn resolve_profiles(&self, org: &OrgId, ids: &[IdentityId]) -> Result<Vec<Profile>> {
        let mut distinct: Vec<&str> = ids.iter().map(IdentityId::as_str).collect();
        distinct.sort_unstable();
        distinct.dedup();
        let in_list = if distinct.is_empty() {
            // Matches nothing; keeps the statement well-formed.
            "NULL".to_owned()
        } else {
            placeholders(distinct.len())
        };
        let sql = format!(
            "SELECT o.id AS org_id, m.identity_id AS identity_id, m.state AS member_state, \
                    i.state AS identity_state, i.display_name AS display_name, \
                    i.avatar_url AS avatar_url \
             FROM organizations o \
             LEFT JOIN members m ON m.organization_id = o.id AND m.identity_id IN ({in_list}) \
             LEFT JOIN identities i ON i.id = m.identity_id \
             WHERE o.id = ?"
        );
        let mut values: Vec<Value> = distinct.iter().map(|s| (*s).into()).collect();
        values.push(org.as_str().into());
        let found = rows(&self.db, &sql, values).await?;
        if found.is_empty() {
            return Err(org_not_found(org));
        }
        let mut profiles = std::collections::HashMap::with_capacity(found.len());
        for r in &found {
            let Some(id) = r.try_get::<Option<String>>("", "identity_id")? else {
                continue;
            };
            let member_state: Option<String> = r.try_get("", "member_state")?;
            let identity_state: Option<String> = r.try_get("", "identity_state")?;
            let name: Option<String> = r.try_get("", "display_name")?;
            let avatar: Option<String> = r.try_get("", "avatar_url")?;
            let profile = policy::render_profile(ProfileFacts {
                identity: identity_state.as_deref().and_then(IdentityState::from_db),
                member: member_state.as_deref().map(member_state_of),
                display_name: name.unwrap_or_default(),
                avatar_url: avatar.unwrap_or_default(),
            });
            profiles.insert(id, profile);
        }
        Ok(ids
            .iter()
            .map(|id| {
                profiles
                    .get(id.as_str())
                    .cloned()
                    .unwrap_or(Profile::Unknown)
            })
            .collect())
    }

    /// M11: whether `identity` may access `org` (and `room`). Exactly ONE
    /// query: the organization LEFT JOIN the identity, its membership, the
    /// room (which must belong to the organization) and its room
    /// membership. Unknown organization or room: NOT_FOUND.
    pub async fn check_access(
        &self,
        identity: &IdentityId,
        org: &OrgId,
        room: Option<&RoomId>,
    ) -> Result<AccessDecision> {
        let r = one(
            &self.db,
            "SELECT i.state AS identity_state, m.role AS member_role, m.state AS member_state, \
                    r.id AS room_id, rm.role AS room_role, rm.can_delete_entries AS can_delete \
             FROM organizations o \
             LEFT JOIN identities i ON i.id = ? \
             LEFT JOIN members m ON m.organization_id = o.id AND m.identity_id = ? \
             LEFT JOIN rooms r ON r.id = ? AND r.organization_id = o.id \
             LEFT JOIN room_members rm ON rm.room_id = r.id AND rm.identity_id = ? \
             WHERE o.id = ?",
            vec![
                identity.as_str().into(),
                identity.as_str().into(),
                room.map(|r| r.to_string()).into(),
                identity.as_str().into(),
                org.as_str().into(),
            ],
        )
        .await?
        .ok_or_else(|| org_not_found(org))?;
        let room_found: Option<String> = r.try_get("", "room_id")?;
        if let Some(room) = room
            && room_found.is_none()
        {
            return Err(room_not_found(room));
        }
        let identity_state: Option<String> = r.try_get("", "identity_state")?;
        let role: Option<String> = r.try_get("", "member_role")?;
        let state: Option<String> = r.try_get("", "member_state")?;
        let room_role_text: Option<String> = r.try_get("", "room_role")?;
        let in_room = match room_role_text {
            Some(rr) => {
                let can_delete: Option<bool> = r.try_get("", "can_delete")?;
                Some((room_role(&rr), can_delete.unwrap_or(false)))
            }
            None => None,
        };
        Ok(policy::access_decision(&AccessFacts {
            // An unreadable state counts as revoked: never an allow.
            identity: identity_state
                .as_deref()
                .map(|s| IdentityState::from_db(s).unwrap_or(IdentityState::Revoked)),
            membership: role
                .zip(state)
                .map(|(role, state)| (member_role(&role), member_state_of(&state))),
            room: room.map(|_| in_room),
        }))
    }

    /// M12: records that a member was active now (telemetry: a plain
    /// UPDATE, no audit event). Never moves the time backwards.
    pub async fn record_activity(&self, org: &OrgId, identity: &IdentityId) -> Result<()> {
        let now = self.now_ms();
        let updated = self
            .db
            .execute_raw(statement(
                self.backend(),
                "UPDATE members SET last_activity_at = CASE WHEN last_activity_at < ? THEN ? \
                 ELSE last_activity_at END WHERE organization_id = ? AND identity_id = ?",
                vec![
                    now.into(),
                    now.into(),
                    org.as_str().into(),
                    identity.as_str().into(),
                ],
            ))
            .await?
            .rows_affected();
        if updated == 0 {
            self.get_organization(org).await?;
            return Err(member_not_found(org, identity));
        }
        Ok(())
    }
}
