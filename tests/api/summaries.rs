use serde_json::json;

use crate::support::{Backend, TestApp};

async fn every_day_of_the_store_with_changes(backend: Backend) {
    let response = TestApp::fixture_on(backend).get("/summaries/daily").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json(),
        json!({"days": [
            {
                "date": "2017-10-30", "total": 4,
                "actions": {"deploy": 1, "rollback": 0, "stage": 3},
                "engineers": 3,
                "change": {"total": 4, "actions": {"deploy": 1, "rollback": 0, "stage": 3}}
            },
            {
                "date": "2017-10-31", "total": 0,
                "actions": {"deploy": 0, "rollback": 0, "stage": 0},
                "engineers": 0,
                "change": {"total": -4, "actions": {"deploy": -1, "rollback": 0, "stage": -3}}
            },
            {
                "date": "2017-11-01", "total": 4,
                "actions": {"deploy": 2, "rollback": 1, "stage": 1},
                "engineers": 3,
                "change": {"total": 4, "actions": {"deploy": 2, "rollback": 1, "stage": 1}}
            }
        ]})
    );
}

async fn the_first_listed_day_changes_from_the_day_before_it(backend: Backend) {
    let body = TestApp::fixture_on(backend)
        .get("/summaries/daily?from=2017-10-31&to=2017-11-01")
        .await
        .json();
    let days = body["days"].as_array().unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["date"], "2017-10-31");
    // 2017-10-30 had 4 events, so the first listed day changed by -4.
    assert_eq!(days[0]["change"]["total"], -4);
    assert_eq!(days[0]["change"]["actions"]["stage"], -3);
}

async fn timestamps_select_the_days_that_hold_them(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let dates = |body: serde_json::Value| -> Vec<String> {
        body["days"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["date"].as_str().unwrap().to_owned())
            .collect()
    };
    let body = app
        .get("/summaries/daily?from=2017-10-30T12:00:00Z&to=2017-10-31T06:00:00Z")
        .await
        .json();
    assert_eq!(dates(body), ["2017-10-30", "2017-10-31"]);
    // `to` is exclusive: midnight does not pull in the day it starts.
    let body = app
        .get("/summaries/daily?from=2017-10-30&to=2017-10-31T00:00:00Z")
        .await
        .json();
    assert_eq!(dates(body), ["2017-10-30"]);
    // Days outside the store are listed, with zeros.
    let body = app
        .get("/summaries/daily?from=2017-10-28&to=2017-10-29")
        .await
        .json();
    assert_eq!(dates(body.clone()), ["2017-10-28", "2017-10-29"]);
    assert_eq!(body["days"][1]["total"], 0);
}

async fn at_most_366_days(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let leap_year = app
        .get("/summaries/daily?from=2016-01-01&to=2016-12-31")
        .await;
    assert_eq!(leap_year.json()["days"].as_array().unwrap().len(), 366);
    let message = app
        .get("/summaries/daily?from=2017-01-01&to=2018-01-02")
        .await
        .assert_error(400, "range_too_large");
    assert!(message.contains("367"), "{message}");
}

