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

/// What a PatchOp operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Add,
    Replace,
    Remove,
}

/// One operation of a PatchOp body, checked: `op` (any case) is add,
/// replace or remove, `path` a string (trimmed; `None` when absent or
/// empty), and a remove has a path.
#[derive(Debug)]
pub(super) struct PatchOp<'a> {
    /// Its position in `Operations`, for error messages.
    pub index: usize,
    pub op: Op,
    pub path: Option<&'a str>,
    /// `null` when absent.
    pub value: &'a Value,
}

impl<'a> PatchOp<'a> {
    /// The value of an add or replace without a path: an object of
    /// attributes.
    pub fn value_object(&self) -> Result<&'a Map<String, Value>, ScimError> {
        self.value.as_object().ok_or_else(|| {
            invalid(format!(
                "Operations[{}].value must be an object when there is no path",
                self.index
            ))
        })
    }
}

/// The operations of a PatchOp body: `schemas` (when given) must name
/// PatchOp, `Operations` (any case) must hold 1 to [`MAX_OPERATIONS`]
/// entries, each a [`PatchOp`].
pub(super) fn operations(body: &Map<String, Value>) -> Result<Vec<PatchOp<'_>>, ScimError> {
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
    ops.iter()
        .enumerate()
        .map(|(i, op)| operation(i, op))
        .collect()
}

fn operation(index: usize, op: &Value) -> Result<PatchOp<'_>, ScimError> {
    let i = index;
    let op = op
        .as_object()
        .ok_or_else(|| invalid(format!("Operations[{i}] must be an object")))?;
    let get = |name: &str| {
        op.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let kind = get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("Operations[{i}].op is required")))?;
    let path = match get("path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(p.trim()),
        Some(_) => {
            return Err(ScimError::bad(
                "invalidPath",
                format!("Operations[{i}].path must be a string"),
            ));
        }
    };
    let op = match kind.to_ascii_lowercase().as_str() {
        "add" => Op::Add,
        "replace" => Op::Replace,
        "remove" if path.is_none() => {
            return Err(ScimError::bad(
                "noTarget",
                format!("Operations[{i}]: remove needs a path"),
            ));
        }
        "remove" => Op::Remove,
        other => {
            return Err(invalid(format!(
                "Operations[{i}].op {other:?} is not add, replace or remove"
            )));
        }
    };
    Ok(PatchOp {
        index,
        op,
        path,
        value: get("value").unwrap_or(&Value::Null),
    })
}
