//! A list of events as JSON, the body of every page a list route sends: the bytes `serde_json`
//! writes for `[EventView]` (a property test holds them equal), written with the keys as
//! literals and the timestamp and a packed SHA as the ASCII they are, where the generic
//! serializer escapes every key and value byte by byte. It was most of a page's CPU time.

use crate::model::{Dates, EventView};
use crate::sha::{Sha, hex_digits};

/// About the length of an event in JSON (a 40-digit SHA, names of a dozen characters).
pub const EVENT_JSON_BYTES: usize = 190;

/// Appends `[{"id":…,"timestamp":…,"sha":…,"action":…,"engineer":…,"service":…},…]` to `out`.
pub fn write_events_json(events: &[EventView<'_>], out: &mut Vec<u8>) {
    out.reserve(2 + events.len() * EVENT_JSON_BYTES);
    let mut dates = Dates::new();
    out.push(b'[');
    for (index, event) in events.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        write_event(event, &mut dates, out);
    }
    out.push(b']');
}

fn write_event(event: &EventView<'_>, dates: &mut Dates, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(itoa::Buffer::new().format(event.id).as_bytes());
    out.extend_from_slice(b",\"timestamp\":\"");
    let (date, time) = dates.parts(event.timestamp);
    out.extend_from_slice(date);
    out.extend_from_slice(&time);
    out.extend_from_slice(b"\",\"sha\":");
    match event.sha {
        Sha::Hex20(packed) => {
            out.push(b'"');
            out.extend_from_slice(&hex_digits(packed));
            out.push(b'"');
        }
        Sha::Text(text) => write_string(text, out),
    }
    out.extend_from_slice(b",\"action\":");
    write_string(event.action, out);
    out.extend_from_slice(b",\"engineer\":");
    write_string(event.engineer, out);
    out.extend_from_slice(b",\"service\":");
    write_string(event.service, out);
    out.push(b'}');
}

/// The bytes JSON escapes in a string, as serde_json does: U+0000 to U+001F, `"` and `\`.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// A JSON string: as it is between quotes when nothing in it needs escaping (the names
/// pipelines send), else escaped by `serde_json`.
fn write_string(text: &str, out: &mut Vec<u8>) {
    if !text.bytes().any(|byte| ESCAPED[usize::from(byte)]) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(out, text).expect("writing to a Vec cannot fail");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MAX_TIMESTAMP, MIN_TIMESTAMP, format_timestamp};
    use proptest::prelude::*;

    fn written(events: &[EventView<'_>]) -> String {
        let mut out = Vec::new();
        write_events_json(events, &mut out);
        String::from_utf8(out).expect("JSON is UTF-8")
    }

    /// An event as the test made it, and the JSON object expected for it, built apart from
    /// the code under test: chrono writes the timestamp, the SHA is the text given, and
    /// `serde_json` writes the object.
    #[derive(Debug, serde::Serialize)]
    struct Expected {
        id: u64,
        timestamp: String,
        sha: String,
        action: String,
        engineer: String,
        service: String,
    }

    fn event() -> impl Strategy<Value = (Expected, i64)> {
        let text = prop_oneof![
            "[a-z.]{1,12}",
            any::<String>(),
            "[\"\\\\\\x00-\\x1f\\x7f\u{2028}é/]{0,6}",
            // Nothing to escape, ASCII or not: the fast path.
            "[\\x7f\u{2028}é/a-z]{1,6}",
        ];
        let sha = prop_oneof!["[0-9a-f]{40}", "[0-9a-fA-F]{39,41}", text.clone()];
        let timestamp = prop_oneof![
            MIN_TIMESTAMP..=MAX_TIMESTAMP,
            // A few days, so that consecutive events share theirs or change it.
            1_500_000_000i64..1_500_300_000,
            Just(MIN_TIMESTAMP),
            Just(MAX_TIMESTAMP),
        ];
        (
            any::<u64>(),
            timestamp,
            sha,
            text.clone(),
            text.clone(),
            text,
        )
            .prop_map(|(id, timestamp, sha, action, engineer, service)| {
                let expected = Expected {
                    id,
                    timestamp: format_timestamp(timestamp),
                    sha,
                    action,
                    engineer,
                    service,
                };
                (expected, timestamp)
            })
    }

    proptest! {
        #[test]
        fn writes_what_serde_json_writes(events in proptest::collection::vec(event(), 0..40)) {
            let shas: Vec<Sha> = events.iter().map(|(e, _)| Sha::new(&e.sha)).collect();
            let views: Vec<EventView<'_>> = events
                .iter()
                .zip(&shas)
                .map(|((e, timestamp), sha)| EventView {
                    id: e.id,
                    timestamp: *timestamp,
                    sha,
                    action: &e.action,
                    engineer: &e.engineer,
                    service: &e.service,
                })
                .collect();
            let expected: Vec<&Expected> = events.iter().map(|(e, _)| e).collect();
            let json = written(&views);
            prop_assert_eq!(&json, &serde_json::to_string(&expected).unwrap());
            // And as a single event's route writes each (the type's derived `Serialize`).
            prop_assert_eq!(&json, &serde_json::to_string(&views).unwrap());
        }
    }

    #[test]
    fn an_empty_list_is_an_empty_array() {
        assert_eq!(written(&[]), "[]");
    }
}
