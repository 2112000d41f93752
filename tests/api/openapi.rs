//! `GET /openapi.json`: the committed description is the generated one, and it describes exactly
//! the Router's paths, methods and query parameters.

use std::collections::BTreeSet;

use axum::http::Method;
use pipeline_events_api::app;
use pipeline_events_api::openapi::openapi_json;
use pipeline_events_api::routes::params::{DEFAULT_LIMIT, MAX_LIMIT};
use serde_json::Value;

use crate::support::TestApp;

const METHODS: [Method; 6] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

fn committed() -> Value {
    serde_json::from_str(include_str!("../../docs/openapi.json")).unwrap()
}

#[test]
fn the_committed_description_is_the_generated_one() {
    let generated = openapi_json();
    let committed = include_str!("../../docs/openapi.json");
    assert!(
        generated == committed,
        "docs/openapi.json is stale: run `make openapi` and commit it"
    );
}

#[tokio::test]
async fn openapi_json_serves_the_committed_description() {
    let response = TestApp::fixture().get("/openapi.json").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.json(), committed());
    assert_eq!(response.json()["openapi"], "3.1.0");
    TestApp::fixture()
        .get("/openapi.json?pretty=1")
        .await
        .assert_error(400, "unknown_parameter");
}

/// A path with its parameters filled in, as the fixture store answers it.
fn concrete(path: &str) -> String {
    path.replace("{id}", "1").replace("{engineer}", "bob")
}

#[tokio::test]
async fn the_router_and_the_description_have_the_same_paths_and_methods() {
    let description = committed();
    let described: BTreeSet<&str> = description["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let routed: BTreeSet<&str> = app::routes().iter().map(|(path, _)| *path).collect();
    assert_eq!(routed, described, "Router paths vs described paths");

    let app = TestApp::fixture();
    for path in described {
        let uri = concrete(path);
        for method in METHODS {
            let name = method.as_str().to_ascii_lowercase();
            let is_described = description["paths"][path].get(&name).is_some();
            let response = app.request(method.clone(), &uri).await;
            let is_routed = response.status != 405;
            assert_eq!(
                is_routed, is_described,
                "{method} {path}: routed {is_routed}, described {is_described} ({})",
                response.status
            );
        }
    }
}

#[test]
fn each_operation_describes_the_query_parameters_its_handler_reads() {
    let description = committed();
    let handlers: [(&str, &str, &[&str]); 17] = [
        ("/", "get", &[]),
        ("/health", "get", &[]),
        ("/metadata", "get", &[]),
        (
            "/events",
            "get",
            &[
                "from", "to", "service", "engineer", "action", "limit", "cursor",
            ],
        ),
        ("/events", "post", &[]),
        ("/events/{id}", "get", &[]),
        ("/engineers", "get", &["service"]),
        ("/services", "get", &["limit", "cursor"]),
        (
            "/engineers/{engineer}/events",
            "get",
            &["from", "to", "service", "action", "limit", "cursor"],
        ),
        ("/summaries/daily", "get", &["from", "to", "service"]),
        (
            "/metrics/delivery",
            "get",
            &["from", "to", "service", "bucket", "benchmark"],
        ),
        (
            "/badges/{metric}",
            "get",
            &["from", "to", "service", "benchmark"],
        ),
        ("/dashboard", "get", &["service", "from", "to", "benchmark"]),
        ("/openapi.json", "get", &[]),
        ("/docs", "get", &[]),
        ("/webhooks/github", "post", &[]),
        ("/webhooks/gitlab", "post", &[]),
    ];
    let operations: usize = description["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, handlers.len(), "every operation is listed here");
    for (path, method, reads) in handlers {
        let described: Vec<&str> = description["paths"][path][method]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|parameter| parameter["in"] == "query")
            .map(|parameter| parameter["name"].as_str().unwrap())
            .collect();
        assert_eq!(described, reads, "{method} {path}");
    }
}

#[test]
fn limits_are_described_as_the_routes_apply_them() {
    let description = committed();
    let limit = description["paths"]["/events"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["maximum"], MAX_LIMIT);
    assert_eq!(limit["schema"]["default"], DEFAULT_LIMIT);
    assert_eq!(limit["schema"]["minimum"], 1);
}

#[test]
fn every_error_status_lists_codes_and_an_example_of_each() {
    let description = committed();
    for (path, item) in description["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                if !status.starts_with('4') && !status.starts_with('5') {
                    continue;
                }
                let content = &response["content"]["application/json"];
                let codes = content["schema"]["properties"]["error"]["properties"]["code"]["enum"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{method} {path} {status} lists its codes"));
                for code in codes {
                    let example = &content["examples"][code.as_str().unwrap()]["value"];
                    assert_eq!(example["error"]["code"], *code, "{method} {path} {status}");
                }
            }
            assert!(
                operation["responses"]["414"].is_object(),
                "{method} {path} answers 414 for long URIs"
            );
        }
    }
}

#[test]
fn the_old_name_of_the_recovery_time_is_described_as_deprecated() {
    let figures = &committed()["components"]["schemas"]["DeliveryFigures"]["properties"];
    assert_eq!(figures["time_to_restore"]["deprecated"], true);
    assert_eq!(
        figures["time_to_restore"]["$ref"],
        figures["failed_deployment_recovery_time"]["$ref"]
    );
    assert!(
        figures["failed_deployment_recovery_time"]
            .get("deprecated")
            .is_none()
    );
}
