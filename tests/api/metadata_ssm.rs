//! `/metadata` from SSM Parameter Store: the real aws-sdk-ssm client against moto_server.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pipeline_events_api::events::Services;
use pipeline_events_api::metadata::{MetadataSource, SsmMetadata};
use serde_json::json;

use crate::support::binary::{LocalServer, http_get};
use crate::support::moto::{Moto, REGION, client_for};
use crate::support::{TestApp, fixture_records};

const PREFIX: &str = "/pipeline-events-api/test";

fn app_with(client: aws_sdk_ssm::Client, ttl: Duration) -> TestApp {
    let source = SsmMetadata::new(PREFIX.into(), "from ssm".into(), ttl, Some(client));
    TestApp::new(
        Services::from_records(fixture_records(), "default").unwrap(),
        MetadataSource::Ssm(Box::new(source)),
    )
}

async fn put_both(moto: &Moto, version: &str, sha: &str) {
    moto.put(&format!("{PREFIX}/version"), version).await;
    moto.put(&format!("{PREFIX}/commit_sha"), sha).await;
}

/// Accepts connections and never answers: an SSM endpoint that hangs.
fn hanging_endpoint() -> String {
    hanging_endpoint_counting().0
}

/// A hanging endpoint, and how many connections it has accepted so far.
fn hanging_endpoint_counting() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (format!("http://{address}"), accepted)
}

#[tokio::test]
async fn reads_version_and_commit_sha_from_ssm() {
    let moto = Moto::start();
    put_both(&moto, "1.4.2", "0123456789abcdef0123456789abcdef01234567").await;
    let app = app_with(moto.client(), Duration::from_secs(300));
    let response = app.get("/metadata").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json(),
        json!({"myapplication": [{
            "version": "1.4.2",
            "description": "from ssm",
            "lastcommitsha": "0123456789abcdef0123456789abcdef01234567"
        }]})
    );
}

#[tokio::test]
async fn values_are_cached_for_the_ttl() {
    let moto = Moto::start();
    put_both(&moto, "1.0.0", "aaa").await;
    let cached = app_with(moto.client(), Duration::from_secs(300));
    let uncached = app_with(moto.client(), Duration::ZERO);
    assert_eq!(
        cached.get("/metadata").await.json()["myapplication"][0]["version"],
        "1.0.0"
    );
    assert_eq!(
        uncached.get("/metadata").await.json()["myapplication"][0]["version"],
        "1.0.0"
    );
    put_both(&moto, "2.0.0", "bbb").await;
    assert_eq!(
        cached.get("/metadata").await.json()["myapplication"][0]["version"],
        "1.0.0"
    );
    assert_eq!(
        uncached.get("/metadata").await.json()["myapplication"][0]["version"],
        "2.0.0"
    );
}

#[tokio::test]
async fn a_missing_parameter_is_503_saying_what_is_missing_but_not_where() {
    let moto = Moto::start();
    moto.put(&format!("{PREFIX}/version"), "1.0.0").await;
    let response = app_with(moto.client(), Duration::from_secs(300))
        .get("/metadata")
        .await;
    let message = response.assert_error(503, "metadata_unavailable");
    assert!(message.contains("commit SHA"), "{message}");
    assert!(!message.contains("version"), "{message}");
    // The parameter's path is internal: the log has it, the client does not.
    assert!(
        !message.contains(PREFIX) && !message.contains("SSM"),
        "{message}"
    );
    assert_eq!(response.header("retry-after"), Some("5"));
}

#[tokio::test]
async fn a_stopped_ssm_serves_the_stale_value() {
    let mut moto = Moto::start();
    put_both(&moto, "3.1.0", "ccc").await;
    let app = app_with(moto.client(), Duration::ZERO);
    assert_eq!(app.get("/metadata").await.status, 200);
    moto.stop();
    let started = Instant::now();
    let response = app.get("/metadata").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["myapplication"][0]["version"], "3.1.0");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn no_ssm_and_nothing_cached_is_503() {
    let endpoint = format!("http://127.0.0.1:{}", crate::support::moto::free_port());
    let app = app_with(client_for(&endpoint), Duration::from_secs(300));
    let response = app.get("/metadata").await;
    let message = response.assert_error(503, "metadata_unavailable");
    assert!(
        !message.contains("127.0.0.1"),
        "no endpoint in the message: {message}"
    );
}

