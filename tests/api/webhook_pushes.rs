//! Pushes through both webhooks, on every store: GitHub's `push` examples and GitLab's
//! documented Push Hook, each commit recorded once for good.

use serde_json::{Value, json};

use crate::each_store;
use crate::support::webhooks::{count_events, github_examples, github_signature, without_id};
use crate::support::{Backend, TestApp};
use crate::webhooks_github::{self as github, SECRET, body_of, deliver_signed, requests_for};
use crate::webhooks_gitlab::{self as gitlab, TOKEN};

const SERVICE: &str = "Codertocat/Hello-World";
/// The commits of one transaction (the server's `COMMITS_PER_TRANSACTION`): 6 items each (the
/// event, its copy, its id item, its identity, its firsts, its place) beside the 8 aggregates,
/// the service's turn and 4 delivery days, within DynamoDB's 100.
const COMMITS_PER_TRANSACTION: usize = 14;

/// GitHub's example of a push to the default branch (`master`): one commit.
fn default_branch_push() -> Value {
    (github_examples("push").into_iter())
        .find(|example| example["ref"] == "refs/heads/master" && example["commits"] != json!([]))
        .expect("GitHub has an example of a push to the default branch")
}

/// The default-branch example carrying `count` commits, the `first`-th onwards of a made-up
/// history (each commit GitHub's example commit with another SHA).
fn push_of(first: usize, count: usize) -> Value {
    let mut push = default_branch_push();
    let commit = push["commits"][0].clone();
    let commits: Vec<Value> = (first..first + count)
        .map(|n| {
            let mut commit = commit.clone();
            commit["id"] = json!(sha_of(n));
            commit
        })
        .collect();
    push["after"] = commits
        .last()
        .map_or(json!(null), |commit| commit["id"].clone());
    push["commits"] = json!(commits);
    push
}

fn sha_of(n: usize) -> String {
    format!("{n:040x}")
}

/// The commit event a push records for `sha`, read from the payload by hand.
fn commit_event(push: &Value, sha: &Value) -> Value {
    let pushed_at = push["repository"]["pushed_at"].as_i64().expect("seconds");
    let pushed_at = chrono::DateTime::from_timestamp(pushed_at, 0).expect("an instant");
    json!({
        "sha": sha,
        "action": "commit",
        "engineer": push["sender"]["login"],
        "timestamp": pushed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "service": push["repository"]["full_name"],
    })
}

async fn deliver(app: &TestApp, push: &Value) -> (u16, Value) {
    let response = github::deliver(app, "push", &body_of(push), SECRET).await;
    (response.status.as_u16(), response.json())
}

async fn githubs_push_examples_record_default_branch_commits_once(backend: Backend) {
    let app = github::app(backend);
    let mut recorded: Option<Value> = None;
    for example in github_examples("push") {
        let (status, answer) = deliver(&app, &example).await;
        if example["ref"] != "refs/heads/master" {
            assert_eq!(status, 202, "{answer}");
            let reason = answer["ignored"].as_str().unwrap_or_default();
            assert!(reason.contains("not to the default branch"), "{reason}");
            continue;
        }
        assert_eq!(status, 200, "{answer}");
        let expected: Vec<Value> = (example["commits"].as_array().expect("a list").iter())
            .map(|commit| commit_event(&example, &commit["id"]))
            .collect();
        let events = answer["events"].as_array().expect("a list");
        assert_eq!(events.iter().map(without_id).collect::<Vec<_>>(), expected);
        // GitHub's two pushes to master are one push: the second answers the first's events.
        match &recorded {
            None => recorded = Some(answer["events"].clone()),
            Some(first) => assert_eq!(&answer["events"], first),
        }
    }
    let recorded = recorded.expect("a push to the default branch");
    assert_eq!(recorded[0]["id"], 9, "after the fixture's 8 events");
    let listed = app.get(&format!("/events?service={SERVICE}")).await.json();
    assert_eq!(listed["events"], recorded);
}

