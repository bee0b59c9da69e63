//! /Users: the members of the token's organization (RFC 7643 §4.1). The
//! resource `id` is the identity ID; `active` is the membership's state
//! (false = DEACTIVATED). POST adds a MEMBER (taking a seat), PUT and
//! PATCH replace the SCIM attributes and apply `active`, DELETE removes
//! the member (never revokes the identity). The IdPs' quirks are accepted:
//! capitalised op names ("Replace"), `"active": "False"`, the value-object
//! form of PATCH, attribute names in any case, URN-prefixed paths.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

use super::{
    ListParams, ScimError, ScimState, USER_SCHEMA, add_org_extension, authenticate, base_url,
    filter, json_body, list_response, project, scim_json, scope, target_org,
};
use crate::domain::validate::{self, Violations};
use crate::domain::{
    IdentityId, MemberState, NewScimUser, OrgId, ScimToken, ScimUser, ScimUserFilter,
};

const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER_URN_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:User:";
/// Longest userName / externalId.
const MAX_ID_TEXT: usize = 256;
/// Longest display name or name part.
const MAX_NAME: usize = 200;
/// Most operations in one PATCH.
const MAX_OPERATIONS: usize = 100;

pub(super) fn millis(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The User resource (its `id` per [`ScimToken::user_id`]).
fn render(u: &ScimUser, base: &str, token: &ScimToken) -> Value {
    let id = token.user_id(&u.identity_id, &u.org_id);
    let mut user = json!({
        "schemas": [USER_SCHEMA],
        "id": id,
        "userName": u.user_name,
        "meta": {
            "resourceType": "User",
            "created": millis(u.created_at),
            "lastModified": millis(u.updated_at),
            "location": format!("{base}/Users/{id}"),
        },
    });
    add_org_extension(&mut user, token, &u.org_id);
    // A removed `active` stays unassigned while the member is active (its
    // default); a deactivated member is always `active: false`.
    let active = u.state == MemberState::Active;
    if !(active && u.active_unassigned) {
        user["active"] = json!(active);
    }
    if let Some(e) = &u.external_id {
        user["externalId"] = json!(e);
    }
    if let Some(d) = &u.display_name {
        user["displayName"] = json!(d);
    }
    if u.given_name.is_some() || u.family_name.is_some() || u.formatted_name.is_some() {
        let mut name = Map::new();
        if let Some(g) = &u.given_name {
            name.insert("givenName".into(), json!(g));
        }
        if let Some(f) = &u.family_name {
            name.insert("familyName".into(), json!(f));
        }
        let formatted = [u.given_name.as_deref(), u.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let formatted = u.formatted_name.clone().unwrap_or(formatted);
        name.insert("formatted".into(), json!(formatted));
        user["name"] = Value::Object(name);
    }
    if let Some(e) = &u.email {
        user["emails"] = json!([{
            "value": e,
            "type": u.email_type.as_deref().unwrap_or("work"),
            "primary": u.email_primary.unwrap_or(true),
        }]);
    }
    user
}

fn user_response(status: StatusCode, u: &ScimUser, base: &str, token: &ScimToken) -> Response {
    let body = render(u, base, token);
    let mut resp = scim_json(status, &body);
    let id = token.user_id(&u.identity_id, &u.org_id);
    if let Ok(loc) = HeaderValue::from_str(&format!("{base}/Users/{id}")) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

pub(super) fn invalid(detail: impl Into<String>) -> ScimError {
    ScimError::bad("invalidValue", detail)
}

/// The attributes of a user as the store takes them, from the current
/// user (for PATCH).
fn attrs_of(u: &ScimUser) -> NewScimUser {
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

/// A string or null (None); anything else is refused.
pub(super) fn text(field: &str, v: &Value) -> Result<Option<String>, ScimError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.trim().to_owned())),
        _ => Err(invalid(format!("{field} must be a string"))),
    }
}

