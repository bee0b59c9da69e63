//! SCIM 2.0 provisioning (issue 15): the listener and discovery, the
//! provisioning tokens (CreateScimToken, ListScimTokens, RevokeScimToken),
//! /Users replayed as Okta and Microsoft Entra ID send them, with Roster's
//! state asserted through gRPC after each step; token scoping, audit
//! actors, malformed bodies, filters and paging. Both databases.

use roster::pb;
use serde_json::{Value, json};

use crate::db_tests;
use crate::harness::{Backend, TestServer};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM client of one server with one bearer token.
struct Scim {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// A response: status, `Content-Type`, parsed body (Null when empty).
struct Reply {
    status: u16,
    content_type: String,
    body: Value,
}

impl Scim {
    fn new(s: &TestServer, token: &str) -> Scim {
        Scim {
            base: format!("http://{}/scim/v2", s.scim_addr),
            token: token.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn raw(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token));
        if let Some(b) = body {
            req = req.header("content-type", "application/scim+json").body(b);
        }
        let resp = req.send().await.expect("SCIM request");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        Reply {
            status,
            content_type,
            body,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.raw("GET", path, None).await
    }

    async fn send(&self, method: &str, path: &str, body: Value) -> Reply {
        self.raw(method, path, Some(body.to_string().into_bytes()))
            .await
    }
}

/// Asserts a SCIM error body with `status` (and `scim_type` when given).
fn assert_error(r: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.content_type, "application/scim+json");
    assert_eq!(r.body["schemas"], json!([ERROR]), "{}", r.body);
    assert_eq!(r.body["status"], json!(status.to_string()), "{}", r.body);
    assert!(r.body["detail"].is_string(), "{}", r.body);
    if let Some(t) = scim_type {
        assert_eq!(r.body["scimType"], json!(t), "{}", r.body);
    }
}

/// A package with `seats` seats, an organization with a signed-in admin;
/// returns (org, admin identity, admin session token).
async fn org(s: &TestServer, seats: i32) -> (String, String, String) {
    let (package, admin, token) = s.package_with_admin(pb::Plan::Enterprise, seats).await;
    let org = s.create_org(&package, &admin).await;
    (org, admin, token)
}

/// CreateScimToken with the service key; returns (token ID, secret).
async fn scim_token(s: &TestServer, org: &str) -> (String, String) {
    let r = s
        .svc_membership()
        .create_scim_token(pb::CreateScimTokenRequest {
            organization_id: org.to_owned(),
            include_sub_organizations: false,
            description: "IdP".to_owned(),
        })
        .await
        .expect("create SCIM token")
        .into_inner();
    (r.scim_token.expect("token").scim_token_id, r.token)
}

async fn allowed(s: &TestServer, org: &str, identity: &str) -> bool {
    s.svc_membership()
        .check_access(pb::CheckAccessRequest {
            identity_id: identity.to_owned(),
            organization_id: org.to_owned(),
            room_id: String::new(),
        })
        .await
        .expect("check access")
        .into_inner()
        .allowed
}

fn user_body(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "externalId": external_id,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Ann Lee",
        "active": true,
    })
}

async fn scim_discovery_needs_a_token_and_answers_scim_json(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, _, _) = org(&s, 5).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);

    let spc = scim.get("/ServiceProviderConfig").await;
    assert_eq!(spc.status, 200);
    assert_eq!(spc.content_type, "application/scim+json");
    assert_eq!(
        spc.body["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
    );
    assert_eq!(spc.body["patch"]["supported"], json!(true));
    assert_eq!(spc.body["bulk"]["supported"], json!(false));
    assert_eq!(spc.body["filter"]["supported"], json!(true));

    let types = scim.get("/ResourceTypes").await;
    assert_eq!(types.status, 200);
    assert_eq!(types.body["Resources"][0]["endpoint"], json!("/Users"));
    assert_eq!(
        scim.get("/ResourceTypes/User").await.body["schema"],
        json!(USER)
    );
    let schemas = scim.get("/Schemas").await;
    assert_eq!(schemas.body["Resources"][0]["id"], json!(USER));
    assert_eq!(scim.get(&format!("/Schemas/{USER}")).await.status, 200);
    assert_error(&scim.get("/Schemas/urn:nope").await, 404, None);
    assert_error(&scim.get("/Nothing").await, 404, None);
    assert_error(
        &scim.send("POST", "/ServiceProviderConfig", json!({})).await,
        405,
        None,
    );

    for bad in ["", "rst_unknown-token", "rsk_test-service-key-0123456789"] {
        let r = Scim::new(&s, bad).get("/ServiceProviderConfig").await;
        assert_error(&r, 401, None);
    }
    s.stop().await;
}

async fn scim_tokens_are_created_listed_and_revoked_over_grpc(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, _, admin_token) = org(&s, 5).await;
    // An organization admin creates one, a service key another.
    let created = s
        .membership(Some(&admin_token))
        .create_scim_token(pb::CreateScimTokenRequest {
            organization_id: org.clone(),
            include_sub_organizations: true,
            description: "Entra ID".to_owned(),
        })
        .await
        .expect("org admin creates a token")
        .into_inner();
    assert!(created.token.starts_with("rst_"));
    let first = created.scim_token.expect("metadata");
    assert!(first.include_sub_organizations);
    assert!(first.created_by.starts_with("IDENTITY:"));
    let (second_id, second) = scim_token(&s, &org).await;

    let listed = s
        .membership(Some(&admin_token))
        .list_scim_tokens(pb::ListScimTokensRequest {
            organization_id: org.clone(),
        })
        .await
        .expect("list")
        .into_inner()
        .scim_tokens;
    assert_eq!(listed.len(), 2);
    let listed_first = listed
        .iter()
        .find(|t| t.scim_token_id == first.scim_token_id)
        .expect("listed");
    assert_eq!(listed_first.description, "Entra ID");
    assert!(listed.iter().any(|t| t.scim_token_id == second_id));
    assert!(listed.iter().all(|t| t.revoke_time.is_none()));

    assert_eq!(Scim::new(&s, &second).get("/Users").await.status, 200);
    let revoked = s
        .membership(Some(&admin_token))
        .revoke_scim_token(pb::RevokeScimTokenRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            scim_token_id: second_id.clone(),
        })
        .await
        .expect("revoke")
        .into_inner();
    assert!(revoked.revoke_time.is_some());
    assert_error(&Scim::new(&s, &second).get("/Users").await, 401, None);
    // The other token still works; revoking again changes nothing.
    assert_eq!(
        Scim::new(&s, &created.token).get("/Users").await.status,
        200
    );
    s.svc_membership()
        .revoke_scim_token(pb::RevokeScimTokenRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            scim_token_id: second_id,
        })
        .await
        .expect("revoke again");
    let missing = s
        .svc_membership()
        .revoke_scim_token(pb::RevokeScimTokenRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            scim_token_id: "stk_0000000000000000".to_owned(),
        })
        .await;
    assert_eq!(missing.expect_err("unknown").code(), tonic::Code::NotFound);
    let bad = s
        .svc_membership()
        .create_scim_token(pb::CreateScimTokenRequest {
            organization_id: "nope".to_owned(),
            ..Default::default()
        })
        .await;
    assert_eq!(
        bad.expect_err("bad ID").code(),
        tonic::Code::InvalidArgument
    );
    s.stop().await;
}

