use serde_json::json;

use crate::events::follow_cursors;
use crate::support::{Backend, TestApp};

async fn lists_engineers_by_name_with_counts_and_span(backend: Backend) {
    let response = TestApp::fixture_on(backend).get("/engineers").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json(),
        json!({"engineers": [
            {"name": "alice", "events": 3, "first_event": "2017-10-30T09:00:00Z", "last_event": "2017-11-01T12:00:00Z"},
            {"name": "bob", "events": 3, "first_event": "2017-10-30T10:00:00Z", "last_event": "2017-11-01T13:00:00Z"},
            {"name": "carol", "events": 2, "first_event": "2017-10-30T23:59:59Z", "last_event": "2017-11-01T00:00:00Z"},
        ]})
    );
}

async fn engineer_events_are_that_engineers_only(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    assert_eq!(app.get("/engineers/bob/events").await.ids(), [3, 7, 8]);
    assert_eq!(
        app.get("/engineers/bob/events?from=2017-11-01&action=deploy")
            .await
            .ids(),
        [7]
    );
    // Percent-encoded path segments are decoded.
    assert_eq!(app.get("/engineers/%61lice/events").await.ids(), [1, 2, 6]);
    let paged = follow_cursors(&app, "/engineers/alice/events?limit=1").await;
    assert_eq!(paged, [1, 2, 6]);
}

async fn unknown_engineer_is_404(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let message = app
        .get("/engineers/nobody/events")
        .await
        .assert_error(404, "engineer_not_found");
    assert!(message.contains("nobody"), "{message}");
    // Names are matched exactly.
    app.get("/engineers/Alice/events")
        .await
        .assert_error(404, "engineer_not_found");
}

async fn engineer_routes_refuse_parameters_they_do_not_take(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    app.get("/engineers?limit=5")
        .await
        .assert_error(400, "unknown_parameter");
    let message = app
        .get("/engineers/bob/events?engineer=alice")
        .await
        .assert_error(400, "unknown_parameter");
    assert!(message.contains("engineer"), "{message}");
}

async fn the_sample_has_a_few_dozen_engineers(backend: Backend) {
    let body = TestApp::sample_on(backend).get("/engineers").await.json();
    let engineers = body["engineers"].as_array().unwrap();
    assert!((24..=60).contains(&engineers.len()), "{}", engineers.len());
    let names: Vec<&str> = engineers
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

crate::each_store!(
    lists_engineers_by_name_with_counts_and_span,
    engineer_events_are_that_engineers_only,
    unknown_engineer_is_404,
    engineer_routes_refuse_parameters_they_do_not_take,
    the_sample_has_a_few_dozen_engineers,
);
