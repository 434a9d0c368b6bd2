//! The metrics endpoint's driver: an HTTP/1 server (axum) serving `GET /metrics` on the
//! configured address, started, moved and stopped as the configuration changes.
//!
//! A scrape runs the collectors on a blocking thread (the DHCP collector waits for the DHCP
//! engine's answer), so no engine ever waits for a scrape, and a scrape never blocks the
//! runtime's workers.

use std::net::SocketAddrV4;
use std::sync::{Arc, Weak};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::collect;
use super::text::CONTENT_TYPE;
use crate::device::{Device, StartError};
use crate::features::{Config, Network};

/// Start the endpoint's task on a started device (it listens once `metrics enable` is
/// configured).
pub fn start_on_device(
    device: &Arc<Device>,
    rt: &Handle,
    _net: &Network<'_>,
) -> Result<(), StartError> {
    device.spawn(
        rt,
        run(
            Arc::downgrade(device),
            device.config.subscribe(),
            device.span(),
        ),
    );
    Ok(())
}

/// Aborts the server's task when dropped (the engine's task is aborted by `Device::stop`;
/// the server it started must go with it).
struct Serving {
    address: SocketAddrV4,
    task: JoinHandle<()>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Follow the configuration: listen where it says while it is enabled. A bind failure (the
/// address is not this device's, the port is taken) is logged; the next configuration change
/// tries again.
async fn run(device: Weak<Device>, mut config: watch::Receiver<Arc<Config>>, span: tracing::Span) {
    let mut serving: Option<Serving> = None;
    loop {
        let want = {
            let c = config.borrow_and_update();
            c.metrics
                .enabled
                .then(|| SocketAddrV4::new(c.metrics.address, c.metrics.port))
        };
        if want != serving.as_ref().map(|s| s.address) {
            // Close the old listener before binding the new one (same port, other address).
            serving = None;
            if let Some(address) = want {
                serving = listen(address, device.clone(), span.clone()).await;
            }
        }
        if config.changed().await.is_err() {
            return;
        }
    }
}

async fn listen(
    address: SocketAddrV4,
    device: Weak<Device>,
    span: tracing::Span,
) -> Option<Serving> {
    let listener = match TcpListener::bind(address).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(
                module = "METRICS",
                severity = 3u8,
                mnemonic = "METRICS_LISTEN_FAILED",
                "The metrics endpoint cannot listen on {address}: {e}"
            );
            return None;
        }
    };
    tracing::info!(
        module = "METRICS",
        severity = 6u8,
        mnemonic = "METRICS_LISTEN",
        "The metrics endpoint listens on http://{address}/metrics."
    );
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(device);
    let task = tokio::spawn(
        async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("metrics endpoint on {address}: {e}");
            }
        }
        .instrument(span),
    );
    Some(Serving { address, task })
}

async fn scrape(State(device): State<Weak<Device>>) -> impl IntoResponse {
    let text = tokio::task::spawn_blocking(move || device.upgrade().map(|d| collect::scrape(&d)))
        .await
        .ok()
        .flatten();
    match text {
        Some(text) => (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], text),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "the device is stopping\n".to_string(),
        ),
    }
}
