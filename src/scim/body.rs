//! Request-body helpers shared by /Users and /Groups: SCIM values and
//! the PatchOp envelope (RFC 7644 §3.5.2).

use serde_json::{Map, Value};

use super::ScimError;

/// The PatchOp message schema.
pub(super) const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Most operations in one PATCH.
const MAX_OPERATIONS: usize = 100;

pub(super) fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidValue", detail)
}

/// A string or null (None); anything else is refused.
pub(super) fn text(field: &str, v: &Value) -> Result<Option<String>, ScimError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_owned())),
        _ => Err(invalid(format!("{field} must be a string"))),
    }
}

/// The operations of a PatchOp body: `schemas` (when given) must name
/// PatchOp, `Operations` (any case) must hold 1 to [`MAX_OPERATIONS`]
/// entries.
pub(super) fn operations(body: &Map<String, Value>) -> Result<&[Value], ScimError> {
    if let Some(schemas) = body.get("schemas")
        && !schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x.as_str() == Some(PATCH_SCHEMA)))
    {
        return Err(invalid(format!("schemas must contain {PATCH_SCHEMA}")));
    }
    let ops = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("operations"))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(|| invalid("Operations must be a list of operations"))?;
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(invalid(format!(
            "Operations must hold 1 to {MAX_OPERATIONS} operations"
        )));
    }
    Ok(ops)
}
