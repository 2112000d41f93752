//! The Router in-process, driven with `tower::ServiceExt::oneshot`.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use pipeline_events_api::app::router;
use pipeline_events_api::config::Secret;
use pipeline_events_api::events::{RawEvent, Services};
use pipeline_events_api::metadata::MetadataSource;
use pipeline_events_api::startup::SAMPLE_EVENTS;
use pipeline_events_api::state::AppState;
use pipeline_events_api::store::Store;
use pipeline_events_api::store::dynamodb::DynamoDbStore;
use pipeline_events_api::store::dynamodb::import::import;
use pipeline_events_api::store::dynamodb::table::create_table;
use pipeline_events_api::store::memory::MemoryStore;
use pipeline_events_api::webhooks::Webhooks;

use super::moto::{Moto, patient_dynamodb_config};
use serde_json::Value;
use tower::ServiceExt;

/// Every path the Router serves to GET, with its parameters filled in as the fixture store
/// answers them with 200 (the webhooks' paths take only POST).
pub fn routes() -> Vec<String> {
    let mut paths: Vec<String> = pipeline_events_api::app::error_answers()
        .into_iter()
        .filter(|(_, method, _)| *method == "get")
        .map(|(path, _, _)| {
            (path.replace("{id}", "1").replace("{engineer}", "bob"))
                .replace("{metric}", "deployment_frequency")
        })
        .collect();
    paths.dedup();
    paths
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
}

/// Which store a test's app is built on: tests written once take it as their argument and run
/// on each store through `each_store!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    /// A table of its own on the shared moto_server, filled by the real import.
    DynamoDb,
}

/// Each named `async fn test(backend: Backend)`, once per store, in modules `memory` and
/// `dynamodb`.
#[macro_export]
macro_rules! each_store {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::support::Backend::Memory).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::support::Backend::DynamoDb).await
                }
            )*
        }
    };
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// A small store whose every figure the tests can check by hand. Records are given out of
/// order on purpose: the store sorts them.
///
/// 2017-10-30: 1 alice stage 09:00, 2 alice deploy 09:30, 3 bob stage 10:00, 4 carol stage 23:59:59
/// 2017-10-31: nothing
/// 2017-11-01: 5 carol deploy 00:00, 6 alice stage 12:00, 7 bob deploy 12:00, 8 bob rollback 13:00
pub fn fixture_records() -> Vec<RawEvent> {
    const OCT_30: i64 = 1_509_321_600;
    const NOV_1: i64 = 1_509_494_400;
    let record = |id, date, action: &str, engineer: &str, sha: &str| RawEvent {
        id,
        sha: sha.to_owned(),
        date,
        action: action.to_owned(),
        engineer: engineer.to_owned(),
        service: None,
    };
    vec![
        record(7, NOV_1 + 12 * 3600, "deploy", "bob", "bbbb001"),
        record(1, OCT_30 + 9 * 3600, "stage", "alice", "aaaa001"),
        record(3, OCT_30 + 10 * 3600, "stage", "bob", "bbbb001"),
        record(2, OCT_30 + 9 * 3600 + 1800, "deploy", "alice", "aaaa001"),
        record(4, OCT_30 + 86_399, "stage", "carol", "cccc001"),
        record(6, NOV_1 + 12 * 3600, "stage", "alice", "aaaa002"),
        record(5, NOV_1, "deploy", "carol", "cccc001"),
        record(8, NOV_1 + 13 * 3600, "rollback", "bob", "bbbb001"),
    ]
}

impl TestApp {
    pub fn new(store: Services, metadata: MetadataSource) -> Self {
        let memory = MemoryStore::new(store, None, Default::default());
        Self::on(Store::Memory(memory), metadata)
    }

    pub fn on(store: Store, metadata: MetadataSource) -> Self {
        let state = AppState::new(store, metadata);
        Self {
            router: router(state.clone()),
            state,
        }
    }

    /// `records` in the `backend`'s store.
    pub fn with_records_on(records: Vec<RawEvent>, backend: Backend) -> Self {
        let metadata = MetadataSource::build_time("test description".into());
        match backend {
            Backend::Memory => Self::new(
                Services::from_records(records, "default").expect("valid records"),
                metadata,
            ),
            Backend::DynamoDb => {
                Self::on(Store::DynamoDb(Box::new(dynamodb_table(records))), metadata)
            }
        }
    }

    /// This app, with events that name no service recorded as `service`'s.
    pub fn with_default_service(self, service: &str) -> Self {
        let state = self.state.with_default_service(service.to_owned());
        Self {
            router: router(state.clone()),
            state,
        }
    }

    /// This app, taking GitHub's webhook signed with one of `secrets` (the current first).
    pub fn with_github_secrets(self, secrets: &[&str]) -> Self {
        let webhooks = Webhooks {
            github_secrets: secrets.iter().map(|s| Secret((*s).to_owned())).collect(),
            ..Webhooks::default()
        };
        let state = self.state.with_webhooks(webhooks);
        Self {
            router: router(state.clone()),
            state,
        }
    }