#[tokio::test]
async fn a_hanging_ssm_still_answers_within_3_seconds() {
    let app = app_with(client_for(&hanging_endpoint()), Duration::from_secs(300));
    let started = Instant::now();
    let response = app.get("/metadata").await;
    let elapsed = started.elapsed();
    response.assert_error(503, "metadata_unavailable");
    assert!(
        elapsed < Duration::from_secs(3),
        "answered after {elapsed:?}"
    );
    // Nothing else waits on SSM.
    for path in ["/health", "/events", "/engineers", "/summaries/daily"] {
        assert_eq!(app.get(path).await.status, 200, "{path}");
    }
}

#[tokio::test]
async fn the_binary_reads_ssm_through_the_standard_aws_environment() {
    let moto = Moto::start();
    put_both(&moto, "9.9.9", "fedcba9876543210fedcba9876543210fedcba98").await;
    let (_server, status, body) = binary_metadata(&moto.endpoint()).await;
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"myapplication": [{
            "version": "9.9.9",
            "description": "deployed by tests",
            "lastcommitsha": "fedcba9876543210fedcba9876543210fedcba98"
        }]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_with_nothing_cached_share_one_fetch_and_its_failure() {
    let (endpoint, accepted) = hanging_endpoint_counting();
    let app = Arc::new(app_with(client_for(&endpoint), Duration::from_secs(300)));
    let started = Instant::now();
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                let response = app.get("/metadata").await;
                (response, started.elapsed())
            })
        })
        .collect();
    for request in requests {
        let (response, elapsed) = request.await.unwrap();
        response.assert_error(503, "metadata_unavailable");
        assert!(
            elapsed < Duration::from_secs(3),
            "answered after {elapsed:?}"
        );
    }
    // One fetch (the SDK's two attempts at most), not one per waiter.
    let connections = accepted.load(Ordering::SeqCst);
    assert!((1..=2).contains(&connections), "{connections} connections");

    // Within the backoff the failure is the answer: no new fetch.
    app.get("/metadata")
        .await
        .assert_error(503, "metadata_unavailable");
    assert_eq!(accepted.load(Ordering::SeqCst), connections);
}

#[tokio::test]
async fn the_fetch_budget_alone_bounds_a_request() {
    // A client with no timeouts of its own: only the budget can end the wait.
    let client = aws_sdk_ssm::Client::from_conf(
        client_for(&hanging_endpoint())
            .config()
            .to_builder()
            .timeout_config(aws_sdk_ssm::config::timeout::TimeoutConfig::disabled())
            .build(),
    );
    let source = SsmMetadata::new(
        PREFIX.into(),
        "d".into(),
        Duration::from_secs(300),
        Some(client),
    )
    .with_budget(Duration::from_millis(300));
    let app = TestApp::new(
        Services::from_records(fixture_records(), "default").unwrap(),
        MetadataSource::Ssm(Box::new(source)),
    );
    let response = tokio::time::timeout(Duration::from_secs(10), app.get("/metadata"))
        .await
        .expect("the budget ends the wait");
    let message = response.assert_error(503, "metadata_unavailable");
    assert!(message.contains("300 ms"), "{message}");
}

#[tokio::test]
async fn the_binary_speaks_https_to_ssm() {
    // An HTTPS endpoint that refuses the TLS handshake: the binary's own client (rustls on
    // ring) gets as far as the handshake and answers 503, not a panic or a 500.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            use std::io::Write;
            let mut stream = stream;
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\nnot TLS");
        }
    });
    let (server, status, body) = binary_metadata(&endpoint).await;
    assert_eq!(status, 503, "{body}");
    let log: Vec<String> = server.log_lines.try_iter().collect();
    assert!(
        log.iter().any(|line| line.contains("GetParameters failed")),
        "{log:?}"
    );
    assert!(!log.iter().any(|line| line.contains("panicked")), "{log:?}");
}

/// The binary as a local server reading SSM at `endpoint` through the standard AWS environment,
/// and its answer to `GET /metadata`.
async fn binary_metadata(endpoint: &str) -> (LocalServer, u16, String) {
    let server = LocalServer::start(&[
        ("SSM_PARAMETER_PREFIX", PREFIX),
        ("APP_DESCRIPTION", "deployed by tests"),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]);
    let address = server.address;
    let (status, _, body) = tokio::task::spawn_blocking(move || http_get(address, "/metadata"))
        .await
        .unwrap();
    (server, status, body)
}
