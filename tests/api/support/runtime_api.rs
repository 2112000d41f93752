//! A Lambda Runtime API endpoint on 127.0.0.1: the documented calls a runtime makes
//! (`invocation/next`, `invocation/{id}/response`, `invocation/{id}/error`, `init/error`),
//! so the real binary can be run as Lambda runs it and handed real API Gateway events.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// What the runtime answered for one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

/// Where an invocation's answer goes, with how long it took.
type Waiting = HashMap<String, oneshot::Sender<(Outcome, Duration)>>;

#[derive(Clone)]
struct Shared {
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>>,
    waiting: Arc<Mutex<Waiting>>,
    /// When each invocation was handed to the runtime.
    handed: Arc<Mutex<HashMap<String, Instant>>>,
    first_poll: Arc<Mutex<Option<Instant>>>,
    first_poll_signal: Arc<tokio::sync::Notify>,
    init_error: Arc<Mutex<Option<Value>>>,
}

pub struct RuntimeApi {
    pub address: SocketAddr,
    sender: mpsc::UnboundedSender<(String, Value)>,
    shared: Shared,
    next_id: std::sync::atomic::AtomicU64,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        let shared = Shared {
            queue: Arc::new(tokio::sync::Mutex::new(receiver)),
            waiting: Arc::default(),
            handed: Arc::default(),
            first_poll: Arc::default(),
            first_poll_signal: Arc::default(),
            init_error: Arc::default(),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            address,
            sender,
            shared,
            next_id: 1.into(),
        }
    }

    /// The environment Lambda gives a function, pointed at this endpoint.
    pub fn lambda_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_LAMBDA_RUNTIME_API", self.address.to_string()),
            (
                "AWS_LAMBDA_FUNCTION_NAME",
                "pipeline-events-api-test".into(),
            ),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/pipeline-events-api-test".into(),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/24/[$LATEST]test".into(),
            ),
            ("AWS_REGION", "eu-west-1".into()),
        ]
    }

    /// When the runtime first asked for an event: the end of its init phase.
    pub async fn first_poll(&self, timeout: Duration) -> Option<Instant> {
        let notified = self.shared.first_poll_signal.notified();
        if let Some(at) = *self.shared.first_poll.lock().unwrap() {
            return Some(at);
        }
        tokio::time::timeout(timeout, notified).await.ok()?;
        *self.shared.first_poll.lock().unwrap()
    }

    pub fn init_error(&self) -> Option<Value> {
        self.shared.init_error.lock().unwrap().clone()
    }

    /// Hands `event` to the runtime and waits (10 s at most) for its answer.
    pub async fn invoke(&self, event: Value) -> Option<Outcome> {
        self.invoke_timed(event).await.map(|(outcome, _)| outcome)
    }

    /// Like `invoke`, with the time from handing the event out (the `next` response) to the
    /// runtime posting its answer: what Lambda reports as the invocation's duration.
    pub async fn invoke_timed(&self, event: Value) -> Option<(Outcome, Duration)> {
        let id = format!(
            "req-{}",
            self.next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let (done, outcome) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), done);
        self.sender.send((id, event)).expect("the endpoint runs");
        tokio::time::timeout(Duration::from_secs(10), outcome)
            .await
            .ok()?
            .ok()
    }
}

async fn next(State(shared): State<Shared>) -> impl IntoResponse {
    {
        let mut first = shared.first_poll.lock().unwrap();
        if first.is_none() {
            *first = Some(Instant::now());
            shared.first_poll_signal.notify_waiters();
        }
    }
    let (id, event) = shared
        .queue
        .lock()
        .await
        .recv()
        .await
        .expect("the sender lives as long as the test");
    shared
        .handed
        .lock()
        .unwrap()
        .insert(id.clone(), Instant::now());
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).expect("a header value"));
    };
    set("lambda-runtime-aws-request-id", id);
    set(
        "lambda-runtime-deadline-ms",
        deadline.as_millis().to_string(),
    );
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:eu-west-1:123456789012:function:pipeline-events-api-test".into(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".into(),
    );
    (headers, serde_json::to_vec(&event).unwrap())
}

async fn response(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&shared, &id, Outcome::Response(parse(&body)))
}

async fn error(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    finish(&shared, &id, Outcome::Error(parse(&body)))
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap() = Some(parse(&body));
    StatusCode::ACCEPTED
}

fn finish(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    let took = shared
        .handed
        .lock()
        .unwrap()
        .remove(id)
        .map(|handed| handed.elapsed())
        .unwrap_or_default();
    match shared.waiting.lock().unwrap().remove(id) {
        Some(done) => {
            let _ = done.send((outcome, took));
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}
