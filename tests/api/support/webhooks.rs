//! GitHub's webhook deliveries as the tests send them: GitHub's own example payloads
//! (`@octokit/webhooks-examples`, installed by `make tools`), signed by Python's `hmac`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::TestApp;

/// GitHub's examples of `event`, as `@octokit/webhooks-examples` lists them.
pub fn github_examples(event: &str) -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "tools/webhook-examples/node_modules/@octokit/webhooks-examples/api.github.com/index.json",
    );
    let text = std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error}: GitHub's webhook examples are installed by `make tools` (or `make check`)",
            path.display()
        )
    });
    let webhooks: Vec<Value> = serde_json::from_slice(&text).expect("the examples are JSON");
    let examples = webhooks
        .into_iter()
        .find(|webhook| webhook["name"] == event)
        .unwrap_or_else(|| panic!("no examples of '{event}'"))["examples"]
        .as_array()
        .expect("a list of examples")
        .clone();
    assert!(!examples.is_empty(), "no examples of '{event}'");
    examples
}

/// `X-Hub-Signature-256` for `body` under `secret`, computed by Python's `hmac`.
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/support/sign_webhook.py");
    let mut python = Command::new("python3")
        .arg(script)
        .env("WEBHOOK_SECRET", secret)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    python
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("the body is written");
    let output = python.wait_with_output().expect("python3 signs");
    assert!(output.status.success(), "signing failed");
    String::from_utf8(output.stdout)
        .expect("ASCII")
        .trim()
        .to_owned()
}

/// A recorded event as the tests compare it with a payload: without the id the store gave it.
pub fn without_id(event: &Value) -> Value {
    let mut event = event.clone();
    event.as_object_mut().expect("an event").remove("id");
    event
}

/// How many events the store holds: the fixture's (service `default`) and those of `service`,
/// each one page.
pub async fn count_events(app: &TestApp, service: &str) -> usize {
    let mut count = 0;
    for service in ["default", service] {
        let page = app.get(&format!("/events?service={service}")).await.json();
        assert_eq!(page["next_cursor"], Value::Null, "one page");
        count += page["events"].as_array().expect("a list").len();
    }
    count
}
