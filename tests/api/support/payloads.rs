//! Real API Gateway / function URL payloads (tests/fixtures), re-aimed at a path and query.

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// API Gateway REST API (payload v1), stage `dev`.
    RestV1,
    /// API Gateway HTTP API (payload v2), named stage `dev`: the stage is in `rawPath`.
    HttpV2,
    /// Lambda function URL (payload v2, stage `$default`).
    FunctionUrl,
}

pub const ALL: [Kind; 3] = [Kind::RestV1, Kind::HttpV2, Kind::FunctionUrl];

// Compiled in, so the benchmarks (another package, see benches/lambda.rs) find them too.
const REST_V1: &str = include_str!("../../fixtures/apigw_rest_v1.json");
const HTTP_V2: &str = include_str!("../../fixtures/apigw_http_v2.json");
const FUNCTION_URL: &str = include_str!("../../fixtures/function_url.json");

fn fixture(json: &str) -> Value {
    serde_json::from_str(json).expect("fixture is JSON")
}

/// The payload for `GET path?query` as that kind of integration would send it. `query` holds
/// decoded pairs, as API Gateway gives them to the function; `raw_query` is the v2 raw string.
pub fn event(
    kind: Kind,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    raw_query: &str,
) -> Value {
    match kind {
        Kind::RestV1 => {
            let mut event = fixture(REST_V1);
            event["path"] = json!(path);
            event["httpMethod"] = json!(method);
            event["requestContext"]["httpMethod"] = json!(method);
            event["requestContext"]["path"] = json!(format!("/dev{path}"));
            event["pathParameters"] = json!({ "proxy": path.trim_start_matches('/') });
            if !query.is_empty() {
                let single: serde_json::Map<String, Value> = query
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect();
                let multi: serde_json::Map<String, Value> = query
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!([v])))
                    .collect();
                event["queryStringParameters"] = Value::Object(single);
                event["multiValueQueryStringParameters"] = Value::Object(multi);
            }
            event
        }
        Kind::HttpV2 | Kind::FunctionUrl => {
            let (file, full_path) = match kind {
                Kind::HttpV2 => (HTTP_V2, format!("/dev{path}")),
                _ => (FUNCTION_URL, path.to_owned()),
            };
            let mut event = fixture(file);
            event["rawPath"] = json!(full_path);
            event["requestContext"]["http"]["path"] = json!(full_path);
            event["requestContext"]["http"]["method"] = json!(method);
            event["rawQueryString"] = json!(raw_query);
            if !query.is_empty() {
                let single: serde_json::Map<String, Value> = query
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect();
                event["queryStringParameters"] = Value::Object(single);
            }
            event
        }
    }
}
