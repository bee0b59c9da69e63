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

use super::body::invalid;
use super::user_attrs::{apply_patch, attrs_of, parse_user};
use super::{
    ListParams, ScimError, ScimState, USER_SCHEMA, add_org_extension, authenticate, base_url,
    filter, json_body, list_response, project, scim_json, scope, target_org,
};
use crate::domain::{
    IdentityId, MemberState, NewScimUser, OrgId, ScimToken, ScimUser, ScimUserFilter,
};

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
