//! The nouns of the seeds: identities, packages, credentials, sessions,
//! organizations, members, rooms, assignments, events. Plain data; the rules
//! live with the operations in `store` and the checks in `domain::policy`.

use chrono::{DateTime, Utc};

use super::ids::{AssignmentId, CredentialId, IdentityId, OrgId, PackageId, RoomId, SessionId};

/// Point in time, always UTC.
pub type Timestamp = DateTime<Utc>;

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Storage and wire text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses the storage text.
            pub fn from_db(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// Lifecycle state of an identity.
    IdentityState {
        /// Usable.
        Active = "ACTIVE",
        /// Irreversibly revoked.
        Revoked = "REVOKED",
    }
);

text_enum!(
    /// Plan of a license package.
    Plan {
        /// Basic.
        Basic = "BASIC",
        /// Business.
        Business = "BUSINESS",
        /// Enterprise: admin revocation, sub-organizations.
        Enterprise = "ENTERPRISE",
    }
);

text_enum!(
    /// How an identity was attached to a package.
    AttachMethod {
        /// Sign-in with a credential.
        SignIn = "SIGN_IN",
        /// Active membership in an organization bound to the package.
        Membership = "MEMBERSHIP",
    }
);

text_enum!(
    /// Role in an organization.
    MemberRole {
        /// Administrator.
        Admin = "ADMIN",
        /// Regular member.
        Member = "MEMBER",
        /// Guest.
        Guest = "GUEST",
    }
);

text_enum!(
    /// State of a member.
    MemberState {
        /// Full access.
        Active = "ACTIVE",
        /// Paused.
        Deactivated = "DEACTIVATED",
    }
);

text_enum!(
    /// Role in a room.
    RoomRole {
        /// Room administrator.
        Admin = "ADMIN",
        /// Room member.
        Member = "MEMBER",
    }
);

text_enum!(
    /// Why a member was deactivated.
    DeactivationReason {
        /// Parental leave.
        ParentalLeave = "PARENTAL_LEAVE",
        /// Sabbatical.
        Sabbatical = "SABBATICAL",
        /// Paused guest project.
        ProjectPaused = "PROJECT_PAUSED",
        /// Anything else.
        Other = "OTHER",
        /// The inactive-guest sweep.
        Inactivity = "INACTIVITY",
    }
);

text_enum!(
    /// Kind of work item.
    AssignmentKind {
        /// Task.
        Task = "TASK",
        /// Appointment.
        Appointment = "APPOINTMENT",
    }
);

text_enum!(
    /// Kind of principal behind a change.
    ActorKind {
        /// A person (session).
        Identity = "IDENTITY",
        /// An internal service (service key).
        Service = "SERVICE",
        /// Roster itself.
        System = "SYSTEM",
        /// A SCIM provisioning token (the token's ID, `stk_…`).
        ScimToken = "SCIM_TOKEN",
    }
);

