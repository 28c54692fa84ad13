//! A real server for tests (this crate's, the SDK's, the CLI's): bound to
//! 127.0.0.1:0 and stopped when the handle is dropped.

use tokio::sync::oneshot;

use crate::AppState;

pub struct RunningServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    _stop: oneshot::Sender<()>,
}

/// Serves `state` on a fresh port until the returned handle is dropped.
pub async fn start(state: AppState) -> RunningServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a test port");
    let base = format!("http://{}", listener.local_addr().expect("bound address"));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(crate::serve(listener, crate::app(state), async {
        let _ = stopped.await;
    }));
    RunningServer { base, _stop: stop }
}
