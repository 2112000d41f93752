//! The operator's subcommands, run as a user runs them: `import`, `create-table`, `verify`,
//! against a table on moto (or an events file for the memory store).

use std::path::Path;
use std::process::{Command, Stdio};

use aws_sdk_dynamodb::types::AttributeValue;
use pipeline_events_api::events::RawEvent;
use pipeline_events_api::store::dynamodb::DynamoDbStore;
use serde_json::Value;

use crate::support::binary::binary_path;
use crate::support::moto::{Moto, dynamodb_env, patient_dynamodb_config};
use crate::support::temp::TempDir;
use crate::support::{TestApp, fixture_records};

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], envs: &[(&str, String)]) -> Outcome {
    let output = Command::new(binary_path())
        .env_clear()
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .env("LOG_LEVEL", "warn")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    Outcome {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A fresh table name and the environment that points the binary at it on the shared moto.
fn table_env(name: &str) -> (String, Vec<(&'static str, String)>) {
    let table = format!("cli-{name}-{}", std::process::id());
    let mut env = dynamodb_env(&Moto::shared().endpoint());
    env.push(("EVENT_STORE", "dynamodb".into()));
    env.push(("EVENTS_TABLE", table.clone()));
    (table, env)
}

fn write_json_lines(path: &Path, records: &[RawEvent]) {
    let lines: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn store(table: &str) -> DynamoDbStore {
    DynamoDbStore::new(
        table.to_owned(),
        Some(patient_dynamodb_config(&Moto::shared().endpoint())),
    )
}

fn created(env: &[(&'static str, String)]) {
    let outcome = run(&["create-table"], env);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(
        outcome.stdout.starts_with("created table"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn import_is_safe_to_run_twice_and_says_so() {
    let (_, env) = table_env("twice");
    let dir = TempDir::new("cli-twice");
    let file = dir.path().join("events.jsonl");
    write_json_lines(&file, &fixture_records());
    created(&env);
    let again = run(&["create-table"], &env);
    assert_eq!(again.code, 0);
    assert!(again.stdout.contains("already exists"), "{}", again.stdout);

    let first = run(&["import", file.to_str().unwrap()], &env);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first
            .stdout
            .starts_with("imported 8 new events (0 already stored)"),
        "{}",
        first.stdout
    );
    let second = run(&["import", file.to_str().unwrap()], &env);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        second.stdout.trim(),
        "nothing to do: all 8 events were already stored and the aggregates agree"
    );
    let verified = run(&["verify"], &env);
    assert_eq!(verified.code, 0, "{}{}", verified.stdout, verified.stderr);
    assert!(verified.stdout.contains("8 events"), "{}", verified.stdout);
}

#[test]
fn a_json_array_imports_as_json_lines_do() {
    let (table, env) = table_env("array");
    let dir = TempDir::new("cli-array");
    let file = dir.path().join("events.json");
    std::fs::write(&file, serde_json::to_string(&fixture_records()).unwrap()).unwrap();
    created(&env);
    let outcome = run(&["import", file.to_str().unwrap()], &env);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let app = TestApp::on(
        pipeline_events_api::store::Store::DynamoDb(Box::new(store(&table))),
        pipeline_events_api::metadata::MetadataSource::build_time("t".into()),
    );
    let ids = crate::support::blocking_runtime()
        .block_on(app.get("/events"))
        .ids();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn a_bad_record_stops_the_import_naming_it_before_anything_is_written() {
    let (_, env) = table_env("bad");
    let dir = TempDir::new("cli-bad");
    let file = dir.path().join("events.jsonl");
    let mut lines: Vec<String> = fixture_records()
        .iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect();
    lines[2] = r#"{"id":99,"sha":"abcdef0","date":1509321600,"action":"deploy"}"#.into();
    std::fs::write(&file, lines.join("\n")).unwrap();
    created(&env);
    let outcome = run(&["import", file.to_str().unwrap()], &env);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome
            .stderr
            .contains("line 3: field 'engineer' is missing"),
        "{}",
        outcome.stderr
    );
    let verified = run(&["verify"], &env);
    assert!(
        verified.stdout.starts_with("0 events"),
        "{}",
        verified.stdout
    );
}

#[test]
fn an_action_outside_allowed_actions_stops_the_import_before_anything_is_written() {
    let (_, env) = table_env("unlisted");
    let dir = TempDir::new("cli-unlisted");
    let file = dir.path().join("events.jsonl");
    let mut records = fixture_records();
    records[3].action = "deploy-1234".into(); // id 2
    write_json_lines(&file, &records);
    created(&env);
    let outcome = run(&["import", file.to_str().unwrap()], &env);
    assert_eq!(outcome.code, 1, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("action 'deploy-1234' (event id 2")
            && outcome.stderr.contains("nothing was imported"),
        "{}",
        outcome.stderr
    );
    assert!(run(&["verify"], &env).stdout.starts_with("0 events"));
    // Listed, it imports.
    let mut listed = env.clone();
    listed.push(("ALLOWED_ACTIONS", "deploy-1234".into()));
    let outcome = run(&["import", file.to_str().unwrap()], &listed);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
}

#[test]
fn an_id_stored_with_other_content_stops_the_import_and_changes_nothing() {
    let (_, env) = table_env("conflict");
    let dir = TempDir::new("cli-conflict");
    let file = dir.path().join("events.jsonl");
    write_json_lines(&file, &fixture_records());
    created(&env);
    assert_eq!(run(&["import", file.to_str().unwrap()], &env).code, 0);

    let mut changed = fixture_records();
    changed[1].sha = "fff0000".into(); // id 1
    changed.push(RawEvent {
        id: 100,
        sha: "abcdef0".into(),
        date: 1_509_500_000,
        action: "deploy".into(),
        engineer: "erin".into(),
        service: None,
    });
    write_json_lines(&file, &changed);
    let outcome = run(&["import", file.to_str().unwrap()], &env);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome
            .stderr
            .contains("event id 1 is already stored with other content"),
        "{}",
        outcome.stderr
    );
    let verified = run(&["verify"], &env);
    assert_eq!(verified.code, 0, "{}", verified.stdout);
    assert!(
        verified.stdout.starts_with("8 events"),
        "{}",
        verified.stdout
    );
}

#[test]
fn an_id_stored_at_another_timestamp_stops_the_import() {
    let (_, env) = table_env("moved");
    let dir = TempDir::new("cli-moved");
    let file = dir.path().join("events.jsonl");
    write_json_lines(&file, &fixture_records());
    created(&env);
    assert_eq!(run(&["import", file.to_str().unwrap()], &env).code, 0);
    let mut moved = fixture_records();
    moved[1].date += 60; // id 1, a minute later: another key for the same id
    write_json_lines(&file, &moved);
    let outcome = run(&["import", file.to_str().unwrap()], &env);
    assert_eq!(outcome.code, 1);
    assert!(
        outcome.stderr.contains(
            "event id 1 is already stored with other content (timestamp 2017-10-30T09:00:00Z"
        ),
        "{}",
        outcome.stderr
    );
    let verified = run(&["verify"], &env);
    assert_eq!(verified.code, 0, "{}", verified.stdout);
    assert!(
        verified.stdout.starts_with("8 events"),
        "{}",
        verified.stdout
    );
}

#[test]
fn a_conflict_anywhere_in_the_file_stops_the_import_before_anything_is_written() {
    let (_, env) = table_env("late-conflict");
    let dir = TempDir::new("cli-late-conflict");
    let file = dir.path().join("events.jsonl");
    write_json_lines(&file, &fixture_records());
    created(&env);
    assert_eq!(run(&["import", file.to_str().unwrap()], &env).code, 0);
    // 150 new events, then one that conflicts: far past the first batches.
    let mut records: Vec<RawEvent> = (0..150)
        .map(|n| RawEvent {
            id: 1000 + n,
            sha: "abc1234".into(),
            date: 1_509_600_000 + n as i64 * 60,
            action: "deploy".into(),
            engineer: "erin".into(),
            service: None,
        })
        .collect();
    let mut conflicting = fixture_records()[4].clone(); // id 4
    conflicting.sha = "fff1234".into();
    records.push(conflicting);
    write_json_lines(&file, &records);
    let outcome = run(&["import", file.to_str().unwrap()], &env);
    assert_eq!(outcome.code, 1);
    assert!(outcome.stderr.contains("event id 4"), "{}", outcome.stderr);
    let verified = run(&["verify"], &env);
    assert_eq!(verified.code, 0, "{}", verified.stdout);
    assert!(
        verified.stdout.starts_with("8 events"),
        "{}",
        verified.stdout
    );
}

#[test]
fn importing_into_a_missing_table_says_so_in_one_line() {
    let (_, env) = table_env("missing");
    let dir = TempDir::new("cli-missing");
    let file = dir.path().join("events.jsonl");
    write_json_lines(&file, &fixture_records());
    let outcome = run(&["import", file.to_str().unwrap()], &env);
    assert_eq!(outcome.code, 1);
    assert_eq!(outcome.stderr.lines().count(), 1, "{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains("does not exist: deploy the stack (make deploy) or run create-table"),
        "{}",
        outcome.stderr
    );
}

/// Every item of the table whose key is neither an event's nor an event's id item.
async fn delete_aggregates(store: &DynamoDbStore) -> usize {
    let client = store.client().await;
    let items = crate::support::moto::every_item(store).await;
    let mut deleted = 0;
    for item in items {
        let pk = item["pk"].as_s().unwrap();
        // The events, their copies for their service, their ids: written first.
        let event = pk.starts_with("EV#") || (pk.starts_with("SVC#") && pk.contains("#EV#"));
        if event || pk.starts_with("ID#") {
            continue;
        }
        client
            .delete_item()
            .table_name(store.table())
            .key("pk", item["pk"].clone())
            .key("sk", item["sk"].clone())
            .send()
            .await
            .unwrap();
        deleted += 1;
    }
    deleted
}

#[test]
fn an_import_that_stopped_after_the_events_is_completed_by_running_it_again() {
    let (table, env) = table_env("resume");
    let dir = TempDir::new("cli-resume");
    let file = dir.path().join("events.jsonl");
    write_json_lines(&file, &fixture_records());
    created(&env);
    assert_eq!(run(&["import", file.to_str().unwrap()], &env).code, 0);
    // As if the first run had died between writing the events and their aggregates.
    let deleted = crate::support::blocking_runtime().block_on(delete_aggregates(&store(&table)));
    assert!(deleted > 5, "{deleted}");
    let broken = run(&["verify"], &env);
    assert_eq!(broken.code, 1);
    assert!(
        broken.stdout.contains("missing: META/STORE"),
        "{}",
        broken.stdout
    );

    let rerun = run(&["import", file.to_str().unwrap()], &env);
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(
        rerun.stdout.trim(),
        format!("imported 0 new events (8 already stored); {deleted} aggregate items updated")
    );
    assert_eq!(run(&["verify"], &env).code, 0);
}

#[test]
fn verify_finds_aggregates_that_disagree_and_rebuild_repairs_them() {
    let (table, env) = table_env("verify");
    let dir = TempDir::new("cli-verify");
    let file = dir.path().join("events.jsonl");
    write_json_lines(&file, &fixture_records());
    created(&env);
    assert_eq!(run(&["import", file.to_str().unwrap()], &env).code, 0);

    let store = store(&table);
    crate::support::blocking_runtime().block_on(async {
        let client = store.client().await;
        client
            .update_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("DAY#2017".into()))
            .key("sk", AttributeValue::S("2017-10-30".into()))
            .update_expression("SET #total = :n")
            .expression_attribute_names("#total", "total")
            .expression_attribute_values(":n", AttributeValue::N("99".into()))
            .send()
            .await
            .unwrap();
        client
            .put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S("ENGINEERS".into()))
            .item("sk", AttributeValue::S("ghost".into()))
            .item("events", AttributeValue::N("1".into()))
            .item("first", AttributeValue::N("0".into()))
            .item("last", AttributeValue::N("0".into()))
            .send()
            .await
            .unwrap();
        // As if a batch had been cut short between an event and its id item.
        client
            .delete_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("ID#3".into()))
            .key("sk", AttributeValue::S("EVENT".into()))
            .send()
            .await
            .unwrap();
    });
    let found = run(&["verify"], &env);
    assert_eq!(found.code, 1);
    assert!(
        found.stdout.contains("differing: DAY#2017/2017-10-30"),
        "{}",
        found.stdout
    );
    assert!(
        found.stdout.contains("extra: ENGINEERS/ghost"),
        "{}",
        found.stdout
    );
    assert!(
        found.stdout.contains("missing: ID#3/EVENT"),
        "{}",
        found.stdout
    );
    assert!(
        found.stdout.contains("verify --rebuild"),
        "{}",
        found.stdout
    );

    let rebuilt = run(&["verify", "--rebuild"], &env);
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.stdout);
    assert!(
        rebuilt.stdout.contains("rebuilt: 3 items"),
        "{}",
        rebuilt.stdout
    );
    let clean = run(&["verify"], &env);
    assert_eq!(clean.code, 0, "{}", clean.stdout);
}

/// An index: name, key schema (attribute, key type), projection.
type Index = (String, Vec<(String, String)>, String);

#[test]
fn create_table_makes_the_table_the_terraform_describes() {
    let (table, env) = table_env("shape");
    created(&env);
    let described = crate::support::blocking_runtime().block_on(async {
        let store = store(&table);
        let client = store.client().await;
        let table = client
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        let backups = client
            .describe_continuous_backups()
            .table_name(table.table_name().unwrap())
            .send()
            .await
            .unwrap();
        let ttl = client
            .describe_time_to_live()
            .table_name(table.table_name().unwrap())
            .send()
            .await
            .unwrap()
            .time_to_live_description
            .unwrap();
        (table, backups, ttl)
    });
    let (table, backups, ttl) = described;
    let key = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_owned(),
                    k.key_type().as_str().to_owned(),
                )
            })
            .collect()
    };
    let mut attributes: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    attributes.sort();
    let mut indexes: Vec<Index> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            (
                index.index_name().unwrap().to_owned(),
                key(index.key_schema()),
                index
                    .projection()
                    .and_then(|p| p.projection_type())
                    .unwrap()
                    .as_str()
                    .to_owned(),
            )
        })
        .collect();
    indexes.sort();
    let billing = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map(|b| b.as_str().to_owned());
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_owned());

    let terraform = terraform_table();
    let block = |v: &Value| v.as_array().map_or(v.clone(), |a| a[0].clone());
    let text = |v: &Value| block(v).as_str().unwrap().to_owned();
    let mut expected_attributes: Vec<(String, String)> = terraform["attribute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (text(&a["name"]), text(&a["type"])))
        .collect();
    expected_attributes.sort();
    let mut expected_indexes: Vec<Index> = terraform["global_secondary_index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                text(&i["name"]),
                vec![
                    (text(&i["hash_key"]), "HASH".into()),
                    (text(&i["range_key"]), "RANGE".into()),
                ],
                text(&i["projection_type"]),
            )
        })
        .collect();
    expected_indexes.sort();

    assert_eq!(attributes, expected_attributes);
    assert_eq!(
        key(table.key_schema()),
        [
            (text(&terraform["hash_key"]), "HASH".into()),
            (text(&terraform["range_key"]), "RANGE".into())
        ]
    );
    assert_eq!(indexes, expected_indexes);
    assert_eq!(
        billing.as_deref(),
        Some(text(&terraform["billing_mode"]).as_str())
    );
    assert_eq!(
        block(&block(&terraform["point_in_time_recovery"])["enabled"]),
        Value::Bool(true)
    );
    assert_eq!(pitr.as_deref(), Some("ENABLED"));
    let expected_ttl = block(&terraform["ttl"]);
    assert_eq!(block(&expected_ttl["enabled"]), Value::Bool(true));
    assert_eq!(
        ttl.attribute_name(),
        Some(text(&expected_ttl["attribute_name"]).as_str())
    );
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
    // Encryption at rest with DynamoDB's own key: neither names another.
    assert!(terraform.get("server_side_encryption").is_none());
    assert!(
        table
            .sse_description()
            .is_none_or(|sse| sse.kms_master_key_arn().is_none())
    );
}