async fn scim_token_of_a_plain_member_is_refused(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Enterprise, 5).await;
    let org = s.create_org(&package, &admin).await;
    let member = s.new_member(&org, "Mo", pb::MemberRole::Member).await;
    let (_, username, password) = s.issue_credential(&package, "mo-user").await;
    let session = s.sign_in(&member, &username, &password).await;
    let r = s
        .membership(Some(&session))
        .create_scim_token(pb::CreateScimTokenRequest {
            organization_id: org,
            ..Default::default()
        })
        .await;
    assert_eq!(r.expect_err("member").code(), tonic::Code::PermissionDenied);
    s.stop().await;
}

/// Okta's sequence: lookup by userName, create, get, deactivate by PATCH
/// replace {active:false} (access denied at once, also on another replica),
/// reactivate, PUT; paging by 100.
async fn scim_okta_sequence(b: Backend) {
    let s = TestServer::start(b).await;
    // Replicas share a PostgreSQL database (SQLite is one process).
    let replica = match b {
        Backend::Postgres => Some(s.replica().await),
        Backend::Sqlite => None,
    };
    let (org, admin, _) = org(&s, 5).await;
    let (token_id, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);

    let lookup = scim
        .get("/Users?filter=userName%20eq%20%22ann%40example.com%22&startIndex=1&count=100")
        .await;
    assert_eq!(lookup.status, 200);
    assert_eq!(lookup.body["totalResults"], json!(0));
    assert_eq!(lookup.body["Resources"], json!([]));

    let created = scim
        .send("POST", "/Users", user_body("ann@example.com", "okta-00u1"))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(created.body["userName"], json!("ann@example.com"));
    assert_eq!(created.body["externalId"], json!("okta-00u1"));
    assert_eq!(created.body["active"], json!(true));
    assert_eq!(created.body["meta"]["resourceType"], json!("User"));
    assert!(
        created.body["meta"]["location"]
            .as_str()
            .is_some_and(|l| l.ends_with(&format!("/scim/v2/Users/{id}")))
    );
    let member = s.member(&org, &id).await.expect("a member");
    assert_eq!(member.role, pb::MemberRole::Member as i32);
    assert_eq!(member.state, pb::MemberState::Active as i32);
    assert!(allowed(&s, &org, &id).await);

    // The same userName (any case) or externalId again: 409 uniqueness.
    let again = scim
        .send("POST", "/Users", user_body("ANN@example.com", "okta-other"))
        .await;
    assert_error(&again, 409, Some("uniqueness"));
    let again = scim
        .send(
            "POST",
            "/Users",
            user_body("other@example.com", "okta-00u1"),
        )
        .await;
    assert_error(&again, 409, Some("uniqueness"));

    let got = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["emails"][0]["value"], json!("ann@example.com"));
    assert_eq!(got.body["name"]["givenName"], json!("Ann"));
    let found = scim
        .get("/Users?filter=userName+eq+%22Ann%40Example.com%22")
        .await;
    assert_eq!(found.body["totalResults"], json!(1));
    assert_eq!(found.body["Resources"][0]["id"], json!(id));

    // Deactivate: access ends when the response arrives, on every replica.
    let off = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]}),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], json!(false));
    assert!(!allowed(&s, &org, &id).await);
    if let Some(r) = &replica {
        assert!(!allowed(r, &org, &id).await);
    }
    assert_eq!(
        s.member(&org, &id).await.expect("still a member").state,
        pb::MemberState::Deactivated as i32
    );
    // Okta repeats itself: the same PATCH again is a no-op, still 200.
    let off_again = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": false}}]}),
        )
        .await;
    assert_eq!(off_again.status, 200, "{}", off_again.body);

    let on = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": true}}]}),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    assert!(allowed(&s, &org, &id).await);
    if let Some(r) = &replica {
        assert!(allowed(r, &org, &id).await);
    }

    // PUT replaces the attributes.
    let mut body = user_body("ann.lee@example.com", "okta-00u1");
    body["name"] = json!({"givenName": "Annie"});
    let put = scim.send("PUT", &format!("/Users/{id}"), body).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["userName"], json!("ann.lee@example.com"));
    assert_eq!(put.body["name"]["givenName"], json!("Annie"));
    assert_eq!(put.body["name"].get("familyName"), None);
    assert_eq!(put.body["active"], json!(true));

    // The audit trail names the token.
    let events = s
        .svc_events()
        .list_audit_events(pb::ListAuditEventsRequest {
            filter: Some(pb::EventFilter {
                organization_id: org.clone(),
                identity_id: String::new(),
                package_id: String::new(),
                types: vec![
                    pb::EventType::MemberAdded as i32,
                    pb::EventType::MemberDeactivated as i32,
                    pb::EventType::MemberReactivated as i32,
                    pb::EventType::ScimUserUpdated as i32,
                ],
            }),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    let by_token: Vec<_> = events
        .iter()
        .filter(|e| e.subject_id == id || e.identity_id == id)
        .collect();
    assert_eq!(by_token.len(), 4, "{events:?}");
    for e in by_token {
        let actor = e.actor.clone().expect("actor");
        assert_eq!(actor.r#type, pb::ActorType::ScimToken as i32);
        assert_eq!(actor.id, token_id);
    }

    // Paging by 100 (Okta) and by small pages.
    for i in 0..3 {
        let r = scim
            .send(
                "POST",
                "/Users",
                user_body(&format!("p{i}@example.com"), &format!("okta-p{i}")),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let all = scim.get("/Users?startIndex=1&count=100").await;
    // The admin (a member added over gRPC) is a User too.
    assert_eq!(all.body["totalResults"], json!(5));
    assert_eq!(all.body["itemsPerPage"], json!(5));
    let page = scim.get("/Users?startIndex=2&count=2").await;
    assert_eq!(page.body["totalResults"], json!(5));
    assert_eq!(page.body["startIndex"], json!(2));
    assert_eq!(page.body["itemsPerPage"], json!(2));
    assert_eq!(
        page.body["Resources"][0]["id"],
        all.body["Resources"][1]["id"]
    );
    let past = scim.get("/Users?startIndex=50&count=2").await;
    assert_eq!(past.body["Resources"], json!([]));
    let zero = scim.get("/Users?count=0").await;
    assert_eq!(zero.body["totalResults"], json!(5));
    assert_eq!(zero.body["Resources"], json!([]));
    assert!(
        all.body["Resources"]
            .as_array()
            .expect("list")
            .iter()
            .any(|u| u["id"] == json!(admin))
    );
    if let Some(r) = replica {
        r.stop().await;
    }
    s.stop().await;
}

/// Entra's sequence: capitalised ops, "False" as a string, soft delete by
/// active=false (the user is still returned), then DELETE: the member is
/// removed (the identity is not revoked) and renders as "Unknown user".
async fn scim_entra_sequence(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, admin, _) = org(&s, 5).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);

    let lookup = scim
        .get("/Users?filter=externalId%20eq%20%2258342554-38d6-4ec8-948c-50044d0a33fd%22")
        .await;
    assert_eq!(lookup.body["totalResults"], json!(0));
    let created = scim
        .send(
            "POST",
            "/Users",
            json!({
                "schemas": [USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "externalId": "58342554-38d6-4ec8-948c-50044d0a33fd",
                "userName": "Test_User_ab6490ee@contoso.com",
                "active": true,
                "displayName": "Test User",
                "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
                "roles": [],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();

    // Entra's filters: eq and and, on userName and emails.
    let found = scim
        .get("/Users?filter=userName+eq+%22Test_User_ab6490ee%40contoso.com%22+and+emails.value+eq+%22test_user_fd0ea19b%40contoso.com%22")
        .await;
    assert_eq!(found.body["totalResults"], json!(1), "{}", found.body);

    let patched = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH], "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Ryan Leenay"},
                {"op": "Add", "path": "name.familyName", "value": "Leenay"},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "Nobody"},
            ]}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["displayName"], json!("Ryan Leenay"));
    assert_eq!(patched.body["name"]["familyName"], json!("Leenay"));
    assert_eq!(
        patched.body["emails"][0]["value"],
        json!("updatedEmail@microsoft.com")
    );

    // Soft delete: "False" as a string; the user is still returned.
    let off = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], json!(false));
    assert!(!allowed(&s, &org, &id).await);
    let still = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(still.status, 200);
    assert_eq!(still.body["active"], json!(false));
    let on = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "Replace", "path": "active", "value": "True"}]}),
        )
        .await;
    assert_eq!(on.body["active"], json!(true), "{}", on.body);
    assert!(allowed(&s, &org, &id).await);

    // DELETE removes the member; the identity lives on.
    let deleted = scim.raw("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    assert!(s.member(&org, &id).await.is_none());
    assert_error(&scim.get(&format!("/Users/{id}")).await, 404, None);
    assert_error(
        &scim.raw("DELETE", &format!("/Users/{id}"), None).await,
        404,
        None,
    );
    let identity = s
        .svc_identity()
        .get_identity(pb::GetIdentityRequest {
            identity_id: id.clone(),
        })
        .await
        .expect("identity")
        .into_inner();
    assert_eq!(identity.state, pb::IdentityState::Active as i32);
    let profiles = s
        .svc_membership()
        .resolve_profiles(pb::ResolveProfilesRequest {
            organization_id: org.clone(),
            identity_ids: vec![id.clone()],
        })
        .await
        .expect("profiles")
        .into_inner()
        .profiles;
    assert_eq!(profiles[0].display_name, "Unknown user");

    // Created again with the same externalId: the same identity comes back.
    let back = scim
        .send(
            "POST",
            "/Users",
            json!({"schemas": [USER], "userName": "Test_User_ab6490ee@contoso.com",
                   "externalId": "58342554-38d6-4ec8-948c-50044d0a33fd", "active": true}),
        )
        .await;
    assert_eq!(back.status, 201, "{}", back.body);
    assert_eq!(back.body["id"], json!(id));
    let _ = admin;
    s.stop().await;
}

