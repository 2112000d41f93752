//! The Lambda path in-process: real API Gateway and function URL payloads, parsed by
//! `lambda_http::request::from_str`, through the same adaptor `main` hands to lambda_http.

use http_body_util::BodyExt;
use lambda_http::request::from_str;
use pipeline_events_api::lambda;
use pipeline_events_api::write_access::WriteAccess;
use serde_json::Value;
use tower::ServiceExt;

use crate::support::TestApp;
use crate::support::payloads::{ALL, Kind, event};

async fn call(
    kind: Kind,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    raw: &str,
) -> (u16, Value) {
    let payload = event(kind, method, path, query, raw).to_string();
    let request = from_str(&payload).expect("lambda_http parses the payload");
    let service = lambda::service(TestApp::fixture().router);
    let response = service.oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).expect("a JSON body")
    };
    (status, json)
}

#[tokio::test]
async fn every_route_answers_on_a_named_stage_as_locally() {
    let routes = [
        ("/", 200),
        ("/health", 200),
        ("/metadata", 200),
        ("/events", 200),
        ("/engineers", 200),
        ("/engineers/bob/events", 200),
        ("/summaries/daily", 200),
        ("/nope", 404),
    ];
    for kind in ALL {
        for (path, status) in routes {
            let (got, body) = call(kind, "GET", path, &[], "").await;
            assert_eq!(got, status, "{kind:?} {path}: {body}");
            let local = TestApp::fixture().get(path).await;
            assert_eq!(body, local.json(), "{kind:?} {path} answers as locally");
        }
    }
}

#[tokio::test]
async fn query_parameters_arrive_through_every_integration() {
    for kind in ALL {
        let (status, body) = call(
            kind,
            "GET",
            "/events",
            &[("engineer", "bob"), ("from", "2017-11-01T00:00:00+00:00")],
            "engineer=bob&from=2017-11-01T00%3A00%3A00%2B00%3A00",
        )
        .await;
        assert_eq!(status, 200, "{kind:?}: {body}");
        let ids: Vec<u64> = body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, [7, 8], "{kind:?}");

        let (status, body) = call(kind, "GET", "/events", &[("limit", "0")], "limit=0").await;
        assert_eq!(status, 400, "{kind:?}");
        assert_eq!(body["error"]["code"], "invalid_parameter");
    }
}

#[tokio::test]
async fn wrong_method_through_lambda_is_405() {
    for kind in ALL {
        let (status, body) = call(kind, "DELETE", "/events", &[], "").await;
        assert_eq!(status, 405, "{kind:?}");
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }
}

/// `POST /events` through API Gateway: recorded only when the request context names the IAM
/// caller that API Gateway verified the signature of.
#[tokio::test]
async fn posts_through_the_gateway_need_an_iam_caller() {
    const CALLER: &str = "arn:aws:sts::123456789012:assumed-role/pipeline-events-api-dev-deploy/ci";
    let body = r#"{"sha":"abcdef1","action":"deploy","engineer":"ci"}"#;
    for kind in ALL {
        for caller in [None, Some(CALLER)] {
            let mut payload = crate::support::payloads::event(kind, "POST", "/events", &[], "");
            payload["body"] = serde_json::json!(body);
            payload["headers"]["content-type"] = serde_json::json!("application/json");
            if let Some(arn) = caller {
                match kind {
                    Kind::RestV1 => {
                        payload["requestContext"]["identity"]["userArn"] = serde_json::json!(arn)
                    }
                    Kind::HttpV2 | Kind::FunctionUrl => {
                        payload["requestContext"]["authorizer"] = serde_json::json!({"iam": {"userArn": arn, "accountId": "123456789012"}})
                    }
                }
            }
            let request = from_str(&payload.to_string()).expect("lambda_http parses the payload");
            let app = TestApp::fixture();
            let state = app.state.clone().with_write_access(WriteAccess::Iam);
            let service = lambda::service(pipeline_events_api::app::router(state));
            let response = service.oneshot(request).await.expect("infallible");
            let status = response.status().as_u16();
            let json: Value =
                serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes())
                    .unwrap();
            match caller {
                None => {
                    assert_eq!(status, 403, "{kind:?}: {json}");
                    assert_eq!(json["error"]["code"], "writes_forbidden");
                }
                Some(_) => {
                    assert_eq!(status, 201, "{kind:?}: {json}");
                    assert_eq!(json["id"], 9);
                }
            }
        }
    }
}