/// `aws_dynamodb_table.events` of infra/dynamodb.tf, as JSON, parsed by python-hcl2 (installed
/// in .venv with checkov) — the HCL as Terraform reads it, not a copy kept by hand.
fn terraform_table() -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} missing: run `make test`, which installs it",
        python.display()
    );
    let output = Command::new(python)
        .arg("-c")
        .arg("import hcl2, json, sys; print(json.dumps(hcl2.load(open(sys.argv[1]))))")
        .arg(root.join("infra/dynamodb.tf"))
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value = serde_json::from_slice(&output.stdout).unwrap();
    parsed["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| r.get("aws_dynamodb_table").map(|t| t["events"].clone()))
        .expect("aws_dynamodb_table.events in infra/dynamodb.tf")
}

#[test]
fn the_memory_store_imports_into_its_events_file() {
    let dir = TempDir::new("cli-memory");
    let incoming = dir.path().join("incoming.jsonl");
    let events_file = dir.path().join("events.jsonl");
    write_json_lines(&incoming, &fixture_records()[..5]);
    let env = vec![("EVENTS_FILE", events_file.to_str().unwrap().to_owned())];
    let first = run(&["import", incoming.to_str().unwrap()], &env);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.starts_with("imported 5 new events"),
        "{}",
        first.stdout
    );
    write_json_lines(&incoming, &fixture_records());
    let second = run(&["import", incoming.to_str().unwrap()], &env);
    assert!(
        second.stdout.starts_with("imported 3 new events"),
        "{}",
        second.stdout
    );
    let third = run(&["import", incoming.to_str().unwrap()], &env);
    assert!(
        third.stdout.starts_with("nothing to do"),
        "{}",
        third.stdout
    );
    let loaded = pipeline_events_api::events::Services::load(
        std::fs::File::open(&events_file).unwrap(),
        "events",
        "default",
    )
    .unwrap();
    assert_eq!(loaded.len(), 8);

    let array = dir.path().join("array.json");
    std::fs::write(&array, serde_json::to_string(&fixture_records()).unwrap()).unwrap();
    let into_array = run(
        &["import", incoming.to_str().unwrap()],
        &[("EVENTS_FILE", array.to_str().unwrap().to_owned())],
    );
    assert_eq!(into_array.code, 1);
    assert!(
        into_array.stderr.contains("is a JSON array"),
        "{}",
        into_array.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&array).unwrap(),
        serde_json::to_string(&fixture_records()).unwrap()
    );

    let without_file = run(&["import", incoming.to_str().unwrap()], &[]);
    assert_eq!(without_file.code, 1);
    assert!(
        without_file.stderr.contains("EVENTS_FILE"),
        "{}",
        without_file.stderr
    );
}

