//! The binary as `make run` starts it: a plain HTTP server, over real TCP.

use crate::support::binary::{LocalServer, http_get, run_to_exit};
use crate::support::temp::TempDir;

#[test]
fn serves_every_route_over_tcp() {
    let server = LocalServer::start(&[]);
    assert!(server.address.ip().is_loopback());
    for (path, status, content_type) in [
        ("/", 200, "application/json"),
        ("/health", 200, "application/health+json"),
        ("/metadata", 200, "application/json"),
        ("/events?limit=2", 200, "application/json"),
        ("/engineers", 200, "application/json"),
        (
            "/summaries/daily?from=2017-10-02&to=2017-10-08",
            200,
            "application/json",
        ),
        ("/events?limit=0", 400, "application/json"),
        ("/nope", 404, "application/json"),
    ] {
        let (got, headers, body) = http_get(server.address, path);
        assert_eq!(got, status, "{path}: {body}");
        let header = headers
            .iter()
            .find(|(name, _)| name == "content-type")
            .map(|(_, v)| v.as_str());
        assert_eq!(header, Some(content_type), "{path}");
        serde_json::from_str::<serde_json::Value>(&body)
            .unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
    }
    assert!(server.terminate().success(), "SIGTERM shuts down cleanly");
}

#[test]
fn logs_one_json_line_per_request() {
    let server = LocalServer::start(&[]);
    http_get(server.address, "/events?limit=1");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let line = server
            .log_lines
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("a request log line");
        let entry: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
        if entry["message"] == "request" {
            assert_eq!(entry["method"], "GET");
            assert_eq!(entry["path"], "/events");
            assert_eq!(entry["status"], 200);
            assert!(entry["latency_us"].is_u64(), "{entry}");
            break;
        }
    }
}

#[test]
fn serves_an_events_file() {
    let dir = TempDir::new("events-file");
    let file = dir.path().join("events.json");
    std::fs::write(
        &file,
        r#"[{"id":1,"sha":"abcdef0","date":1509321600,"action":"deploy","engineer":"zoe"}]"#,
    )
    .unwrap();
    let server = LocalServer::start(&[("EVENTS_FILE", file.to_str().unwrap())]);
    let (status, _, body) = http_get(server.address, "/engineers");
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"engineers":[{"name":"zoe","events":1,"first_event":"2017-10-30T00:00:00Z","last_event":"2017-10-30T00:00:00Z"}]}"#
    );
}

#[test]
fn bad_configuration_stops_start_up_naming_the_variable() {
    for (name, value) in [
        ("BIND_ADDR", "not-an-address"),
        ("LOG_FORMAT", "xml"),
        ("SSM_PARAMETER_PREFIX", "relative/path"),
        ("METADATA_CACHE_TTL_SECONDS", "-5"),
        // A misspelt level: tracing would read it as a target and log nothing at all.
        ("LOG_LEVEL", "warning"),
    ] {
        let (status, log) = run_to_exit(&[(name, value)]);
        assert!(!status.success(), "{name}={value} must stop start-up");
        assert!(
            log.contains(name) && log.contains("expected"),
            "{name}: {log}"
        );
    }
}

#[test]
fn a_bad_events_file_stops_start_up_naming_file_and_record() {
    let dir = TempDir::new("bad-events");
    let file = dir.path().join("broken.jsonl");
    std::fs::write(
        &file,
        "{\"id\":1,\"sha\":\"abcdef0\",\"date\":1,\"action\":\"stage\",\"engineer\":\"x\"}\n{\"id\":2,\"sha\":\"abcdef1\"}\n",
    )
    .unwrap();
    let (status, log) = run_to_exit(&[("EVENTS_FILE", file.to_str().unwrap())]);
    assert!(!status.success());
    assert!(
        log.contains("broken.jsonl: line 2: field 'date' is missing"),
        "{log}"
    );

    // An action the service would refuse on POST is refused in the file too.
    std::fs::write(
        &file,
        "{\"id\":1,\"sha\":\"abcdef0\",\"date\":1,\"action\":\"deploy-1234\",\"engineer\":\"x\"}\n",
    )
    .unwrap();
    let (status, log) = run_to_exit(&[("EVENTS_FILE", file.to_str().unwrap())]);
    assert!(!status.success());
    assert!(
        log.contains("action 'deploy-1234' (event id 1") && log.contains("ALLOWED_ACTIONS"),
        "{log}"
    );

    let (status, log) = run_to_exit(&[("EVENTS_FILE", "/nonexistent/events.json")]);
    assert!(!status.success());
    assert!(
        log.contains("/nonexistent/events.json") && log.contains("cannot open"),
        "{log}"
    );
}

#[test]
fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    use std::io::{Read, Write};
    let server = LocalServer::start(&[]);
    let mut stream = std::net::TcpStream::connect(server.address).unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    // Past the server's 10 s header timeout, with room to spare; a server without one would
    // keep the connection open and this read would time out instead.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut answer = Vec::new();
    let outcome = stream.read_to_end(&mut answer);
    assert!(
        !matches!(&outcome, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "still open: {outcome:?}"
    );
}

#[test]
fn a_body_that_does_not_arrive_gets_a_json_408_after_10_s() {
    use std::io::{Read, Write};
    let server = LocalServer::start(&[]);
    let mut stream = std::net::TcpStream::connect(server.address).unwrap();
    // 500 bytes announced, 7 sent.
    stream
        .write_all(
            b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 500\r\n\r\n{\"sha\":",
        )
        .unwrap();
    let started = std::time::Instant::now();
    // Past the server's 10 s, with room to spare; without a bound, this read times out.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let mut answer = Vec::new();
    let outcome = stream.read_to_end(&mut answer);
    assert!(outcome.is_ok(), "still open: {outcome:?}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(9));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("content-type: application/json"),
        "{answer}"
    );
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
}

#[test]
fn an_overlong_uri_gets_a_json_414() {
    let server = LocalServer::start(&[]);
    let path = format!("/events?from={}", "x".repeat(10_000));
    let (status, headers, body) = http_get(server.address, &path);
    assert_eq!(status, 414, "{body}");
    assert!(
        headers
            .iter()
            .any(|(name, value)| name == "content-type" && value == "application/json"),
        "{headers:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "uri_too_long");
    // Past 64 KiB the HTTP library refuses the request line itself, before the Router: still a
    // 414, with an empty body (README: "Errors").
    let path = format!("/events?from={}", "x".repeat(100_000));
    let (status, _, _) = http_get(server.address, &path);
    assert_eq!(status, 414);
}

#[test]
fn log_level_directives_filter_by_target() {
    // Everything at info, except the request lines (target pipeline_events_api::telemetry).
    let server = LocalServer::start(&[("LOG_LEVEL", "info,pipeline_events_api::telemetry=off")]);
    http_get(server.address, "/health");
    let lines = server.terminate_and_read_log();
    let messages: Vec<String> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(
        messages.iter().any(|m| m == "shutting down"),
        "{messages:?}"
    );
    assert!(!messages.iter().any(|m| m == "request"), "{messages:?}");
}
