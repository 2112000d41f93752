//! `GET /metrics/delivery`: hand-built event sets with answers worked out by hand, then random
//! datasets against a plain recomputation written here from the definitions in the README.

use std::collections::{BTreeMap, BTreeSet};

use pipeline_events_api::events::{DeliveryActions, RawEvent, Services};
use pipeline_events_api::metadata::MetadataSource;
use pipeline_events_api::store::Store;
use pipeline_events_api::store::memory::MemoryStore;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, blocking_runtime};

/// Monday 2017-10-30, 00:00 UTC.
const D0: i64 = 1_509_321_600;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// An event of the commit named `commit` (`x`, `a1`): its SHA is the name's bytes in hex, seven
/// digits at least, as every way in requires of a SHA.
fn record(id: u64, date: i64, action: &str, commit: &str) -> RawEvent {
    let hex: String = commit.bytes().map(|b| format!("{b:02x}")).collect();
    RawEvent {
        id,
        sha: format!("{hex:0>7}"),
        date,
        action: action.to_owned(),
        engineer: "alice".to_owned(),
        service: None,
    }
}

fn memory_app(records: Vec<RawEvent>) -> TestApp {
    TestApp::with_records_on(records, Backend::Memory)
}

async fn metrics(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/metrics/delivery?{query}")).await;
    assert_eq!(response.status, 200, "{query}: {:?}", response.json());
    response.json()
}

/// The cases the issue names, on days D0 (Monday) to D14:
/// - `x`: staged D0 09:00, deployed 09:10 and again 11:00 (a redeploy);
/// - `y`: staged D0 10:00 and again 10:05, deployed 10:15 (lead from the first stage);
/// - `z`: deployed D1 08:00, staged 08:01 (deployed before it was staged);
/// - rollbacks D0 12:00 (restored by z, 20 h later) and D1 23:59:59 (restored by `w`, deployed
///   D2 00:00:00 without a stage, one second later: across a range's end);
/// - nothing from D3 to D13; `v` staged D14 09:00, never deployed (pending).
fn cases() -> Vec<RawEvent> {
    vec![
        record(1, D0 + 9 * HOUR, "stage", "x"),
        record(2, D0 + 9 * HOUR + 600, "deploy", "x"),
        record(3, D0 + 10 * HOUR, "stage", "y"),
        record(4, D0 + 10 * HOUR + 300, "stage", "y"),
        record(5, D0 + 10 * HOUR + 900, "deploy", "y"),
        record(6, D0 + 11 * HOUR, "deploy", "x"),
        record(7, D0 + 12 * HOUR, "rollback", "x"),
        record(8, D0 + DAY + 8 * HOUR, "deploy", "z"),
        record(9, D0 + DAY + 8 * HOUR + 60, "stage", "z"),
        record(10, D0 + 2 * DAY - 1, "rollback", "z"),
        record(11, D0 + 2 * DAY, "deploy", "w"),
        record(12, D0 + 14 * DAY + 9 * HOUR, "stage", "v"),
        // Not an action the metrics read.
        record(13, D0 + 9 * HOUR, "build", "x"),
    ]
}