/// Offboarding the last admin of a room hands the room to the
/// organization's admins (reason PROVISIONING) instead of refusing.
async fn scim_offboarding_hands_rooms_to_org_admins(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, admin, _) = org(&s, 5).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);
    let created = scim
        .send("POST", "/Users", user_body("rae@example.com", "ext-rae"))
        .await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    let room = s.create_room(&org, &id).await;

    let off = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]}),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    let members = s
        .svc_membership()
        .list_room_members(pb::ListRoomMembersRequest {
            room_id: room.clone(),
            ..Default::default()
        })
        .await
        .expect("room members")
        .into_inner()
        .room_members;
    let admin_row = members
        .iter()
        .find(|m| m.identity_id == admin)
        .expect("the org admin took the room over");
    assert_eq!(admin_row.role, pb::RoomRole::Admin as i32);

    let events = s
        .svc_events()
        .list_audit_events(pb::ListAuditEventsRequest {
            filter: Some(pb::EventFilter {
                organization_id: org.clone(),
                types: vec![pb::EventType::RoomMemberAdded as i32],
                ..Default::default()
            }),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    assert!(
        events
            .iter()
            .any(|e| e.identity_id == admin && e.reason == "PROVISIONING"),
        "{events:?}"
    );
    let deleted = scim.raw("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    s.stop().await;
}

async fn scim_seats_run_out_with_a_clear_error(b: Backend) {
    let s = TestServer::start(b).await;
    // One seat, taken by the admin.
    let (org, _, _) = org(&s, 1).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);
    let r = scim
        .send("POST", "/Users", user_body("full@example.com", "x-full"))
        .await;
    assert_error(&r, 409, Some("tooMany"));
    assert!(
        r.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("seat")),
        "{}",
        r.body
    );
    // Nothing was written: no identity, no half user.
    let none = scim
        .get("/Users?filter=userName%20eq%20%22full%40example.com%22")
        .await;
    assert_eq!(none.body["totalResults"], json!(0));
    s.stop().await;
}

