//! SCIM discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and
//! Schemas, as this service provider supports them (filter, patch; no bulk,
//! sort, ETag or password change).

use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::domain::ScimToken;

use super::{
    LIST_SCHEMA, MAX_RESULTS, ORG_EXTENSION, RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SPC_SCHEMA,
    ScimError, ScimState, USER_SCHEMA, authenticate, base_url, scim_json,
};

pub(super) async fn service_provider_config(
    axum::extract::State(state): axum::extract::State<ScimState>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    authenticate(&state, &headers).await?;
    let base = base_url(&state, &headers);
    Ok(scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [SPC_SCHEMA],
            "documentationUri": "https://github.com/roster-dev/roster#scim-provisioning",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Provisioning token",
                "description": "A token from MembershipService/CreateScimToken, sent as \
                                Authorization: Bearer",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{base}/ServiceProviderConfig"),
            },
        }),
    ))
}

/// The `schemaExtensions` of a resource type: Roster's organization
/// extension for tokens with `include_sub_organizations`.
fn extensions(token: &ScimToken) -> Value {
    if token.include_sub_organizations {
        json!([{"schema": ORG_EXTENSION, "required": false}])
    } else {
        json!([])
    }
}

fn org_extension_schema(base: &str) -> Value {
    let mut org = attr("organizationId", "string", false, "none", "immutable");
    org["caseExact"] = Value::Bool(true);
    org["description"] = json!(
        "The organization of the membership (User) or room (Group): the token's own or one \
         below it; set on POST (default: the token's own), never changed"
    );
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": ORG_EXTENSION,
        "name": "Organization",
        "description": "Which organization of the token's subtree a resource belongs to",
        "attributes": [org],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{ORG_EXTENSION}")},
    })
}

fn user_resource_type(base: &str, token: &ScimToken) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A member of the token's organization",
        "schema": USER_SCHEMA,
        "schemaExtensions": extensions(token),
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
    })
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

fn group_resource_type(base: &str, token: &ScimToken) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "A room of the token's organization",
        "schema": super::groups::GROUP_SCHEMA,
        "schemaExtensions": extensions(token),
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
    })
}

fn group_schema(base: &str) -> Value {
    let mut members = attr("members", "complex", false, "none", "readWrite");
    members["multiValued"] = Value::Bool(true);
    // Members are Users (no nested groups): `$ref` references a User,
    // `type` is "User".
    let mut reference = attr("$ref", "reference", false, "none", "immutable");
    reference["referenceTypes"] = json!(["User"]);
    let mut kind = attr("type", "string", false, "none", "immutable");
    kind["canonicalValues"] = json!(["User"]);
    members["subAttributes"] = json!([
        attr("value", "string", false, "none", "immutable"),
        reference,
        kind,
    ]);
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": super::groups::GROUP_SCHEMA,
        "name": "Group",
        "description": "A room of the token's organization; members are its users",
        "attributes": [
            attr("displayName", "string", true, "none", "readWrite"),
            attr("externalId", "string", false, "server", "readWrite"),
            members,
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{}", super::groups::GROUP_SCHEMA)},
    })
}

pub(super) async fn resource_types(
    axum::extract::State(state): axum::extract::State<ScimState>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let base = base_url(&state, &headers);
    Ok(scim_json(
        StatusCode::OK,
        &list(vec![
            user_resource_type(&base, &token),
            group_resource_type(&base, &token),
        ]),
    ))
}

pub(super) async fn resource_type(
    axum::extract::State(state): axum::extract::State<ScimState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let base = base_url(&state, &headers);
    if id == "User" {
        Ok(scim_json(
            StatusCode::OK,
            &user_resource_type(&base, &token),
        ))
    } else if id == "Group" {
        Ok(scim_json(
            StatusCode::OK,
            &group_resource_type(&base, &token),
        ))
    } else {
        Err(ScimError::not_found(format!("no resource type {id:?}")))
    }
}

fn attr(name: &str, kind: &str, required: bool, uniqueness: &str, mutability: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "required": required,
        "caseExact": name == "externalId" || name == "id",
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    })
}

/// `active`: the membership's state; unassigned (removed) is the default,
/// an active membership.
fn active_attr() -> Value {
    let mut a = attr("active", "boolean", false, "none", "readWrite");
    a["description"] = json!(
        "The membership is ACTIVE (true) or DEACTIVATED (false); unassigned (after a remove) \
         means active, the default"
    );
    a
}

fn user_schema(base: &str) -> Value {
    let mut name = attr("name", "complex", false, "none", "readWrite");
    name["subAttributes"] = json!([
        attr("formatted", "string", false, "none", "readWrite"),
        attr("givenName", "string", false, "none", "readWrite"),
        attr("familyName", "string", false, "none", "readWrite"),
    ]);
    let mut emails = attr("emails", "complex", false, "none", "readWrite");
    emails["multiValued"] = Value::Bool(true);
    emails["subAttributes"] = json!([
        attr("value", "string", false, "none", "readWrite"),
        attr("type", "string", false, "none", "readWrite"),
        attr("primary", "boolean", false, "none", "readWrite"),
    ]);
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A member of the token's organization (userName and externalId unique \
                        per organization)",
        "attributes": [
            attr("userName", "string", true, "server", "readWrite"),
            attr("externalId", "string", false, "server", "readWrite"),
            attr("displayName", "string", false, "none", "readWrite"),
            name,
            emails,
            active_attr(),
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")},
    })
}

pub(super) async fn schemas(
    axum::extract::State(state): axum::extract::State<ScimState>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let base = base_url(&state, &headers);
    let mut all = vec![user_schema(&base), group_schema(&base)];
    if token.include_sub_organizations {
        all.push(org_extension_schema(&base));
    }
    Ok(scim_json(StatusCode::OK, &list(all)))
}

pub(super) async fn schema(
    axum::extract::State(state): axum::extract::State<ScimState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let base = base_url(&state, &headers);
    if id == USER_SCHEMA {
        Ok(scim_json(StatusCode::OK, &user_schema(&base)))
    } else if id == super::groups::GROUP_SCHEMA {
        Ok(scim_json(StatusCode::OK, &group_schema(&base)))
    } else if id == ORG_EXTENSION && token.include_sub_organizations {
        Ok(scim_json(StatusCode::OK, &org_extension_schema(&base)))
    } else {
        Err(ScimError::not_found(format!("no schema {id:?}")))
    }
}
