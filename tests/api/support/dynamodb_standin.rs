//! A DynamoDB endpoint on 127.0.0.1 that answers as the real service does in the conditions moto
//! cannot produce: throttling, and items left unprocessed by a batch. Each request is handed to
//! a function of its operation (`X-Amz-Target`) and JSON body, which returns a status and body
//! in DynamoDB's JSON protocol.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;

type Answer = dyn Fn(&str, &Value) -> (u16, Value) + Send + Sync;

pub struct StandIn {
    pub address: SocketAddr,
    /// Every request received: operation and body.
    pub requests: Arc<Mutex<Vec<(String, Value)>>>,
}

impl StandIn {
    /// Serves on a thread of its own until the test process ends.
    pub fn start(answer: impl Fn(&str, &Value) -> (u16, Value) + Send + Sync + 'static) -> Self {
        let answer: Arc<Answer> = Arc::new(answer);
        let requests: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let address = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let seen = requests.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let app = Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
                    let answer = answer.clone();
                    let seen = seen.clone();
                    async move {
                        let operation = headers
                            .get("x-amz-target")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.split('.').nth(1))
                            .unwrap_or_default()
                            .to_owned();
                        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        seen.lock().unwrap().push((operation.clone(), body.clone()));
                        let (status, reply) = answer(&operation, &body);
                        (
                            StatusCode::from_u16(status).unwrap(),
                            [("content-type", "application/x-amz-json-1.0")],
                            reply.to_string(),
                        )
                            .into_response()
                    }
                });
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self { address, requests }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The bodies of the requests of one operation, in the order received.
    pub fn bodies(&self, operation: &str) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|(op, _)| op == operation)
            .map(|(_, body)| body.clone())
            .collect()
    }

    pub fn operations(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|(op, _)| op.clone())
            .collect()
    }
}

/// DynamoDB's answer when a table's or index's throughput is exceeded.
pub fn throttled() -> (u16, Value) {
    (
        400,
        serde_json::json!({
            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "message": "The level of configured provisioned throughput for the table was exceeded."
        }),
    )
}