async fn scim_tokens_act_only_in_their_organization(b: Backend) {
    let s = TestServer::start(b).await;
    let (org_a, _, _) = org(&s, 5).await;
    let (org_b, _, _) = org(&s, 5).await;
    let (_, token_a) = scim_token(&s, &org_a).await;
    let (_, token_b) = scim_token(&s, &org_b).await;
    let a = Scim::new(&s, &token_a);
    let b_client = Scim::new(&s, &token_b);
    let created = b_client
        .send("POST", "/Users", user_body("bob@example.com", "b-1"))
        .await;
    assert_eq!(created.status, 201);
    let bob = created.body["id"].as_str().expect("id").to_owned();

    assert_error(&a.get(&format!("/Users/{bob}")).await, 404, None);
    let patch = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    assert_error(
        &a.send("PATCH", &format!("/Users/{bob}"), patch.clone())
            .await,
        404,
        None,
    );
    assert_error(
        &a.send(
            "PUT",
            &format!("/Users/{bob}"),
            user_body("bob@example.com", "b-1"),
        )
        .await,
        404,
        None,
    );
    assert_error(
        &a.raw("DELETE", &format!("/Users/{bob}"), None).await,
        404,
        None,
    );
    let listed = a
        .get("/Users?filter=userName%20eq%20%22bob%40example.com%22")
        .await;
    assert_eq!(listed.body["totalResults"], json!(0));
    assert!(allowed(&s, &org_b, &bob).await);
    // The same userName is free in another organization.
    let twin = a
        .send("POST", "/Users", user_body("bob@example.com", "b-1"))
        .await;
    assert_eq!(twin.status, 201, "{}", twin.body);
    assert_ne!(twin.body["id"], json!(bob));
    s.stop().await;
}

async fn scim_malformed_and_hostile_bodies_are_400s(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, _, _) = org(&s, 5).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);
    let created = scim
        .send("POST", "/Users", user_body("h@example.com", "h-1"))
        .await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    let path = format!("/Users/{id}");

    for body in [
        &b"{"[..],
        b"not json",
        b"[1, 2]",
        b"\"userName\"",
        b"{\"userName\": \"x\",}",
        b"\xff\xfe",
        &"[".repeat(10_000).into_bytes(),
    ] {
        assert_error(
            &scim.raw("POST", "/Users", Some(body.to_vec())).await,
            400,
            Some("invalidSyntax"),
        );
        assert_error(
            &scim.raw("PATCH", &path, Some(body.to_vec())).await,
            400,
            Some("invalidSyntax"),
        );
    }
    let huge = format!("{{\"userName\": \"{}\"}}", "a".repeat(300 * 1024));
    assert_error(
        &scim.raw("POST", "/Users", Some(huge.into_bytes())).await,
        413,
        None,
    );

    for body in [
        json!({}),
        json!({"userName": ""}),
        json!({"userName": 7}),
        json!({"userName": "a".repeat(300)}),
        json!({"userName": "ctl\u{7}"}),
        json!({"userName": "x@example.com", "active": "maybe"}),
        json!({"userName": "x@example.com", "emails": [{"value": "not-an-email"}]}),
        json!({"userName": "x@example.com", "name": "flat"}),
    ] {
        let r = scim.send("POST", "/Users", body.clone()).await;
        assert_error(&r, 400, Some("invalidValue"));
    }
    for (body, kind) in [
        (
            json!({"schemas": [PATCH], "Operations": []}),
            "invalidValue",
        ),
        (json!({"schemas": [PATCH]}), "invalidValue"),
        (
            json!({"schemas": ["urn:other"], "Operations": [{"op": "add", "value": {}}]}),
            "invalidValue",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "frobnicate", "path": "active"}]}),
            "invalidValue",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "remove"}]}),
            "noTarget",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "remove", "path": "userName"}]}),
            "mutability",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": 5, "value": 1}]}),
            "invalidPath",
        ),
        (
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": {"a": 1}}]}),
            "invalidValue",
        ),
    ] {
        let r = scim.send("PATCH", &path, body.clone()).await;
        assert_error(&r, 400, Some(kind));
    }
    // Unknown user IDs, of any shape.
    for bad in ["ZZZZZZZZ", "nope", "%00", "..%2F..%2Fetc"] {
        assert_error(&scim.get(&format!("/Users/{bad}")).await, 404, None);
    }
    // The user is as it was.
    let got = scim.get(&path).await;
    assert_eq!(got.body["userName"], json!("h@example.com"));
    assert_eq!(got.body["active"], json!(true));
    s.stop().await;
}

async fn scim_filters_outside_eq_and_are_invalid_filter(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, _, _) = org(&s, 5).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);
    for filter in [
        "userName%20co%20%22a%22",
        "userName%20eq%20%22a%22%20or%20userName%20eq%20%22b%22",
        "title%20eq%20%22boss%22",
        "userName%20eq",
        "%28userName%20eq%20%22a%22%29",
        "userName%20pr",
    ] {
        let r = scim.get(&format!("/Users?filter={filter}")).await;
        assert_error(&r, 400, Some("invalidFilter"));
    }
    assert_error(
        &scim.get("/Users?count=ten").await,
        400,
        Some("invalidValue"),
    );
    assert_error(
        &scim.get("/Users?startIndex=1.5").await,
        400,
        Some("invalidValue"),
    );
    s.stop().await;
}