/// A store with events from 2017 and one recorded today: without parameters, the routes answer
/// the 366 days up to today instead of refusing the store's whole span.
async fn without_parameters_a_live_store_answers_its_last_366_days(backend: Backend) {
    let app = TestApp::fixture_on(backend);
    let recorded = app
        .post_event(
            r#"{"sha":"abcdef1","action":"deploy","engineer":"ada"}"#,
            &[],
        )
        .await;
    assert_eq!(recorded.status, 201);
    // The day the service gave the event (not this test's clock, which may have passed midnight).
    let today =
        chrono::DateTime::parse_from_rfc3339(recorded.json()["timestamp"].as_str().unwrap())
            .unwrap()
            .date_naive();
    let first = today - chrono::Days::new(365);
    let summary = app.get("/summaries/daily").await;
    assert_eq!(
        summary.status,
        200,
        "{}",
        String::from_utf8_lossy(&summary.body)
    );
    let days = summary.json()["days"].as_array().unwrap().clone();
    assert_eq!(days.len(), 366);
    assert_eq!(days[0]["date"], first.to_string());
    assert_eq!(days[365]["date"], today.to_string());
    assert_eq!(days[365]["total"], 1);
    let metrics = app.get("/metrics/delivery").await;
    assert_eq!(
        metrics.status,
        200,
        "{}",
        String::from_utf8_lossy(&metrics.body)
    );
    let total = &metrics.json()["total"];
    assert_eq!(total["first_day"], first.to_string());
    assert_eq!(total["last_day"], today.to_string());
    assert_eq!(total["deployment_frequency"]["deploys"], 1);
    // `to` alone: the 366 days up to it.
    let until = app.get("/summaries/daily?to=2018-10-30").await.json();
    let days = until["days"].as_array().unwrap();
    assert_eq!(days.len(), 366);
    assert_eq!(days[0]["date"], "2017-10-30");
}

async fn counts_add_up_to_the_events(backend: Backend) {
    let body = TestApp::sample_on(backend)
        .get("/summaries/daily")
        .await
        .json();
    let days = body["days"].as_array().unwrap();
    assert!(
        days.len() >= 40,
        "the sample spans several weeks: {}",
        days.len()
    );
    let total: u64 = days.iter().map(|d| d["total"].as_u64().unwrap()).sum();
    let sample = pipeline_events_api::events::Services::load_slice(
        pipeline_events_api::startup::SAMPLE_EVENTS,
        "sample",
        "default",
    )
    .unwrap();
    assert_eq!(total, sample.len() as u64);
    for day in days {
        let actions: i64 = day["actions"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_i64().unwrap())
            .sum();
        assert_eq!(actions, day["total"].as_i64().unwrap(), "{day}");
    }
}

async fn an_empty_store_has_no_days(backend: Backend) {
    let app = TestApp::with_records_on(Vec::new(), backend);
    assert_eq!(
        app.get("/summaries/daily").await.json(),
        json!({"days": []})
    );
    assert_eq!(app.get("/events").await.ids(), Vec::<u64>::new());
    assert_eq!(app.get("/engineers").await.json(), json!({"engineers": []}));
}

async fn responses_equal_the_domain_summary_for_any_range(backend: Backend) {
    use pipeline_events_api::events::{EventIndex, RawEvent, Services};
    use pipeline_events_api::startup::SAMPLE_EVENTS;

    let sample = Services::load_slice(SAMPLE_EVENTS, "sample", "default").unwrap();
    let records = sample.iter().map(|event| RawEvent::from(&event));
    let store = EventIndex::from_records("default", records).unwrap();
    let app = TestApp::sample_on(backend);
    let day = |date: &str| {
        chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp()
            / 86_400
    };
    // Before the data, across its start, all of it, across its end, after it, one day.
    for (from, to) in [
        ("2017-09-01", "2017-09-10"),
        ("2017-09-25", "2017-10-05"),
        ("2017-10-02", "2017-11-12"),
        ("2017-11-10", "2017-11-20"),
        ("2017-12-01", "2017-12-02"),
        ("2017-10-14", "2017-10-14"),
    ] {
        // Twice: the second answer comes from the rendered days.
        for _ in 0..2 {
            let body = app
                .get(&format!("/summaries/daily?from={from}&to={to}"))
                .await
                .json();
            let expected = json!({ "days": store.daily_summary(day(from), day(to)) });
            assert_eq!(body, expected, "{from}..{to}");
        }
    }
}

crate::each_store!(
    every_day_of_the_store_with_changes,
    the_first_listed_day_changes_from_the_day_before_it,
    timestamps_select_the_days_that_hold_them,
    at_most_366_days,
    without_parameters_a_live_store_answers_its_last_366_days,
    counts_add_up_to_the_events,
    an_empty_store_has_no_days,
    responses_equal_the_domain_summary_for_any_range,
);
