//! Shutdown (O1, issue 12): on SIGTERM health turns NOT_SERVING before the
//! drain, for the configured delay, and the process then exits cleanly.

use std::time::Duration;

use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::harness::Backend;
use crate::migrations::{fresh_database, roster, serving_addr};

async fn o1_sigterm_turns_health_not_serving_before_the_drain(b: Backend) {
    let (url, _dir) = fresh_database(b).await;
    let mut child = roster(&url)
        .args(["serve", "--shutdown-delay", "2s"])
        .spawn()
        .expect("spawn serve");
    let addr = serving_addr(&mut child).await.expect("serving");
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut health = HealthClient::new(channel);
    let mut watch = health
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let first = watch.next().await.expect("first status").expect("ok");
    assert_eq!(first.status, ServingStatus::Serving as i32);

    let pid = child.id().expect("pid");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());

    let next = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("a status change within the delay")
        .expect("stream open")
        .expect("ok");
    assert_eq!(next.status, ServingStatus::NotServing as i32);
    // An open Watch is an in-flight call the drain would wait for.
    drop(watch);
    // Still answering during the delay, and saying it is going away.
    let trials = 5;
    let mut not_serving = 0;
    for service in [
        "",
        "roster.v1.IdentityService",
        "roster.v1.EventService",
        "",
        "",
    ]
    .iter()
    .take(trials)
    {
        let status = health
            .check(HealthCheckRequest {
                service: (*service).to_owned(),
            })
            .await
            .expect("health answers during the delay")
            .into_inner()
            .status;
        if status == ServingStatus::NotServing as i32 {
            not_serving += 1;
        }
    }
    assert_eq!(not_serving, trials);
    let exit = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits after the drain")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
}

crate::db_tests!(o1_sigterm_turns_health_not_serving_before_the_drain);