async fn room_members(s: &TestServer, room: &str) -> Vec<(String, i32)> {
    s.svc_membership()
        .list_room_members(pb::ListRoomMembersRequest {
            room_id: room.to_owned(),
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .expect("room members")
        .into_inner()
        .room_members
        .into_iter()
        .map(|m| (m.identity_id, m.role))
        .collect()
}

/// Group push as Okta and Entra do it: create with members, rename,
/// members added and removed by PATCH, a PUT of the whole list; the room
/// keeps the organization's admin as room admin; DELETE deletes the room.
async fn scim_group_push(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, admin, _) = org(&s, 10).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);
    let mut users = Vec::new();
    for i in 0..3 {
        let r = scim
            .send(
                "POST",
                "/Users",
                user_body(&format!("g{i}@example.com"), &format!("g-{i}")),
            )
            .await;
        users.push(r.body["id"].as_str().expect("id").to_owned());
    }
    let lookup = scim
        .get("/Groups?filter=displayName%20eq%20%22Engineering%22")
        .await;
    assert_eq!(lookup.body["totalResults"], json!(0));
    let created = scim
        .send(
            "POST",
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "Engineering", "externalId": "okta-grp-1",
                   "members": [{"value": users[0]}]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let room = created.body["id"].as_str().expect("id").to_owned();
    assert!(room.starts_with("room_"));
    let members = room_members(&s, &room).await;
    assert!(
        members.contains(&(admin.clone(), pb::RoomRole::Admin as i32)),
        "{members:?}"
    );
    assert!(members.contains(&(users[0].clone(), pb::RoomRole::Member as i32)));
    assert!(allowed_in_room(&s, &org, &room, &users[0]).await);
    assert_eq!(created.body["externalId"], json!("okta-grp-1"));
    let by_ext = scim
        .get("/Groups?filter=externalId%20eq%20%22okta-grp-1%22")
        .await;
    assert_eq!(by_ext.body["totalResults"], json!(1));
    assert_eq!(by_ext.body["Resources"][0]["id"], json!(room));
    let twin = scim
        .send(
            "POST",
            "/Groups",
            json!({"displayName": "Twin", "externalId": "okta-grp-1"}),
        )
        .await;
    assert_error(&twin, 409, Some("uniqueness"));

    // Okta: rename and add; Entra: remove by value list and by path.
    let patched = scim
        .send(
            "PATCH",
            &format!("/Groups/{room}"),
            json!({"schemas": [PATCH], "Operations": [
                {"op": "replace", "value": {"id": room, "displayName": "Eng"}},
                {"op": "add", "path": "members", "value": [{"value": users[1]}, {"value": users[2]}]},
            ]}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["displayName"], json!("Eng"));
    assert_eq!(room_members(&s, &room).await.len(), 4);
    let removed = scim
        .send(
            "PATCH",
            &format!("/Groups/{room}"),
            json!({"schemas": [PATCH], "Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": users[1]}]},
                {"op": "remove", "path": format!("members[value eq \"{}\"]", users[2])},
            ]}),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let members = room_members(&s, &room).await;
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(!allowed_in_room(&s, &org, &room, &users[1]).await);
    // Adding someone twice and removing an absent member change nothing.
    let again = scim
        .send(
            "PATCH",
            &format!("/Groups/{room}"),
            json!({"schemas": [PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": users[0]}]},
                {"op": "remove", "path": "members", "value": [{"value": users[1]}]},
            ]}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.body);

    // PUT: the whole list; the room admin stays.
    let put = scim
        .send(
            "PUT",
            &format!("/Groups/{room}"),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                   "displayName": "Eng", "members": [{"value": users[2]}]}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let mut ids: Vec<String> = room_members(&s, &room)
        .await
        .into_iter()
        .map(|m| m.0)
        .collect();
    ids.sort();
    let mut want = vec![admin.clone(), users[2].clone()];
    want.sort();
    assert_eq!(ids, want);

    // The room admin Roster appointed is the room's steward, not one of the
    // Group's members: the Group lists what the IdP pushed.
    let got = scim.get(&format!("/Groups/{room}")).await;
    assert_eq!(
        got.body["members"],
        json!([{"value": users[2], "$ref": format!("{}/Users/{}", scim.base, users[2]), "type": "User"}]),
        "{}",
        got.body
    );
    let listed = scim
        .get("/Groups?filter=displayName%20eq%20%22Eng%22")
        .await;
    assert_eq!(listed.body["totalResults"], json!(1));

    // Not a member of the organization: refused, nothing changed.
    let outsider = s.create_identity("Out").await;
    let r = scim
        .send(
            "PATCH",
            &format!("/Groups/{room}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": outsider}]}]}),
        )
        .await;
    assert_error(&r, 409, None);
    // Another organization's token sees no such group, and cannot delete it.
    let (other, _, _) = self::org(&s, 5).await;
    let (_, other_token) = scim_token(&s, &other).await;
    let other_scim = Scim::new(&s, &other_token);
    assert_error(&other_scim.get(&format!("/Groups/{room}")).await, 404, None);
    assert_error(
        &other_scim
            .raw("DELETE", &format!("/Groups/{room}"), None)
            .await,
        404,
        None,
    );
    // DELETE is DeleteRoom: 204, the room and its memberships are gone.
    s.create_assignment(&room, &users[2], "Ends with the room")
        .await;
    let deleted = scim.raw("DELETE", &format!("/Groups/{room}"), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_error(&scim.get(&format!("/Groups/{room}")).await, 404, None);
    let access = s
        .svc_membership()
        .check_access(pb::CheckAccessRequest {
            identity_id: users[2].clone(),
            organization_id: org.clone(),
            room_id: room.clone(),
        })
        .await;
    assert_eq!(
        access.map(|_| ()).map_err(|e| e.code()),
        Err(tonic::Code::NotFound)
    );
    assert_error(
        &scim.raw("DELETE", &format!("/Groups/{room}"), None).await,
        404,
        None,
    );
    let by_ext = scim
        .get("/Groups?filter=externalId%20eq%20%22okta-grp-1%22")
        .await;
    assert_eq!(by_ext.body["totalResults"], json!(0));
    let events = s.org_events(&org).await;
    let gone = events
        .iter()
        .find(|e| e.event_type == roster::domain::EventType::RoomDeleted)
        .expect("ROOM_DELETED");
    assert_eq!(gone.subject_id, room);
    assert_eq!(gone.reason, "PROVISIONING");
    assert_eq!(gone.actor.kind, roster::domain::ActorKind::ScimToken);
    assert!(
        gone.attributes
            .contains(&("assignments_deleted".to_owned(), "1".to_owned())),
        "{gone:?}"
    );
    s.stop().await;
}

async fn allowed_in_room(s: &TestServer, org: &str, room: &str, identity: &str) -> bool {
    s.svc_membership()
        .check_access(pb::CheckAccessRequest {
            identity_id: identity.to_owned(),
            organization_id: org.to_owned(),
            room_id: room.to_owned(),
        })
        .await
        .expect("check access")
        .into_inner()
        .allowed
}

