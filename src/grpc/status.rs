//! The one mapping from domain errors to gRPC statuses. Refusals carry a
//! `google.rpc.ErrorInfo` (domain `roster.dev`) with a stable reason code;
//! bad input carries `google.rpc.BadRequest` field violations. Internal
//! failures are logged here and answered without internals.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::{Error, Reason};

/// `ErrorInfo.domain` of every Roster error.
pub const ERROR_DOMAIN: &str = "roster.dev";

fn with_info(
    code: Code,
    message: String,
    reason: Reason,
    metadata: HashMap<String, String>,
) -> Status {
    let details = ErrorDetails::with_error_info(reason.as_str(), ERROR_DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in violations {
                    details.add_bad_request_violation(v.field, v.description);
                }
                details.set_error_info(
                    Reason::InvalidArgument.as_str(),
                    ERROR_DOMAIN,
                    HashMap::new(),
                );
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            Error::Unauthenticated { reason, .. } => {
                with_info(Code::Unauthenticated, message, reason, HashMap::new())
            }
            Error::PermissionDenied { reason, .. } => {
                with_info(Code::PermissionDenied, message, reason, HashMap::new())
            }
            Error::NotFound { reason, .. } => {
                with_info(Code::NotFound, message, reason, HashMap::new())
            }
            Error::AlreadyExists { reason, .. } => {
                with_info(Code::AlreadyExists, message, reason, HashMap::new())
            }
            Error::FailedPrecondition {
                reason, metadata, ..
            } => with_info(
                Code::FailedPrecondition,
                message,
                reason,
                metadata
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            ),
            Error::ResourceExhausted { reason, .. } => {
                with_info(Code::ResourceExhausted, message, reason, HashMap::new())
            }
            Error::OutOfRange { reason, .. } => {
                with_info(Code::OutOfRange, message, reason, HashMap::new())
            }
            Error::Aborted(_) => with_info(
                Code::Aborted,
                "a concurrent change got in the way; retry".to_owned(),
                Reason::Conflict,
                HashMap::new(),
            ),
            Error::Unavailable(detail) => {
                tracing::error!(%detail, "dependency unavailable");
                with_info(
                    Code::Unavailable,
                    "the database is unavailable; retry later".to_owned(),
                    Reason::Internal,
                    HashMap::new(),
                )
            }
            Error::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                with_info(
                    Code::Internal,
                    "internal error".to_owned(),
                    Reason::Internal,
                    HashMap::new(),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Reason;
    use crate::pb::ErrorReason;

    /// The wire prefix of `roster.v1.ErrorReason` value names.
    const PREFIX: &str = "ERROR_REASON_";

    #[test]
    fn every_reason_is_in_the_proto_enum() {
        for reason in Reason::ALL {
            let name = format!("{PREFIX}{}", reason.as_str());
            assert!(
                ErrorReason::from_str_name(&name).is_some(),
                "Reason::{reason:?} is missing from proto/roster/v1/errors.proto: \
                 append `{name} = <next number>;` to enum ErrorReason \
                 and run scripts/clients/generate.sh"
            );
        }
    }

    #[test]
    fn every_proto_reason_is_a_domain_reason() {
        let wire: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        let mut seen = 0;
        // Values are dense from 1; stop at the first gap after the last one.
        for value in 1.. {
            let Ok(proto) = ErrorReason::try_from(value) else {
                break;
            };
            seen += 1;
            let name = proto.as_str_name();
            let code = name.strip_prefix(PREFIX).unwrap_or(name);
            assert!(
                wire.contains(&code),
                "{name} in proto/roster/v1/errors.proto has no domain::Reason: \
                 add `Variant => \"{code}\",` to reasons! in src/domain/error.rs"
            );
        }
        assert_eq!(
            seen,
            Reason::ALL.len(),
            "ErrorReason values must be dense from 1"
        );
        assert!(ErrorReason::try_from(0).is_ok_and(|r| r == ErrorReason::Unspecified));
    }
}