async fn a_push_of_100_commits_is_recorded_once_in_its_order(backend: Backend) {
    let app = github::app(backend);
    let dynamodb = backend == Backend::DynamoDb;
    let push = push_of(0, 100);
    let (first, requests) =
        requests_for(&app, github::deliver(&app, "push", &body_of(&push), SECRET)).await;
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let events = first.json()["events"].clone();
    let events = events.as_array().expect("a list");
    let expected: Vec<Value> = (0..100)
        .map(|n| commit_event(&push, &json!(sha_of(n))))
        .collect();
    assert_eq!(events.iter().map(without_id).collect::<Vec<_>>(), expected);
    let ids: Vec<u64> = events
        .iter()
        .map(|event| event["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (9..109).collect::<Vec<u64>>(), "in the push's order");
    // The README's "What each route costs": the keys in one BatchGetItem, the ids in one
    // UpdateItem, the commits' firsts in one BatchGetItem, then per transaction of 14 commits
    // the aggregates (BatchGetItem), the service's turn (GetItem), the ship after their places
    // (Query), the days they count on (BatchGetItem) and TransactWriteItems.
    let transactions = 100usize.div_ceil(COMMITS_PER_TRANSACTION) as u64;
    assert_eq!(requests, if dynamodb { 3 + 5 * transactions } else { 0 });

    let (again, requests) =
        requests_for(&app, github::deliver(&app, "push", &body_of(&push), SECRET)).await;
    assert_eq!((again.status, again.json()), (first.status, first.json()));
    assert_eq!(requests, u64::from(dynamodb), "one BatchGetItem");

    // A push overlapping it (a redelivery of a longer push, a force-push bringing commits
    // back): only the 50 commits not recorded are new.
    let overlapping = push_of(50, 100);
    let (status, answer) = deliver(&app, &overlapping).await;
    assert_eq!(status, 200, "{answer}");
    let ids: Vec<u64> = (answer["events"].as_array().unwrap().iter())
        .map(|event| event["id"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (59..109).chain(109..159).collect();
    assert_eq!(ids, expected);
    assert_eq!(count_events_of(&app).await, 150);
    // The days count each commit once.
    let summary = app
        .get(&format!("/summaries/daily?service={SERVICE}"))
        .await
        .json();
    assert_eq!(summary["days"][0]["total"], 150, "{summary}");
    assert_eq!(summary["days"][0]["actions"]["commit"], 150, "{summary}");
}

async fn concurrent_deliveries_of_one_push_record_each_commit_once(backend: Backend) {
    let app = std::sync::Arc::new(github::app(backend));
    let body = body_of(&push_of(0, 30));
    let signature = github_signature(SECRET, &body);
    // Tasks on the test's runtime: they interleave at every await, where the stores' races are.
    let deliveries: Vec<_> = (0..6)
        .map(|_| {
            let (app, body, signature) = (app.clone(), body.clone(), signature.clone());
            tokio::spawn(async move { deliver_signed(&app, "push", body, &signature).await })
        })
        .collect();
    let mut answers = Vec::new();
    for delivery in deliveries {
        answers.push(delivery.await.expect("the delivery ran"));
    }
    let first = answers[0].json();
    for answer in &answers {
        assert_eq!(
            (answer.status.as_u16(), answer.json()),
            (200, first.clone())
        );
    }
    assert_eq!(count_events_of(&app).await, 30);
    let listed = app
        .get(&format!("/events?service={SERVICE}&limit=100"))
        .await
        .json();
    let mut listed = listed["events"].as_array().unwrap().clone();
    listed.sort_by_key(|event| event["id"].as_u64());
    assert_eq!(json!(listed), first["events"]);
}

async fn the_largest_push_github_sends_is_recorded(backend: Backend) {
    let app = github::app(backend);
    // GitHub lists at most 2 048 commits in a push.
    let (status, answer) = deliver(&app, &push_of(0, 2048)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["events"].as_array().unwrap().len(), 2048);
    assert_eq!(count_events_of(&app).await, 2048);
}

async fn a_commit_is_its_services_and_another_branch_records_nothing(backend: Backend) {
    let app = github::app(backend);
    let push = push_of(0, 3);
    assert_eq!(deliver(&app, &push).await.0, 200);
    // The same commits in a fork: the fork's own.
    let mut fork = push.clone();
    fork["repository"]["full_name"] = json!("octo-org/Hello-World");
    let (status, answer) = deliver(&app, &fork).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["events"][0]["id"], 12);
    for (git_ref, default_branch) in [
        ("refs/heads/feature", "master"),
        ("refs/tags/v1.0", "master"),
        ("refs/heads/master", "main"),
    ] {
        let mut other = push_of(10, 3);
        other["ref"] = json!(git_ref);
        other["repository"]["default_branch"] = json!(default_branch);
        let (status, answer) = deliver(&app, &other).await;
        assert_eq!(status, 202, "{git_ref}: {answer}");
    }
    // A push that brings no new commit (a fast-forward to a commit already there).
    let (status, answer) = deliver(&app, &push_of(0, 0)).await;
    assert_eq!(
        (status, answer["ignored"].is_string()),
        (202, true),
        "{answer}"
    );
    // A push time no clock gives (a signed body may hold any number): taken as the earliest
    // instant an event carries, never a failure.
    let mut ancient = push_of(20, 1);
    ancient["repository"]["pushed_at"] = json!(i64::MIN);
    let (status, answer) = deliver(&app, &ancient).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["events"][0]["timestamp"], "1970-01-01T00:00:00Z");
    // A commit id that is no SHA is not a push GitHub sends.
    let mut bad = push_of(0, 1);
    bad["commits"][0]["id"] = json!("not a sha");
    let (status, answer) = deliver(&app, &bad).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("invalid_payload")),
        "{answer}"
    );
    assert_eq!(count_events_of(&app).await, 4);
}