/// `remove active` (RFC 7644 §3.5.2.2): the attribute is unassigned, which
/// means its default, an active membership; a deactivated member is
/// reactivated. Setting it again makes it assigned.
async fn scim_remove_active_resets_to_the_default(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, _, _) = org(&s, 5).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);
    let created = scim
        .send("POST", "/Users", user_body("una@example.com", "ext-una"))
        .await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    let op = |op: &str, value: Option<Value>| {
        let mut o = json!({"op": op, "path": "active"});
        if let Some(v) = value {
            o["value"] = v;
        }
        json!({"schemas": [PATCH], "Operations": [o]})
    };
    let off = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            op("replace", Some(json!(false))),
        )
        .await;
    assert_eq!(off.body["active"], json!(false), "{}", off.body);
    assert!(!allowed(&s, &org, &id).await);
    let removed = scim
        .send("PATCH", &format!("/Users/{id}"), op("remove", None))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(removed.body.get("active").is_none(), "{}", removed.body);
    assert!(allowed(&s, &org, &id).await);
    let got = scim.get(&format!("/Users/{id}")).await;
    assert!(got.body.get("active").is_none(), "{}", got.body);
    assert_eq!(got.body["userName"], json!("una@example.com"));
    // Removing it again changes nothing.
    let again = scim
        .send("PATCH", &format!("/Users/{id}"), op("remove", None))
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    // A deactivation over gRPC shows as active: false.
    crate::membership::deactivate(&s, &org, &id, pb::DeactivationReason::Other).await;
    let paused = scim.get(&format!("/Users/{id}")).await;
    assert_eq!(paused.body["active"], json!(false), "{}", paused.body);
    let on = scim
        .send(
            "PATCH",
            &format!("/Users/{id}"),
            op("replace", Some(json!(true))),
        )
        .await;
    assert_eq!(on.body["active"], json!(true), "{}", on.body);
    assert_eq!(
        scim.get(&format!("/Users/{id}")).await.body["active"],
        json!(true)
    );
    s.stop().await;
}

/// A Group's members are the ones the IdP pushed: the room admin Roster
/// appointed for a room a SCIM client created is left out until the IdP
/// adds that user itself (the room admin's role is kept).
async fn scim_group_members_are_what_the_idp_pushed(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, admin, _) = org(&s, 5).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);
    let created = scim
        .send("POST", "/Users", user_body("gm@example.com", "ext-gm"))
        .await;
    let user = created.body["id"].as_str().expect("id").to_owned();
    let group = scim
        .send(
            "POST",
            "/Groups",
            json!({"displayName": "Pushed", "members": [{"value": user}]}),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let room = group.body["id"].as_str().expect("id").to_owned();
    let values = |g: &Value| -> Vec<String> {
        g["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["value"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(values(&group.body), vec![user.clone()]);
    assert!(
        room_members(&s, &room)
            .await
            .contains(&(admin.clone(), pb::RoomRole::Admin as i32))
    );
    let added = scim
        .send(
            "PATCH",
            &format!("/Groups/{room}"),
            json!({"schemas": [PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": admin}]}]}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let mut want = vec![admin.clone(), user.clone()];
    want.sort();
    assert_eq!(values(&added.body), want);
    assert!(
        room_members(&s, &room)
            .await
            .contains(&(admin.clone(), pb::RoomRole::Admin as i32))
    );
    let listed = scim.get(&format!("/Groups/{room}")).await;
    assert_eq!(values(&listed.body), want);
    s.stop().await;
}

/// PATCH reads the user inside its write: parallel PATCHes of different
/// attributes all land, and a PATCH racing a deactivation over gRPC never
/// reactivates the member (it used to apply the `active` it had read
/// before).
async fn scim_patch_reads_the_user_inside_its_write(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, _, _) = org(&s, 5).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);
    let created = scim
        .send("POST", "/Users", user_body("pat@example.com", "ext-pat"))
        .await;
    let id = created.body["id"].as_str().expect("id").to_owned();
    let path = format!("/Users/{id}");
    let set = |attr: &str, value: Value| json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": attr, "value": value}]});
    for round in 0..4 {
        let attrs = [
            "displayName",
            "name.givenName",
            "name.familyName",
            "name.formatted",
            "externalId",
        ];
        let replies = futures::future::join_all(
            attrs
                .iter()
                .map(|a| scim.send("PATCH", &path, set(a, json!(format!("{a}-{round}"))))),
        )
        .await;
        for r in &replies {
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let got = scim.get(&path).await.body;
        assert_eq!(
            got["displayName"],
            json!(format!("displayName-{round}")),
            "{got}"
        );
        assert_eq!(
            got["name"]["givenName"],
            json!(format!("name.givenName-{round}"))
        );
        assert_eq!(
            got["name"]["familyName"],
            json!(format!("name.familyName-{round}"))
        );
        assert_eq!(
            got["name"]["formatted"],
            json!(format!("name.formatted-{round}"))
        );
        assert_eq!(got["externalId"], json!(format!("externalId-{round}")));
    }
    for round in 0..6 {
        let mut svc = s.svc_membership();
        let deactivate = svc.deactivate_member(pb::DeactivateMemberRequest {
            organization_id: org.clone(),
            identity_id: id.clone(),
            ..Default::default()
        });
        let patch = scim.send(
            "PATCH",
            &path,
            set("displayName", json!(format!("Pat {round}"))),
        );
        let (deactivated, patched) = tokio::join!(deactivate, patch);
        deactivated.expect("deactivate");
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert!(!allowed(&s, &org, &id).await, "round {round}");
        assert_eq!(scim.get(&path).await.body["active"], json!(false));
        s.svc_membership()
            .reactivate_member(pb::ReactivateMemberRequest {
                request_id: String::new(),
                organization_id: org.clone(),
                identity_id: id.clone(),
            })
            .await
            .expect("reactivate");
    }
    s.stop().await;
}

/// With no other active admin to take over, a SCIM offboarding of the last
/// admin goes ahead (an IdP would retry a refusal forever): the rooms and
/// the organization are left without an admin, LEFT_WITHOUT_ADMIN says
/// which (reason PROVISIONING), and the package's admin, standing in for
/// the organization's admins (M2), repairs it. A group push removing a
/// room's last admin follows the same rule.
async fn scim_offboarding_without_another_admin_goes_ahead(b: Backend) {
    let s = TestServer::start(b).await;
    let (package, steward, steward_token) = s.package_with_admin(pb::Plan::Enterprise, 10).await;
    let admin = s.create_identity("LastAdmin").await;
    let org = s.create_org(&package, &admin).await;
    let bea = s.new_member(&org, "Bea", crate::membership::MEMBER).await;
    let cy = s.new_member(&org, "Cy", crate::membership::MEMBER).await;
    let room = s.create_room(&org, &admin).await;
    s.add_room_member(&room, &bea, pb::RoomRole::Member).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);

    let off = scim
        .send(
            "PATCH",
            &format!("/Users/{admin}"),
            json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]}),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["active"], json!(false));
    assert!(!allowed(&s, &org, &admin).await);
    let left = |events: &[roster::domain::Event], who: &str| -> Vec<(String, String)> {
        events
            .iter()
            .find(|e| {
                e.event_type == roster::domain::EventType::LeftWithoutAdmin
                    && e.identity_id.as_deref() == Some(who)
                    && e.reason == "PROVISIONING"
            })
            .map(|e| e.attributes.clone())
            .unwrap_or_default()
    };
    let attrs = left(&s.org_events(&org).await, &admin);
    assert!(
        attrs.contains(&("room_ids".to_owned(), room.clone())),
        "{attrs:?}"
    );
    assert!(
        attrs.contains(&("room_count".to_owned(), "1".to_owned())),
        "{attrs:?}"
    );
    assert!(
        attrs.contains(&("organization_without_admin".to_owned(), "true".to_owned())),
        "{attrs:?}"
    );
    // Nobody was made room admin: the room has no active admin now.
    let rows = room_members(&s, &room).await;
    assert!(
        rows.contains(&(admin.clone(), pb::RoomRole::Admin as i32))
            && rows.contains(&(bea.clone(), pb::RoomRole::Member as i32)),
        "{rows:?}"
    );

    // A group push taking the last room admin out of a room, with no
    // active organization admin left: goes ahead too.
    let room2 = s.create_room(&org, &cy).await;
    let pushed = scim
        .send(
            "PATCH",
            &format!("/Groups/{room2}"),
            json!({"schemas": [PATCH], "Operations": [
                {"op": "remove", "path": format!("members[value eq \"{cy}\"]")}]}),
        )
        .await;
    assert_eq!(pushed.status, 200, "{}", pushed.body);
    assert!(room_members(&s, &room2).await.is_empty());
    let attrs = left(&s.org_events(&org).await, &cy);
    assert!(
        attrs.contains(&("room_ids".to_owned(), room2.clone())),
        "{attrs:?}"
    );
    assert!(
        attrs.contains(&("organization_without_admin".to_owned(), "false".to_owned())),
        "{attrs:?}"
    );

    // The package's admin stands in (M2) and appoints a new admin.
    s.membership(Some(&steward_token))
        .update_member_role(pb::UpdateMemberRoleRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            identity_id: bea.clone(),
            role: pb::MemberRole::Admin as i32,
        })
        .await
        .expect("the package admin repairs the organization");
    let _ = steward;
    // The removal of the deactivated last admin needs nobody now.
    let gone = scim.raw("DELETE", &format!("/Users/{admin}"), None).await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    s.stop().await;
}

