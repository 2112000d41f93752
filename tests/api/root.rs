use axum::http::Method;
use serde_json::json;

use crate::support::{TestApp, routes};

#[tokio::test]
async fn root_says_hello() {
    let response = TestApp::fixture().get("/").await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.json(), json!({ "message": "Hello, World!" }));
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = TestApp::fixture();
    for path in &routes() {
        let response = app.request(Method::HEAD, path).await;
        assert_eq!(response.status, 200, "HEAD {path}");
        assert!(response.body.is_empty(), "HEAD {path} has no body");
    }
}