/// The events of `SERVICE` (fewer than 3 000).
async fn count_events_of(app: &TestApp) -> usize {
    let mut count = 0;
    let mut path = format!("/events?service={SERVICE}&limit=1000");
    loop {
        let page = app.get(&path).await.json();
        count += page["events"].as_array().expect("a list").len();
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/events?service={SERVICE}&limit=1000&cursor={cursor}"),
            None => return count,
        }
    }
}

async fn gitlabs_documented_push_records_its_listed_commits(backend: Backend) {
    let app = gitlab::app(backend);
    let hook = gitlab::example("push-hook");
    let before = chrono::Utc::now().timestamp();
    let first = gitlab::deliver(&app, "Push Hook", &hook, Some(TOKEN)).await;
    let after = chrono::Utc::now().timestamp();
    assert_eq!(
        first.status,
        200,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let events = first.json()["events"].clone();
    let events = events.as_array().expect("a list");
    // GitLab's example lists 2 of its 4 commits (`total_commits_count`): those 2 are recorded,
    // by the user who pushed, at the delivery's arrival (a Push Hook has no push time).
    assert_eq!(events.len(), 2);
    for (event, commit) in events.iter().zip(hook["commits"].as_array().unwrap()) {
        let timestamp = event["timestamp"].as_str().expect("a time");
        let at = chrono::DateTime::parse_from_rfc3339(timestamp)
            .unwrap()
            .timestamp();
        assert!((before..=after).contains(&at), "{timestamp}");
        let mut expected = without_id(event);
        expected["timestamp"] = json!(null);
        assert_eq!(
            expected,
            json!({
                "sha": commit["id"],
                "action": "commit",
                "engineer": "jsmith",
                "timestamp": null,
                "service": "mike/diaspora",
            })
        );
    }
    let again = gitlab::deliver(&app, "Push Hook", &hook, Some(TOKEN)).await;
    assert_eq!(again.json(), first.json());
    let mut branch = hook.clone();
    branch["ref"] = json!("refs/heads/feature");
    let response = gitlab::deliver(&app, "Push Hook", &branch, Some(TOKEN)).await;
    assert_eq!(response.status, 202);
    assert_eq!(count_events(&app, "mike/diaspora").await, 10);
}

/// A delivery of `event` under its own delivery id.
async fn deliver_as(app: &TestApp, event: &str, delivery: &str, body: &Value) -> u16 {
    let body = body_of(body);
    let signature = github_signature(SECRET, &body);
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", event),
        ("x-github-delivery", delivery),
        ("x-hub-signature-256", signature.as_str()),
    ];
    app.post("/webhooks/github", body, &headers)
        .await
        .status
        .as_u16()
}

