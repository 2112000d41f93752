use serde_json::json;

use crate::support::{Backend, TestApp};

async fn lists_every_event_by_time_then_id(backend: Backend) {
    let response = TestApp::fixture_on(backend).get("/events").await;
    assert_eq!(response.ids(), [1, 2, 3, 4, 5, 6, 7, 8]);
    let body = response.json();
    assert_eq!(body["next_cursor"], json!(null));
    assert_eq!(
        body["events"][0],
        json!({
            "id": 1,
            "timestamp": "2017-10-30T09:00:00Z",
            "sha": "aaaa001",
            "action": "stage",
            "engineer": "alice",
            "service": "default"
        })
    );
}

async fn a_date_in_to_means_the_whole_day(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let day = app.get("/events?from=2017-10-30&to=2017-10-30").await;
    assert_eq!(day.ids(), [1, 2, 3, 4]);
    let empty_day = app.get("/events?from=2017-10-31&to=2017-10-31").await;
    assert_eq!(empty_day.ids(), Vec::<u64>::new());
}

async fn from_is_inclusive_and_to_exclusive(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let before = app.get("/events?to=2017-11-01T00:00:00Z").await;
    assert_eq!(before.ids(), [1, 2, 3, 4]);
    let after = app.get("/events?from=2017-11-01T00:00:00Z").await;
    assert_eq!(after.ids(), [5, 6, 7, 8]);
    let one_second = app
        .get("/events?from=2017-10-30T23:59:59Z&to=2017-11-01T00:00:01Z")
        .await;
    assert_eq!(one_second.ids(), [4, 5]);
}

async fn timestamps_take_any_offset_and_fractions(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    // 11:00+02:00 is 09:00Z, the first event.
    let response = app
        .get("/events?from=2017-10-30T11:00:00%2B02:00&to=2017-10-30T09:30:00Z")
        .await;
    assert_eq!(response.ids(), [1]);
    // A fraction past 09:00:00 excludes the event at 09:00:00 from `from`, includes it under `to`.
    let response = app.get("/events?from=2017-10-30T09:00:00.5Z").await;
    assert_eq!(response.ids()[0], 2);
    let response = app.get("/events?to=2017-10-30T09:00:00.5Z").await;
    assert_eq!(response.ids(), [1]);
}

async fn filters_by_engineer_and_action(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    assert_eq!(app.get("/events?engineer=bob").await.ids(), [3, 7, 8]);
    assert_eq!(app.get("/events?action=deploy").await.ids(), [2, 5, 7]);
    assert_eq!(
        app.get("/events?engineer=bob&action=deploy").await.ids(),
        [7]
    );
    assert_eq!(
        app.get("/events?engineer=alice&action=stage&from=2017-10-31")
            .await
            .ids(),
        [6]
    );
    // Nobody by that name on this route is simply no events.
    assert_eq!(
        app.get("/events?engineer=nobody").await.ids(),
        Vec::<u64>::new()
    );
    assert_eq!(
        app.get("/events?action=build").await.ids(),
        Vec::<u64>::new()
    );
}

async fn limit_caps_the_page_and_defaults_to_100(backend: Backend) {
    let app = TestApp::sample_on(backend);
    let page = app.get("/events").await;
    assert_eq!(page.ids().len(), 100);
    assert!(page.json()["next_cursor"].is_string());
    assert_eq!(app.get("/events?limit=1").await.ids().len(), 1);
    assert_eq!(app.get("/events?limit=1000").await.ids().len(), 1000);
}

/// Follows `next_cursor` from `first` to the end; returns every id seen, in order.
pub async fn follow_cursors(app: &TestApp, first: &str) -> Vec<u64> {
    let separator = if first.contains('?') { '&' } else { '?' };
    let mut ids = Vec::new();
    let mut uri = first.to_owned();
    for _ in 0..100_000 {
        let response = app.get(&uri).await;
        ids.extend(response.ids());
        match response.json()["next_cursor"].as_str() {
            Some(cursor) => uri = format!("{first}{separator}cursor={cursor}"),
            None => return ids,
        }
    }
    panic!("pagination did not end");
}

async fn cursors_return_every_event_exactly_once(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    // Events 6 and 7 share a timestamp: a page boundary between them must lose neither.
    for limit in 1..=9 {
        let ids = follow_cursors(&app, &format!("/events?limit={limit}")).await;
        assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7, 8], "limit {limit}");
    }

    let sample = TestApp::sample_on(backend);
    for query in [
        "limit=7&from=2017-10-02&to=2017-10-20",
        "limit=50&engineer=ada.berg",
        "limit=13&action=deploy",
        "limit=3&action=rollback&from=2017-10-09&to=2017-10-20",
        "limit=11&engineer=chen.costa&action=stage",
    ] {
        // The same filters, unpaginated.
        let reference = sample
            .get(&format!(
                "/events?limit=1000&{}",
                query.split('&').skip(1).collect::<Vec<_>>().join("&")
            ))
            .await
            .ids();
        assert!(reference.len() < 1000, "the reference fits one page");
        let paged = follow_cursors(&sample, &format!("/events?{query}")).await;
        assert_eq!(paged, reference, "{query}");
    }
}

async fn a_cursor_belongs_to_its_query(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let first = app.get("/events?limit=2&engineer=bob").await.json();
    let cursor = first["next_cursor"].as_str().unwrap();
    let same = app
        .get(&format!("/events?limit=2&engineer=bob&cursor={cursor}"))
        .await;
    assert_eq!(same.ids(), [8]);
    let other = app
        .get(&format!("/events?limit=2&engineer=alice&cursor={cursor}"))
        .await;
    other.assert_error(400, "invalid_cursor");
    let other_route = app
        .get(&format!("/engineers/bob/events?limit=2&cursor={cursor}"))
        .await;
    other_route.assert_error(400, "invalid_cursor");
    // A cursor with one digit changed fails its check.
    let mut edited = cursor.to_owned().into_bytes();
    edited[31] = if edited[31] == b'0' { b'1' } else { b'0' };
    let edited = String::from_utf8(edited).unwrap();
    app.get(&format!("/events?limit=2&engineer=bob&cursor={edited}"))
        .await
        .assert_error(400, "invalid_cursor");
}

async fn a_cursor_is_bound_to_its_range_and_filters(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let query = "from=2017-10-30&to=2017-11-01&action=stage";
    let first = app.get(&format!("/events?limit=1&{query}")).await.json();
    let cursor = first["next_cursor"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/events?limit=1&{query}&cursor={cursor}"))
            .await
            .status,
        200
    );
    // The same query with any one part changed, dropped or added refuses it.
    for other in [
        "from=2017-10-29&to=2017-11-01&action=stage",
        "to=2017-11-01&action=stage",
        "from=2017-10-30&to=2017-11-02&action=stage",
        "from=2017-10-30&action=stage",
        "from=2017-10-30&to=2017-11-01&action=deploy",
        "from=2017-10-30&to=2017-11-01",
        "from=2017-10-30&to=2017-11-01&action=stage&engineer=alice",
    ] {
        app.get(&format!("/events?limit=1&{other}&cursor={cursor}"))
            .await
            .assert_error(400, "invalid_cursor");
    }
}

crate::each_store!(
    lists_every_event_by_time_then_id,
    a_date_in_to_means_the_whole_day,
    from_is_inclusive_and_to_exclusive,
    timestamps_take_any_offset_and_fractions,
    filters_by_engineer_and_action,
    limit_caps_the_page_and_defaults_to_100,
    cursors_return_every_event_exactly_once,
    a_cursor_belongs_to_its_query,
    a_cursor_is_bound_to_its_range_and_filters,
);
