//! The one error type of the domain. Every refusal carries a stable
//! [`Reason`] code; the gRPC layer maps each variant to exactly one status
//! code and attaches the reason as `google.rpc.ErrorInfo`.

/// Stable, machine-readable reason codes (`ErrorInfo.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Input failed validation.
    InvalidArgument,
    /// No or an unknown bearer token.
    Unauthenticated,
    /// Identity, username or password wrong (one code for all).
    BadCredentials,
    /// Too many attempts; try later.
    RateLimited,
    /// The caller's role does not allow this.
    NotAuthorized,
    /// Only the identity itself may do this.
    NotSelf,
    /// The caller does not administer the package.
    NotPackageAdmin,
    /// The caller does not administer the organization.
    NotOrganizationAdmin,
    /// The caller administers neither the room nor its organization.
    NotRoomAdmin,
    /// Self-revocation with a wrong revocation password.
    WrongRevocationPassword,
    /// Self-revocation without the revocation password that is set.
    RevocationPasswordRequired,
    /// Admin revocation needs an ENTERPRISE package.
    EnterprisePlanRequired,
    /// The identity is not attached to the package.
    IdentityNotAttached,
    /// The identity is revoked.
    IdentityRevoked,
    /// No identity with this ID.
    IdentityNotFound,
    /// No package with this ID.
    PackageNotFound,
    /// No credential with this ID.
    CredentialNotFound,
    /// No organization with this ID.
    OrganizationNotFound,
    /// No room with this ID.
    RoomNotFound,
    /// No member with this identity in the organization.
    MemberNotFound,
    /// The identity is not in the room.
    RoomMemberNotFound,
    /// No free seat in the package.
    SeatLimitReached,
    /// The new seat limit is below the seats in use.
    SeatLimitBelowUsage,
    /// A package needs at least one administrator.
    NoPackageAdmin,
    /// The username is taken.
    UsernameTaken,
    /// Still an active member of organizations bound to the package.
    ActiveMemberships,
    /// Already a member of the organization.
    AlreadyMember,
    /// Already in the room.
    AlreadyRoomMember,
    /// Already deactivated.
    AlreadyDeactivated,
    /// Not deactivated.
    NotDeactivated,
    /// Would leave a room without an active room admin.
    LastRoomAdmin,
    /// Would leave the organization without an active admin.
    LastOrganizationAdmin,
    /// The named successor is not an active member.
    SuccessorNotActive,
    /// The identity is not an active member of the organization.
    NotActiveMember,
    /// The identity is not a member of the room.
    NotRoomMember,
    /// The room belongs to another organization.
    RoomNotInOrganization,
    /// The event cursor is older than the retention window.
    CursorExpired,
    /// The page token does not fit the request.
    InvalidPageToken,
    /// The request was aborted by a concurrent change; retry.
    Conflict,
    /// Storage or another dependency failed.
    Internal,
}

impl Reason {
    /// The wire form, `SCREAMING_SNAKE_CASE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidArgument => "INVALID_ARGUMENT",
            Reason::Unauthenticated => "UNAUTHENTICATED",
            Reason::BadCredentials => "BAD_CREDENTIALS",
            Reason::RateLimited => "RATE_LIMITED",
            Reason::NotAuthorized => "NOT_AUTHORIZED",
            Reason::NotSelf => "NOT_SELF",
            Reason::NotPackageAdmin => "NOT_PACKAGE_ADMIN",
            Reason::NotOrganizationAdmin => "NOT_ORGANIZATION_ADMIN",
            Reason::NotRoomAdmin => "NOT_ROOM_ADMIN",
            Reason::WrongRevocationPassword => "WRONG_REVOCATION_PASSWORD",
            Reason::RevocationPasswordRequired => "REVOCATION_PASSWORD_REQUIRED",
            Reason::EnterprisePlanRequired => "ENTERPRISE_PLAN_REQUIRED",
            Reason::IdentityNotAttached => "IDENTITY_NOT_ATTACHED",
            Reason::IdentityRevoked => "IDENTITY_REVOKED",
            Reason::IdentityNotFound => "IDENTITY_NOT_FOUND",
            Reason::PackageNotFound => "PACKAGE_NOT_FOUND",
            Reason::CredentialNotFound => "CREDENTIAL_NOT_FOUND",
            Reason::OrganizationNotFound => "ORGANIZATION_NOT_FOUND",
            Reason::RoomNotFound => "ROOM_NOT_FOUND",
            Reason::MemberNotFound => "MEMBER_NOT_FOUND",
            Reason::RoomMemberNotFound => "ROOM_MEMBER_NOT_FOUND",
            Reason::SeatLimitReached => "SEAT_LIMIT_REACHED",
            Reason::SeatLimitBelowUsage => "SEAT_LIMIT_BELOW_USAGE",
            Reason::NoPackageAdmin => "NO_PACKAGE_ADMIN",
            Reason::UsernameTaken => "USERNAME_TAKEN",
            Reason::ActiveMemberships => "ACTIVE_MEMBERSHIPS",
            Reason::AlreadyMember => "ALREADY_MEMBER",
            Reason::AlreadyRoomMember => "ALREADY_ROOM_MEMBER",
            Reason::AlreadyDeactivated => "ALREADY_DEACTIVATED",
            Reason::NotDeactivated => "NOT_DEACTIVATED",
            Reason::LastRoomAdmin => "LAST_ROOM_ADMIN",
            Reason::LastOrganizationAdmin => "LAST_ORGANIZATION_ADMIN",
            Reason::SuccessorNotActive => "SUCCESSOR_NOT_ACTIVE",
            Reason::NotActiveMember => "NOT_ACTIVE_MEMBER",
            Reason::NotRoomMember => "NOT_ROOM_MEMBER",
            Reason::RoomNotInOrganization => "ROOM_NOT_IN_ORGANIZATION",
            Reason::CursorExpired => "CURSOR_EXPIRED",
            Reason::InvalidPageToken => "INVALID_PAGE_TOKEN",
            Reason::Conflict => "CONFLICT",
            Reason::Internal => "INTERNAL",
        }
    }
}

