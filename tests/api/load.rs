//! Loading the pipeline's export format, and the built-in sample dataset.

use pipeline_events_api::events::{GeneratorSettings, Services, generate, write_json_lines};
use pipeline_events_api::startup::SAMPLE_EVENTS;

use crate::support::{TestApp, fixture_records};

/// Loads through both paths (a reader, as for EVENTS_FILE; a slice, as for the built-in sample)
/// and requires the same outcome from each.
fn load(text: &str) -> Result<Services, String> {
    let from_reader =
        Services::load(text.as_bytes(), "events.json", "default").map_err(|e| e.to_string());
    let from_slice =
        Services::load_slice(text.as_bytes(), "events.json", "default").map_err(|e| e.to_string());
    match (&from_reader, &from_slice) {
        (Ok(a), Ok(b)) => assert_eq!(a.len(), b.len()),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!(
            "reader and slice disagree: {:?} vs {:?}",
            from_reader.as_ref().err(),
            from_slice.as_ref().err()
        ),
    }
    from_reader
}

#[test]
fn json_array_and_json_lines_load_the_same_events() {
    let records = fixture_records();
    let array = serde_json::to_string_pretty(&records).unwrap();
    let mut lines = Vec::new();
    write_json_lines(&records, &mut lines).unwrap();
    let from_array = load(&array).unwrap();
    let from_lines = load(std::str::from_utf8(&lines).unwrap()).unwrap();
    assert_eq!(from_array.len(), 8);
    assert_eq!(from_lines.len(), 8);
    let engineers = |store: &Services| {
        store
            .service("default")
            .engineers()
            .into_iter()
            .map(|e| (e.name.to_owned(), e.events))
            .collect::<Vec<_>>()
    };
    assert_eq!(engineers(&from_array), engineers(&from_lines));
    assert_eq!(load("[]").unwrap().len(), 0);
    assert_eq!(load("").unwrap().len(), 0);
}

#[test]
fn errors_name_the_source_the_record_and_the_problem() {
    let cases = [
        (
            r#"[{"id":1,"sha":"abcdef0","date":1,"action":"stage","engineer":"x"},{"id":2,"sha":"abcdef1","date":2,"action":"stage"}]"#,
            "record 2",
            "engineer",
        ),
        (
            "{\"id\":1,\"sha\":\"abcdef0\",\"date\":1,\"action\":\"stage\",\"engineer\":\"x\"}\n{\"id\":\"two\"}\n",
            "line 2",
            "field 'id' must be a whole number from 1",
        ),
        (
            "{\"id\":1,\"sha\":\"abcdef0\",\"date\":1,\"action\":\"stage\",\"engineer\":\"x\"}\n{\"id\":1,\"sha\":\"abcdef1\",\"date\":2,\"action\":\"stage\",\"engineer\":\"y\"}\n",
            "record 2",
            "id 1 appears more than once",
        ),
        (
            // Ids out of order, the repeat two records after its first: the later record is named.
            concat!(
                r#"[{"id":3,"sha":"abcdef0","date":1,"action":"stage","engineer":"x"},"#,
                r#"{"id":1,"sha":"abcdef0","date":1,"action":"stage","engineer":"x"},"#,
                r#"{"id":2,"sha":"abcdef0","date":1,"action":"stage","engineer":"x"},"#,
                r#"{"id":1,"sha":"abcdef0","date":9,"action":"deploy","engineer":"y"}]"#
            ),
            "record 4",
            "id 1 appears more than once",
        ),
        (
            r#"[{"id":1,"sha":"abcdef0","date":-5,"action":"stage","engineer":"x"}]"#,
            "record 1",
            "outside 1970-01-01",
        ),
        (
            r#"[{"id":1,"sha":"abcdef0","date":1,"action":"","engineer":"x"}]"#,
            "record 1",
            "field 'action' must be a lower-case name",
        ),
        (
            r#"[{"id":1,"sha":"abcdef0","date":1,"action":"stage","engineer":"x"}"#,
            "record 2",
            "EOF",
        ),
        ("{not json", "line 1", "not JSON (key must be a string"),
        // The rules POST /events applies, for every way in.
        (
            r#"[{"id":1,"sha":"zz","date":1,"action":"stage","engineer":"x"}]"#,
            "record 1",
            "field 'sha' must be a commit SHA",
        ),
        (
            "{\"id\":1,\"sha\":\"abcdef0\",\"date\":1,\"action\":\"Deploy Now\",\"engineer\":\"x\"}\n",
            "line 1",
            "field 'action' must be",
        ),
        (
            "{\"id\":0,\"sha\":\"abcdef0\",\"date\":1,\"action\":\"stage\",\"engineer\":\"x\"}\n",
            "line 1",
            "field 'id' must be a whole number from 1",
        ),
        (
            "{\"id\":1,\"sha\":\"abcdef0\",\"date\":1,\"action\":\"stage\",\"engineer\":\"x\",\"extra\":1}\n",
            "line 1",
            "unknown field 'extra'",
        ),
    ];
    for (text, record, problem) in cases {
        let message = load(text).unwrap_err();
        assert!(message.starts_with("events.json: "), "{message}");
        assert!(message.contains(record), "{message} should name {record}");
        assert!(message.contains(problem), "{message} should say {problem}");
    }
}

#[test]
fn the_built_in_dataset_is_what_the_generator_writes() {
    let mut expected = Vec::new();
    write_json_lines(&generate(&GeneratorSettings::default()), &mut expected).unwrap();
    assert!(
        expected == SAMPLE_EVENTS,
        "data/events.jsonl is stale: run `make sample-data`"
    );
}

#[test]
fn the_generator_is_deterministic_and_scales() {
    let settings = GeneratorSettings {
        events: 20_000,
        days: 365,
        ..GeneratorSettings::default()
    };
    let first = generate(&settings);
    assert_eq!(first, generate(&settings));
    assert!(first.len() >= 20_000);
    let other_seed = generate(&GeneratorSettings {
        seed: 7,
        ..settings
    });
    assert_ne!(first, other_seed);
    // Stage and deploy pairs share a sha.
    let deploy = first.iter().find(|e| e.action == "deploy").unwrap();
    assert!(
        first
            .iter()
            .any(|e| e.action == "stage" && e.sha == deploy.sha && e.date < deploy.date)
    );
    Services::from_records(first, "default").expect("generated records are valid");
}

#[tokio::test]
async fn the_sample_dataset_answers_every_route() {
    let app = TestApp::sample();
    for path in [
        "/events?from=2017-10-09&to=2017-10-13",
        "/engineers",
        "/summaries/daily",
    ] {
        assert_eq!(app.get(path).await.status, 200, "{path}");
    }
}

#[test]
fn a_file_s_sha_is_kept_in_lower_case_as_post_keeps_it() {
    let store = load(
        "{\"id\":1,\"sha\":\"ABCDEF0123456789ABCDEF0123456789ABCDEF01\",\"date\":1,\"action\":\"stage\",\"engineer\":\"x\"}\n\
         {\"id\":2,\"sha\":\"ABCDEF1\",\"date\":2,\"action\":\"deploy\",\"engineer\":\"x\"}\n",
    )
    .unwrap();
    let shas: Vec<String> = store
        .iter()
        .map(|event| event.sha.as_str(&mut [0; 40]).to_owned())
        .collect();
    assert_eq!(
        shas,
        ["abcdef0123456789abcdef0123456789abcdef01", "abcdef1"]
    );
}