/// Sets the primary (else the first) entry of `emails`: value, type,
/// primary.
fn set_emails(u: &mut NewScimUser, v: &Value) -> Result<(), ScimError> {
    let entries: Vec<&Value> = match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return Err(invalid("emails must be a list of {\"value\": …}")),
    };
    let primary = entries
        .iter()
        .find(|e| {
            e.get("primary")
                .is_some_and(|p| boolean("primary", p).unwrap_or(false))
        })
        .or_else(|| entries.first());
    match primary {
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
    let entries: Vec<&Value> = match v {
        Value::Null => return Ok(None),
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return Err(invalid("emails must be a list of {\"value\": …}")),
    };
    let primary = entries
        .iter()
        .find(|e| {
            e.get("primary")
                .is_some_and(|p| boolean("primary", p).unwrap_or(false))
        })
        .or_else(|| entries.first());
    match primary {
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
fn parse_user(body: &Map<String, Value>, keep: (bool, bool)) -> Result<NewScimUser, ScimError> {
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
fn apply_patch(u: &mut NewScimUser, body: &Map<String, Value>) -> Result<(), ScimError> {
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
        .map(|(_, v)| v)
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("Operations must be a list of operations"))?;
    if ops.is_empty() || ops.len() > MAX_OPERATIONS {
        return Err(invalid(format!(
            "Operations must hold 1 to {MAX_OPERATIONS} operations"
        )));
    }
    for (i, op) in ops.iter().enumerate() {
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
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| invalid(format!("Operations[{i}].op is required")))?;
        let path = match get("path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.trim().is_empty() => None,
            Some(Value::String(p)) => Some(p.as_str()),
            Some(_) => {
                return Err(ScimError::bad(
                    "invalidPath",
                    format!("Operations[{i}].path must be a string"),
                ));
            }
        };
        let value = get("value").unwrap_or(&Value::Null);
        match (kind.as_str(), path) {
            ("add" | "replace", Some(p)) => set(u, p, value)?,
            ("add" | "replace", None) => {
                let obj = value.as_object().ok_or_else(|| {
                    invalid(format!(
                        "Operations[{i}].value must be an object when there is no path"
                    ))
                })?;
                for (k, v) in obj {
                    set(u, k, v)?;
                }
            }
            ("remove", Some(p)) => remove(u, p)?,
            ("remove", None) => {
                return Err(ScimError::bad(
                    "noTarget",
                    format!("Operations[{i}]: remove needs a path"),
                ));
            }
            (other, _) => {
                return Err(invalid(format!(
                    "Operations[{i}].op {other:?} is not add, replace or remove"
                )));
            }
        }
    }
    check(u)
}

/// A User `id`: an identity ID (the membership in the token's own
/// organization) or `IDENTITY.org_…` (the membership in that organization).
pub(super) fn parse_user_id(raw: &str) -> Option<(IdentityId, Option<OrgId>)> {
    match raw.split_once('.') {
        None => IdentityId::parse(raw).ok().map(|id| (id, None)),
        Some((id, org)) => Some((IdentityId::parse(id).ok()?, Some(OrgId::parse(org).ok()?))),
    }
}

/// The membership a User `id` in the URL names, if the token provisions
/// its organization; otherwise the user does not exist (404).
async fn resolve(
    state: &ScimState,
    token: &ScimToken,
    raw: &str,
) -> Result<(IdentityId, OrgId), ScimError> {
    let missing = || ScimError::new(StatusCode::NOT_FOUND, None, format!("no user {raw:?}"));
    let (id, org) = parse_user_id(raw).ok_or_else(missing)?;
    match org {
        None => Ok((id, token.org_id.clone())),
        Some(org) if scope(state, token).await?.contains(&org) => Ok((id, org)),
        Some(_) => Err(missing()),
    }
}

/// A User filter's `id eq "…"` as identity and organization.
fn scope_filter(f: &mut ScimUserFilter, token: &ScimToken) {
    if let Some(raw) = f.identity_id.clone() {
        match parse_user_id(&raw) {
            Some((id, org)) => {
                f.identity_id = Some(id.to_string());
                f.organization_id = Some(org.unwrap_or_else(|| token.org_id.clone()));
            }
            // Names no user: matches nothing.
            None => f.organization_id = None,
        }
    }
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        percent_decode(k)
            .eq_ignore_ascii_case(name)
            .then(|| percent_decode(v))
    })
}

pub(super) fn number(query: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    match query_param(query, name) {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(None),
        Some(v) => v
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| invalid(format!("{name} must be an integer"))),
    }
}

pub(crate) async fn list_users(
    State(state): State<ScimState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let params = ListParams::from_query(query.as_deref())?;
    list(&state, &headers, &token, params).await
}

/// POST /Users/.search.
pub(crate) async fn search_users(
    State(state): State<ScimState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let body = json_body(body).await?;
    let params = ListParams::from_search(&body)?;
    list(&state, &headers, &token, params).await
}

/// The rendered Users matching `p` (None: the filter is not a User filter)
/// with their total, for the server-wide POST /.search.
pub(crate) async fn matching(
    state: &ScimState,
    headers: &HeaderMap,
    token: &ScimToken,
    p: &ListParams,
    offset: u64,
    limit: u64,
) -> Result<Option<(u64, Vec<Value>)>, ScimError> {
    let filter = match &p.filter {
        Some(f) => match filter::parse(f) {
            Ok(f) => f,
            Err(_) => return Ok(None),
        },
        None => Some(ScimUserFilter::default()),
    };
    let Some(mut f) = filter else {
        return Ok(Some((0, Vec::new())));
    };
    scope_filter(&mut f, token);
    let base = base_url(state, headers);
    let orgs = scope(state, token).await?;
    let (total, users) = state.ctx.store.scim_users(&orgs, &f, offset, limit).await?;
    let rendered = users
        .iter()
        .map(|u| {
            let mut r = render(u, &base, token);
            project(&mut r, p.attributes.as_deref(), p.excluded.as_deref());
            r
        })
        .collect();
    Ok(Some((total, rendered)))
}

