//! A tiny HTTP server on `127.0.0.1:0` standing in for User Management's JWKS endpoint (or for
//! an attacker's): it answers every request with the key set it holds (or a set status) and
//! counts the requests, so tests can assert what was, and was not, fetched.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

struct Answer {
    status: u16,
    body: String,
}

struct Shared {
    answer: Mutex<Answer>,
    requests: AtomicUsize,
    paths: Mutex<Vec<String>>,
}

/// The running server; stopped when dropped (or by [`JwksServer::stop`]).
pub struct JwksServer {
    address: String,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl JwksServer {
    /// Starts serving `jwks` (a `{"keys": [...]}` document) with status 200.
    pub async fn start(jwks: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            answer: Mutex::new(Answer {
                status: 200,
                body: jwks.to_string(),
            }),
            requests: AtomicUsize::new(0),
            paths: Mutex::new(Vec::new()),
        });
        let state = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, state.clone()));
            }
        });
        Self {
            address,
            shared,
            task: Some(task),
        }
    }

    /// `http://127.0.0.1:PORT`, to be used as `USER_MANAGEMENT_URL`.
    pub fn url(&self) -> String {
        self.address.clone()
    }

    /// The URL of the key set under [`JwksServer::url`].
    pub fn jwks_url(&self) -> String {
        format!("{}{}", self.address, crm_http::config::JWKS_PATH)
    }

    /// Serves `jwks` with status 200 from now on (key rotation, recovery).
    pub fn set_keys(&self, jwks: Value) {
        *self.shared.answer.lock().unwrap() = Answer {
            status: 200,
            body: jwks.to_string(),
        };
    }

    /// Answers `status` with `body` from now on (an outage, or garbage).
    pub fn answer(&self, status: u16, body: &str) {
        *self.shared.answer.lock().unwrap() = Answer {
            status,
            body: body.to_owned(),
        };
    }

    /// Reads requests but never answers them from now on (a hung User Management).
    pub fn hang(&self) {
        *self.shared.answer.lock().unwrap() = Answer {
            status: 0,
            body: String::new(),
        };
    }

    /// How many requests arrived so far.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The paths requested so far, in order.
    pub fn paths(&self) -> Vec<String> {
        self.shared.paths.lock().unwrap().clone()
    }

    /// Stops listening: connections are refused from now on.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // Awaiting the aborted task drops the listener before we return.
            let _ = task.await;
        }
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut request = Vec::new();
    let mut buf = [0_u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 64 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&request);
    let path = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("")
        .to_owned();
    shared.paths.lock().unwrap().push(path);
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let (status, body) = {
        let answer = shared.answer.lock().unwrap();
        (answer.status, answer.body.clone())
    };
    if status == 0 {
        // Hold the connection open, unanswered, until the client gives up.
        let _ = stream.read(&mut buf).await;
        return;
    }
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}
