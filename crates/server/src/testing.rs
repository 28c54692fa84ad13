//! A real server for tests (this crate's, the SDK's, the CLI's): bound to
//! 127.0.0.1:0 and stopped when the handle is dropped.

use tokio::sync::oneshot;

use crate::{AppState, ConnectionLimits};

pub struct RunningServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    _stop: oneshot::Sender<()>,
}

/// Serves `state` on a fresh port until the returned handle is dropped.
pub async fn start(state: AppState) -> RunningServer {
    start_with(state, ConnectionLimits::default()).await
}

/// As [`start`], within the given connection limits.
pub async fn start_with(state: AppState, limits: ConnectionLimits) -> RunningServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a test port");
    let base = format!("http://{}", listener.local_addr().expect("bound address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    tokio::spawn(crate::serve_with(listener, crate::app(state), shutdown, limits));
    RunningServer { base, _stop: stop }
}

/// Valid records as a TimeBack client sends them, shared by every crate's
/// tests. They point at `school-1`, `course-1` and `term-1`.
pub mod fixtures {
    use serde_json::{Value, json};

    pub fn org(id: &str, name: &str) -> Value {
        json!({"sourcedId": id, "name": name, "type": "school", "identifier": format!("ID-{id}")})
    }

    pub fn class(id: &str, title: &str) -> Value {
        json!({"sourcedId": id, "title": title, "course": {"sourcedId": "course-1"},
               "school": {"sourcedId": "school-1"}, "terms": [{"sourcedId": "term-1"}]})
    }

    /// A student with a boolean `enabledUser`, as TimeBack clients send it.
    pub fn user(id: &str, given: &str, family: &str) -> Value {
        json!({
            "sourcedId": id,
            "enabledUser": true,
            "givenName": given,
            "familyName": family,
            "email": format!("{id}@example.org"),
            "roles": [{"roleType": "primary", "role": "student", "org": {"sourcedId": "school-1"}}],
        })
    }

    pub fn enrollment(id: &str, user: &str, class: &str) -> Value {
        json!({"sourcedId": id, "user": {"sourcedId": user}, "class": {"sourcedId": class},
               "school": {"sourcedId": "school-1"}, "role": "student"})
    }
}
