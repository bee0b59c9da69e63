//! SCIM 2.0 provisioning over HTTP (RFC 7643, RFC 7644; issue 15), on
//! axum under `/scim/v2`, beside gRPC: each handler authenticates the
//! provisioning token (`Authorization: Bearer rst_…`), parses and
//! validates the body, calls the store (the same steps and rules as the
//! gRPC calls), and renders `application/scim+json`. No SQL here; no
//! tonic.
//!
//! - `mod.rs`: the router, the listener (plain or TLS), SCIM error bodies,
//!   token authentication, the discovery endpoints.
//! - `users.rs`: /Users (the members of the token's organization);
//!   `user_attrs.rs`: a User's attributes (parse, PATCH, validate).
//! - `body.rs`: values and the PatchOp envelope, for Users and Groups.
//! - `groups.rs`: /Groups (the rooms of the token's organization).
//! - `discovery.rs`: ServiceProviderConfig, ResourceTypes, Schemas.
//! - `filter.rs`: the `filter` subset Roster evaluates (`eq`, `and`).

mod body;
mod discovery;
mod filter;
mod groups;
mod user_attrs;
mod users;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{Stream, StreamExt};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

use crate::domain::{Error, OrgId, Reason, ScimToken, secrets};
use crate::grpc::Ctx;

/// The base path of every SCIM endpoint.
pub const BASE: &str = "/scim/v2";
/// The media type of every SCIM body (RFC 7644 §3.1).
pub const MEDIA_TYPE: &str = "application/scim+json";
/// Largest request body accepted (bigger: 413).
pub const MAX_BODY: usize = 256 * 1024;
/// Largest page (`count`) of a list.
pub const MAX_RESULTS: u64 = 200;
/// Longest `detail` of an error body (as gRPC status messages).
const MAX_DETAIL: usize = 512;

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// Roster's extension of Users and Groups for tokens with
/// `include_sub_organizations`: the organization of the membership or room.
pub(crate) const ORG_EXTENSION: &str = "urn:roster:params:scim:schemas:extension:2.0:Organization";

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct ScimState {
    ctx: Arc<Ctx>,
    metrics: Arc<crate::metrics::Metrics>,
    /// `https` with TLS, else `http` (for `meta.location`).
    scheme: &'static str,
}

/// A SCIM error response (RFC 7644 §3.12).
#[derive(Debug, Clone)]
pub(crate) struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl ScimError {
    pub(crate) fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with a scimType.
    pub(crate) fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": truncate(self.detail, MAX_DETAIL),
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = Value::String(t.to_owned());
        }
        let mut resp = scim_json(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"roster-scim\""),
            );
        }
        resp
    }
}

impl From<Error> for ScimError {
    fn from(e: Error) -> Self {
        let detail = e.to_string();
        match e {
            Error::InvalidArgument(_) => ScimError::bad("invalidValue", detail),
            Error::Unauthenticated { .. } => ScimError::new(StatusCode::UNAUTHORIZED, None, detail),
            Error::PermissionDenied { .. } => ScimError::new(StatusCode::FORBIDDEN, None, detail),
            Error::NotFound { .. } => ScimError::not_found(detail),
            Error::AlreadyExists { .. } => {
                ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
            }
            // No free seat: RFC 7644 has no better scimType than tooMany.
            Error::ResourceExhausted {
                reason: Reason::SeatLimitReached,
                ..
            } => ScimError::new(
                StatusCode::CONFLICT,
                Some("tooMany"),
                format!("no free seat: {detail}"),
            ),
            Error::ResourceExhausted { .. } => {
                ScimError::new(StatusCode::TOO_MANY_REQUESTS, None, detail)
            }
            Error::FailedPrecondition { .. } => ScimError::new(StatusCode::CONFLICT, None, detail),
            Error::OutOfRange { .. } => ScimError::bad("invalidValue", detail),
            Error::Aborted(_) | Error::StaleEtag(_) => {
                ScimError::new(StatusCode::CONFLICT, None, detail)
            }
            Error::Unavailable(_) => ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, detail),
            Error::Internal(m) => {
                tracing::error!(error = %m, "SCIM request failed");
                ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error")
            }
        }
    }
}

/// A JSON body as `application/scim+json`.
pub(crate) fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    resp
}

