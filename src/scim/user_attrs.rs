//! The attributes of a SCIM User (RFC 7643 §4.1) as Roster keeps them:
//! parsing a POST/PUT body, applying a PATCH, validating the result.

use serde_json::{Map, Value};

use super::ScimError;
use super::body::{Op, invalid, operations, text};
use crate::domain::validate::{self, Violations};
use crate::domain::{MemberState, NewScimUser, ScimUser};

const USER_URN_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:User:";
/// Longest userName / externalId.
const MAX_ID_TEXT: usize = 256;
/// Longest display name or name part.
const MAX_NAME: usize = 200;

/// The attributes of a user as the store takes them, from the current
/// user (for PATCH).
pub(super) fn attrs_of(u: &ScimUser) -> NewScimUser {
    NewScimUser {
        user_name: u.user_name.clone(),
        external_id: u.external_id.clone(),
        display_name: u.display_name.clone(),
        given_name: u.given_name.clone(),
        family_name: u.family_name.clone(),
        formatted_name: u.formatted_name.clone(),
        email: u.email.clone(),
        email_type: u.email_type.clone(),
        email_primary: u.email_primary,
        active: u.state == MemberState::Active,
        active_unassigned: u.active_unassigned && u.state == MemberState::Active,
    }
}

/// `true`, `false`, or Entra's strings "True" / "False".
fn boolean(field: &str, v: &Value) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid(format!("{field} must be true or false"))),
    }
}

/// The primary (else the first) entry of an `emails` value (a list, or
/// one object); `None` for null or an empty list.
fn primary_entry(v: &Value) -> Result<Option<&Value>, ScimError> {
    let entries: Vec<&Value> = match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return Err(invalid("emails must be a list of {\"value\": …}")),
    };
    Ok(entries
        .iter()
        .find(|e| {
            e.get("primary")
                .is_some_and(|p| boolean("primary", p).unwrap_or(false))
        })
        .or_else(|| entries.first())
        .copied())
}

/// Sets the primary (else the first) entry of `emails`: value, type,
/// primary.
fn set_emails(u: &mut NewScimUser, v: &Value) -> Result<(), ScimError> {
    match primary_entry(v)? {
        Some(e) => {
            u.email = text("emails.value", e.get("value").unwrap_or(&Value::Null))?;
            u.email_type = text("emails.type", e.get("type").unwrap_or(&Value::Null))?;
            u.email_primary = match e.get("primary") {
                None | Some(Value::Null) => None,
                Some(p) => Some(boolean("emails.primary", p)?),
            };
        }
        None => {
            u.email = None;
            u.email_type = None;
            u.email_primary = None;
        }
    }
    Ok(())
}

/// The primary (else the first) `emails[].value`.
fn primary_email(v: &Value) -> Result<Option<String>, ScimError> {
    match primary_entry(v)? {
        Some(e) => text("emails.value", e.get("value").unwrap_or(&Value::Null)),
        None => Ok(None),
    }
}

/// An attribute path without the User schema URN, lower-cased.
pub(super) fn canonical(path: &str) -> String {
    let p = path.trim();
    let p = if p.len() >= USER_URN_PREFIX.len()
        && p[..USER_URN_PREFIX.len()].eq_ignore_ascii_case(USER_URN_PREFIX)
    {
        &p[USER_URN_PREFIX.len()..]
    } else {
        p
    };
    p.to_ascii_lowercase()
}

/// Sets one attribute (add and replace; `name` merges its sub-attributes).
/// Attributes Roster does not keep (title, addresses, the enterprise
/// extension, …) are accepted and ignored.
fn set(u: &mut NewScimUser, path: &str, v: &Value) -> Result<(), ScimError> {
    let path = canonical(path);
    // emails[type eq "work"].value, emails[primary eq true]: the primary e-mail.
    let path = match path.split_once('[') {
        Some(("emails", rest)) => {
            let sub = rest.split_once(']').map_or("", |(_, s)| s);
            if sub.is_empty() || sub == ".value" {
                "emails.value".to_owned()
            } else {
                return Ok(());
            }
        }
        Some(_) => return Ok(()),
        None => path,
    };
    match path.as_str() {
        "username" => {
            u.user_name = text("userName", v)?.ok_or_else(|| invalid("userName is required"))?
        }
        "externalid" => u.external_id = text("externalId", v)?,
        "displayname" => u.display_name = text("displayName", v)?,
        "active" => {
            u.active = boolean("active", v)?;
            u.active_unassigned = false;
        }
        "name" => match v {
            Value::Object(parts) => {
                for (k, part) in parts {
                    set(u, &format!("name.{k}"), part)?;
                }
            }
            Value::Null => {
                u.given_name = None;
                u.family_name = None;
                u.formatted_name = None;
            }
            _ => return Err(invalid("name must be an object")),
        },
        "name.givenname" => u.given_name = text("name.givenName", v)?,
        "name.familyname" => u.family_name = text("name.familyName", v)?,
        "name.formatted" => u.formatted_name = text("name.formatted", v)?,
        "emails" => set_emails(u, v)?,
        "emails.value" => {
            u.email = match v {
                Value::Array(_) | Value::Object(_) => primary_email(v)?,
                _ => text("emails.value", v)?,
            }
        }
        _ => {}
    }
    Ok(())
}

