//! /Groups: the rooms of the token's organization (RFC 7643 §4.2), for
//! Okta's and Entra's group push. The resource `id` is the room ID,
//! `members[].value` identity IDs (SCIM User IDs). POST creates the room
//! with the organization's first active admin as its room admin and the
//! members as room MEMBERs; PATCH renames and adds or removes members
//! (`members[value eq "…"]`, Entra's `remove` with a value list, Okta's
//! `replace` of the whole list); PUT replaces name and members. A replaced
//! member list keeps the room's admins. DELETE is DeleteRoom (the room's
//! memberships and assignments go with it).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};

use super::body::{Op, invalid, operations, text};
use super::user_attrs::canonical;
use super::users::{millis, parse_user_id, query_param};
use super::{
    ListParams, ScimError, ScimState, add_org_extension, authenticate, base_url, filter, json_body,
    list_response, project, scim_json, scope, target_org,
};
use crate::domain::validate::{self, Violations};
use crate::domain::{IdentityId, OrgId, RoomId, ScimGroup, ScimGroupChange, ScimToken};

/// The Group schema.
pub(super) const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Longest room name (as CreateRoom).
const MAX_ROOM_NAME: usize = 200;
/// Most members named in one request.
const MAX_MEMBERS: usize = 1000;

fn render(g: &ScimGroup, base: &str, token: &ScimToken) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| {
            let id = token.user_id(m, &g.org_id);
            json!({"value": id, "$ref": format!("{base}/Users/{id}"), "type": "User"})
        })
        .collect();
    let mut group = json!({
        "schemas": [GROUP_SCHEMA],
        "id": g.room_id.as_str(),
        "displayName": g.display_name,
        "members": members,
        "meta": {
            "resourceType": "Group",
            "created": millis(g.created_at),
            "location": format!("{base}/Groups/{}", g.room_id),
        },
    });
    if let Some(e) = &g.external_id {
        group["externalId"] = json!(e);
    }
    add_org_extension(&mut group, token, &g.org_id);
    group
}

fn group_response(status: StatusCode, g: &ScimGroup, base: &str, token: &ScimToken) -> Response {
    let mut resp = scim_json(status, &render(g, base, token));
    if let Ok(loc) = HeaderValue::from_str(&format!("{base}/Groups/{}", g.room_id)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

fn group_id(raw: &str) -> Result<RoomId, ScimError> {
    RoomId::parse(raw)
        .map_err(|_| ScimError::new(StatusCode::NOT_FOUND, None, format!("no group {raw:?}")))
}

/// The room a Group `id` in the URL names and its organization, if the
/// token provisions that organization; otherwise 404.
async fn resolve(
    state: &ScimState,
    token: &ScimToken,
    raw: &str,
) -> Result<(RoomId, OrgId), ScimError> {
    let room = group_id(raw)?;
    if !token.include_sub_organizations {
        // The store looks the room up in the token's organization only.
        return Ok((room, token.org_id.clone()));
    }
    let store = &state.ctx.store;
    let org = match store.get_room(&room).await {
        Ok(r) => r.org_id,
        Err(crate::domain::Error::NotFound { .. }) => return Err(not_found(&room)),
        Err(e) => return Err(e.into()),
    };
    if scope(state, token).await?.contains(&org) {
        Ok((room, org))
    } else {
        Err(not_found(&room))
    }
}

fn not_found(id: &RoomId) -> ScimError {
    ScimError::new(StatusCode::NOT_FOUND, None, format!("no group {id}"))
}

fn display_name(v: &Value) -> Result<String, ScimError> {
    let name = text("displayName", v)?.ok_or_else(|| invalid("displayName is required"))?;
    let mut viol = Violations::new();
    let name = validate::display_name(&mut viol, "displayName", &name, MAX_ROOM_NAME);
    viol.finish()?;
    Ok(name)
}

/// An externalId: at most 256 characters, no control characters.
fn external_id(v: &Value) -> Result<Option<String>, ScimError> {
    let Some(ext) = text("externalId", v)? else {
        return Ok(None);
    };
    let mut viol = Violations::new();
    let ext = validate::display_name(&mut viol, "externalId", &ext, 256);
    viol.finish()?;
    Ok(Some(ext))
}

/// A member's User `id` as the identity ID in `org` (the room's
/// organization): a User of another organization is refused.
fn member_id(raw: &str, org: &OrgId, token: &ScimToken) -> Result<IdentityId, ScimError> {
    match parse_user_id(raw) {
        Some((id, named)) if named.as_ref().unwrap_or(&token.org_id) == org => Ok(id),
        Some(_) => Err(ScimError::bad(
            "invalidValue",
            format!("members[].value {raw:?} is a user of another organization"),
        )),
        None => Err(ScimError::bad(
            "invalidValue",
            format!("members[].value {raw:?} is no user id"),
        )),
    }
}

/// `[{"value": "ID"}, …]` (or one such object) as identity IDs of `org`.
fn member_ids(v: &Value, org: &OrgId, token: &ScimToken) -> Result<Vec<IdentityId>, ScimError> {
    let entries: Vec<&Value> = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![v],
        _ => return Err(invalid("members must be a list of {\"value\": user id}")),
    };
    if entries.len() > MAX_MEMBERS {
        return Err(invalid(format!(
            "at most {MAX_MEMBERS} members per request"
        )));
    }
    entries
        .iter()
        .map(|e| {
            let raw = e
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("members[].value must be a user id"))?;
            member_id(raw, org, token)
        })
        .collect()
}

