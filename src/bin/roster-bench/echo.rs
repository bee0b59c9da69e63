//! The baseline: a bare tonic unary echo service (`bench/echo.proto`),
//! served by this same binary in a child process (`--serve-echo`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use roster::bench_pb::echo_service_client::EchoServiceClient;
use roster::bench_pb::echo_service_server::{EchoService, EchoServiceServer};
use roster::bench_pb::{EchoRequest, EchoResponse};
use tonic::transport::Channel;

use crate::CONNECTIONS;
use crate::load::drive;
use crate::report::Stats;
use crate::server::{Server, channels, free_addr, pinned};

#[derive(Default)]
struct Echo;

#[tonic::async_trait]
impl EchoService for Echo {
    async fn echo(
        &self,
        request: tonic::Request<EchoRequest>,
    ) -> Result<tonic::Response<EchoResponse>, tonic::Status> {
        Ok(tonic::Response::new(EchoResponse {
            message: request.into_inner().message,
        }))
    }
}

/// Serves the echo service on `addr` until killed (the child process).
pub async fn serve_echo(addr: SocketAddr) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tonic::transport::Server::builder()
        .add_service(EchoServiceServer::new(Echo))
        .serve_with_incoming(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
        )
        .await?;
    Ok(())
}

/// The echo server, kept running so each hot-path scenario can be compared
/// with an echo run taken right before it (this machine's speed drifts
/// over minutes; a single baseline at the start would skew the ratios).
pub struct EchoBaseline {
    _server: Server,
    clients: Arc<Vec<EchoServiceClient<Channel>>>,
}

impl EchoBaseline {
    pub async fn start() -> Result<Self> {
        let server = start_echo().await?;
        let chans = channels(server.addr).await?;
        let clients = Arc::new(
            chans
                .iter()
                .map(|c| EchoServiceClient::new(c.clone()))
                .collect(),
        );
        Ok(EchoBaseline {
            _server: server,
            clients,
        })
    }

    pub async fn measure(&self, in_flight: usize, duration: Duration) -> Result<Stats> {
        let clients = self.clients.clone();
        drive(in_flight, duration, move |w, _| {
            let mut c = clients[w % CONNECTIONS].clone();
            async move {
                c.echo(EchoRequest {
                    message: "ping".into(),
                })
                .await?;
                Ok(())
            }
        })
        .await
    }
}

async fn start_echo() -> Result<Server> {
    let addr = free_addr()?;
    let child = pinned(std::env::current_exe()?)
        .arg("--serve-echo")
        .arg(addr.to_string())
        .kill_on_drop(true)
        .spawn()
        .context("starting the echo server")?;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(Server { child, addr });
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("echo server did not start")
}