async fn two_days_with_redeploys_restages_and_a_rollback_restored_after_the_end(backend: Backend) {
    let app = TestApp::with_records_on(cases(), backend);
    let body = metrics(&app, "from=2017-10-30&to=2017-10-31").await;
    assert_eq!(body["bucket"], "day");
    assert!(
        body["levels_from"]
            .as_str()
            .unwrap()
            .contains("State of DevOps Report 2023")
    );
    assert_eq!(
        body["total"],
        json!({
            "first_day": "2017-10-30",
            "last_day": "2017-10-31",
            "days": 2,
            // x twice, y, z.
            "deployment_frequency": {"deploys": 4, "per_day": 2.0, "level": "elite"},
            // x 600 s, y 900 s; z deployed before its stage.
            "lead_time": {
                "commits": 2, "started_at_commit": 0, "started_at_stage": 2,
                "median_seconds": 600, "p90_seconds": 900,
                "deployed_without_stage": 1, "pending": 0, "level": "elite"
            },
            "change_failure_rate": {"rollbacks": 2, "deploys": 4, "rate": 0.5, "level": "low"},
            // D0 12:00 → z at D1 08:00; D1 23:59:59's deploy comes after the range.
            "failed_deployment_recovery_time": {
                "restored": 1, "median_seconds": 20 * HOUR, "unrestored": 1, "level": "high"
            },
            "deployment_rework_rate": {"hotfixes": 0, "deploys": 4, "rate": 0.0, "level": null},
            // The same under the older name.
            "time_to_restore": {
                "restored": 1, "median_seconds": 20 * HOUR, "unrestored": 1, "level": "high"
            }
        })
    );
    let buckets = body["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 2);
    assert_eq!(buckets[0]["first_day"], "2017-10-30");
    assert_eq!(buckets[0]["last_day"], "2017-10-30");
    assert_eq!(buckets[0]["deployment_frequency"]["deploys"], 3);
    // D0 alone: D0's rollback is restored on D1, after this bucket's end.
    assert_eq!(
        buckets[0]["time_to_restore"],
        json!({"restored": 0, "median_seconds": null, "unrestored": 1, "level": null})
    );
    assert_eq!(buckets[0]["change_failure_rate"]["rate"], json!(1.0 / 3.0));
    assert_eq!(
        buckets[1]["lead_time"],
        json!({
            "commits": 0, "started_at_commit": 0, "started_at_stage": 0,
            "median_seconds": null, "p90_seconds": null,
            "deployed_without_stage": 1, "pending": 0, "level": null
        })
    );
}

async fn a_range_that_takes_in_the_restoring_deploy_and_one_that_starts_after_a_rollback(
    backend: Backend,
) {
    let app = TestApp::with_records_on(cases(), backend);
    let three_days = metrics(&app, "from=2017-10-30&to=2017-11-01").await;
    assert_eq!(
        three_days["total"]["time_to_restore"],
        json!({"restored": 2, "median_seconds": 1, "unrestored": 0, "level": "elite"})
    );
    assert_eq!(
        three_days["total"]["lead_time"]["deployed_without_stage"],
        2
    );
    assert_eq!(three_days["total"]["change_failure_rate"]["rate"], 0.4);

    // D0's rollback is before this range: only D1's counts, restored by w.
    let later = metrics(&app, "from=2017-10-31T12:00:00Z&to=2017-11-01T00:00:01Z").await;
    assert_eq!(later["total"]["first_day"], "2017-10-31");
    assert_eq!(later["total"]["last_day"], "2017-11-01");
    assert_eq!(
        later["total"]["change_failure_rate"],
        json!({"rollbacks": 1, "deploys": 2, "rate": 0.5, "level": "low"})
    );
    assert_eq!(
        later["total"]["time_to_restore"]["median_seconds"],
        json!(1)
    );
}

async fn weeks_are_monday_to_sunday_and_empty_ones_are_listed(backend: Backend) {
    let app = TestApp::with_records_on(cases(), backend);
    let body = metrics(&app, "from=2017-10-30&to=2017-11-13&bucket=week").await;
    assert_eq!(body["bucket"], "week");
    let buckets = body["buckets"].as_array().unwrap();
    let spans: Vec<(&str, &str, u64)> = buckets
        .iter()
        .map(|b| {
            (
                b["first_day"].as_str().unwrap(),
                b["last_day"].as_str().unwrap(),
                b["days"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        [
            ("2017-10-30", "2017-11-05", 7),
            ("2017-11-06", "2017-11-12", 7),
            ("2017-11-13", "2017-11-13", 1),
        ]
    );
    assert_eq!(
        buckets[1],
        json!({
            "first_day": "2017-11-06", "last_day": "2017-11-12", "days": 7,
            "deployment_frequency": {"deploys": 0, "per_day": 0.0, "level": "low"},
            "lead_time": {
                "commits": 0, "started_at_commit": 0, "started_at_stage": 0,
                "median_seconds": null, "p90_seconds": null,
                "deployed_without_stage": 0, "pending": 0, "level": null
            },
            "change_failure_rate": {"rollbacks": 0, "deploys": 0, "rate": null, "level": null},
            "failed_deployment_recovery_time": {
                "restored": 0, "median_seconds": null, "unrestored": 0, "level": null
            },
            "deployment_rework_rate": {"hotfixes": 0, "deploys": 0, "rate": null, "level": null},
            "time_to_restore": {"restored": 0, "median_seconds": null, "unrestored": 0, "level": null}
        })
    );
    // v, staged on the last day and never deployed.
    assert_eq!(buckets[2]["lead_time"]["pending"], 1);
    // Five deploys in 15 days: at least weekly, not daily.
    assert_eq!(
        body["total"]["deployment_frequency"],
        json!({"deploys": 5, "per_day": 5.0 / 15.0, "level": "high"})
    );
    // A week that starts mid-range is cut at the range's start.
    let cut = metrics(&app, "from=2017-11-01&to=2017-11-06&bucket=week").await;
    let cut_days: Vec<u64> = cut["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["days"].as_u64().unwrap())
        .collect();
    assert_eq!(cut_days, [5, 1]);
}

async fn without_a_range_the_store_span_is_used_and_an_empty_store_has_none(backend: Backend) {
    let app = TestApp::with_records_on(cases(), backend);
    let body = metrics(&app, "").await;
    assert_eq!(body["total"]["first_day"], "2017-10-30");
    assert_eq!(body["total"]["last_day"], "2017-11-13");
    assert_eq!(body["buckets"].as_array().unwrap().len(), 15);

    let empty = TestApp::with_records_on(Vec::new(), backend);
    assert_eq!(
        metrics(&empty, "bucket=week").await,
        json!({
            "bucket": "week",
            "benchmark": "2023",
            "levels_from": body["levels_from"],
            "total": null,
            "buckets": []
        })
    );
    // A range on an empty store: every figure empty.
    let range = metrics(&empty, "from=2017-10-30&to=2017-10-30").await;
    assert_eq!(range["total"]["lead_time"]["median_seconds"], json!(null));
    assert_eq!(range["buckets"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_parameters_are_refused() {
    let app = memory_app(cases());
    for (query, status, code) in [
        ("bucket=month", 400, "invalid_parameter"),
        ("bucket=", 400, "invalid_parameter"),
        ("bucket=day&bucket=week", 400, "invalid_parameter"),
        ("benchmark=2022", 400, "invalid_parameter"),
        ("benchmark=dora-2024", 400, "invalid_parameter"),
        ("benchmark=", 400, "invalid_parameter"),
        ("from=yesterday", 400, "invalid_parameter"),
        ("from=2017-10-31&to=2017-10-30", 400, "invalid_range"),
        ("from=2017-01-01&to=2018-01-02", 400, "range_too_large"),
        ("engineer=alice", 400, "unknown_parameter"),
    ] {
        app.get(&format!("/metrics/delivery?{query}"))
            .await
            .assert_error(status, code);
    }
    // 366 days is the most ('to' as a date includes that day).
    let most = metrics(&app, "from=2017-01-01&to=2018-01-01").await;
    assert_eq!(most["total"]["days"], 366);
}

/// The action names are the operator's: here `release`, `build` and `revert`.
#[tokio::test]
async fn configured_action_names_are_the_ones_counted() {
    let renamed: Vec<RawEvent> = cases()
        .into_iter()
        .map(|mut event| {
            event.action = match event.action.as_str() {
                "deploy" => "release",
                "stage" => "build",
                "rollback" => "revert",
                // The old names now mean nothing to the metrics.
                "build" => "deploy",
                other => other,
            }
            .to_owned();
            event
        })
        .collect();
    let store = MemoryStore::new(
        Services::from_records(renamed, "default").unwrap(),
        None,
        DeliveryActions {
            deploy: "release".into(),
            stage: "build".into(),
            rollback: "revert".into(),
            ..DeliveryActions::default()
        },
    );
    let renamed_app = TestApp::on(
        Store::Memory(store),
        MetadataSource::build_time("test".into()),
    );
    let query = "from=2017-10-30&to=2017-11-13&bucket=week";
    assert_eq!(
        metrics(&renamed_app, query).await,
        metrics(&memory_app(cases()), query).await
    );
}

/// Events recorded while the server runs count as soon as they are acknowledged.
async fn recorded_events_count(backend: Backend) {
    let app = TestApp::with_records_on(cases(), backend);
    let before = metrics(&app, "from=2017-11-13&to=2017-11-13").await;
    assert_eq!(before["total"]["lead_time"]["pending"], 1);
    let response = app
        .post_event(
            r#"{"sha":"abcdef1","action":"deploy","engineer":"alice","timestamp":"2017-11-13T10:00:00Z"}"#,
            &[],
        )
        .await;
    assert_eq!(response.status, 201);
    let after = metrics(&app, "from=2017-11-13&to=2017-11-13").await;
    assert_eq!(after["total"]["deployment_frequency"]["deploys"], 1);
    assert_eq!(after["total"]["lead_time"]["deployed_without_stage"], 1);
}

/// Lead time from the commit, recorded one event at a time in this order, on D0 and D1:
/// - `a`, `b` pushed together at 10:00; `b` staged 10:30 (its lead still starts at its push);
/// - `c`'s deploy at 15:00 recorded before its push, at 11:00, is (the two deliveries raced);
/// - `b` deployed 12:00: ships `a` and `b`, 2 h each; not `c`, pushed after;
/// - `x`, never pushed, staged 13:00 and deployed 14:00: 1 h from its stage;
/// - `d` deployed 15:30 but pushed 16:00: no negative lead time, deployed without a start; its
///   deploy ships nothing `c`'s own earlier deploy had not;
/// - `e` pushed D1 09:00, never deployed: pending.
async fn a_deploy_ships_the_commits_pushed_before_it_from_their_push(backend: Backend) {
    let app = TestApp::with_records_on(Vec::new(), backend);
    for (commit, action, at) in [
        ("a", "commit", "2017-10-30T10:00:00Z"),
        ("b", "commit", "2017-10-30T10:00:00Z"),
        ("b", "stage", "2017-10-30T10:30:00Z"),
        ("c", "deploy", "2017-10-30T15:00:00Z"),
        ("c", "commit", "2017-10-30T11:00:00Z"),
        ("b", "deploy", "2017-10-30T12:00:00Z"),
        ("x", "stage", "2017-10-30T13:00:00Z"),
        ("x", "deploy", "2017-10-30T14:00:00Z"),
        ("d", "deploy", "2017-10-30T15:30:00Z"),
        ("d", "commit", "2017-10-30T16:00:00Z"),
        ("e", "commit", "2017-10-31T09:00:00Z"),
    ] {
        let sha = record(0, 0, action, commit).sha;
        let body = json!({"sha": sha, "action": action, "engineer": "alice", "timestamp": at});
        let response = app.post_event(&body.to_string(), &[]).await;
        assert_eq!(response.status, 201, "{commit} {action}");
    }
    let body = metrics(&app, "from=2017-10-30&to=2017-10-31").await;
    assert_eq!(
        body["total"]["lead_time"],
        json!({
            "commits": 4, "started_at_commit": 3, "started_at_stage": 1,
            // 1 h (x), 2 h (a, b), 4 h (c).
            "median_seconds": 2 * HOUR, "p90_seconds": 4 * HOUR,
            "deployed_without_stage": 1, "pending": 1, "level": "elite"
        })
    );
    // D0 alone: `e` starts after it.
    let d0 = metrics(&app, "from=2017-10-30&to=2017-10-30").await;
    assert_eq!(d0["total"]["lead_time"]["pending"], 0);
}

/// `w`'s deploy made a hotfix: a deploy in every metric (it restores D1's rollback and ships
/// `w`) and rework. The 2024 report's levels: no change failure rate level, and a recovery of
/// over a day but under a week is low, not medium.
async fn a_hotfix_is_a_deploy_and_rework_and_the_2024_benchmark_levels_differently(
    backend: Backend,
) {
    let records: Vec<RawEvent> = (cases().into_iter())
        .map(|r| match r.id {
            11 => RawEvent {
                action: "hotfix".into(),
                ..r
            },
            _ => r,
        })
        .collect();
    let app = TestApp::with_records_on(records, backend);
    let dora_2023 = metrics(&app, "from=2017-10-30&to=2017-11-01").await;
    let total = &dora_2023["total"];
    assert_eq!(
        total["deployment_frequency"],
        json!({"deploys": 5, "per_day": 5.0 / 3.0, "level": "elite"})
    );
    assert_eq!(
        total["deployment_rework_rate"],
        json!({"hotfixes": 1, "deploys": 5, "rate": 0.2, "level": null})
    );
    // D0 12:00 → z 20 h later; D1 23:59:59 → the hotfix a second later.
    let recovery = json!({"restored": 2, "median_seconds": 1, "unrestored": 0, "level": "elite"});
    assert_eq!(total["failed_deployment_recovery_time"], recovery);
    assert_eq!(total["time_to_restore"], recovery);
    assert_eq!(total["lead_time"]["deployed_without_stage"], 2, "z and w");
    assert_eq!(total["change_failure_rate"]["level"], "low");
    assert_eq!(dora_2023["benchmark"], "2023");

    let dora_2024 = metrics(&app, "from=2017-10-30&to=2017-11-01&benchmark=2024").await;
    assert_eq!(dora_2024["benchmark"], "2024");
    let levels_from = dora_2024["levels_from"].as_str().unwrap();
    assert!(
        levels_from.contains("State of DevOps Report 2024"),
        "{levels_from}"
    );
    assert_eq!(
        dora_2024["total"]["change_failure_rate"],
        json!({"rollbacks": 2, "deploys": 5, "rate": 0.4, "level": null})
    );
    let bucket =
        |body: &Value, n: usize| body["buckets"][n]["failed_deployment_recovery_time"].clone();
    // D0's rollback, restored 20 h later: high in both.
    let two_days = "from=2017-10-30&to=2017-10-31";
    for benchmark in ["2023", "2024"] {
        let body = metrics(&app, &format!("{two_days}&benchmark={benchmark}")).await;
        assert_eq!(
            body["total"]["failed_deployment_recovery_time"]["level"],
            "high"
        );
    }
    // A rollback restored after two days: medium in 2023, low in 2024.
    let late = app
        .post_event(
            r#"{"sha":"abcdef1","action":"rollback","engineer":"alice","timestamp":"2017-11-05T10:00:00Z"}"#,
            &[],
        )
        .await;
    assert_eq!(late.status, 201);
    let fix = app
        .post_event(
            r#"{"sha":"abcdef2","action":"hotfix","engineer":"alice","timestamp":"2017-11-07T10:00:00Z"}"#,
            &[],
        )
        .await;
    assert_eq!(fix.status, 201);
    let week = "from=2017-11-05&to=2017-11-07&bucket=week";
    let dora_2023 = metrics(&app, week).await;
    let dora_2024 = metrics(&app, &format!("{week}&benchmark=2024")).await;
    assert_eq!(
        dora_2023["total"]["failed_deployment_recovery_time"]["level"],
        "medium"
    );
    assert_eq!(
        dora_2024["total"]["failed_deployment_recovery_time"]["level"],
        "low"
    );
    // Sunday's bucket ends before the hotfix.
    assert_eq!(bucket(&dora_2024, 0)["unrestored"], 1);
    assert_eq!(
        dora_2024["total"]["failed_deployment_recovery_time"]["median_seconds"],
        2 * DAY
    );
    assert_eq!(
        dora_2024["total"]["deployment_rework_rate"],
        json!({"hotfixes": 1, "deploys": 1, "rate": 1.0, "level": null})
    );
}

crate::each_store!(
    a_hotfix_is_a_deploy_and_rework_and_the_2024_benchmark_levels_differently,
    a_deploy_ships_the_commits_pushed_before_it_from_their_push,
    two_days_with_redeploys_restages_and_a_rollback_restored_after_the_end,
    a_range_that_takes_in_the_restoring_deploy_and_one_that_starts_after_a_rollback,
    weeks_are_monday_to_sunday_and_empty_ones_are_listed,
    without_a_range_the_store_span_is_used_and_an_empty_store_has_none,
    recorded_events_count,
    events_at_the_calendars_ends,
);

// ---------------------------------------------------------------------------------------------
// Random datasets against a recomputation from the definitions: every commit's first stage and
// first deploy, every rollback's next deploy, found by scanning all records.

/// 2017-10-30 (a Monday) and the 20 days after it.
const SPAN_DAYS: i64 = 21;
const SHAS: [&str; 6] = ["a1", "b2", "c3", "d4", "e5", "f6"];
const ACTIONS: [&str; 5] = ["stage", "deploy", "rollback", "commit", "hotfix"];
/// `None`: the default service's.
const SERVICES: [Option<&str>; 3] = [None, Some("octo/web"), Some("octo/api")];

fn dataset() -> impl Strategy<Value = Vec<RawEvent>> {
    // Few shas and few instants: redeploys, restages and ties are common, within a service and
    // across services (the same sha in two services is two commits).
    let event = (
        0..SPAN_DAYS * 8,
        0i64..3,
        prop::sample::select(ACTIONS.to_vec()),
        prop::sample::select(SHAS.to_vec()),
        prop::sample::select(SERVICES.to_vec()),
    );
    proptest::collection::vec(event, 0..80).prop_map(|events| {
        events
            .into_iter()
            .enumerate()
            .map(|(index, (slot, second, action, sha, service))| RawEvent {
                service: service.map(str::to_owned),
                ..record(index as u64 + 1, D0 + slot * 3 * HOUR + second, action, sha)
            })
            .collect()
    })
}

/// A record's service, as the store reads it.
fn service_of(record: &RawEvent) -> &str {
    record.service.as_deref().unwrap_or("default")
}

/// `value` with every fraction rounded to nine places: JSON parsing does not give back the last
/// bit of every float the service wrote.
fn rounded(value: &Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => json!((n.as_f64().unwrap() * 1e9).round() / 1e9),
        Value::Array(items) => Value::Array(items.iter().map(rounded).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, field)| (name.clone(), rounded(field)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn day(timestamp: i64) -> i64 {
    timestamp.div_euclid(DAY)
}

/// The ⌈n·p⌉-th smallest, p = numerator / denominator.
fn nearest_rank(mut values: Vec<i64>, numerator: usize, denominator: usize) -> Value {
    if values.is_empty() {
        return Value::Null;
    }
    values.sort();
    let rank = (values.len() * numerator).div_ceil(denominator);
    json!(values[rank - 1])
}

fn level(thresholds: [f64; 3], value: f64, lower_is_better: bool) -> &'static str {
    let names = ["elite", "high", "medium"];
    for (threshold, name) in thresholds.iter().zip(names) {
        let within = if lower_is_better {
            value < *threshold
        } else {
            value >= *threshold
        };
        if within {
            return name;
        }
    }
    "low"
}

/// A deploy, or a hotfix: an unplanned deploy.
fn is_deploy(record: &RawEvent) -> bool {
    ["deploy", "hotfix"].contains(&record.action.as_str())
}

/// The figures of `records` for the days `first..=last`, from the definitions: a commit is a
/// (service, sha) pair, and a rollback is restored by its own service's next deploy; levels
/// from the 2024 report if `dora_2024`, else from the 2023 one.
fn expected_figures(records: &[RawEvent], first: i64, last: i64, dora_2024: bool) -> Value {
    let in_days = |t: i64| (first..=last).contains(&day(t));
    let in_range = |action: &str| {
        (records.iter())
            .filter(|r| r.action == action && in_days(r.date))
            .count()
    };
    let hotfixes = in_range("hotfix");
    let deploys = in_range("deploy") + hotfixes;
    let rollbacks: Vec<&RawEvent> = (records.iter())
        .filter(|r| r.action == "rollback" && in_days(r.date))
        .collect();
    // A commit is a (service, sha) pair; where it was pushed is its first recorded commit
    // event's (instant, id): the lowest id.
    let commit_of = |r: &RawEvent| (service_of(r).to_owned(), r.sha.to_string());
    let mut first_stage: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut pushed: BTreeMap<(String, String), (i64, u64)> = BTreeMap::new();
    for r in records {
        match r.action.as_str() {
            "stage" => {
                let t = first_stage.entry(commit_of(r)).or_insert(r.date);
                *t = (*t).min(r.date);
            }
            "commit" => {
                let at = pushed.entry(commit_of(r)).or_insert((r.date, r.id));
                if r.id < at.1 {
                    *at = (r.date, r.id);
                }
            }
            _ => {}
        }
    }
    // The deploy that first shipped each commit: a deploy of itself, or of a commit of its
    // service pushed at or after it (each deploy compared with each commit).
    let mut shipped: BTreeMap<(String, String), i64> = BTreeMap::new();
    let commits: Vec<(String, String)> = records.iter().map(commit_of).collect();
    for commit in &commits {
        for r in records.iter().filter(|r| is_deploy(r)) {
            let deployed = commit_of(r);
            let ships = deployed == *commit
                || (deployed.0 == commit.0
                    && matches!((pushed.get(commit), pushed.get(&deployed)),
                        (Some(c), Some(d)) if c <= d));
            if ships {
                let t = shipped.entry(commit.clone()).or_insert(r.date);
                *t = (*t).min(r.date);
            }
        }
    }
    let start = |commit: &(String, String)| {
        (pushed.get(commit).map(|&(at, _)| (at, true)))
            .or_else(|| first_stage.get(commit).map(|&at| (at, false)))
    };
    let mut leads = Vec::new();
    let mut started_at_commit = 0;
    let mut without_stage = 0;
    for (commit, &deployed) in &shipped {
        if !in_days(deployed) {
            continue;
        }
        match start(commit) {
            Some((at, from_commit)) if at <= deployed => {
                leads.push(deployed - at);
                started_at_commit += usize::from(from_commit);
            }
            _ => without_stage += 1,
        }
    }
    let everyone: BTreeSet<&(String, String)> = commits.iter().collect();
    let pending = (everyone.into_iter())
        .filter(|commit| {
            start(commit).is_some_and(|(at, _)| in_days(at))
                && shipped.get(*commit).is_none_or(|&d| day(d) > last)
        })
        .count();
    let mut restores = Vec::new();
    for rollback in &rollbacks {
        let next = (records.iter())
            .filter(|r| is_deploy(r) && service_of(r) == service_of(rollback))
            .map(|r| r.date)
            .filter(|&t| t > rollback.date)
            .min();
        if let Some(next) = next.filter(|&t| day(t) <= last) {
            restores.push(next - rollback.date);
        }
    }
    let days = last - first + 1;
    let per_day = deploys as f64 / days as f64;
    let rate_of = |count: usize| (deploys > 0).then(|| count as f64 / deploys as f64);
    let rate = rate_of(rollbacks.len());
    let lead_median = nearest_rank(leads.clone(), 1, 2);
    let restore_median = nearest_rank(restores.clone(), 1, 2);
    let d = DAY as f64;
    let by_seconds = |median: &Value, thresholds: [f64; 3]| match median.as_i64() {
        Some(seconds) => json!(level(thresholds, seconds as f64, true)),
        None => Value::Null,
    };
    // 2024: high and medium both recover in under a day.
    let medium_recovery = if dora_2024 { d } else { 7.0 * d };
    let recovery = json!({
        "restored": restores.len(),
        "median_seconds": restore_median,
        "unrestored": rollbacks.len() - restores.len(),
        "level": by_seconds(&restore_median, [HOUR as f64, d, medium_recovery]),
    });
    json!({
        "first_day": chrono::DateTime::from_timestamp(first * DAY, 0).unwrap().format("%Y-%m-%d").to_string(),
        "last_day": chrono::DateTime::from_timestamp(last * DAY, 0).unwrap().format("%Y-%m-%d").to_string(),
        "days": days,
        "deployment_frequency": {
            "deploys": deploys,
            "per_day": per_day,
            "level": level([1.0, 1.0 / 7.0, 1.0 / 30.0], per_day, false),
        },
        "lead_time": {
            "commits": leads.len(),
            "started_at_commit": started_at_commit,
            "started_at_stage": leads.len() - started_at_commit,
            "median_seconds": lead_median,
            "p90_seconds": nearest_rank(leads, 9, 10),
            "deployed_without_stage": without_stage,
            "pending": pending,
            "level": by_seconds(&lead_median, [d, 7.0 * d, 30.0 * d]),
        },
        "change_failure_rate": {
            "rollbacks": rollbacks.len(),
            "deploys": deploys,
            "rate": rate,
            "level": match rate {
                // 2024's clusters are not ordered by this rate: no level.
                _ if dora_2024 => Value::Null,
                // Elite at most 5 %, high at most 10 %, medium at most 15 %.
                Some(rate) if rate <= 0.05 => json!("elite"),
                Some(rate) if rate <= 0.10 => json!("high"),
                Some(rate) if rate <= 0.15 => json!("medium"),
                Some(_) => json!("low"),
                None => Value::Null,
            },
        },
        "failed_deployment_recovery_time": recovery.clone(),
        "deployment_rework_rate": {
            "hotfixes": hotfixes,
            "deploys": deploys,
            "rate": rate_of(hotfixes),
            "level": null,
        },
        "time_to_restore": recovery,
    })
}

/// Buckets written out day by day, not by the service's splitting.
fn expected_buckets(first: i64, last: i64, week: bool) -> Vec<(i64, i64)> {
    let mut buckets: Vec<(i64, i64)> = Vec::new();
    for d in first..=last {
        // chrono's weekday, Monday = 0.
        let monday = chrono::DateTime::from_timestamp(d * DAY, 0)
            .unwrap()
            .format("%u")
            .to_string()
            == "1";
        match buckets.last_mut() {
            Some(bucket) if week && !monday => bucket.1 = d,
            _ => buckets.push((d, d)),
        }
    }
    buckets
}

#[test]
fn random_datasets_equal_a_recomputation_from_the_definitions_in_memory() {
    random_datasets_equal_a_recomputation(Backend::Memory, 300);
}

/// Fewer cases: each one creates a table on moto and imports its dataset.
#[test]
fn random_datasets_equal_a_recomputation_from_the_definitions_in_dynamodb() {
    random_datasets_equal_a_recomputation(Backend::DynamoDb, 25);
}

fn random_datasets_equal_a_recomputation(backend: Backend, cases: u32) {
    let mut runner = crate::support::property_runner(cases);
    let ranges = (-2i64..SPAN_DAYS + 2, 0i64..SPAN_DAYS + 4, any::<bool>());
    let benchmarks = prop::sample::select(vec![None, Some("2023"), Some("2024")]);
    runner
        .run(
            &(dataset(), ranges, benchmarks),
            |(records, (start, length, week), benchmark)| {
                let app = TestApp::with_records_on(records.clone(), backend);
                let (first, last) = (day(D0) + start, day(D0) + start + length);
                let date = |d: i64| {
                    chrono::DateTime::from_timestamp(d * DAY, 0)
                        .unwrap()
                        .format("%Y-%m-%d")
                        .to_string()
                };
                let query = format!(
                    "from={}&to={}&bucket={}{}",
                    date(first),
                    date(last),
                    if week { "week" } else { "day" },
                    benchmark.map_or(String::new(), |name| format!("&benchmark={name}")),
                );
                let dora_2024 = benchmark == Some("2024");
                let body = blocking_runtime().block_on(metrics(&app, &query));
                let body = rounded(&body);
                let expected =
                    |first, last| rounded(&expected_figures(&records, first, last, dora_2024));
                prop_assert_eq!(&body["total"], &expected(first, last));
                let buckets = body["buckets"].as_array().unwrap();
                let spans = expected_buckets(first, last, week);
                prop_assert_eq!(buckets.len(), spans.len());
                for (bucket, (first, last)) in buckets.iter().zip(spans.iter().copied()) {
                    prop_assert_eq!(bucket, &expected(first, last), "{}", query);
                }
                // Each service's figures, from its events alone.
                for service in ["default", "octo/web", "octo/api"] {
                    let of_service: Vec<RawEvent> = (records.iter())
                        .filter(|r| service_of(r) == service)
                        .cloned()
                        .collect();
                    let query = format!("{query}&service={service}");
                    let body = rounded(&blocking_runtime().block_on(metrics(&app, &query)));
                    let expected = |first, last| {
                        rounded(&expected_figures(&of_service, first, last, dora_2024))
                    };
                    prop_assert_eq!(&body["total"], &expected(first, last), "{}", query);
                    let buckets = body["buckets"].as_array().unwrap();
                    for (bucket, (first, last)) in buckets.iter().zip(spans.iter().copied()) {
                        prop_assert_eq!(bucket, &expected(first, last), "{}", query);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
}

/// Events at both ends of the calendar the store accepts: the index spans every day between.
async fn events_at_the_calendars_ends(backend: Backend) {
    const LAST_SECOND: i64 = 253_402_300_799;
    let app = TestApp::with_records_on(
        vec![
            record(1, 0, "stage", "a"),
            record(2, 60, "deploy", "a"),
            record(3, LAST_SECOND - 60, "rollback", "a"),
            record(4, LAST_SECOND, "deploy", "b"),
        ],
        backend,
    );
    let first = metrics(&app, "from=1970-01-01&to=1970-01-01").await;
    assert_eq!(first["total"]["lead_time"]["median_seconds"], 60);
    let last = metrics(&app, "from=9999-12-31&to=9999-12-31").await;
    assert_eq!(
        last["total"]["time_to_restore"],
        json!({"restored": 1, "median_seconds": 60, "unrestored": 0, "level": "elite"})
    );
    assert_eq!(last["total"]["lead_time"]["deployed_without_stage"], 1);
}

/// Events recorded after load (the log's recent part, and folds into its base) count as if they
/// had been loaded.
#[test]
fn recorded_events_answer_as_loaded_ones_in_memory() {
    recorded_events_answer_as_loaded_ones(Backend::Memory, 40);
}

/// Fewer cases: two tables on moto each, and every recorded event a transaction.
#[test]
fn recorded_events_answer_as_loaded_ones_in_dynamodb() {
    recorded_events_answer_as_loaded_ones(Backend::DynamoDb, 8);
}

fn recorded_events_answer_as_loaded_ones(backend: Backend, cases: u32) {
    let mut runner = crate::support::property_runner(cases);
    runner
        .run(&(dataset(), 0usize..80), |(records, split)| {
            // POST /events wants a sha of 7 or more hex digits.
            let records: Vec<RawEvent> = records
                .into_iter()
                .map(|r| RawEvent {
                    sha: format!("{:0>7}", r.sha),
                    ..r
                })
                .collect();
            let split = split.min(records.len());
            let all = TestApp::with_records_on(records.clone(), backend);
            let grown = TestApp::with_records_on(records[..split].to_vec(), backend);
            blocking_runtime().block_on(async {
                for event in &records[split..] {
                    let mut body = json!({
                        "sha": event.sha,
                        "action": event.action,
                        "engineer": event.engineer,
                        "timestamp": chrono::DateTime::from_timestamp(event.date, 0).unwrap().to_rfc3339(),
                    });
                    if let Some(service) = &event.service {
                        body["service"] = json!(service);
                    }
                    let response = grown.post_event(&body.to_string(), &[]).await;
                    assert_eq!(response.status, 201, "{:?}", response.json());
                }
            });
            for query in [
                "from=2017-10-30&to=2017-11-19&bucket=week",
                "from=2017-11-02&to=2017-11-05",
                "from=2017-10-30&to=2017-11-19&service=octo/web",
            ] {
                let (a, b) = blocking_runtime()
                    .block_on(async { (metrics(&all, query).await, metrics(&grown, query).await) });
                prop_assert_eq!(a, b, "{}", query);
            }
            Ok(())
        })
        .unwrap();
}

/// DynamoDB: a file imported on top of part of itself (commits whose firsts the second import
/// moves earlier, days it adds to) answers as the recomputation, and verify finds every fact
/// exact.
#[test]
fn an_import_on_top_of_an_earlier_one_answers_as_the_recomputation() {
    use pipeline_events_api::store::dynamodb::import::import;
    use pipeline_events_api::store::dynamodb::maintenance::verify;

    let mut runner = crate::support::property_runner(8);
    let part = proptest::collection::vec(any::<bool>(), 80);
    runner
        .run(&(dataset(), part), |(records, in_first)| {
            let first: Vec<RawEvent> = records
                .iter()
                .zip(&in_first)
                .filter(|(_, first)| **first)
                .map(|(record, _)| record.clone())
                .collect();
            let app = TestApp::with_records_on(first.clone(), Backend::DynamoDb);
            let store = app.dynamodb().expect("a DynamoDB app");
            let all = Services::from_records(records.clone(), "default").expect("valid records");
            let (body, report) = blocking_runtime().block_on(async {
                let imported = import(store, &all, |_| {})
                    .await
                    .expect("the second import");
                // A commit keeps the place the first import gave it until a rebuild, which the
                // import asks for; nothing else needs one.
                let mut placed: BTreeMap<(&str, String), u64> = BTreeMap::new();
                for r in first.iter().filter(|r| r.action == "commit") {
                    let id = placed
                        .entry((service_of(r), r.sha.to_string()))
                        .or_insert(r.id);
                    *id = (*id).min(r.id);
                }
                let moved_earlier = (records.iter()).any(|r| {
                    r.action == "commit"
                        && placed
                            .get(&(service_of(r), r.sha.to_string()))
                            .is_some_and(|&id| r.id < id)
                });
                assert_eq!(imported.commits_out_of_place > 0, moved_earlier);
                if moved_earlier {
                    verify(store, true).await.expect("the rebuild");
                }
                (
                    metrics(&app, "from=2017-10-30&to=2017-11-19").await,
                    verify(store, false).await.expect("verify"),
                )
            });
            prop_assert!(report.is_exact(), "{:?}", report);
            prop_assert_eq!(
                rounded(&body["total"]),
                rounded(&expected_figures(
                    &records,
                    day(D0),
                    day(D0) + SPAN_DAYS - 1,
                    false
                ))
            );
            Ok(())
        })
        .unwrap();
}

/// DynamoDB: facts counted for other action names are refused, not served, until
/// `verify --rebuild` recounts them for the configured names; then the route answers as the
/// memory store does with those names.
#[tokio::test]
async fn renamed_actions_on_dynamodb_answer_503_until_a_rebuild() {
    use pipeline_events_api::store::dynamodb::DynamoDbStore;
    use pipeline_events_api::store::dynamodb::maintenance::verify;

    use crate::support::moto::{Moto, patient_dynamodb_config};

    let counted_with_defaults = TestApp::with_records_on(cases(), Backend::DynamoDb);
    let table = counted_with_defaults.dynamodb().unwrap().table().to_owned();
    let renamed = DeliveryActions {
        deploy: "stage".into(),
        stage: "deploy".into(),
        rollback: "rollback".into(),
        ..DeliveryActions::default()
    };
    let store = DynamoDbStore::new(
        table,
        Some(patient_dynamodb_config(&Moto::shared().endpoint())),
    )
    .with_delivery_actions(renamed.clone());
    let app = TestApp::on(
        Store::DynamoDb(Box::new(store)),
        MetadataSource::build_time("test".into()),
    );
    let query = "/metrics/delivery?from=2017-10-30&to=2017-11-13&bucket=week";
    app.get(query)
        .await
        .assert_error(503, "metrics_need_rebuild");

    let report = verify(app.dynamodb().unwrap(), true).await.unwrap();
    assert!(report.repaired > 0, "{report:?}");
    let memory = TestApp::on(
        Store::Memory(MemoryStore::new(
            Services::from_records(cases(), "default").unwrap(),
            None,
            renamed,
        )),
        MetadataSource::build_time("test".into()),
    );
    let rebuilt = app.get(query).await;
    assert_eq!(rebuilt.status, 200);
    assert_eq!(rebuilt.json(), memory.get(query).await.json());
}

/// DynamoDB: a table whose events were stored by a version without the delivery facts (its
/// totals carry no label for them) is refused, not answered with zeros, until a rebuild.
#[tokio::test]
async fn a_table_from_before_the_facts_answers_503_until_a_rebuild() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use pipeline_events_api::store::dynamodb::maintenance::verify;

    let app = TestApp::with_records_on(cases(), Backend::DynamoDb);
    let query = "/metrics/delivery?from=2017-10-30&to=2017-11-13";
    let counted = app.get(query).await.json();
    let store = app.dynamodb().unwrap();
    store
        .client()
        .await
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S("META".into()))
        .key("sk", AttributeValue::S("STORE".into()))
        .update_expression("REMOVE delivery_counted")
        .send()
        .await
        .unwrap();
    app.get(query)
        .await
        .assert_error(503, "metrics_need_rebuild");
    // A record meanwhile does not make the table's facts whole.
    let response = app
        .post_event(
            r#"{"sha":"abcdef1","action":"deploy","engineer":"alice","timestamp":"2017-11-13T10:00:00Z"}"#,
            &[],
        )
        .await;
    assert_eq!(response.status, 201);
    app.get(query)
        .await
        .assert_error(503, "metrics_need_rebuild");

    let report = verify(store, true).await.unwrap();
    assert!(report.repaired > 0, "{report:?}");
    let rebuilt = app.get(query).await;
    assert_eq!(rebuilt.status, 200);
    assert_eq!(
        rebuilt.json()["total"]["deployment_frequency"]["deploys"],
        counted["total"]["deployment_frequency"]["deploys"]
            .as_u64()
            .unwrap()
            + 1
    );
}
