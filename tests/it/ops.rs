//! Running the service (O1): health and reflection are on, for every
//! service, in both reflection protocol versions; migrations are
//! idempotent.

use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::{Backend, TestServer};

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

async fn o1_reflection_lists_the_services_in_v1_and_v1alpha(b: Backend) {
    let s = TestServer::start(b).await;
    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut client = ServerReflectionClient::new(s.channel());
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection v1")
            .into_inner();
        let response = stream.next().await.expect("a response").expect("ok");
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
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

async fn o1_migrations_apply_once_and_are_idempotent(b: Backend) {
    let s = TestServer::start(b).await;
    let config = roster::config::Config::with_database(s.database_url.clone());
    // The server applied them at start; applying again changes nothing.
    roster::open_store(&config, s.clock.clone())
        .await
        .expect("migrate again");
    s.create_identity("Still").await;
}

crate::db_tests!(
    o1_health_reports_serving_for_every_service,
    o1_reflection_lists_the_services_in_v1_and_v1alpha,
    o1_migrations_apply_once_and_are_idempotent,
);
