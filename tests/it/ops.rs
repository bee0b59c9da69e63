//! Running the service (O1): health and reflection are on, for every
//! service, in both reflection protocol versions; migrations are
//! idempotent and carry data across schema changes. Metrics (O3).

use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use roster::pb;

use crate::db;
use crate::harness::{Backend, TestServer, sample};

const SERVICES: [&str; 4] = [
    "roster.v1.IdentityService",
    "roster.v1.LicenseService",
    "roster.v1.MembershipService",
    "roster.v1.EventService",
];

async fn o1_health_reports_serving_for_every_service(b: Backend) {
    let s = TestServer::start(b).await;
    let mut health = HealthClient::new(s.channel());
    for service in std::iter::once("").chain(SERVICES) {
        let status = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap_or_else(|e| panic!("health of {service:?}: {e}"))
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service}");
    }
}

/// One reflection v1 request and its response.
async fn reflect_v1(
    s: &TestServer,
    request: tonic_reflection::pb::v1::server_reflection_request::MessageRequest,
) -> Option<tonic_reflection::pb::v1::server_reflection_response::MessageResponse> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    };
    let mut stream = ServerReflectionClient::new(s.channel())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection v1")
        .into_inner();
    let response = stream.next().await.expect("a response").expect("ok");
    response.message_response
}

async fn o1_reflection_lists_the_services_in_v1_and_v1alpha(b: Backend) {
    let s = TestServer::start(b).await;
    {
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let response = reflect_v1(&s, MessageRequest::ListServices(String::new())).await;
        let Some(MessageResponse::ListServicesResponse(list)) = response else {
            panic!("unexpected reflection response");
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        for service in SERVICES.iter().chain(&["grpc.health.v1.Health"]) {
            assert!(
                names.iter().any(|n| n == service),
                "{service} missing from {names:?}"
            );
        }
    }
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut client = ServerReflectionClient::new(s.channel());
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection v1alpha")
            .into_inner();
        let response = stream.next().await.expect("a response").expect("ok");
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("unexpected reflection response");
        };
        assert!(
            list.service
                .iter()
                .any(|s| s.name == "roster.v1.IdentityService")
        );
    }
}

/// Error details are resolvable by reflection, so grpcurl can print them.
async fn o1_reflection_serves_the_error_detail_types(b: Backend) {
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let s = TestServer::start(b).await;
    for symbol in ["google.rpc.ErrorInfo", "google.rpc.BadRequest"] {
        match reflect_v1(&s, MessageRequest::FileContainingSymbol(symbol.into())).await {
            Some(MessageResponse::FileDescriptorResponse(files)) => {
                assert!(!files.file_descriptor_proto.is_empty(), "{symbol}")
            }
            other => panic!("{symbol} not served: {other:?}"),
        }
    }
}

