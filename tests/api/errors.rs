//! The error contract: bad input of every kind gets a 4xx JSON error with a stable code,
//! never a 5xx, and messages that name the parameter without leaking internals.

use axum::http::Method;

use crate::support::{Backend, TestApp, routes};

const CODES: [&str; 9] = [
    "not_found",
    "uri_too_long",
    "method_not_allowed",
    "unknown_parameter",
    "invalid_parameter",
    "invalid_range",
    "invalid_cursor",
    "range_too_large",
    "engineer_not_found",
];

/// (request, expected status, expected code)
fn malformed_requests() -> Vec<(String, u16, &'static str)> {
    // Long, but within the 8 KiB the Router takes (app::MAX_URI_BYTES).
    let long_name = "x".repeat(4_000);
    let too_long = "x".repeat(10_000);
    let forged = "0".repeat(48);
    let mut cases: Vec<(String, u16, &'static str)> = vec![
        // Dates and timestamps that do not parse.
        ("/events?from=yesterday".into(), 400, "invalid_parameter"),
        ("/events?from=2017-13-01".into(), 400, "invalid_parameter"),
        ("/events?from=2017-02-30".into(), 400, "invalid_parameter"),
        (
            "/events?from=2017-10-30T25:00:00Z".into(),
            400,
            "invalid_parameter",
        ),
        (
            "/events?from=2017-10-30T12:00:00".into(),
            400,
            "invalid_parameter",
        ),
        ("/events?to=2017/10/30".into(), 400, "invalid_parameter"),
        ("/events?to=30-10-2017".into(), 400, "invalid_parameter"),
        ("/events?from=1509321600".into(), 400, "invalid_parameter"),
        ("/events?from=".into(), 400, "invalid_parameter"),
        ("/events?to=%00".into(), 400, "invalid_parameter"),
        (
            "/events?from=2017-10-30T12:00:00+02:00".into(),
            400,
            "invalid_parameter",
        ),
        ("/events?to=0000-00-00".into(), 400, "invalid_parameter"),
        (
            "/summaries/daily?from=not-a-date".into(),
            400,
            "invalid_parameter",
        ),
        (
            "/summaries/daily?to=2017-10-3".into(),
            400,
            "invalid_parameter",
        ),
        (
            "/engineers/alice/events?from=soon".into(),
            400,
            "invalid_parameter",
        ),
        // Reversed and empty ranges.
        (
            "/events?from=2017-11-01&to=2017-10-30".into(),
            400,
            "invalid_range",
        ),
        (
            "/events?from=2017-10-31&to=2017-10-30".into(),
            400,
            "invalid_range",
        ),
        (
            "/events?from=2017-10-30T10:00:00Z&to=2017-10-30T10:00:00Z".into(),
            400,
            "invalid_range",
        ),
        (
            "/events?from=2017-10-30T10:00:00Z&to=2017-10-30T09:00:00Z".into(),
            400,
            "invalid_range",
        ),
        (
            "/summaries/daily?from=2018-01-01&to=2017-01-01".into(),
            400,
            "invalid_range",
        ),
        (
            "/engineers/alice/events?from=2017-11-01&to=2017-10-01".into(),
            400,
            "invalid_range",
        ),
        // Limits.
        ("/events?limit=0".into(), 400, "invalid_parameter"),
        ("/events?limit=1001".into(), 400, "invalid_parameter"),
        ("/events?limit=-1".into(), 400, "invalid_parameter"),
        ("/events?limit=abc".into(), 400, "invalid_parameter"),
        ("/events?limit=1.5".into(), 400, "invalid_parameter"),
        ("/events?limit=".into(), 400, "invalid_parameter"),
        (
            "/events?limit=99999999999999999999999".into(),
            400,
            "invalid_parameter",
        ),
        ("/events?limit=%2B5".into(), 400, "invalid_parameter"),
        (
            "/engineers/alice/events?limit=0".into(),
            400,
            "invalid_parameter",
        ),
        // Cursors the service never issued.
        ("/events?cursor=abc".into(), 400, "invalid_cursor"),
        ("/events?cursor=".into(), 400, "invalid_parameter"),
        (format!("/events?cursor={forged}"), 400, "invalid_cursor"),
        (
            format!("/events?cursor={}", "f".repeat(48)),
            400,
            "invalid_cursor",
        ),
        (
            format!("/events?cursor={}", "g".repeat(48)),
            400,
            "invalid_cursor",
        ),
        (
            format!("/events?cursor={}", "é".repeat(24)),
            400,
            "invalid_cursor",
        ),
        ("/events?cursor=%FF%FE".into(), 400, "invalid_cursor"),
        (
            format!("/events?cursor={}", "0".repeat(4096)),
            400,
            "invalid_cursor",
        ),
        (
            format!("/engineers/alice/events?cursor={forged}"),
            400,
            "invalid_cursor",
        ),
        // Unknown, repeated and misspelt parameters.
        ("/events?fromm=2017-10-30".into(), 400, "unknown_parameter"),
        ("/events?From=2017-10-30".into(), 400, "unknown_parameter"),
        ("/events?page=2".into(), 400, "unknown_parameter"),
        ("/events?%00=1".into(), 400, "unknown_parameter"),
        ("/events?=1".into(), 400, "unknown_parameter"),
        (
            "/summaries/daily?engineer=alice".into(),
            400,
            "unknown_parameter",
        ),
        ("/summaries/daily?limit=5".into(), 400, "unknown_parameter"),
        (
            "/engineers?from=2017-10-30".into(),
            400,
            "unknown_parameter",
        ),
        // One rule for every route: a parameter it does not take is refused.
        ("/?x=1".into(), 400, "unknown_parameter"),
        ("/health?x=1".into(), 400, "unknown_parameter"),
        ("/metadata?verbose".into(), 400, "unknown_parameter"),
        ("/?x=1&x=2".into(), 400, "unknown_parameter"),
        ("/events?limit=1&limit=2".into(), 400, "invalid_parameter"),
        (
            "/events?engineer=a&engineer=b".into(),
            400,
            "invalid_parameter",
        ),
        ("/events?engineer=".into(), 400, "invalid_parameter"),
        ("/events?action=".into(), 400, "invalid_parameter"),
        // Engineer names: long, non-ASCII, encoded junk.
        (
            format!("/engineers/{long_name}/events"),
            404,
            "engineer_not_found",
        ),
        (
            "/engineers/%C3%A9lodie/events".into(),
            404,
            "engineer_not_found",
        ),
        (
            "/engineers/%E2%80%AE%F0%9F%98%80/events".into(),
            404,
            "engineer_not_found",
        ),
        // A name no event can carry is not looked up: not UTF-8, a control character, more than
        // 128 characters (DynamoDB refuses a key over 2048 bytes, even in a read).
        ("/engineers/%FF%FE/events".into(), 404, "engineer_not_found"),
        ("/engineers/%01/events".into(), 404, "engineer_not_found"),
        (
            format!("/engineers/{}/events", "x".repeat(129)),
            404,
            "engineer_not_found",
        ),
        (
            format!("/engineers/{}/events", "é".repeat(1_025)),
            404,
            "engineer_not_found",
        ),
        (
            format!("/engineers/{long_name}/events"),
            404,
            "engineer_not_found",
        ),
        // Filters no event can match, refused alike on both stores.
        ("/events?engineer=%FF".into(), 400, "invalid_parameter"),
        ("/events?engineer=%01".into(), 400, "invalid_parameter"),
        (
            format!("/events?engineer={}", "x".repeat(129)),
            400,
            "invalid_parameter",
        ),
        (
            format!("/events?engineer={long_name}"),
            400,
            "invalid_parameter",
        ),
        (
            "/events?action=Deploy%20Now".into(),
            400,
            "invalid_parameter",
        ),
        ("/events?action=%FF".into(), 400, "invalid_parameter"),
        (
            format!("/events?action={}", "x".repeat(33)),
            400,
            "invalid_parameter",
        ),
        (
            format!("/events?action={long_name}"),
            400,
            "invalid_parameter",
        ),
        (
            "/engineers/alice/events?action=1st".into(),
            400,
            "invalid_parameter",
        ),
        // Path values that are not ids.
        ("/events/%FF".into(), 400, "invalid_parameter"),
        (
            "/events/99999999999999999999999".into(),
            400,
            "invalid_parameter",
        ),
        ("/events/-1".into(), 400, "invalid_parameter"),
        ("/engineers/%00/events".into(), 404, "engineer_not_found"),
        (
            "/engineers/..%2F..%2Fetc%2Fpasswd/events".into(),
            404,
            "engineer_not_found",
        ),
        (
            "/engineers/%25%25%25/events".into(),
            404,
            "engineer_not_found",
        ),
        // Paths that are not routes.
        ("/engineers/alice".into(), 404, "not_found"),
        ("/engineers/alice/events/extra".into(), 404, "not_found"),
        ("/events/".into(), 404, "not_found"),
        ("/EVENTS".into(), 404, "not_found"),
        ("/summaries".into(), 404, "not_found"),
        ("/summaries/weekly".into(), 404, "not_found"),
        ("/%FF".into(), 404, "not_found"),
        ("/health/../metadata".into(), 404, "not_found"),
    ];
    // Very long and non-ASCII values in every parameter.
    for name in ["from", "to", "limit"] {
        cases.push((
            format!("/events?{name}={long_name}"),
            400,
            "invalid_parameter",
        ));
        cases.push((
            format!("/events?{name}=%E6%97%A5%E6%9C%AC"),
            400,
            "invalid_parameter",
        ));
    }
    cases.push((format!("/events?{long_name}=1"), 400, "unknown_parameter"));
    // Longer than any route needs: refused before routing, on every path.
    for path in ["/", "/events", "/engineers/x/events", "/nope"] {
        cases.push((format!("{path}?from={too_long}"), 414, "uri_too_long"));
    }
    cases.push((format!("/engineers/{too_long}/events"), 414, "uri_too_long"));
    cases
}