/// Three commits pushed two hours ago, the middle one staged before (a pull request's head),
/// then a successful production deployment of the last an hour ago: the deploy ships all three,
/// each from its push, and the fourth commit, pushed after, is pending.
async fn a_deployment_ships_every_commit_pushed_before_it_from_its_push(backend: Backend) {
    let app = github::app(backend);
    let now = chrono::Utc::now().timestamp();
    let staged_at = chrono::DateTime::from_timestamp(now - 9_000, 0).expect("an instant");
    let stage = json!({
        "sha": sha_of(1), "action": "stage", "engineer": "octocat", "service": SERVICE,
        "timestamp": staged_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    assert_eq!(app.post_event(&stage.to_string(), &[]).await.status, 201);
    let mut push = push_of(0, 3);
    push["repository"]["pushed_at"] = json!(now - 7_200);
    let body = body_of(&push);
    let signature = github_signature(SECRET, &body);
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "push"),
        ("x-github-delivery", "push-1"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let pushed = app.post("/webhooks/github", body, &headers).await;
    assert_eq!(pushed.status, 200);
    let ids: Vec<u64> = (pushed.json()["events"].as_array().expect("events").iter())
        .map(|event| event["id"].as_u64().expect("an id"))
        .collect();
    assert!(
        ids.is_sorted(),
        "in the push's order, the staged one too: {ids:?}"
    );
    let mut later = push_of(3, 1);
    later["repository"]["pushed_at"] = json!(now - 1_800);
    assert_eq!(deliver_as(&app, "push", "push-2", &later).await, 200);

    let mut deployment = github::success_example();
    deployment["deployment"]["sha"] = json!(sha_of(2));
    deployment["deployment"]["environment"] = json!("production");
    deployment["repository"] = push["repository"].clone();
    let deployed_at = chrono::DateTime::from_timestamp(now - 3_600, 0).expect("an instant");
    deployment["deployment_status"]["created_at"] =
        json!(deployed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let status = deliver_as(&app, "deployment_status", "deployment-1", &deployment).await;
    assert_eq!(status, 200);

    let service = SERVICE.replace('/', "%2F");
    let response = app
        .get(&format!("/metrics/delivery?service={service}"))
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.json()["total"]["lead_time"],
        json!({
            "commits": 3, "started_at_commit": 3, "started_at_stage": 0,
            "median_seconds": 3_600, "p90_seconds": 3_600,
            "deployed_without_stage": 0, "pending": 1, "level": "elite"
        })
    );
}

each_store!(
    a_deployment_ships_every_commit_pushed_before_it_from_its_push,
    githubs_push_examples_record_default_branch_commits_once,
    a_push_of_100_commits_is_recorded_once_in_its_order,
    concurrent_deliveries_of_one_push_record_each_commit_once,
    the_largest_push_github_sends_is_recorded,
    a_commit_is_its_services_and_another_branch_records_nothing,
    gitlabs_documented_push_records_its_listed_commits,
);

// The local server with EVENTS_FILE: a commit's identity outlives a restart, for good.

use crate::support::binary::{LocalServer, http_request};
use crate::support::temp::TempDir;

fn push_to(server: &LocalServer, push: &Value) -> (u16, Value) {
    let body = serde_json::to_string(push).expect("JSON");
    let signature = github_signature(SECRET, body.as_bytes());
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "push"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let (status, _, answer) =
        http_request(server.address, "POST", "/webhooks/github", &headers, &body);
    (status, serde_json::from_str(&answer).expect("a JSON body"))
}

#[test]
fn a_commit_is_remembered_across_a_restart_long_after_a_week() {
    let dir = TempDir::new("push-file");
    let file = dir.path().join("events.jsonl");
    std::fs::write(&file, "").unwrap();
    let env = [
        ("EVENTS_FILE", file.to_str().unwrap()),
        ("GITHUB_WEBHOOK_SECRET", SECRET),
    ];
    let server = LocalServer::start(&env);
    let (status, first) = push_to(&server, &push_of(0, 3));
    assert_eq!(status, 200, "{first}");
    server.terminate();

    // A year later: far past a delivery's week, yet a commit is recorded once for good.
    let keys = dir.path().join("events.jsonl.keys");
    let a_year_ago = chrono::Utc::now().timestamp() - 365 * 86_400;
    let aged: String = std::fs::read_to_string(&keys)
        .unwrap()
        .lines()
        .map(|line| {
            let mut line: Value = serde_json::from_str(line).unwrap();
            assert_eq!(line["commit"], true, "{line}");
            line["received"] = json!(a_year_ago);
            format!("{line}\n")
        })
        .collect();
    assert_eq!(aged.lines().count(), 3, "{aged}");
    std::fs::write(&keys, aged).unwrap();

    let server = LocalServer::start(&env);
    let (status, again) = push_to(&server, &push_of(0, 4));
    assert_eq!(status, 200, "{again}");
    let again = again["events"].as_array().unwrap();
    assert_eq!(json!(again[..3]), first["events"]);
    assert_eq!(again[3]["sha"], sha_of(3));
    server.terminate();
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 4);
}
