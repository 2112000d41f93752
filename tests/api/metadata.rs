//! `/metadata` without SSM: what the binary was built from. The SSM source is in metadata_ssm.rs.

use serde_json::json;

use crate::support::TestApp;

#[tokio::test]
async fn metadata_defaults_to_build_time_values() {
    let response = TestApp::fixture().get("/metadata").await;
    assert_eq!(response.status, 200);
    let body = response.json();
    let entry = &body["myapplication"][0];
    assert_eq!(body["myapplication"].as_array().unwrap().len(), 1);
    assert_eq!(entry["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(entry["description"], "test description");
    let sha = entry["lastcommitsha"].as_str().unwrap();
    assert!(
        sha == "unknown" || (sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())),
        "lastcommitsha is a commit or 'unknown': {sha}"
    );
    assert_eq!(entry.as_object().unwrap().len(), 3, "{entry}");
}

#[tokio::test]
async fn build_time_sha_is_the_checked_out_commit() {
    // Inside a git checkout (as in CI), the binary knows the commit it was built from.
    let Ok(out) = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
    else {
        panic!("git is needed to check the build-time commit");
    };
    let head = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let expected = match std::env::var("BUILD_COMMIT_SHA") {
        Ok(sha) if !sha.is_empty() => sha,
        _ if out.status.success() => head,
        _ => "unknown".to_owned(),
    };
    let body = TestApp::fixture().get("/metadata").await.json();
    assert_eq!(
        body,
        json!({"myapplication": [{
            "version": env!("CARGO_PKG_VERSION"),
            "description": "test description",
            "lastcommitsha": expected,
        }]})
    );
}