/// The provisioning token behind `Authorization: Bearer`; 401 otherwise.
/// Looked up in the database on every request, so a revocation holds on
/// every replica the moment it returns.
pub(crate) async fn authenticate(
    state: &ScimState,
    headers: &HeaderMap,
) -> Result<ScimToken, ScimError> {
    let unauthorized = |m: &str| ScimError::new(StatusCode::UNAUTHORIZED, None, m.to_owned());
    let token = crate::auth::bearer(headers).map_err(|e| unauthorized(&e.to_string()))?;
    if !token.starts_with(secrets::SCIM_TOKEN_PREFIX) {
        return Err(unauthorized(
            "the bearer token is not a SCIM provisioning token",
        ));
    }
    let store = &state.ctx.store;
    store
        .bounded(store.scim_token_by_hash(&secrets::token_hash(token)))
        .await?
        .ok_or_else(|| unauthorized("unknown or revoked SCIM token"))
}

/// The organizations `token` provisions: its own, and with
/// `include_sub_organizations` every organization below it.
pub(crate) async fn scope(state: &ScimState, token: &ScimToken) -> Result<Vec<OrgId>, ScimError> {
    if !token.include_sub_organizations {
        return Ok(vec![token.org_id.clone()]);
    }
    let store = &state.ctx.store;
    Ok(store.bounded(store.scim_scope(token)).await?)
}

/// The organization a POST creates its resource in: the token's own,
/// or the one the [`ORG_EXTENSION`] of the body names (a token with
/// `include_sub_organizations` only, and only an organization it
/// provisions).
pub(crate) async fn target_org(
    state: &ScimState,
    token: &ScimToken,
    body: &serde_json::Map<String, Value>,
) -> Result<OrgId, ScimError> {
    let named = body
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(ORG_EXTENSION))
        .and_then(|(_, v)| v.as_object())
        .and_then(|ext| {
            ext.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("organizationId"))
                .map(|(_, v)| v)
        });
    let raw = match named {
        None | Some(Value::Null) => return Ok(token.org_id.clone()),
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(ScimError::bad(
                "invalidValue",
                format!("{ORG_EXTENSION}:organizationId must be a string"),
            ));
        }
    };
    let refused = || {
        ScimError::bad(
            "invalidValue",
            format!(
                "{ORG_EXTENSION}:organizationId {raw:?} is not an organization this token \
                 provisions"
            ),
        )
    };
    let org = OrgId::parse(raw).map_err(|_| refused())?;
    if scope(state, token).await?.contains(&org) {
        Ok(org)
    } else {
        Err(refused())
    }
}

/// The organization extension of a rendered resource (tokens with
/// `include_sub_organizations` only): `organizationId` and the schema URN.
pub(crate) fn add_org_extension(resource: &mut Value, token: &ScimToken, org: &OrgId) {
    if !token.include_sub_organizations {
        return;
    }
    if let Some(schemas) = resource["schemas"].as_array_mut() {
        schemas.push(json!(ORG_EXTENSION));
    }
    resource[ORG_EXTENSION] = json!({"organizationId": org.as_str()});
}

/// Reads a JSON body of at most [`MAX_BODY`] bytes: 413 past it, 400
/// invalidSyntax for anything but a JSON object.
pub(crate) async fn json_body(body: Body) -> Result<serde_json::Map<String, Value>, ScimError> {
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("the request body is larger than {MAX_BODY} bytes (or unreadable)"),
        )
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ScimError::bad(
            "invalidSyntax",
            "the request body must be a JSON object",
        )),
        Err(e) => Err(ScimError::bad(
            "invalidSyntax",
            format!("the request body is not valid JSON: {e}"),
        )),
    }
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) applied to a
/// rendered resource: `id` and `schemas` always stay; names without case,
/// sub-attributes (`name.givenName`) by their top-level attribute.
pub(crate) fn project(resource: &mut Value, attributes: Option<&str>, excluded: Option<&str>) {
    let names = |raw: &str| -> Vec<String> {
        raw.split(',')
            .map(|a| {
                let a = a.trim();
                let a = a.rsplit_once(':').map_or(a, |(_, n)| n);
                a.split('.').next().unwrap_or(a).to_ascii_lowercase()
            })
            .filter(|a| !a.is_empty())
            .collect()
    };
    let Value::Object(map) = resource else {
        return;
    };
    let always = |k: &str| k == "id" || k == "schemas";
    if let Some(keep) = attributes.map(names).filter(|k| !k.is_empty()) {
        map.retain(|k, _| always(k) || keep.contains(&k.to_ascii_lowercase()));
    } else if let Some(drop) = excluded.map(names) {
        map.retain(|k, _| always(k) || !drop.contains(&k.to_ascii_lowercase()));
    }
}