/// `members[value eq "ID"]` → the ID (of a User of `org`).
fn member_in_path(
    path: &str,
    org: &OrgId,
    token: &ScimToken,
) -> Result<Option<IdentityId>, ScimError> {
    let Some(inner) = path
        .strip_prefix("members[")
        .and_then(|p| p.strip_suffix(']'))
    else {
        return Ok(None);
    };
    let (attr, rest) = inner.trim().split_once(' ').unwrap_or((inner, ""));
    let (op, value) = rest.trim().split_once(' ').unwrap_or((rest, ""));
    let value = value.trim().trim_matches('"');
    if !attr.eq_ignore_ascii_case("value") || !op.eq_ignore_ascii_case("eq") {
        return Err(ScimError::bad(
            "invalidPath",
            "only members[value eq \"id\"] selects a member",
        ));
    }
    member_id(value, org, token).map(Some)
}

/// Applies a PatchOp body to `change`; members are Users of `org`.
fn apply_patch(
    change: &mut ScimGroupChange,
    body: &Map<String, Value>,
    org: &OrgId,
    token: &ScimToken,
) -> Result<(), ScimError> {
    for op in operations(body)? {
        let value = op.value;
        let lower = op.path.map(canonical);
        match (op.op, lower.as_deref()) {
            (Op::Add, Some("members")) => change.add.extend(member_ids(value, org, token)?),
            (Op::Replace, Some("members")) => change.replace = Some(member_ids(value, org, token)?),
            (Op::Remove, Some("members")) => {
                if value.is_null() {
                    change.replace = Some(Vec::new());
                } else {
                    change.remove.extend(member_ids(value, org, token)?);
                }
            }
            (Op::Remove, Some(p)) if p.starts_with("members[") => {
                let original = op.path.unwrap_or_default();
                let at = original.find('[').unwrap_or(0);
                if let Some(id) =
                    member_in_path(&format!("members{}", &original[at..]), org, token)?
                {
                    change.remove.push(id);
                }
            }
            (Op::Add | Op::Replace, Some("displayname")) => {
                change.display_name = Some(display_name(value)?)
            }
            (Op::Add | Op::Replace, Some("externalid")) => {
                change.external_id = Some(external_id(value)?)
            }
            (Op::Remove, Some("externalid")) => change.external_id = Some(None),
            (Op::Add | Op::Replace, None) => {
                for (k, v) in op.value_object()? {
                    match canonical(k).as_str() {
                        "displayname" => change.display_name = Some(display_name(v)?),
                        "externalid" => change.external_id = Some(external_id(v)?),
                        "members" if op.op == Op::Add => {
                            change.add.extend(member_ids(v, org, token)?)
                        }
                        "members" => change.replace = Some(member_ids(v, org, token)?),
                        _ => {}
                    }
                }
            }
            (_, _) => {}
        }
    }
    Ok(())
}