async fn list(
    state: &ScimState,
    headers: &HeaderMap,
    token: &ScimToken,
    p: ListParams,
) -> Result<Response, ScimError> {
    let filter = match &p.filter {
        Some(f) => filter::parse(f).map_err(|d| ScimError::bad("invalidFilter", d))?,
        None => Some(ScimUserFilter::default()),
    };
    let base = base_url(state, headers);
    let (total, users) = match filter {
        Some(mut f) => {
            scope_filter(&mut f, token);
            let orgs = scope(state, token).await?;
            state
                .ctx
                .store
                .scim_users(&orgs, &f, (p.start - 1) as u64, p.count)
                .await?
        }
        None => (0, Vec::new()),
    };
    let resources: Vec<Value> = users
        .iter()
        .map(|u| {
            let mut r = render(u, &base, token);
            project(&mut r, p.attributes.as_deref(), p.excluded.as_deref());
            r
        })
        .collect();
    Ok(list_response(total, p.start, resources))
}

pub(crate) async fn get_user(
    State(state): State<ScimState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let (id, org) = resolve(&state, &token, &raw).await?;
    let base = base_url(&state, &headers);
    let user =
        state.ctx.store.scim_user(&org, &id).await?.ok_or_else(|| {
            ScimError::new(StatusCode::NOT_FOUND, None, format!("no user {raw:?}"))
        })?;
    let q = query.as_deref();
    let mut resp = user_response(StatusCode::OK, &user, &base, &token);
    if query_param(q, "attributes").is_some() || query_param(q, "excludedAttributes").is_some() {
        let mut body = render(&user, &base, &token);
        project(
            &mut body,
            query_param(q, "attributes").as_deref(),
            query_param(q, "excludedAttributes").as_deref(),
        );
        resp = scim_json(StatusCode::OK, &body);
    }
    Ok(resp)
}

pub(crate) async fn create_user(
    State(state): State<ScimState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let body = json_body(body).await?;
    let new = parse_user(&body, (true, false))?;
    let org = target_org(&state, &token, &body).await?;
    let base = base_url(&state, &headers);
    let user = state
        .ctx
        .store
        .scim_create_user(token.actor(), &org, new)
        .await?;
    Ok(user_response(StatusCode::CREATED, &user, &base, &token))
}

pub(crate) async fn replace_user(
    State(state): State<ScimState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let (id, org) = resolve(&state, &token, &raw).await?;
    let body = json_body(body).await?;
    // `active` left out keeps the member's state.
    update(&state, &headers, &token, (&id, &org), |current| {
        let kept = attrs_of(current);
        parse_user(&body, (kept.active, kept.active_unassigned))
    })
    .await
}

pub(crate) async fn patch_user(
    State(state): State<ScimState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let (id, org) = resolve(&state, &token, &raw).await?;
    let body = json_body(body).await?;
    update(&state, &headers, &token, (&id, &org), |current| {
        let mut change = attrs_of(current);
        apply_patch(&mut change, &body)?;
        Ok(change)
    })
    .await
}

/// PUT and PATCH: `change` turns the current user, read inside the store's
/// write transaction, into the wanted one; its SCIM error (with its
/// scimType) is the response.
async fn update<F>(
    state: &ScimState,
    headers: &HeaderMap,
    token: &ScimToken,
    (id, org): (&IdentityId, &OrgId),
    change: F,
) -> Result<Response, ScimError>
where
    F: Fn(&ScimUser) -> Result<NewScimUser, ScimError> + Send + Sync,
{
    let refused: std::sync::Mutex<Option<ScimError>> = std::sync::Mutex::new(None);
    let result = state
        .ctx
        .store
        .scim_update_user(token.actor(), org, id, |current| {
            change(current).map_err(|e| {
                let detail = e.detail.clone();
                if let Ok(mut slot) = refused.lock() {
                    *slot = Some(e);
                }
                crate::domain::Error::invalid("request", detail)
            })
        })
        .await;
    match result {
        Ok(user) => Ok(user_response(
            StatusCode::OK,
            &user,
            &base_url(state, headers),
            token,
        )),
        Err(crate::domain::Error::NotFound { .. }) => Err(ScimError::new(
            StatusCode::NOT_FOUND,
            None,
            format!("no user {}", token.user_id(id, org)),
        )),
        Err(e) => Err(refused
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_else(|| e.into())),
    }
}

pub(crate) async fn delete_user(
    State(state): State<ScimState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let (id, org) = resolve(&state, &token, &raw).await?;
    state
        .ctx
        .store
        .scim_delete_user(token.actor(), &org, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn query_parameters_decode() {
        let q = Some("filter=userName%20eq%20%22a%40b.c%22&startIndex=2&count=");
        assert_eq!(
            query_param(q, "filter").as_deref(),
            Some("userName eq \"a@b.c\"")
        );
        assert_eq!(number(q, "startIndex").unwrap(), Some(2));
        assert_eq!(number(q, "count").unwrap(), None);
        assert!(number(Some("count=x"), "count").is_err());
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