async fn malformed_requests_get_a_4xx_json_error_never_a_5xx(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let cases = malformed_requests();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    for (uri, status, code) in cases {
        let response = app.get(&uri).await;
        let short: String = uri.chars().take(80).collect();
        assert!(
            response.status.as_u16() < 500,
            "{short} gave {}",
            response.status
        );
        let message = response.assert_error(status, code);
        assert!(CODES.contains(&code));
        assert!(
            message.chars().count() < 200,
            "{short}: message too long: {message}"
        );
        for leak in ["panic", "serde", "src/", "rustc", "thread", "Error {"] {
            assert!(
                !message.contains(leak),
                "{short}: message leaks internals: {message}"
            );
        }
    }
}

async fn messages_name_the_parameter_and_what_was_expected(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let message = app
        .get("/events?from=yesterday")
        .await
        .assert_error(400, "invalid_parameter");
    assert!(
        message.contains("'from'") && message.contains("RFC 3339"),
        "{message}"
    );
    let message = app
        .get("/events?limit=0")
        .await
        .assert_error(400, "invalid_parameter");
    assert!(
        message.contains("'limit'") && message.contains("1 to 1000"),
        "{message}"
    );
    let message = app
        .get("/events?color=red")
        .await
        .assert_error(400, "unknown_parameter");
    assert!(message.contains("'color'"), "{message}");
    // An unencoded '+' in an offset arrives as a space: the message says how to write it.
    let message = app
        .get("/events?from=2017-10-09T08:00:00+02:00")
        .await
        .assert_error(400, "invalid_parameter");
    assert!(
        message.contains("'from'") && message.contains("%2B"),
        "{message}"
    );
    let message = app
        .get("/events/99999999999999999999999")
        .await
        .assert_error(400, "invalid_parameter");
    assert!(
        message.contains("'id'") && message.contains("out of range"),
        "{message}"
    );
    let message = app
        .get("/events?engineer=%FF")
        .await
        .assert_error(400, "invalid_parameter");
    assert!(
        message.contains("'engineer'") && message.contains("UTF-8"),
        "{message}"
    );
    let message = app
        .get("/events?action=Deploy%20Now")
        .await
        .assert_error(400, "invalid_parameter");
    assert!(
        message.contains("'action'") && message.contains("a-z"),
        "{message}"
    );
    let message = app
        .get("/events?from=2017-11-01&to=2017-10-30")
        .await
        .assert_error(400, "invalid_range");
    assert!(
        message.contains("'from'") && message.contains("'to'"),
        "{message}"
    );
}

async fn unknown_paths_are_404_json(backend: Backend) {
    TestApp::fixture_on(backend)
        .get("/nope")
        .await
        .assert_error(404, "not_found");
}

async fn wrong_methods_are_405_with_allow(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    for path in &routes() {
        // POST /events records an event (record_event.rs).
        let allow = if path == "/events" {
            "GET,HEAD,POST"
        } else {
            "GET,HEAD"
        };
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            if method == Method::POST && path == "/events" {
                continue;
            }
            let response = app.request(method.clone(), path).await;
            response.assert_error(405, "method_not_allowed");
            assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
        }
    }
}

crate::each_store!(
    malformed_requests_get_a_4xx_json_error_never_a_5xx,
    messages_name_the_parameter_and_what_was_expected,
    unknown_paths_are_404_json,
    wrong_methods_are_405_with_allow,
);