/// O3: every call is counted under the grpc-ecosystem names (type,
/// service, method, code as grpc-go spells it) and timed; unknown methods
/// share one label; process, build, pool, feed and stream metrics are
/// there.
async fn o3_metrics_count_calls_by_method_and_code(b: Backend) {
    let s = TestServer::start(b).await;
    s.create_identity("Counted").await;
    let refused = s
        .svc_identity()
        .create_identity(pb::CreateIdentityRequest::default())
        .await;
    assert!(refused.is_err());
    let mut raw = tonic::client::Grpc::new(s.channel());
    raw.ready().await.expect("ready");
    // With a valid bearer: without one, every path but SignIn, health and
    // reflection is refused UNAUTHENTICATED first (A1, deny by default).
    let unknown = raw
        .unary(
            crate::harness::with_bearer((), crate::harness::SERVICE_KEY),
            http::uri::PathAndQuery::from_static("/roster.v1.NoSuchService/Anything"),
            tonic_prost::ProstCodec::<(), ()>::default(),
        )
        .await;
    assert_eq!(unknown.unwrap_err().code(), tonic::Code::Unimplemented);
    // One open WatchEvents stream (its first message says it is live).
    let mut watch = s
        .svc_events()
        .watch_events(pb::WatchEventsRequest {
            filter: Some(pb::EventFilter {
                identity_id: s.create_identity("Watched").await,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    watch.message().await.expect("first message");

    // On PostgreSQL the caches come on once the LISTEN connection is up;
    // the feed applies the last commit a moment after it returns.
    let mut text = s.scrape().await;
    for _ in 0..100 {
        if text.lines().any(|l| l == "roster_caches_enabled 1")
            && text.lines().any(|l| l == "roster_feed_lag_events 0")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        text = s.scrape().await;
    }
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let create = "grpc_type=\"unary\",grpc_service=\"roster.v1.IdentityService\",grpc_method=\"CreateIdentity\"";
    let backend = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    for line in [
        format!("grpc_server_started_total{{{create}}} 3"),
        format!("grpc_server_handled_total{{{create},grpc_code=\"OK\"}} 2"),
        format!("grpc_server_handled_total{{{create},grpc_code=\"InvalidArgument\"}} 1"),
        format!("grpc_server_handled_total{{{create},grpc_code=\"NotFound\"}} 0"),
        "grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"unknown\",grpc_method=\"unknown\",grpc_code=\"Unimplemented\"} 1".to_owned(),
        format!("grpc_server_handling_seconds_count{{{create}}} 3"),
        "grpc_server_started_total{grpc_type=\"server_stream\",grpc_service=\"roster.v1.EventService\",grpc_method=\"WatchEvents\"} 1".to_owned(),
        "roster_caches_enabled 1".to_owned(),
        "roster_watch_streams_open 1".to_owned(),
        "roster_feed_lag_events 0".to_owned(),
        "roster_db_pool_max_connections 5".to_owned(),
        format!(
            "roster_build_info{{version=\"{}\",commit=\"{}\",backend=\"{backend}\"}} 1",
            env!("CARGO_PKG_VERSION"),
            env!("ROSTER_GIT_COMMIT")
        ),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    for prefix in [
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_start_time_seconds ",
        "roster_db_pool_connections{state=\"in_use\"} ",
        "roster_db_pool_connections{state=\"idle\"} ",
        "roster_db_pool_waiting 0",
        "roster_db_transaction_begin_seconds_count ",
        "roster_db_pool_acquire_timeouts_total 0",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(prefix)),
            "missing {prefix:?} in:\n{text}"
        );
    }
    assert!(!text.contains("NoSuchService"));
    // Every series the Grafana dashboard plots is served under that name.
    let dashboard = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/dashboards/roster.json"
    ))
    .expect("dashboard");
    let mut plotted = 0;
    for word in dashboard.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if ["grpc_server_", "roster_", "process_"]
            .iter()
            .any(|p| word.starts_with(p))
            && word.contains('_')
        {
            plotted += 1;
            assert!(
                text.lines()
                    .any(|l| l.starts_with(word) && l[word.len()..].starts_with([' ', '{'])),
                "the dashboard plots {word}, which /metrics does not serve:\n{text}"
            );
        }
    }
    assert!(plotted >= 15, "series found in the dashboard: {plotted}");
    drop(watch);
}

async fn o1_migrations_apply_once_and_are_idempotent(b: Backend) {
    let s = TestServer::start(b).await;
    let config = roster::config::Config::with_database(s.database_url.clone());
    // The server applied them at start; applying again changes nothing.
    roster::open_store(&config, s.clock.clone())
        .await
        .expect("migrate again");
    s.create_identity("Still").await;
}

