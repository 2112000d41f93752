//! `GET /badges/{metric}`: each metric's badge says what `/metrics/delivery` says, as an SVG a
//! README can cache and revalidate.

use pipeline_events_api::events::RawEvent;

use crate::support::{Backend, TestApp};

/// Monday 2017-10-30, 00:00 UTC.
const D0: i64 = 1_509_321_600;
const HOUR: i64 = 3_600;
const RANGE: &str = "from=2017-10-30&to=2017-10-31";

fn event(id: u64, date: i64, action: &str, sha: &str) -> RawEvent {
    RawEvent {
        id,
        sha: sha.to_owned(),
        date,
        action: action.to_owned(),
        engineer: "alice".to_owned(),
        service: None,
    }
}

/// Two days: a staged 10 min before its deploy, b 15 min; b rolled back and a hotfix half an
/// hour later; d deployed the next day without a stage. Four deploys (one a hotfix), one
/// rollback.
fn records() -> Vec<RawEvent> {
    vec![
        event(1, D0 + 9 * HOUR, "stage", "aaaaaaa"),
        event(2, D0 + 9 * HOUR + 600, "deploy", "aaaaaaa"),
        event(3, D0 + 10 * HOUR, "stage", "bbbbbbb"),
        event(4, D0 + 10 * HOUR + 900, "deploy", "bbbbbbb"),
        event(5, D0 + 12 * HOUR, "rollback", "bbbbbbb"),
        event(6, D0 + 12 * HOUR + 1_800, "hotfix", "ccccccc"),
        event(7, D0 + 32 * HOUR, "deploy", "ddddddd"),
    ]
}

/// The texts of a badge's `<text>` elements.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .map(|element| {
            let start = element.find('>').expect("a text element's tag ends") + 1;
            let end = element.find("</text>").expect("a text element ends");
            element[start..end].to_owned()
        })
        .collect()
}

async fn each_metric_reads_as_its_figure_and_level(backend: Backend) {
    let app = TestApp::with_records_on(records(), backend);
    for (metric, benchmark, label, value) in [
        // 4 deploys in 2 days.
        ("deployment_frequency", "2023", "deploys/week", "14 · elite"),
        // The nearest-rank median of 600 s and 900 s.
        ("lead_time", "2023", "lead time", "10 min · elite"),
        (
            "change_failure_rate",
            "2023",
            "change failure rate",
            "25 % · low",
        ),
        // 2024's clusters give this rate no level.
        ("change_failure_rate", "2024", "change failure rate", "25 %"),
        (
            "failed_deployment_recovery_time",
            "2023",
            "recovery time",
            "30 min · elite",
        ),
        ("time_to_restore", "2024", "recovery time", "30 min · elite"),
        ("deployment_rework_rate", "2023", "rework rate", "25 %"),
    ] {
        let uri = format!("/badges/{metric}?{RANGE}&benchmark={benchmark}");
        let response = app.get(&uri).await;
        assert_eq!(response.status, 200, "{uri}");
        assert_eq!(response.header("content-type"), Some("image/svg+xml"));
        assert_eq!(
            response.header("cache-control"),
            Some("public, max-age=300")
        );
        assert_eq!(
            response.header("content-security-policy"),
            Some("default-src 'none'")
        );
        let svg = String::from_utf8(response.body.clone()).expect("UTF-8");
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        assert_eq!(texts(&svg), [label, value], "{uri}");
        assert!(
            svg.contains(&format!("<title>{label}: {value}</title>")),
            "{svg}"
        );
    }
    // A range without deploys has no lead time.
    let empty = app
        .get("/badges/lead_time?from=2017-11-06&to=2017-11-06")
        .await;
    assert_eq!(
        texts(&String::from_utf8(empty.body).unwrap()),
        ["lead time", "no data"]
    );
}

async fn a_badge_is_revalidated_by_its_etag(backend: Backend) {
    let app = TestApp::with_records_on(records(), backend);
    let uri = format!("/badges/deployment_frequency?{RANGE}");
    let first = app.get(&uri).await;
    let tag = first.header("etag").expect("an ETag").to_owned();
    assert!(
        tag.starts_with('"') && tag.ends_with('"') && tag.len() > 10,
        "{tag}"
    );
    let again = app
        .send(
            axum::http::Request::get(&uri)
                .header("if-none-match", format!("W/\"other\", {tag}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    // Another figure, another tag.
    let other = app
        .get("/badges/deployment_frequency?from=2017-10-31")
        .await;
    assert_ne!(other.header("etag"), Some(tag.as_str()));
}

crate::each_store!(
    each_metric_reads_as_its_figure_and_level,
    a_badge_is_revalidated_by_its_etag,
);

#[tokio::test]
async fn bad_requests_are_refused_as_the_metrics_refuse_them() {
    let app = TestApp::with_records_on(records(), Backend::Memory);
    for (uri, status, code) in [
        ("/badges/deploys", 404, "metric_not_found"),
        ("/badges/%FF", 404, "metric_not_found"),
        ("/badges/lead_time?benchmark=2022", 400, "invalid_parameter"),
        ("/badges/lead_time?bucket=week", 400, "unknown_parameter"),
        ("/badges/lead_time?service=a%23b", 400, "invalid_service"),
        (
            "/badges/lead_time?from=2017-10-31&to=2017-10-30",
            400,
            "invalid_range",
        ),
    ] {
        app.get(uri).await.assert_error(status, code);
    }
}

#[tokio::test]
async fn badges_switched_off_are_not_found() {
    let app = TestApp::with_records_on(records(), Backend::Memory);
    let state = app.state.clone().with_badges(false);
    let off = TestApp {
        router: pipeline_events_api::app::router(state.clone()),
        state,
    };
    off.get("/badges/lead_time")
        .await
        .assert_error(404, "not_found");
    assert_eq!(app.get("/badges/lead_time").await.status, 200);
}