/// One offending request field (`google.rpc.BadRequest.FieldViolation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field, e.g. `identity.display_name` or `identity_ids[3]`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Extra `ErrorInfo.metadata` entries, e.g. `room_ids`.
pub type Metadata = Vec<(&'static str, String)>;

/// Everything a Roster operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; nothing was written.
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// Missing or unknown credentials.
    #[error("{message}")]
    Unauthenticated {
        /// Reason code.
        reason: Reason,
        /// Human-readable explanation.
        message: String,
    },
    /// The caller may not do this.
    #[error("{message}")]
    PermissionDenied {
        /// Reason code.
        reason: Reason,
        /// Human-readable explanation.
        message: String,
    },
    /// Something named in the request does not exist.
    #[error("{message}")]
    NotFound {
        /// Reason code.
        reason: Reason,
        /// Human-readable explanation.
        message: String,
    },
    /// The thing to create exists already.
    #[error("{message}")]
    AlreadyExists {
        /// Reason code.
        reason: Reason,
        /// Human-readable explanation.
        message: String,
    },
    /// The system is not in a state that allows this.
    #[error("{message}")]
    FailedPrecondition {
        /// Reason code.
        reason: Reason,
        /// Human-readable explanation.
        message: String,
        /// Details such as the rooms that block the change.
        metadata: Metadata,
    },
    /// A limit (seats, rate) is reached.
    #[error("{message}")]
    ResourceExhausted {
        /// Reason code.
        reason: Reason,
        /// Human-readable explanation.
        message: String,
    },
    /// A position (cursor) outside the valid range.
    #[error("{message}")]
    OutOfRange {
        /// Reason code.
        reason: Reason,
        /// Human-readable explanation.
        message: String,
    },
    /// A concurrent change won; the caller may retry.
    #[error("{0}")]
    Aborted(String),
    /// Storage or another dependency is unreachable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected storage failure.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Violations named in the message; the rest are counted (the status
/// details carry more, see `grpc::status`).
const DESCRIBED_VIOLATIONS: usize = 5;

fn describe(violations: &[FieldViolation]) -> String {
    let mut out = violations
        .iter()
        .take(DESCRIBED_VIOLATIONS)
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ");
    if violations.len() > DESCRIBED_VIOLATIONS {
        out.push_str(&format!(
            " (and {} more)",
            violations.len() - DESCRIBED_VIOLATIONS
        ));
    }
    out
}

impl Error {
    /// A single field violation.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Error::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// PERMISSION_DENIED with a reason.
    pub fn denied(reason: Reason, message: impl Into<String>) -> Self {
        Error::PermissionDenied {
            reason,
            message: message.into(),
        }
    }

    /// NOT_FOUND with a reason.
    pub fn not_found(reason: Reason, message: impl Into<String>) -> Self {
        Error::NotFound {
            reason,
            message: message.into(),
        }
    }

    /// FAILED_PRECONDITION with a reason and no metadata.
    pub fn precondition(reason: Reason, message: impl Into<String>) -> Self {
        Error::FailedPrecondition {
            reason,
            message: message.into(),
            metadata: Vec::new(),
        }
    }

    /// ALREADY_EXISTS with a reason.
    pub fn already_exists(reason: Reason, message: impl Into<String>) -> Self {
        Error::AlreadyExists {
            reason,
            message: message.into(),
        }
    }

    /// RESOURCE_EXHAUSTED with a reason.
    pub fn exhausted(reason: Reason, message: impl Into<String>) -> Self {
        Error::ResourceExhausted {
            reason,
            message: message.into(),
        }
    }

    /// UNAUTHENTICATED with a reason.
    pub fn unauthenticated(reason: Reason, message: impl Into<String>) -> Self {
        Error::Unauthenticated {
            reason,
            message: message.into(),
        }
    }

    /// The reason code of a refusal, if it has one.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Error::InvalidArgument(_) => Some(Reason::InvalidArgument),
            Error::Unauthenticated { reason, .. }
            | Error::PermissionDenied { reason, .. }
            | Error::NotFound { reason, .. }
            | Error::AlreadyExists { reason, .. }
            | Error::FailedPrecondition { reason, .. }
            | Error::ResourceExhausted { reason, .. }
            | Error::OutOfRange { reason, .. } => Some(*reason),
            Error::Aborted(_) => Some(Reason::Conflict),
            Error::Unavailable(_) | Error::Internal(_) => Some(Reason::Internal),
        }
    }
}

/// Result of a domain operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
