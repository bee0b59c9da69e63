//! The one mapping from domain errors to gRPC statuses. Refusals carry a
//! `google.rpc.ErrorInfo` (domain `roster.dev`) with a stable reason code;
//! bad input carries `google.rpc.BadRequest` field violations. Internal
//! failures are logged here and answered without internals.
//!
//! Every status fits in 8 KiB of trailers (gRPC C-core clients refuse
//! more than 16 KiB of metadata): the message is cut at
//! [`MAX_MESSAGE_BYTES`], `BadRequest` carries at most
//! [`MAX_VIOLATIONS`] violations within [`MAX_VIOLATION_BYTES`] and counts
//! the rest in `ErrorInfo.metadata["omitted_violations"]`, and each
//! metadata value is cut at [`MAX_METADATA_VALUE_BYTES`].

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::{Error, Reason};

/// `ErrorInfo.domain` of every Roster error.
pub const ERROR_DOMAIN: &str = "roster.dev";

/// Longest status message, in bytes (before percent-encoding).
pub const MAX_MESSAGE_BYTES: usize = 512;
/// Most field violations in one `BadRequest`.
pub const MAX_VIOLATIONS: usize = 20;
/// Budget of all violations' field and description text, in bytes.
pub const MAX_VIOLATION_BYTES: usize = 2048;
/// Longest `ErrorInfo.metadata` value, in bytes.
pub const MAX_METADATA_VALUE_BYTES: usize = 1024;
/// Longest violation field path or description, in bytes.
const MAX_VIOLATION_PART_BYTES: usize = 256;

/// `s` cut to at most `max` bytes on a character boundary, marked with `…`.
fn cut(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push('…');
    s
}

fn with_info(
    code: Code,
    message: String,
    reason: Reason,
    metadata: HashMap<String, String>,
) -> Status {
    let metadata: HashMap<String, String> = metadata
        .into_iter()
        .map(|(k, v)| (k, cut(v, MAX_METADATA_VALUE_BYTES)))
        .collect();
    let details = ErrorDetails::with_error_info(reason.as_str(), ERROR_DOMAIN, metadata);
    Status::with_error_details(code, cut(message, MAX_MESSAGE_BYTES), details)
}

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        let message = err.to_string();
        match err {
            Error::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                let total = violations.len();
                let mut kept = 0;
                let mut budget = MAX_VIOLATION_BYTES;
                for v in violations.into_iter().take(MAX_VIOLATIONS) {
                    let field = cut(v.field, MAX_VIOLATION_PART_BYTES);
                    let description = cut(v.description, MAX_VIOLATION_PART_BYTES);
                    let size = field.len() + description.len();
                    if size > budget {
                        break;
                    }
                    budget -= size;
                    kept += 1;
                    details.add_bad_request_violation(field, description);
                }
                let mut metadata = HashMap::new();
                if kept < total {
                    metadata.insert("omitted_violations".to_owned(), (total - kept).to_string());
                }
                details.set_error_info(Reason::InvalidArgument.as_str(), ERROR_DOMAIN, metadata);
                Status::with_error_details(
                    Code::InvalidArgument,
                    cut(message, MAX_MESSAGE_BYTES),
                    details,
                )
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
            Error::StaleEtag(_) => {
                with_info(Code::Aborted, message, Reason::EtagMismatch, HashMap::new())
            }
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

/// W4: the status of a failed atomic batch: the first failing item's
/// status (`err`), its message prefixed with `items[index]: `, its
/// `ErrorInfo.metadata` extended by `item_index`, `failed_item_count` and
/// `failed_item_indexes` (at most 100, comma separated); capped as always.
pub fn batch_item_failure(err: Error, index: usize, failed: &[usize]) -> Status {
    let status = Status::from(err);
    let mut details = status.get_error_details();
    let (reason, mut metadata) = details
        .error_info()
        .map(|i| (i.reason.clone(), i.metadata.clone()))
        .unwrap_or_else(|| (Reason::Internal.as_str().to_owned(), HashMap::new()));
    metadata.insert("item_index".to_owned(), index.to_string());
    metadata.insert("failed_item_count".to_owned(), failed.len().to_string());
    let indexes: Vec<String> = failed.iter().take(100).map(usize::to_string).collect();
    metadata.insert(
        "failed_item_indexes".to_owned(),
        cut(indexes.join(","), MAX_METADATA_VALUE_BYTES),
    );
    details.set_error_info(reason, ERROR_DOMAIN, metadata);
    Status::with_error_details(
        status.code(),
        cut(
            format!("items[{index}]: {}", status.message()),
            MAX_MESSAGE_BYTES,
        ),
        details,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldViolation;
    use crate::domain::Reason;
    use crate::pb::ErrorReason;

    /// The wire prefix of `roster.v1.ErrorReason` value names.
    const PREFIX: &str = "ERROR_REASON_";
    /// Values marked `deprecated` in the proto: never sent, numbers kept.
    const RETIRED: &[&str] = &["ROOM_NOT_IN_ORGANIZATION", "INVALID_PAGE_TOKEN"];

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
            if RETIRED.contains(&code) {
                assert!(
                    !wire.contains(&code),
                    "{code} is retired but still a Reason"
                );
                continue;
            }
            assert!(
                wire.contains(&code),
                "{name} in proto/roster/v1/errors.proto has no domain::Reason: \
                 add `Variant => \"{code}\",` to reasons! in src/domain/error.rs"
            );
        }
        assert_eq!(
            seen,
            Reason::ALL.len() + RETIRED.len(),
            "ErrorReason values must be dense from 1"
        );
        assert!(ErrorReason::try_from(0).is_ok_and(|r| r == ErrorReason::Unspecified));
    }

    #[test]
    fn cut_keeps_short_text_and_marks_long_text() {
        assert_eq!(cut("abc".into(), 10), "abc");
        let long = "ä".repeat(100);
        let c = cut(long, 11);
        assert!(c.len() <= 11 && c.ends_with('…'), "{c}");
    }

    /// V1: a huge violation list still yields a small status.
    #[test]
    fn many_violations_make_a_small_status() {
        let violations = (0..100_000)
            .map(|i| FieldViolation::new(format!("update_mask.paths[{i}]"), "ü".repeat(500)))
            .collect();
        let status = Status::from(Error::InvalidArgument(violations));
        assert!(status.message().len() <= MAX_MESSAGE_BYTES);
        assert!(status.details().len() < 4096, "{}", status.details().len());
        let mut trailers = http::HeaderMap::new();
        assert!(status.add_header(&mut trailers).is_ok());
        let size: usize = trailers
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len())
            .sum();
        assert!(size < 6144, "{size}");
        let details = status.get_error_details();
        let kept = details
            .bad_request()
            .map_or(0, |b| b.field_violations.len());
        assert!((1..=MAX_VIOLATIONS).contains(&kept));
        let omitted = details
            .error_info()
            .and_then(|i| i.metadata.get("omitted_violations").cloned());
        assert_eq!(omitted, Some((100_000 - kept).to_string()));
    }
}