/// The services of a file's records: each record's own, else `--service`, else DEFAULT_SERVICE;
/// in a table as in an events file.
#[test]
fn records_naming_no_service_take_the_one_the_import_names() {
    let dir = TempDir::new("cli-services");
    let incoming = dir.path().join("incoming.jsonl");
    let mut records = fixture_records();
    records[0].service = Some("octo-org/web".into());
    write_json_lines(&incoming, &records);
    let services_of = |events: &Value| -> Vec<(u64, String)> {
        let mut seen: Vec<(u64, String)> = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["id"].as_u64().unwrap(),
                    e["service"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        seen.sort();
        seen
    };
    let expected = |rest: &str| -> Vec<(u64, String)> {
        (1..=8)
            .map(|id| {
                (
                    id,
                    if id == records[0].id {
                        "octo-org/web"
                    } else {
                        rest
                    }
                    .to_owned(),
                )
            })
            .collect()
    };

    let (table, mut env) = table_env("services");
    created(&env);
    env.push(("DEFAULT_SERVICE", "octo-org/fallback".into()));
    let outcome = run(
        &[
            "import",
            incoming.to_str().unwrap(),
            "--service",
            "octo-org/api",
        ],
        &env,
    );
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let app = TestApp::on(
        pipeline_events_api::store::Store::DynamoDb(Box::new(store(&table))),
        pipeline_events_api::metadata::MetadataSource::build_time("t".into()),
    );
    let listed = crate::support::blocking_runtime()
        .block_on(app.get("/events"))
        .json();
    assert_eq!(services_of(&listed), expected("octo-org/api"));

    // An events file: without --service, the DEFAULT_SERVICE the server will load it with.
    let events_file = dir.path().join("events.jsonl");
    let env = vec![
        ("EVENTS_FILE", events_file.to_str().unwrap().to_owned()),
        ("DEFAULT_SERVICE", "octo-org/fallback".to_owned()),
    ];
    let outcome = run(&["import", incoming.to_str().unwrap()], &env);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let lines: Vec<Value> = std::fs::read_to_string(&events_file)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut in_file: Vec<(u64, String)> = lines
        .iter()
        .map(|l| {
            (
                l["id"].as_u64().unwrap(),
                l["service"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    in_file.sort();
    assert_eq!(in_file, expected("octo-org/fallback"));

    // Either order; a bad name, no name, or two of them is a usage error.
    let before = run(
        &[
            "import",
            "--service",
            "octo-org/fallback",
            incoming.to_str().unwrap(),
        ],
        &env,
    );
    assert_eq!(before.code, 0, "{}", before.stderr);
    assert!(
        before.stdout.starts_with("nothing to do"),
        "{}",
        before.stdout
    );
    // The same records in another service are other events under the same ids.
    let elsewhere = run(
        &[
            "import",
            incoming.to_str().unwrap(),
            "--service",
            "octo-org/api",
        ],
        &env,
    );
    assert_eq!(elsewhere.code, 1, "{}", elsewhere.stdout);
    assert!(
        elsewhere.stderr.contains("other content"),
        "{}",
        elsewhere.stderr
    );
    for bad in [
        &["import", "x.jsonl", "--service", "a b"][..],
        &["import", "x.jsonl", "--service"],
        &["import", "x.jsonl", "--service", "a", "--service", "b"],
        &["import", "--service", "a"],
    ] {
        let outcome = run(bad, &[]);
        assert_eq!(outcome.code, 2, "{bad:?}: {}", outcome.stderr);
    }
}

#[test]
fn usage_errors_exit_2_and_show_the_usage() {
    for args in [
        &["frobnicate"][..],
        &["import"],
        &["verify", "--force"],
        &["create-table", "x"],
    ] {
        let outcome = run(args, &[]);
        assert_eq!(outcome.code, 2, "{args:?}");
        assert!(
            outcome.stderr.contains("usage:"),
            "{args:?}: {}",
            outcome.stderr
        );
    }
    let help = run(&["--help"], &[]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("import FILE"));
    let memory = run(&["verify"], &[]);
    assert_eq!(memory.code, 1);
    assert!(
        memory.stderr.contains("EVENT_STORE=dynamodb"),
        "{}",
        memory.stderr
    );
}