fn remove(u: &mut NewScimUser, path: &str) -> Result<(), ScimError> {
    let path = canonical(path);
    let attr = path.split_once('[').map_or(path.as_str(), |(a, _)| a);
    match attr {
        "username" => {
            return Err(ScimError::bad(
                "mutability",
                "userName is required and cannot be removed",
            ));
        }
        "externalid" => u.external_id = None,
        "displayname" => u.display_name = None,
        // Unassigned means the default: an active membership (a
        // deactivated member is reactivated, as by `active: true`).
        "active" => {
            u.active = true;
            u.active_unassigned = true;
        }
        "name" => {
            u.given_name = None;
            u.family_name = None;
            u.formatted_name = None;
        }
        "name.givenname" => u.given_name = None,
        "name.familyname" => u.family_name = None,
        "name.formatted" => u.formatted_name = None,
        "emails" | "emails.value" => {
            u.email = None;
            u.email_type = None;
            u.email_primary = None;
        }
        _ => {}
    }
    Ok(())
}

/// A full User body (POST, PUT). `active` left out keeps `active` and
/// `active_unassigned` of `keep` (POST: active).
pub(super) fn parse_user(
    body: &Map<String, Value>,
    keep: (bool, bool),
) -> Result<NewScimUser, ScimError> {
    let mut u = NewScimUser {
        active: keep.0,
        active_unassigned: keep.1,
        ..Default::default()
    };
    for (k, v) in body {
        match canonical(k).as_str() {
            "schemas" | "id" | "meta" | "password" => {}
            _ => set(&mut u, k, v)?,
        }
    }
    if u.user_name.is_empty() {
        return Err(invalid("userName is required"));
    }
    check(&u)?;
    Ok(u)
}

/// The validation rules of Roster's other inputs, applied to a user.
fn check(u: &NewScimUser) -> Result<(), ScimError> {
    let mut v = Violations::new();
    validate::display_name(&mut v, "userName", &u.user_name, MAX_ID_TEXT);
    if let Some(e) = &u.external_id {
        validate::display_name(&mut v, "externalId", e, MAX_ID_TEXT);
    }
    for (field, value) in [
        ("displayName", &u.display_name),
        ("name.givenName", &u.given_name),
        ("name.familyName", &u.family_name),
        ("name.formatted", &u.formatted_name),
        ("emails.type", &u.email_type),
    ] {
        if let Some(x) = value {
            validate::display_name(&mut v, field, x, MAX_NAME);
        }
    }
    if let Some(e) = &u.email {
        validate::email(&mut v, "emails.value", e);
    }
    v.finish().map_err(ScimError::from)
}

/// Applies a PatchOp body (RFC 7644 §3.5.2) to `u`.
pub(super) fn apply_patch(u: &mut NewScimUser, body: &Map<String, Value>) -> Result<(), ScimError> {
    for op in operations(body)? {
        match (op.op, op.path) {
            (Op::Add | Op::Replace, Some(p)) => set(u, p, op.value)?,
            (Op::Add | Op::Replace, None) => {
                for (k, v) in op.value_object()? {
                    set(u, k, v)?;
                }
            }
            (Op::Remove, Some(p)) => remove(u, p)?,
            // operations() refuses a remove without a path.
            (Op::Remove, None) => {}
        }
    }
    check(u)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::body::PATCH_SCHEMA;
    use super::*;

    fn user() -> NewScimUser {
        NewScimUser {
            user_name: "ann@example.com".into(),
            active: true,
            ..Default::default()
        }
    }

    fn patch(u: &mut NewScimUser, body: Value) -> Result<(), ScimError> {
        apply_patch(u, body.as_object().expect("object"))
    }

    #[test]
    fn entra_and_okta_patches_apply() {
        let mut u = user();
        patch(
            &mut u,
            json!({"schemas": [PATCH_SCHEMA], "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "name.givenName", "value": "Ann"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@x.org"},
                {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"},
            ]}),
        )
        .unwrap();
        assert!(!u.active);
        assert_eq!(u.given_name.as_deref(), Some("Ann"));
        assert_eq!(u.email.as_deref(), Some("a@x.org"));
        patch(
            &mut u,
            json!({"schemas": [PATCH_SCHEMA], "Operations": [
                {"op": "replace", "value": {"active": true, "userName": "ann2@example.com"}},
                {"op": "remove", "path": "name.givenName"},
            ]}),
        )
        .unwrap();
        assert!(u.active);
        assert_eq!(u.user_name, "ann2@example.com");
        assert_eq!(u.given_name, None);
    }

    #[test]
    fn bad_patches_are_refused() {
        for body in [
            json!({"Operations": []}),
            json!({"Operations": [{"op": "move", "path": "active"}]}),
            json!({"Operations": [{"op": "remove"}]}),
            json!({"Operations": [{"op": "remove", "path": "userName"}]}),
            json!({"Operations": [{"op": "replace", "path": "active", "value": "maybe"}]}),
            json!({"Operations": [{"op": "replace", "value": "x"}]}),
            json!({"Operations": [{"op": "replace", "path": "emails", "value": 3}]}),
        ] {
            assert!(patch(&mut user(), body.clone()).is_err(), "{body}");
        }
    }
}