/// The assignee-tenure migration carries assignees both ways: down puts
/// the current ones back into `assignment_assignees`, up moves them onto
/// the items again, and the API shows the same assignee throughout.
async fn o1_assignee_tenure_migration_keeps_assignees_both_ways(b: Backend) {
    use sea_orm_migration::MigratorTrait;
    let s = TestServer::start(b).await;
    let (package, admin, _) = s.package_with_admin(pb::Plan::Business, 10).await;
    let org = s.create_org(&package, &admin).await;
    let leo = s.new_member(&org, "Leo", pb::MemberRole::Member).await;
    let room = s.create_room(&org, &admin).await;
    s.add_room_member(&room, &leo, pb::RoomRole::Member).await;
    let task = s.create_assignment(&room, &leo, "Carried over").await;
    let listed = |s: &TestServer| {
        let mut c = s.svc_membership();
        let org = org.clone();
        async move {
            c.list_assignments(pb::ListAssignmentsRequest {
                organization_id: org,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .assignments
            .into_iter()
            .map(|a| (a.assignment_id, a.assignee_identity_id))
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(&s).await, vec![(task.clone(), leo.clone())]);

    let conn = roster::store::connect(&s.database_url, 1).await.unwrap();
    // Back to the schema of migration 3, whatever came after 4.
    let after_third = roster::store::migrations::Migrator::migrations().len() as u32 - 3;
    roster::store::migrations::Migrator::down(&conn, Some(after_third))
        .await
        .expect("migrate down to before the tenure migration");
    assert_eq!(
        db::scalar_text(
            &s,
            "SELECT assignee_id FROM assignment_assignees WHERE assignment_id = ?",
            vec![task.clone().into()],
        )
        .await,
        Some(leo.clone())
    );
    roster::store::migrations::Migrator::up(&conn, None)
        .await
        .expect("migrate up again");
    assert_eq!(listed(&s).await, vec![(task, leo.clone())]);
    // Existing members share tenure 0 with their copied assignments, and
    // removal still drops them.
    let removed = s
        .svc_membership()
        .remove_member(pb::RemoveMemberRequest {
            request_id: String::new(),
            organization_id: org.clone(),
            identity_id: leo,
            successor_identity_id: String::new(),
            etag: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(removed.assignments_dropped, 1);
}

/// O3, the pool wait: with two pooled connections (one of them often
/// busy with the event feed), 16 concurrent writes queue for them; every
/// transaction's wait is in the begin-time histogram, the waiting gauge
/// is back to zero afterwards, and none timed out.
async fn o3_writes_waiting_for_a_connection_are_measured(b: Backend) {
    let s = TestServer::start_tuned(b, |c| {
        c.db_max_connections = 2;
        c.db_acquire_timeout = std::time::Duration::from_secs(30);
    })
    .await;
    let before = sample(
        &s.scrape().await,
        "roster_db_transaction_begin_seconds_count",
    );
    let writes: Vec<_> = (0..16)
        .map(|i| {
            let mut client = s.svc_identity();
            async move {
                client
                    .create_identity(pb::CreateIdentityRequest {
                        request_id: String::new(),
                        identity: Some(pb::Identity {
                            display_name: format!("Queued {i}"),
                            ..Default::default()
                        }),
                    })
                    .await
                    .expect("create")
            }
        })
        .collect();
    futures::future::join_all(writes).await;
    let text = s.scrape().await;
    let count = sample(&text, "roster_db_transaction_begin_seconds_count");
    assert!(count - before >= 16.0, "{before} -> {count}");
    assert!(
        sample(&text, "roster_db_transaction_begin_seconds_sum") > 0.0,
        "{text}"
    );
    assert_eq!(sample(&text, "roster_db_pool_waiting"), 0.0);
    assert_eq!(sample(&text, "roster_db_pool_acquire_timeouts_total"), 0.0);
}

crate::db_tests!(
    o3_writes_waiting_for_a_connection_are_measured,
    o1_health_reports_serving_for_every_service,
    o1_reflection_lists_the_services_in_v1_and_v1alpha,
    o1_reflection_serves_the_error_detail_types,
    o1_migrations_apply_once_and_are_idempotent,
    o1_assignee_tenure_migration_keeps_assignees_both_ways,
    o3_metrics_count_calls_by_method_and_code,
);