/// The parameters of a list (GET query or POST /.search body).
pub(crate) struct ListParams {
    pub(crate) filter: Option<String>,
    /// 1-based.
    pub(crate) start: i64,
    pub(crate) count: u64,
    pub(crate) attributes: Option<String>,
    pub(crate) excluded: Option<String>,
}

impl ListParams {
    fn new(
        filter: Option<String>,
        start: Option<i64>,
        count: Option<i64>,
        attributes: Option<String>,
        excluded: Option<String>,
    ) -> Self {
        ListParams {
            filter,
            start: start.unwrap_or(1).max(1),
            count: count
                .unwrap_or(MAX_RESULTS as i64)
                .clamp(0, MAX_RESULTS as i64) as u64,
            attributes,
            excluded,
        }
    }

    /// From the query string.
    pub(crate) fn from_query(q: Option<&str>) -> Result<Self, ScimError> {
        use users::{number, query_param};
        Ok(Self::new(
            query_param(q, "filter"),
            number(q, "startIndex")?,
            number(q, "count")?,
            query_param(q, "attributes"),
            query_param(q, "excludedAttributes"),
        ))
    }

    /// From a SearchRequest body (RFC 7644 §3.4.3).
    pub(crate) fn from_search(body: &serde_json::Map<String, Value>) -> Result<Self, ScimError> {
        let get = |name: &str| {
            body.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let int = |name: &str| -> Result<Option<i64>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                    ScimError::bad("invalidValue", format!("{name} must be an integer"))
                }),
            }
        };
        let list = |name: &str| -> Result<Option<String>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(a)) => Ok(Some(
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(_) => Err(ScimError::bad(
                    "invalidValue",
                    format!("{name} must be a list of attribute names"),
                )),
            }
        };
        let filter = match get("filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(f)) => Some(f.clone()),
            Some(_) => return Err(ScimError::bad("invalidFilter", "filter must be a string")),
        };
        Ok(Self::new(
            filter,
            int("startIndex")?,
            int("count")?,
            list("attributes")?,
            list("excludedAttributes")?,
        ))
    }
}

/// A ListResponse of rendered resources.
pub(crate) fn list_response(total: u64, start: i64, resources: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": resources.len(),
            "Resources": resources,
        }),
    )
}

/// `scheme://host/scim/v2` as the client addressed it.
pub(crate) fn base_url(state: &ScimState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("{}://{host}{BASE}", state.scheme)
}

/// The `method` label of a SCIM request.
fn method_label(m: &http::Method) -> &'static str {
    match *m {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        _ => "other",
    }
}

/// The `resource` label of a SCIM path: the resource type it addresses.
fn resource_label(path: &str) -> &'static str {
    let Some(rest) = path.strip_prefix(BASE) else {
        return "unknown";
    };
    match rest.trim_start_matches('/').split('/').next().unwrap_or("") {
        "Users" => "User",
        "Groups" => "Group",
        "ServiceProviderConfig" => "ServiceProviderConfig",
        "ResourceTypes" => "ResourceType",
        "Schemas" => "Schema",
        ".search" => "search",
        _ => "unknown",
    }
}

/// Every SCIM request is counted and timed (`roster_scim_requests_total`,
/// `roster_scim_request_duration_seconds`) and, with the access log on,
/// logged in one line (target `roster::access`, like the gRPC calls'):
/// method, path without the query (filters hold user names), status,
/// latency.
async fn observe(
    axum::extract::State(state): axum::extract::State<ScimState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.scim_request(
        method_label(&method),
        resource_label(&path),
        status,
        elapsed,
    );
    if state.ctx.config.access_log {
        tracing::info!(
            target: "roster::access",
            method = %method,
            path = %truncate(path, 256),
            status,
            latency_ms = elapsed.as_micros() as f64 / 1000.0,
            "scim"
        );
    }
    response
}

