//! Property tests: random requests never produce a 5xx, and cursor pagination over random
//! queries returns exactly the events of one unpaginated query.

use std::sync::OnceLock;

use pipeline_events_api::events::{EventQuery, Services, format_timestamp};
use pipeline_events_api::startup::SAMPLE_EVENTS;
use proptest::prelude::*;

use crate::support::{TestApp, blocking_runtime};

fn app() -> &'static TestApp {
    static APP: OnceLock<TestApp> = OnceLock::new();
    APP.get_or_init(TestApp::sample)
}

/// Percent-encodes every byte outside the unreserved set, so any bytes make a valid URI.
fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}",
        "20[0-9]{2}-(0[1-9]|1[0-2])-[0-3][0-9]",
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,9})?(Z|[+-][01][0-9]:[0-5][0-9])",
        "-?[0-9]{1,25}",
        "[0-9a-f]{40,56}",
        "[a-z.]{1,20}",
        prop::sample::select(vec!["day", "week"]).prop_map(String::from),
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn query_string() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        4 => prop::sample::select(vec!["from", "to", "engineer", "action", "limit", "cursor", "bucket"]).prop_map(String::from),
        1 => any::<String>(),
    ];
    proptest::collection::vec((name, text()), 0..6).prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes())))
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "/", "/health", "/metadata", "/events", "/engineers", "/summaries/daily", "/metrics/delivery",
            "/engineers/ada.berg/events",
        ]).prop_map(String::from),
        2 => any::<String>().prop_map(|name| format!("/engineers/{}/events", encode(name.as_bytes()))),
        1 => proptest::collection::vec(any::<String>(), 1..4).prop_map(|segments| {
            segments.iter().map(|s| format!("/{}", encode(s.as_bytes()))).collect::<String>()
        }),
    ]
}

#[test]
fn random_requests_never_get_a_5xx() {
    let mut runner = crate::support::property_runner(10_000);
    runner
        .run(&(path(), query_string()), |(path, query)| {
            let uri = if query.is_empty() {
                path
            } else {
                format!("{path}?{query}")
            };
            let response = blocking_runtime().block_on(app().get(&uri));
            let status = response.status.as_u16();
            prop_assert!((200..500).contains(&status), "{uri} gave {status}");
            if status >= 400 {
                let body = response.json();
                prop_assert!(body["error"]["code"].is_string(), "{uri}: {body}");
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn cursor_pages_add_up_to_one_unpaginated_query() {
    let store = Services::load_slice(SAMPLE_EVENTS, "sample", "default").unwrap();
    let (first, last) = store.time_span(None).unwrap();
    let engineers: Vec<String> = (store.service("default").engineers().into_iter())
        .map(|e| e.name.to_owned())
        .collect();
    let mut runner = crate::support::property_runner(300);
    let strategy = (
        (first - 86_400)..(last + 86_400),
        1i64..(20 * 86_400),
        proptest::option::of(prop::sample::select(engineers)),
        proptest::option::of(prop::sample::select(vec!["stage", "deploy", "rollback"])),
        1usize..60,
    );
    runner
        .run(&strategy, |(from, span, engineer, action, limit)| {
            let to = from + span;
            let expected: Vec<u64> = store
                .query(&EventQuery {
                    from: Some(from),
                    to: Some(to),
                    engineer: engineer.as_deref(),
                    action,
                    after: None,
                    limit: store.len(),
                    service: None,
                })
                .events
                .iter()
                .map(|e| e.id)
                .collect();

            let mut query = format!(
                "from={}&to={}&limit={limit}",
                encode(format_timestamp(from).as_bytes()),
                encode(format_timestamp(to).as_bytes())
            );
            if let Some(engineer) = &engineer {
                query.push_str(&format!("&engineer={engineer}"));
            }
            if let Some(action) = action {
                query.push_str(&format!("&action={action}"));
            }
            let mut paged = Vec::new();
            let mut uri = format!("/events?{query}");
            loop {
                let response = blocking_runtime().block_on(app().get(&uri));
                let page = response.ids();
                prop_assert!(page.len() <= limit);
                paged.extend(page);
                match response.json()["next_cursor"].as_str() {
                    Some(cursor) => uri = format!("/events?{query}&cursor={cursor}"),
                    None => break,
                }
            }
            prop_assert_eq!(paged, expected);
            Ok(())
        })
        .unwrap();
}