    /// This app, its webhooks' secrets read from `secrets`.
    pub fn with_webhook_secrets(
        self,
        secrets: pipeline_events_api::webhooks::secrets::WebhookSecrets,
    ) -> Self {
        let state = self.state.with_webhook_secrets(secrets);
        Self {
            router: router(state.clone()),
            state,
        }
    }

    /// This app, taking GitLab's webhook with one of `tokens` (the current first).
    pub fn with_gitlab_tokens(self, tokens: &[&str]) -> Self {
        let webhooks = Webhooks {
            gitlab_tokens: tokens.iter().map(|t| Secret((*t).to_owned())).collect(),
            ..(*self.state.webhooks).clone()
        };
        let state = self.state.with_webhooks(webhooks);
        Self {
            router: router(state.clone()),
            state,
        }
    }

    /// `POST path` with `body` and these headers (a webhook's delivery).
    pub async fn post(&self, path: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> TestResponse {
        let mut request = Request::builder().method(Method::POST).uri(path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body)).expect("a valid request"))
            .await
    }

    /// The DynamoDB store, if the app reads one.
    pub fn dynamodb(&self) -> Option<&DynamoDbStore> {
        match &*self.state.store {
            Store::DynamoDb(store) => Some(store),
            Store::Memory(_) => None,
        }
    }

    /// Requests sent to DynamoDB while `request` ran (0 on the memory store).
    pub async fn requests_for(&self, uri: &str) -> (TestResponse, u64) {
        let before = self.dynamodb().map_or(0, DynamoDbStore::requests);
        let response = self.get(uri).await;
        let after = self.dynamodb().map_or(0, DynamoDbStore::requests);
        (response, after - before)
    }

    /// The hand-checked fixture store, in memory.
    pub fn fixture() -> Self {
        Self::fixture_on(Backend::Memory)
    }

    pub fn fixture_on(backend: Backend) -> Self {
        Self::with_records_on(fixture_records(), backend)
    }

    /// The built-in sample dataset, as `make run` serves it, in memory.
    pub fn sample() -> Self {
        Self::sample_on(Backend::Memory)
    }

    pub fn sample_on(backend: Backend) -> Self {
        let store =
            Services::load_slice(SAMPLE_EVENTS, "sample", "default").expect("the sample loads");
        match backend {
            Backend::Memory => {
                Self::new(store, MetadataSource::build_time("test description".into()))
            }
            Backend::DynamoDb => Self::with_records_on(
                store.iter().map(|e| RawEvent::from(&e)).collect(),
                Backend::DynamoDb,
            ),
        }
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.request(Method::GET, uri).await
    }

    pub async fn request(&self, method: Method, uri: &str) -> TestResponse {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .expect("a valid request");
        self.send(request).await
    }

    /// `POST /events` with a JSON body and these extra headers.
    pub async fn post_event(&self, body: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/events")
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(
            request
                .body(Body::from(body.to_owned()))
                .expect("a valid request"),
        )
        .await
    }

    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let (parts, body) = response.into_parts();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.expect("a body").to_bytes().to_vec(),
        }
    }
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a JSON error with this status and code, and returns its message.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "body: {body}");
        let message = body["error"]["message"]
            .as_str()
            .expect("a message")
            .to_owned();
        assert!(!message.is_empty());
        assert_eq!(
            body.as_object().map(|o| o.len()),
            Some(1),
            "only `error`: {body}"
        );
        message
    }

    /// The ids of an event list, in order.
    pub fn ids(&self) -> Vec<u64> {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()["events"]
            .as_array()
            .expect("an events array")
            .iter()
            .map(|e| e["id"].as_u64().expect("an id"))
            .collect()
    }
}

/// One current-thread runtime for tests that drive the Router from a synchronous loop
/// (proptest's runner), shared by the whole test process.
pub fn blocking_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// A new table on the shared moto, created and filled by the service's own create-table and
/// import code. Set up on a thread of its own, so that a test's runtime need not be async here.
pub fn dynamodb_table(records: Vec<RawEvent>) -> DynamoDbStore {
    use std::sync::atomic::{AtomicU32, Ordering};
    static TABLES: AtomicU32 = AtomicU32::new(0);
    let table = format!(
        "test-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::Relaxed)
    );
    let endpoint = Moto::shared().endpoint();
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async {
                    let setup =
                        DynamoDbStore::new(table.clone(), Some(patient_dynamodb_config(&endpoint)));
                    create_table(setup.client().await, &table)
                        .await
                        .expect("create-table on moto");
                    let events = Services::from_records(records, "default").expect("valid records");
                    import(&setup, &events, |_| {})
                        .await
                        .expect("import into moto");
                })
            })
            .join()
            .expect("table set-up")
    });
    DynamoDbStore::new(table, Some(patient_dynamodb_config(&endpoint)))
        .with_budget(std::time::Duration::from_secs(120))
}
