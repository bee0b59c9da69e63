//! SCIM 2.0 provisioning (issue 15): the tokens a SCIM client holds and the
//! User resource as Roster keeps it (a membership plus its per-organization
//! `userName` / `externalId`). Transport-free: `src/scim/` speaks HTTP.

use super::ids::{IdentityId, OrgId, RoomId, ScimTokenId};
use super::model::{Actor, ActorKind, MemberState, Timestamp};

/// A provisioning token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimToken {
    /// The ID (`stk_…`).
    pub id: ScimTokenId,
    /// The organization it provisions.
    pub org_id: OrgId,
    /// Whether it also acts in the organization's sub-organizations.
    pub include_sub_organizations: bool,
    /// Free text given at creation (e.g. "Entra ID").
    pub description: String,
    /// Who created it (`KIND:id`).
    pub created_by: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Set once revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<Timestamp>,
}

impl ScimToken {
    /// The actor recorded in audit rows of the changes the token makes.
    pub fn actor(&self) -> Actor {
        Actor {
            kind: ActorKind::ScimToken,
            id: self.id.to_string(),
        }
    }

    /// The SCIM `id` of `identity`'s User in `org`: the identity ID in the
    /// token's own organization, `IDENTITY.org_…` in a sub-organization
    /// (one User per membership, so the ID names the organization).
    pub fn user_id(&self, identity: &IdentityId, org: &OrgId) -> String {
        if *org == self.org_id {
            identity.to_string()
        } else {
            format!("{identity}.{org}")
        }
    }
}

/// A SCIM User: a member of the token's organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUser {
    /// The identity (the resource's `id`).
    pub identity_id: IdentityId,
    /// The organization.
    pub org_id: OrgId,
    /// Unique per organization, compared without case.
    pub user_name: String,
    /// The client's ID, unique per organization when set.
    pub external_id: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `name.givenName`.
    pub given_name: Option<String>,
    /// `name.familyName`.
    pub family_name: Option<String>,
    /// `name.formatted`.
    pub formatted_name: Option<String>,
    /// The primary `emails[].value`.
    pub email: Option<String>,
    /// Its `type`, as sent.
    pub email_type: Option<String>,
    /// Its `primary`, as sent.
    pub email_primary: Option<bool>,
    /// The membership's state (`active` = ACTIVE).
    pub state: MemberState,
    /// A client removed `active` (RFC 7644 §3.5.2.2): the member is
    /// active (the default) and `active` is not returned.
    pub active_unassigned: bool,
    /// When the SCIM record was created.
    pub created_at: Timestamp,
    /// When it (or the membership's state through SCIM) last changed.
    pub updated_at: Timestamp,
}

/// POST /Users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewScimUser {
    /// `userName` (required).
    pub user_name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `name.givenName`.
    pub given_name: Option<String>,
    /// `name.familyName`.
    pub family_name: Option<String>,
    /// `name.formatted`.
    pub formatted_name: Option<String>,
    /// Primary e-mail.
    pub email: Option<String>,
    /// Its `type`.
    pub email_type: Option<String>,
    /// Its `primary`.
    pub email_primary: Option<bool>,
    /// `active` (default true); false creates the member, then deactivates it.
    pub active: bool,
    /// `active` was removed: reset to its default (true) and unassigned
    /// until a client sets it again.
    pub active_unassigned: bool,
}

/// PUT / PATCH /Users/{id}: the attributes after the change (the SCIM
/// layer applies the PATCH operations to the current user first).
pub type ScimUserChange = NewScimUser;

/// The filters of GET /Users Roster supports (`eq`, joined by `and`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimUserFilter {
    /// `userName eq "…"` (case-insensitive).
    pub user_name: Option<String>,
    /// `externalId eq "…"` (case-sensitive).
    pub external_id: Option<String>,
    /// `emails.value eq "…"` / `emails eq` (case-insensitive).
    pub email: Option<String>,
    /// `id eq "…"`.
    pub identity_id: Option<String>,
    /// Only the membership in this organization (a User `id` names one).
    pub organization_id: Option<OrgId>,
}

/// A SCIM Group: a room of the token's organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimGroup {
    /// The room (the resource's `id`).
    pub room_id: RoomId,
    /// The organization.
    pub org_id: OrgId,
    /// The room's display name.
    pub display_name: String,
    /// The client's ID of the group, unique per organization when set.
    pub external_id: Option<String>,
    /// The room's members, by identity ID.
    pub members: Vec<IdentityId>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// PATCH /Groups/{id}: a rename and member changes, applied in one
/// transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimGroupChange {
    /// New display name.
    pub display_name: Option<String>,
    /// New externalId (`Some(None)`: removed).
    pub external_id: Option<Option<String>>,
    /// Members to add (as room MEMBER); present ones stay as they are.
    pub add: Vec<IdentityId>,
    /// Members to take out of the room; absent ones are skipped.
    pub remove: Vec<IdentityId>,
    /// The whole member list (PUT, `replace members`): the others go.
    pub replace: Option<Vec<IdentityId>>,
}