/// The SCIM routes.
pub(crate) fn router(state: ScimState) -> Router {
    routes(state.clone()).layer(axum::middleware::from_fn_with_state(state, observe))
}

fn routes(state: ScimState) -> Router {
    Router::new()
        .route(
            &format!("{BASE}/ServiceProviderConfig"),
            get(discovery::service_provider_config),
        )
        .route(
            &format!("{BASE}/ResourceTypes"),
            get(discovery::resource_types),
        )
        .route(
            &format!("{BASE}/ResourceTypes/{{id}}"),
            get(discovery::resource_type),
        )
        .route(&format!("{BASE}/Schemas"), get(discovery::schemas))
        .route(&format!("{BASE}/Schemas/{{id}}"), get(discovery::schema))
        .route(
            &format!("{BASE}/Users"),
            get(users::list_users).post(users::create_user),
        )
        .route(
            &format!("{BASE}/Users/.search"),
            axum::routing::post(users::search_users),
        )
        .route(&format!("{BASE}/.search"), axum::routing::post(search_all))
        .route(
            &format!("{BASE}/Users/{{id}}"),
            get(users::get_user)
                .put(users::replace_user)
                .patch(users::patch_user)
                .delete(users::delete_user),
        )
        .route(
            &format!("{BASE}/Groups"),
            get(groups::list_groups).post(groups::create_group),
        )
        .route(
            &format!("{BASE}/Groups/.search"),
            axum::routing::post(groups::search_groups),
        )
        .route(
            &format!("{BASE}/Groups/{{id}}"),
            get(groups::get_group)
                .put(groups::replace_group)
                .patch(groups::patch_group)
                .delete(groups::delete_group),
        )
        .fallback(|| async {
            ScimError::not_found("no such SCIM endpoint (the base path is /scim/v2)")
        })
        .method_not_allowed_fallback(|| async {
            ScimError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "this method is not supported on this endpoint",
            )
        })
        .with_state(state)
}

/// TLS connections from [`crate::tls::incoming`], as an axum listener.
struct TlsListener {
    incoming: Pin<Box<dyn Stream<Item = std::io::Result<TlsStream<TcpStream>>> + Send>>,
    addr: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.incoming.next().await {
                Some(Ok(stream)) => {
                    let peer = stream.get_ref().0.peer_addr().unwrap_or(self.addr);
                    return (stream, peer);
                }
                Some(Err(_)) => continue,
                None => std::future::pending::<()>().await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// Serves SCIM on `listener` until `shutdown`, over TLS when `tls` is
/// given (the gRPC certificate, offered for HTTP/1.1), then drains.
pub async fn serve(
    ctx: Arc<Ctx>,
    metrics: Arc<crate::metrics::Metrics>,
    listener: TcpListener,
    tls: Option<Arc<crate::tls::Reloader>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let app = router(ScimState {
        ctx,
        metrics,
        scheme,
    });
    match tls {
        Some(tls) => {
            let addr = listener.local_addr()?;
            let incoming = Box::pin(crate::tls::incoming(listener, tls));
            axum::serve(TlsListener { incoming, addr }, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}

/// POST /.search (RFC 7644 §3.4.3): Users, then Groups, each when the
/// filter applies to it; 400 invalidFilter when it applies to neither.
async fn search_all(
    axum::extract::State(state): axum::extract::State<ScimState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ScimError> {
    let token = authenticate(&state, &headers).await?;
    let body = json_body(body).await?;
    let p = ListParams::from_search(&body)?;
    // Enough of each type to cover the requested window of the union.
    let window = (p.start as u64 - 1).saturating_add(p.count);
    let users = users::matching(&state, &headers, &token, &p, 0, window).await?;
    let groups = groups::matching(&state, &headers, &token, &p, 0, window).await?;
    if users.is_none() && groups.is_none() {
        let detail = match &p.filter {
            Some(f) => filter::parse(f).err().unwrap_or_default(),
            None => String::new(),
        };
        return Err(ScimError::bad("invalidFilter", detail));
    }
    let (mut total, mut all) = (0, Vec::new());
    for (n, items) in [users, groups].into_iter().flatten() {
        total += n;
        all.extend(items);
    }
    let page: Vec<Value> = all
        .into_iter()
        .skip(p.start as usize - 1)
        .take(p.count as usize)
        .collect();
    Ok(list_response(total, p.start, page))
}