/// displayName, externalId and members of a full Group body (POST, PUT).
type GroupBody = (String, Option<String>, Vec<IdentityId>);

fn parse_group(
    body: &Map<String, Value>,
    org: &OrgId,
    token: &ScimToken,
) -> Result<GroupBody, ScimError> {
    let get = |name: &str| {
        body.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let name = display_name(get("displayName").unwrap_or(&Value::Null))?;
    let external = external_id(get("externalId").unwrap_or(&Value::Null))?;
    let members = member_ids(get("members").unwrap_or(&Value::Null), org, token)?;
    Ok((name, external, members))
}

pub(crate) async fn list_groups(
    State(state): State<ScimState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let params = ListParams::from_query(query.as_deref())?;
    list(&state, &headers, &token, params).await
}

/// POST /Groups/.search.
pub(crate) async fn search_groups(
    State(state): State<ScimState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let body = json_body(body).await?;
    let params = ListParams::from_search(&body)?;
    list(&state, &headers, &token, params).await
}

/// The rendered Groups matching `p` (None: the filter is not a Group
/// filter) with their total, for the server-wide POST /.search.
pub(crate) async fn matching(
    state: &ScimState,
    headers: &HeaderMap,
    token: &ScimToken,
    p: &ListParams,
    offset: u64,
    limit: u64,
) -> Result<Option<(u64, Vec<Value>)>, ScimError> {
    let filter = match &p.filter {
        Some(f) => match filter::parse_groups(f) {
            Ok(f) => f,
            Err(_) => return Ok(None),
        },
        None => Some((None, None, None)),
    };
    let Some((name, id, ext)) = filter else {
        return Ok(Some((0, Vec::new())));
    };
    let base = base_url(state, headers);
    let orgs = scope(state, token).await?;
    let (total, groups) = state
        .ctx
        .store
        .scim_groups(
            &orgs,
            name.as_deref(),
            id.as_deref(),
            ext.as_deref(),
            offset,
            limit,
        )
        .await?;
    let rendered = groups
        .iter()
        .map(|g| {
            let mut r = render(g, &base, token);
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
        Some(f) => filter::parse_groups(f).map_err(|d| ScimError::bad("invalidFilter", d))?,
        None => Some((None, None, None)),
    };
    let base = base_url(state, headers);
    let (total, groups) = match filter {
        Some((name, id, ext)) => {
            let orgs = scope(state, token).await?;
            state
                .ctx
                .store
                .scim_groups(
                    &orgs,
                    name.as_deref(),
                    id.as_deref(),
                    ext.as_deref(),
                    (p.start - 1) as u64,
                    p.count,
                )
                .await?
        }
        None => (0, Vec::new()),
    };
    let resources: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut r = render(g, &base, token);
            project(&mut r, p.attributes.as_deref(), p.excluded.as_deref());
            r
        })
        .collect();
    Ok(list_response(total, p.start, resources))
}