text_enum!(
    /// Kinds of lifecycle event (see `roster.v1.EventType`).
    EventType {
        /// CreateIdentity.
        IdentityCreated = "IDENTITY_CREATED",
        /// SetRevocationPassword.
        RevocationPasswordSet = "REVOCATION_PASSWORD_SET",
        /// RevokeIdentity.
        IdentityRevoked = "IDENTITY_REVOKED",
        /// SignIn.
        SessionStarted = "SESSION_STARTED",
        /// SignOut.
        SessionEnded = "SESSION_ENDED",
        /// CreateLicensePackage.
        PackageCreated = "PACKAGE_CREATED",
        /// UpdateLicensePackage.
        PackageUpdated = "PACKAGE_UPDATED",
        /// IssueCredential.
        CredentialIssued = "CREDENTIAL_ISSUED",
        /// DeleteCredential.
        CredentialDeleted = "CREDENTIAL_DELETED",
        /// A seat was taken.
        IdentityAttached = "IDENTITY_ATTACHED",
        /// A seat was freed.
        IdentityDetached = "IDENTITY_DETACHED",
        /// CreateOrganization.
        OrganizationCreated = "ORGANIZATION_CREATED",
        /// UpdateOrganizationSettings.
        OrganizationUpdated = "ORGANIZATION_UPDATED",
        /// AddMember.
        MemberAdded = "MEMBER_ADDED",
        /// UpdateMemberRole.
        MemberRoleUpdated = "MEMBER_ROLE_UPDATED",
        /// DeactivateMember or the sweep.
        MemberDeactivated = "MEMBER_DEACTIVATED",
        /// ReactivateMember.
        MemberReactivated = "MEMBER_REACTIVATED",
        /// RemoveMember or revocation.
        MemberRemoved = "MEMBER_REMOVED",
        /// CreateRoom.
        RoomCreated = "ROOM_CREATED",
        /// AddRoomMember.
        RoomMemberAdded = "ROOM_MEMBER_ADDED",
        /// UpdateRoomMember or successor take-over.
        RoomMemberUpdated = "ROOM_MEMBER_UPDATED",
        /// RemoveRoomMember or LeaveRoom.
        RoomMemberRemoved = "ROOM_MEMBER_REMOVED",
        /// CreateAssignment.
        AssignmentCreated = "ASSIGNMENT_CREATED",
        /// TransferAssignments.
        AssignmentsTransferred = "ASSIGNMENTS_TRANSFERRED",
        /// A service key was created.
        ServiceKeyCreated = "SERVICE_KEY_CREATED",
        /// ScheduleMemberChange (W3).
        ScheduledChangeCreated = "SCHEDULED_CHANGE_CREATED",
        /// CancelScheduledChange (W3).
        ScheduledChangeCancelled = "SCHEDULED_CHANGE_CANCELLED",
        /// A scheduled change ran; its own events follow in the same commit (W3).
        ScheduledChangeExecuted = "SCHEDULED_CHANGE_EXECUTED",
        /// A scheduled change could no longer apply; nothing of it was applied (W3).
        ScheduledChangeFailed = "SCHEDULED_CHANGE_FAILED",
        /// A deactivated member's expected return has passed (reminder; W3, M5).
        DeactivationReturnDue = "DEACTIVATION_RETURN_DUE",
        /// UndoRemoveMember (W6).
        MemberRestored = "MEMBER_RESTORED",
        /// CreateScimToken.
        ScimTokenCreated = "SCIM_TOKEN_CREATED",
        /// RevokeScimToken.
        ScimTokenRevoked = "SCIM_TOKEN_REVOKED",
        /// A SCIM client changed a user's userName, externalId or name.
        ScimUserUpdated = "SCIM_USER_UPDATED",
        /// A room was renamed (SCIM Group displayName).
        RoomUpdated = "ROOM_UPDATED",
        /// DeleteRoom or a SCIM Group DELETE.
        RoomDeleted = "ROOM_DELETED",
        /// A SCIM offboarding left rooms (or the organization) without an admin.
        LeftWithoutAdmin = "LEFT_WITHOUT_ADMIN",
    }
);

/// Who is calling (after authentication).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person signed in with a package's credential.
    Identity {
        /// The signed-in identity.
        identity_id: IdentityId,
        /// The session in use.
        session_id: SessionId,
        /// The package whose credential opened the session.
        package_id: PackageId,
    },
    /// A trusted internal service.
    Service {
        /// The key's configured name.
        name: String,
    },
}

impl Principal {
    /// The identity behind a session principal.
    pub fn identity_id(&self) -> Option<&IdentityId> {
        match self {
            Principal::Identity { identity_id, .. } => Some(identity_id),
            Principal::Service { .. } => None,
        }
    }

    /// True for service keys.
    pub fn is_service(&self) -> bool {
        matches!(self, Principal::Service { .. })
    }

    /// The actor recorded in audit rows for changes made by this principal.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Identity { identity_id, .. } => Actor {
                kind: ActorKind::Identity,
                id: identity_id.to_string(),
            },
            Principal::Service { name } => Actor {
                kind: ActorKind::Service,
                id: name.clone(),
            },
        }
    }
}

/// Who performed a change, as recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Kind of actor.
    pub kind: ActorKind,
    /// Identity ID, key name, SCIM token ID, or empty for the system.
    pub id: String,
}

impl Actor {
    /// Roster itself (background jobs).
    pub fn system() -> Self {
        Actor {
            kind: ActorKind::System,
            id: String::new(),
        }
    }

    /// The ID of [`Actor::scheduler`].
    pub const SCHEDULER: &'static str = "scheduler";

    /// Roster's scheduler running a scheduled change (W3): a system actor
    /// with ID `scheduler`; the admin who scheduled the change is recorded
    /// in the events' attributes.
    pub fn scheduler() -> Self {
        Actor {
            kind: ActorKind::System,
            id: Self::SCHEDULER.to_owned(),
        }
    }

