//! The one error type of the domain. Every refusal carries a stable
//! [`Reason`] code; the gRPC layer maps each variant to exactly one status
//! code and attaches the reason as `google.rpc.ErrorInfo`.

/// Declares [`Reason`], its wire strings and [`Reason::ALL`] from one list,
/// so a code cannot exist without its string or be left out of `ALL`.
macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal,)+) => {
        /// Stable, machine-readable reason codes (`ErrorInfo.reason`).
        ///
        /// Published in the API as `roster.v1.ErrorReason`
        /// (`proto/roster/v1/errors.proto`): the wire string is the proto value
        /// name without its `ERROR_REASON_` prefix. Adding a code is one line
        /// here and one line there; `tests/it/reasons.rs` fails until both
        /// sides agree.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Reason {
            $($(#[$doc])* $variant,)+
        }

        impl Reason {
            /// Every reason code, in declaration order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)+];

            /// The wire form, `SCREAMING_SNAKE_CASE`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $wire,)+
                }
            }
        }
    };
}

reasons! {
    /// Input failed validation.
    InvalidArgument => "INVALID_ARGUMENT",
    /// No or an unknown bearer token.
    Unauthenticated => "UNAUTHENTICATED",
    /// Identity, username or password wrong (one code for all).
    BadCredentials => "BAD_CREDENTIALS",
    /// Too many attempts; try later.
    RateLimited => "RATE_LIMITED",
    /// The caller's role does not allow this.
    NotAuthorized => "NOT_AUTHORIZED",
    /// Only the identity itself may do this.
    NotSelf => "NOT_SELF",
    /// The caller does not administer the package.
    NotPackageAdmin => "NOT_PACKAGE_ADMIN",
    /// The caller does not administer the organization.
    NotOrganizationAdmin => "NOT_ORGANIZATION_ADMIN",
    /// The caller administers neither the room nor its organization.
    NotRoomAdmin => "NOT_ROOM_ADMIN",
    /// Self-revocation with a wrong revocation password.
    WrongRevocationPassword => "WRONG_REVOCATION_PASSWORD",
    /// Self-revocation without the revocation password that is set.
    RevocationPasswordRequired => "REVOCATION_PASSWORD_REQUIRED",
    /// W1: the etag of a confirmed plan no longer matches the state.
    EtagMismatch => "ETAG_MISMATCH",
    /// W6: no removal of this member that could be undone.
    NoRemovalToUndo => "NO_REMOVAL_TO_UNDO",
    /// W6: the organization's undo window for this removal has passed.
    UndoWindowPassed => "UNDO_WINDOW_PASSED",
    /// Admin revocation needs an ENTERPRISE package.
    EnterprisePlanRequired => "ENTERPRISE_PLAN_REQUIRED",
    /// The identity is not attached to the package.
    IdentityNotAttached => "IDENTITY_NOT_ATTACHED",
    /// The identity is revoked.
    IdentityRevoked => "IDENTITY_REVOKED",
    /// No identity with this ID.
    IdentityNotFound => "IDENTITY_NOT_FOUND",
    /// No package with this ID.
    PackageNotFound => "PACKAGE_NOT_FOUND",
    /// No credential with this ID.
    CredentialNotFound => "CREDENTIAL_NOT_FOUND",
    /// No organization with this ID.
    OrganizationNotFound => "ORGANIZATION_NOT_FOUND",
    /// No room with this ID.
    RoomNotFound => "ROOM_NOT_FOUND",
    /// No member with this identity in the organization.
    MemberNotFound => "MEMBER_NOT_FOUND",
    /// The identity is not in the room.
    RoomMemberNotFound => "ROOM_MEMBER_NOT_FOUND",
    /// No free seat in the package.
    SeatLimitReached => "SEAT_LIMIT_REACHED",
    /// The new seat limit is below the seats in use.
    SeatLimitBelowUsage => "SEAT_LIMIT_BELOW_USAGE",
    /// A package needs at least one administrator.
    NoPackageAdmin => "NO_PACKAGE_ADMIN",
    /// The username is taken.
    UsernameTaken => "USERNAME_TAKEN",
    /// Still an active member of organizations bound to the package.
    ActiveMemberships => "ACTIVE_MEMBERSHIPS",
    /// Already a member of the organization.
    AlreadyMember => "ALREADY_MEMBER",
    /// Already in the room.
    AlreadyRoomMember => "ALREADY_ROOM_MEMBER",
    /// Already deactivated.
    AlreadyDeactivated => "ALREADY_DEACTIVATED",
    /// Not deactivated.
    NotDeactivated => "NOT_DEACTIVATED",
    /// Would leave a room without an active room admin.
    LastRoomAdmin => "LAST_ROOM_ADMIN",
    /// Would leave the organization without an active admin.
    LastOrganizationAdmin => "LAST_ORGANIZATION_ADMIN",
    /// The named successor is not an active member.
    SuccessorNotActive => "SUCCESSOR_NOT_ACTIVE",
    /// The identity is not an active member of the organization.
    NotActiveMember => "NOT_ACTIVE_MEMBER",
    /// The identity is not a member of the room.
    NotRoomMember => "NOT_ROOM_MEMBER",
    /// The event cursor is older than the retention window.
    CursorExpired => "CURSOR_EXPIRED",
    /// The request was aborted by a concurrent change; retry.
    Conflict => "CONFLICT",
    /// Storage or another dependency failed.
    Internal => "INTERNAL",
    /// W3: no scheduled change with this ID.
    ScheduledChangeNotFound => "SCHEDULED_CHANGE_NOT_FOUND",
    /// W3: the scheduled change already ran, failed or was cancelled.
    ScheduledChangeNotPending => "SCHEDULED_CHANGE_NOT_PENDING",
    /// No SCIM provisioning token with this ID in this organization.
    ScimTokenNotFound => "SCIM_TOKEN_NOT_FOUND",
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
    /// W1: the state a confirmed plan was made on has changed (its etag
    /// no longer matches); preview again. Never retried by the store.
    #[error("{0}")]
    StaleEtag(String),
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
            Error::StaleEtag(_) => Some(Reason::EtagMismatch),
            Error::Unavailable(_) | Error::Internal(_) => Some(Reason::Internal),
        }
    }
}

/// Result of a domain operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