pub(crate) async fn get_group(
    State(state): State<ScimState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let (id, org) = resolve(&state, &token, &raw).await?;
    let base = base_url(&state, &headers);
    let group = state
        .ctx
        .store
        .scim_group(&org, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    let q = query.as_deref();
    let (attrs, excluded) = (
        query_param(q, "attributes"),
        query_param(q, "excludedAttributes"),
    );
    if attrs.is_none() && excluded.is_none() {
        return Ok(group_response(StatusCode::OK, &group, &base, &token));
    }
    let mut body = render(&group, &base, &token);
    project(&mut body, attrs.as_deref(), excluded.as_deref());
    Ok(scim_json(StatusCode::OK, &body))
}

pub(crate) async fn create_group(
    State(state): State<ScimState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let body = json_body(body).await?;
    let org = target_org(&state, &token, &body).await?;
    let (name, external, members) = parse_group(&body, &org, &token)?;
    let base = base_url(&state, &headers);
    let group = state
        .ctx
        .store
        .scim_create_group(token.actor(), &org, &name, external.as_deref(), &members)
        .await?;
    Ok(group_response(StatusCode::CREATED, &group, &base, &token))
}

pub(crate) async fn replace_group(
    State(state): State<ScimState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let (id, org) = resolve(&state, &token, &raw).await?;
    let body = json_body(body).await?;
    let (name, external, members) = parse_group(&body, &org, &token)?;
    let change = ScimGroupChange {
        display_name: Some(name),
        external_id: Some(external),
        replace: Some(members),
        ..Default::default()
    };
    update(&state, &headers, &token, (&id, &org), change).await
}

pub(crate) async fn patch_group(
    State(state): State<ScimState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let (id, org) = resolve(&state, &token, &raw).await?;
    let body = json_body(body).await?;
    let mut change = ScimGroupChange::default();
    apply_patch(&mut change, &body, &org, &token)?;
    update(&state, &headers, &token, (&id, &org), change).await
}

async fn update(
    state: &ScimState,
    headers: &HeaderMap,
    token: &ScimToken,
    (id, org): (&RoomId, &OrgId),
    change: ScimGroupChange,
) -> Result<Response, ScimError> {
    let store = &state.ctx.store;
    if store.scim_group(org, id).await?.is_none() {
        return Err(not_found(id));
    }
    let group = store
        .scim_update_group(token.actor(), org, id, change)
        .await?;
    Ok(group_response(
        StatusCode::OK,
        &group,
        &base_url(state, headers),
        token,
    ))
}

pub(crate) async fn delete_group(
    State(state): State<ScimState>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let (id, org) = resolve(&state, &token, &raw).await?;
    state
        .ctx
        .store
        .scim_delete_group(token.actor(), &org, &id)
        .await
        .map_err(|e| match e {
            crate::domain::Error::NotFound { .. } => not_found(&id),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::super::body::PATCH_SCHEMA;
    use super::*;

    fn token() -> ScimToken {
        ScimToken {
            id: crate::domain::ScimTokenId::from_trusted("stk_0000000000000001".into()),
            org_id: org(),
            include_sub_organizations: false,
            description: String::new(),
            created_by: String::new(),
            created_at: chrono::Utc::now(),
            revoked_at: None,
        }
    }

    fn org() -> OrgId {
        OrgId::from_trusted("org_0000000000000001".into())
    }

    #[test]
    fn okta_and_entra_group_patches_parse() {
        let a = "ABCD1234";
        let b = "EFGH5678";
        let mut c = ScimGroupChange::default();
        apply_patch(
            &mut c,
            json!({"schemas": [PATCH_SCHEMA], "Operations": [
                {"op": "Add", "path": "members", "value": [{"value": a}]},
                {"op": "Remove", "path": "members", "value": [{"value": b}]},
                {"op": "remove", "path": format!("members[value eq \"{b}\"]")},
                {"op": "Replace", "path": "displayName", "value": "Ops"},
            ]})
            .as_object()
            .expect("object"),
            &org(),
            &token(),
        )
        .unwrap();
        assert_eq!(c.add.len(), 1);
        assert_eq!(c.remove.len(), 2);
        assert_eq!(c.display_name.as_deref(), Some("Ops"));
        let mut c = ScimGroupChange::default();
        apply_patch(
            &mut c,
            json!({"Operations": [{"op": "replace", "value": {"id": "x", "displayName": "Ops 2", "members": [{"value": a}]}}]})
                .as_object()
                .expect("object"),
            &org(),
            &token(),
        )
        .unwrap();
        assert_eq!(c.replace.as_deref().map(<[IdentityId]>::len), Some(1));
        for bad in [
            json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "nope"}]}]}),
            json!({"Operations": [{"op": "remove", "path": "members[display eq \"x\"]"}]}),
            json!({"Operations": [{"op": "replace", "path": "displayName", "value": ""}]}),
        ] {
            let mut c = ScimGroupChange::default();
            assert!(
                apply_patch(&mut c, bad.as_object().expect("object"), &org(), &token()).is_err(),
                "{bad}"
            );
        }
    }
}