    /// `KIND:id`, as the attributes of scheduled changes' events record
    /// who scheduled them (`IDENTITY:AB12CD34`, `SERVICE:hr-sync`).
    pub fn label(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.id)
    }
}

/// A person's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The ID.
    pub id: IdentityId,
    /// Display name; empty once revoked.
    pub display_name: String,
    /// E-mail; empty when unset or revoked.
    pub email: String,
    /// Avatar URL; empty when unset or revoked.
    pub avatar_url: String,
    /// ACTIVE or REVOKED.
    pub state: IdentityState,
    /// Creation time.
    pub created_at: Timestamp,
    /// Revocation time.
    pub revoked_at: Option<Timestamp>,
}

/// Fields of a new identity, already validated.
#[derive(Debug, Clone)]
pub struct NewIdentity {
    /// Display name (1..=100 chars).
    pub display_name: String,
    /// Optional e-mail.
    pub email: Option<String>,
    /// Optional avatar URL.
    pub avatar_url: Option<String>,
}

/// A license package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicensePackage {
    /// The ID.
    pub id: PackageId,
    /// Display name.
    pub display_name: String,
    /// Plan.
    pub plan: Plan,
    /// Purchased seats.
    pub seat_limit: i32,
    /// Seats in use.
    pub seats_used: i32,
    /// Administrators, sorted.
    pub admins: Vec<IdentityId>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last update.
    pub updated_at: Timestamp,
}

/// An access credential (never with its password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The ID.
    pub id: CredentialId,
    /// Its package.
    pub package_id: PackageId,
    /// Username, unique across packages.
    pub username: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A sign-in session (never with its token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Public ID.
    pub id: SessionId,
    /// Signed-in identity.
    pub identity_id: IdentityId,
    /// Package of the credential.
    pub package_id: PackageId,
    /// Credential used.
    pub credential_id: CredentialId,
    /// Start.
    pub created_at: Timestamp,
    /// End.
    pub expires_at: Timestamp,
}

/// An identity holding a seat of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveUser {
    /// The identity.
    pub identity_id: IdentityId,
    /// The package.
    pub package_id: PackageId,
    /// When attached.
    pub attached_at: Timestamp,
    /// How first attached.
    pub method: AttachMethod,
    /// Whether a sign-in attachment holds the seat.
    pub signed_in: bool,
    /// Credential of the latest sign-in.
    pub credential_id: Option<CredentialId>,
    /// Latest sign-in or activity.
    pub last_seen_at: Option<Timestamp>,
}

/// Seats of a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatUsage {
    /// Purchased.
    pub limit: i32,
    /// Held.
    pub used: i32,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// The ID.
    pub id: OrgId,
    /// Display name.
    pub display_name: String,
    /// Bound package.
    pub package_id: PackageId,
    /// Parent, for sub-organizations.
    pub parent_id: Option<OrgId>,
    /// Idle guests are deactivated after this many seconds; `None` = never.
    pub guest_inactivity_secs: Option<i64>,
    /// W6: how long (seconds) a removal can be undone; 0 = never.
    pub removal_undo_window_secs: i64,
    /// Creation time.
    pub created_at: Timestamp,
}

/// Why and since when a member is deactivated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deactivation {
    /// Reason code.
    pub reason: DeactivationReason,
    /// Free text.
    pub note: String,
    /// Expected return.
    pub expected_return_at: Option<Timestamp>,
    /// When.
    pub deactivated_at: Timestamp,
    /// Who (actor id).
    pub actor_id: String,
}

/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The organization.
    pub org_id: OrgId,
    /// The identity.
    pub identity_id: IdentityId,
    /// Role.
    pub role: MemberRole,
    /// State.
    pub state: MemberState,
    /// Joined.
    pub joined_at: Timestamp,
    /// Latest recorded activity (or join).
    pub last_activity_at: Timestamp,
    /// Set while deactivated.
    pub deactivation: Option<Deactivation>,
}

/// A room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// The ID.
    pub id: RoomId,
    /// Its organization.
    pub org_id: OrgId,
    /// Display name.
    pub display_name: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A member's place in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomMember {
    /// The room.
    pub room_id: RoomId,
    /// The identity.
    pub identity_id: IdentityId,
    /// Room role.
    pub role: RoomRole,
    /// May delete entries.
    pub can_delete_entries: bool,
    /// State in the organization.
    pub member_state: MemberState,
}

