use serde_json::json;

use crate::support::{Backend, TestApp};

#[tokio::test]
async fn health_reports_pass_version_and_event_count() {
    let response = TestApp::fixture().get("/health").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/health+json")
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(
        response.json(),
        json!({
            "status": "pass",
            "version": env!("CARGO_PKG_VERSION"),
            "checks": {
                "events:store": [{ "status": "pass", "componentType": "datastore", "observedValue": "memory" }],
                "events:count": [{ "status": "pass", "observedValue": 8 }]
            }
        })
    );
}

#[tokio::test]
async fn health_names_the_dynamodb_table_and_calls_nothing() {
    let app = TestApp::with_records_on(crate::support::fixture_records(), Backend::DynamoDb);
    let (response, requests) = app.requests_for("/health").await;
    assert_eq!(requests, 0);
    let table = app.dynamodb().unwrap().table().to_owned();
    assert_eq!(
        response.json(),
        json!({
            "status": "pass",
            "version": env!("CARGO_PKG_VERSION"),
            "checks": {
                "events:store": [{ "status": "pass", "componentType": "datastore", "observedValue": format!("dynamodb:{table}") }]
            }
        })
    );
}

#[tokio::test]
async fn health_counts_the_built_in_dataset() {
    let response = TestApp::sample().get("/health").await;
    let count = response.json()["checks"]["events:count"][0]["observedValue"]
        .as_u64()
        .unwrap();
    assert!(count > 1000, "the sample has {count} events");
}