/// CreateScimToken with the service key and include_sub_organizations.
async fn subtree_token(s: &TestServer, org: &str) -> String {
    s.svc_membership()
        .create_scim_token(pb::CreateScimTokenRequest {
            organization_id: org.to_owned(),
            include_sub_organizations: true,
            description: "IdP for the subtree".to_owned(),
        })
        .await
        .expect("create SCIM token")
        .into_inner()
        .token
}

/// `include_sub_organizations`: such a token acts on the Users and Groups
/// of the organizations below its own too. One User per membership: in a
/// sub-organization its `id` is `IDENTITY.org_…`, and the Roster
/// extension names the organization; POST goes to the token's own
/// organization unless the extension names one of the subtree. Without
/// the flag the sub-organization does not exist for the token, and a
/// sub-organization's token never reaches its parent (A3).
async fn scim_include_sub_organizations(b: Backend) {
    const EXT: &str = "urn:roster:params:scim:schemas:extension:2.0:Organization";
    let s = TestServer::start(b).await;
    let (org, admin, _) = org(&s, 20).await;
    let sub_admin = s.create_identity("SubAdmin").await;
    let sub = s.create_sub_org(&org, &sub_admin).await;
    let xena = s.new_member(&sub, "Xena", crate::membership::MEMBER).await;
    let sub_room = s.create_room(&sub, &sub_admin).await;
    s.add_room_member(&sub_room, &xena, pb::RoomRole::Member)
        .await;
    let composite = format!("{xena}.{sub}");
    let (_, plain_token) = scim_token(&s, &org).await;
    let plain = Scim::new(&s, &plain_token);
    let wide = Scim::new(&s, &subtree_token(&s, &org).await);

    // Without the flag: nothing of the sub-organization.
    for path in [
        format!("/Users/{xena}"),
        format!("/Users/{composite}"),
        format!("/Groups/{sub_room}"),
    ] {
        assert_error(&plain.get(&path).await, 404, None);
        assert_error(&plain.raw("DELETE", &path, None).await, 404, None);
    }
    let off = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    assert_error(
        &plain
            .send("PATCH", &format!("/Users/{composite}"), off.clone())
            .await,
        404,
        None,
    );
    let listed = plain.get("/Users").await;
    assert_eq!(listed.body["totalResults"], json!(1), "{}", listed.body);
    assert_eq!(
        plain.get("/ResourceTypes/User").await.body["schemaExtensions"],
        json!([])
    );
    let foreign = plain
        .send(
            "POST",
            "/Users",
            json!({"userName": "in-sub@example.com", EXT: {"organizationId": sub}}),
        )
        .await;
    assert_error(&foreign, 400, Some("invalidValue"));
    assert!(s.member(&sub, &xena).await.is_some());

    // With it: both organizations, one User per membership.
    let all = wide.get("/Users").await;
    assert_eq!(all.body["totalResults"], json!(3), "{}", all.body);
    let ids: Vec<&str> = all.body["Resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|u| u["id"].as_str())
        .collect();
    assert!(
        ids.contains(&admin.as_str()) && ids.contains(&composite.as_str()),
        "{ids:?}"
    );
    let got = wide.get(&format!("/Users/{composite}")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body[EXT]["organizationId"], json!(sub));
    assert!(
        got.body["schemas"]
            .as_array()
            .is_some_and(|s| s.contains(&json!(EXT))),
        "{}",
        got.body
    );
    assert_eq!(
        wide.get(&format!("/Users/{admin}")).await.body[EXT]["organizationId"],
        json!(org)
    );
    // Xena is no member of the parent: the plain ID is no User.
    assert_error(&wide.get(&format!("/Users/{xena}")).await, 404, None);
    let by_id = wide
        .get(&format!("/Users?filter=id%20eq%20%22{composite}%22"))
        .await;
    assert_eq!(by_id.body["totalResults"], json!(1), "{}", by_id.body);
    assert_eq!(
        wide.get("/ResourceTypes/User").await.body["schemaExtensions"][0]["schema"],
        json!(EXT)
    );
    let paused = wide
        .send("PATCH", &format!("/Users/{composite}"), off.clone())
        .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(paused.body["id"], json!(composite));
    assert!(!allowed(&s, &sub, &xena).await);
    let group = wide.get(&format!("/Groups/{sub_room}")).await;
    assert_eq!(group.status, 200, "{}", group.body);
    assert_eq!(group.body[EXT]["organizationId"], json!(sub));
    assert!(
        group.body["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["value"] == json!(composite))),
        "{}",
        group.body
    );
    // A User of the parent is no member for a room of the sub-organization.
    let wrong = wide
        .send(
            "PATCH",
            &format!("/Groups/{sub_room}"),
            json!({"schemas": [PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": admin}]}]}),
        )
        .await;
    assert_error(&wrong, 400, Some("invalidValue"));
    // POST: the token's own organization, or the one the extension names.
    let own = wide
        .send("POST", "/Users", user_body("own@example.com", "ext-own"))
        .await;
    assert_eq!(own.status, 201, "{}", own.body);
    assert_eq!(own.body[EXT]["organizationId"], json!(org));
    let mut body = user_body("sub@example.com", "ext-sub");
    body[EXT] = json!({"organizationId": sub});
    let in_sub = wide.send("POST", "/Users", body).await;
    assert_eq!(in_sub.status, 201, "{}", in_sub.body);
    let new_id = in_sub.body["id"].as_str().expect("id").to_owned();
    assert!(new_id.ends_with(&format!(".{sub}")), "{new_id}");
    let identity = new_id.split('.').next().expect("identity").to_owned();
    assert!(s.member(&sub, &identity).await.is_some());
    assert!(s.member(&org, &identity).await.is_none());
    let (other, _, _) = self::org(&s, 5).await;
    let mut body = user_body("elsewhere@example.com", "ext-else");
    body[EXT] = json!({"organizationId": other});
    assert_error(
        &wide.send("POST", "/Users", body).await,
        400,
        Some("invalidValue"),
    );
    let gone = wide
        .raw("DELETE", &format!("/Users/{composite}"), None)
        .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert!(s.member(&sub, &xena).await.is_none());

    // The sub-organization's own token, even with the flag, never reaches
    // the parent.
    let below = Scim::new(&s, &subtree_token(&s, &sub).await);
    assert_error(&below.get(&format!("/Users/{admin}")).await, 404, None);
    assert_error(
        &below.get(&format!("/Users/{admin}.{org}")).await,
        404,
        None,
    );
    let mine = below.get("/Users").await;
    assert!(
        mine.body["Resources"]
            .as_array()
            .is_some_and(|r| r.iter().all(|u| u[EXT]["organizationId"] == json!(sub))),
        "{}",
        mine.body
    );
    s.stop().await;
}

/// O3 for SCIM: every request is counted and timed by HTTP method,
/// resource type and status (`roster_scim_requests_total`,
/// `roster_scim_request_duration_seconds`), refusals included.
async fn scim_requests_are_counted_in_metrics(b: Backend) {
    let s = TestServer::start(b).await;
    let (org, _, _) = org(&s, 5).await;
    let (_, token) = scim_token(&s, &org).await;
    let scim = Scim::new(&s, &token);
    assert_eq!(scim.get("/Users").await.status, 200);
    assert_eq!(scim.get("/Users").await.status, 200);
    assert_eq!(
        scim.send("POST", "/Users", user_body("met@example.com", "ext-met"))
            .await
            .status,
        201
    );
    assert_eq!(scim.get("/Groups/room_zzzzzzzzzzzzzzzz").await.status, 404);
    assert_eq!(scim.get("/ServiceProviderConfig").await.status, 200);
    assert_eq!(Scim::new(&s, "rst_wrong").get("/Users").await.status, 401);
    assert_eq!(scim.get("/Nothing").await.status, 404);

    let text = s.scrape().await;
    for line in [
        r#"roster_scim_requests_total{method="GET",resource="User",status="200"} 2"#,
        r#"roster_scim_requests_total{method="POST",resource="User",status="201"} 1"#,
        r#"roster_scim_requests_total{method="GET",resource="Group",status="404"} 1"#,
        r#"roster_scim_requests_total{method="GET",resource="ServiceProviderConfig",status="200"} 1"#,
        r#"roster_scim_requests_total{method="GET",resource="User",status="401"} 1"#,
        r#"roster_scim_requests_total{method="GET",resource="unknown",status="404"} 1"#,
        r#"roster_scim_request_duration_seconds_count{method="POST",resource="User",status="201"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
    }
    s.stop().await;
}

db_tests!(
    scim_requests_are_counted_in_metrics,
    scim_include_sub_organizations,
    scim_offboarding_without_another_admin_goes_ahead,
    scim_patch_reads_the_user_inside_its_write,
    scim_remove_active_resets_to_the_default,
    scim_group_members_are_what_the_idp_pushed,
    scim_group_push,
    scim_discovery_needs_a_token_and_answers_scim_json,
    scim_tokens_are_created_listed_and_revoked_over_grpc,
    scim_token_of_a_plain_member_is_refused,
    scim_okta_sequence,
    scim_entra_sequence,
    scim_offboarding_hands_rooms_to_org_admins,
    scim_seats_run_out_with_a_clear_error,
    scim_tokens_act_only_in_their_organization,
    scim_malformed_and_hostile_bodies_are_400s,
    scim_filters_outside_eq_and_are_invalid_filter,
);
