//! The real binary as Lambda runs it: started against a Runtime API on 127.0.0.1, handed real
//! API Gateway events, answering with proxy responses.

use serde_json::{Value, json};

use crate::support::binary::{binary_path, command_for, forward_lines};
use crate::support::payloads::{Kind, event};
use crate::support::runtime_api::{Outcome, RuntimeApi};

pub struct Function {
    pub api: RuntimeApi,
    child: std::process::Child,
    log: std::sync::mpsc::Receiver<String>,
}

impl Function {
    pub fn log(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(extra: &[(&str, &str)]) -> Function {
    start_program(&binary_path(), extra).await
}

/// Starts `program` as Lambda would, against a fresh Runtime API endpoint.
pub async fn start_program(program: &std::path::Path, extra: &[(&str, &str)]) -> Function {
    let api = RuntimeApi::start().await;
    let env = api.lambda_env();
    let mut envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    envs.extend_from_slice(extra);
    let mut child = command_for(program, &envs)
        .spawn()
        .expect("the binary starts");
    let log = forward_lines(child.stderr.take().unwrap());
    Function { api, child, log }
}

pub async fn invoke(function: &Function, payload: Value) -> Value {
    match function.api.invoke(payload).await {
        Some(Outcome::Response(response)) => response,
        Some(Outcome::Error(error)) => panic!("the function reported an error: {error}"),
        None => panic!(
            "no answer within 10 s; the function logged:\n{}",
            function.log()
        ),
    }
}

pub fn body(response: &Value) -> Value {
    assert_eq!(response["isBase64Encoded"], json!(false), "{response}");
    serde_json::from_str(response["body"].as_str().expect("a text body")).expect("a JSON body")
}

#[tokio::test]
async fn rest_api_events_on_a_stage_get_proxy_responses() {
    let function = start(&[]).await;
    assert!(
        function
            .api
            .first_poll(std::time::Duration::from_secs(10))
            .await
            .is_some(),
        "the runtime asked for an event"
    );

    let health = invoke(&function, event(Kind::RestV1, "GET", "/health", &[], "")).await;
    assert_eq!(health["statusCode"], 200, "{health}");
    assert_eq!(
        health["multiValueHeaders"]["content-type"],
        json!(["application/health+json"]),
        "{health}"
    );
    assert_eq!(body(&health)["status"], "pass");

    let events = invoke(
        &function,
        event(Kind::RestV1, "GET", "/events", &[("limit", "2")], ""),
    )
    .await;
    assert_eq!(events["statusCode"], 200, "{events}");
    assert_eq!(body(&events)["events"].as_array().unwrap().len(), 2);

    let bad = invoke(
        &function,
        event(Kind::RestV1, "GET", "/events", &[("limit", "abc")], ""),
    )
    .await;
    assert_eq!(bad["statusCode"], 400, "{bad}");
    assert_eq!(body(&bad)["error"]["code"], "invalid_parameter");

    let missing = invoke(&function, event(Kind::RestV1, "GET", "/nope", &[], "")).await;
    assert_eq!(missing["statusCode"], 404);
    assert!(function.api.init_error().is_none());

    // Under Lambda, logs are JSON lines carrying the Lambda and API Gateway request ids.
    let log = function.log();
    let health_line = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|entry| entry["message"] == "request" && entry["path"] == "/health")
        .unwrap_or_else(|| panic!("a JSON request line for /health in:\n{log}"));
    assert_eq!(health_line["request_id"], "req-1", "{health_line}");
    assert_eq!(
        health_line["apigw_request_id"],
        "3f1c2a9e-5b7d-4e2f-9a61-0c8d7e6f5a4b"
    );
    assert_eq!(health_line["status"], 200);

    // Who recorded an event is in the log: the event's line and the request's line.
    let arn = "arn:aws:sts::123456789012:assumed-role/deployer/ci";
    let mut post = event(Kind::RestV1, "POST", "/events", &[], "");
    post["body"] = json!(r#"{"sha":"abcdef1","action":"deploy","engineer":"ci"}"#);
    post["requestContext"]["identity"]["userArn"] = json!(arn);
    post["headers"]["content-type"] = json!("application/json");
    let recorded = invoke(&function, post).await;
    assert_eq!(recorded["statusCode"], 201, "{recorded}");
    let log = function.log();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect();
    let recorded_line = lines
        .iter()
        .find(|entry| entry["message"] == "event recorded")
        .unwrap_or_else(|| panic!("an 'event recorded' line in:\n{log}"));
    assert_eq!(recorded_line["recorded_by"], arn, "{recorded_line}");
    let request_line = lines
        .iter()
        .find(|entry| entry["message"] == "request" && entry["method"] == "POST")
        .unwrap_or_else(|| panic!("a request line for the POST in:\n{log}"));
    assert_eq!(request_line["caller"], arn, "{request_line}");

    // A webhook's delivery id is on its request line, beside API Gateway's request id (the
    // access log has no request headers): a delivery GitHub lists is found in the log.
    let mut delivery = event(Kind::RestV1, "POST", "/webhooks/github", &[], "{}");
    delivery["headers"]["x-github-delivery"] = json!("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    let answer = invoke(&function, delivery).await;
    assert_eq!(
        body(&answer)["error"]["code"],
        "webhook_not_configured",
        "{answer}"
    );
    let log = function.log();
    let webhook_line = (log.lines())
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|entry| entry["message"] == "request" && entry["path"] == "/webhooks/github")
        .unwrap_or_else(|| panic!("a request line for the webhook in:\n{log}"));
    assert_eq!(
        webhook_line["delivery"],
        "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    );
    assert!(
        webhook_line["apigw_request_id"].is_string(),
        "{webhook_line}"
    );
}

#[tokio::test]
async fn http_api_and_function_url_events_get_responses() {
    let function = start(&[]).await;
    for kind in [Kind::HttpV2, Kind::FunctionUrl] {
        let response = invoke(
            &function,
            event(kind, "GET", "/engineers/ada.berg/events", &[], ""),
        )
        .await;
        assert_eq!(response["statusCode"], 200, "{kind:?}: {response}");
        let events = body(&response)["events"].as_array().unwrap().clone();
        assert!(!events.is_empty(), "{kind:?}");
        assert!(
            events.iter().all(|e| e["engineer"] == "ada.berg"),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn ignore_stage_variable_set_still_routes() {
    // lambda_http skips the stage prefix when the variable is set to anything, even "false".
    let function = start(&[("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "false")]).await;
    for kind in [Kind::RestV1, Kind::HttpV2] {
        let response = invoke(&function, event(kind, "GET", "/health", &[], "")).await;
        assert_eq!(response["statusCode"], 200, "{kind:?}: {response}");
    }
}

#[tokio::test]
async fn a_bad_configuration_stops_start_up_before_polling() {
    let mut function = start(&[("METADATA_CACHE_TTL_SECONDS", "soon")]).await;
    let polled = function
        .api
        .first_poll(std::time::Duration::from_secs(3))
        .await;
    assert!(
        polled.is_none(),
        "a misconfigured function must not take events"
    );
    // It stopped for that reason: a failure exit, and a JSON log line naming the variable.
    let status = crate::support::binary::wait_with_timeout(
        &mut function.child,
        std::time::Duration::from_secs(10),
    )
    .expect("the function exits");
    assert_eq!(status.code(), Some(1), "{status:?}");
    let log = function.log();
    let line = log
        .lines()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .unwrap_or_else(|| panic!("no JSON log line: {log}"));
    assert_eq!(line["level"], "ERROR", "{line}");
    let message = line["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("METADATA_CACHE_TTL_SECONDS=\"soon\" is invalid"),
        "{message}"
    );
}