/// A work item assigned to a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The ID.
    pub id: AssignmentId,
    /// The organization.
    pub org_id: OrgId,
    /// The room.
    pub room_id: RoomId,
    /// Assignee; `None` once dropped.
    pub assignee: Option<IdentityId>,
    /// Kind.
    pub kind: AssignmentKind,
    /// Title.
    pub title: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// How an identity renders in an organization (M10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Profile {
    /// Active member: name and avatar.
    Active {
        /// Display name.
        display_name: String,
        /// Avatar URL.
        avatar_url: String,
    },
    /// Deactivated member: name struck through, no avatar, badge "D".
    Deactivated {
        /// Display name.
        display_name: String,
    },
    /// Removed, never a member, unknown or revoked.
    Unknown,
}

/// Result of CheckAccess (M11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessDecision {
    /// Access allowed.
    Allowed {
        /// Organization role.
        role: MemberRole,
        /// Room role and delete permission, when a room was asked for.
        room: Option<(RoomRole, bool)>,
    },
    /// Access denied.
    Denied(AccessDenial),
}

/// Why access is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessDenial {
    /// Not a member.
    NotMember,
    /// Deactivated.
    Deactivated {
        /// The member's role.
        role: MemberRole,
    },
    /// Revoked identity.
    Revoked,
    /// Member, but not of the room.
    NotInRoom {
        /// The member's role.
        role: MemberRole,
    },
    /// No such identity.
    UnknownIdentity,
}

/// A committed lifecycle change as stored in the audit log / outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Position in the log (strictly increasing in commit order).
    pub seq: i64,
    /// What happened.
    pub event_type: EventType,
    /// Who did it.
    pub actor: Actor,
    /// The thing the event is about.
    pub subject_id: String,
    /// Reason code.
    pub reason: String,
    /// Commit time.
    pub occurred_at: Timestamp,
    /// Affected identity.
    pub identity_id: Option<String>,
    /// Affected organization.
    pub org_id: Option<String>,
    /// Affected package.
    pub package_id: Option<String>,
    /// Affected room.
    pub room_id: Option<String>,
    /// Affected credential (for session invalidation).
    pub credential_id: Option<String>,
    /// Non-personal details.
    pub attributes: Vec<(String, String)>,
}

/// An event about to be written in the same transaction as its change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// What happened.
    pub event_type: EventType,
    /// The thing the event is about.
    pub subject_id: String,
    /// Reason code (may be empty).
    pub reason: String,
    /// Affected identity.
    pub identity_id: Option<String>,
    /// Affected organization.
    pub org_id: Option<String>,
    /// Affected package.
    pub package_id: Option<String>,
    /// Affected room.
    pub room_id: Option<String>,
    /// Affected credential.
    pub credential_id: Option<String>,
    /// Non-personal details.
    pub attributes: Vec<(String, String)>,
}

impl NewEvent {
    /// An event of `event_type` about `subject_id`; add context with the
    /// builder methods.
    pub fn new(event_type: EventType, subject_id: impl Into<String>) -> Self {
        NewEvent {
            event_type,
            subject_id: subject_id.into(),
            reason: String::new(),
            identity_id: None,
            org_id: None,
            package_id: None,
            room_id: None,
            credential_id: None,
            attributes: Vec::new(),
        }
    }

    /// Sets the reason code.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// Sets the affected identity.
    pub fn identity(mut self, id: &IdentityId) -> Self {
        self.identity_id = Some(id.to_string());
        self
    }

    /// Sets the affected organization.
    pub fn org(mut self, id: &OrgId) -> Self {
        self.org_id = Some(id.to_string());
        self
    }

    /// Sets the affected package.
    pub fn package(mut self, id: &PackageId) -> Self {
        self.package_id = Some(id.to_string());
        self
    }

    /// Sets the affected room.
    pub fn room(mut self, id: &RoomId) -> Self {
        self.room_id = Some(id.to_string());
        self
    }

    /// Sets the affected credential.
    pub fn credential(mut self, id: &CredentialId) -> Self {
        self.credential_id = Some(id.to_string());
        self
    }

    /// Adds a non-personal detail.
    pub fn attr(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.push((key.into(), value.into()));
        self
    }
}
