//! The pipeline's export format: a JSON array, or JSON lines, of
//! `{"id":<integer>,"sha":"<hex>","date":<unix seconds>,"action":"<string>","engineer":"<string>"}`
//! and optionally `"service":"<name>"` (without it, the loader's default service).

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};

use crate::export_line;
use crate::new_event::{
    MAX_ACTION_CHARS, MAX_ENGINEER_CHARS, is_action_name, is_engineer_name, shorten,
};
use crate::service::{SERVICE_RULE, is_service_name};
use crate::sha::Sha;
use serde::{Deserialize, Deserializer, Serialize};

/// One record as the pipeline exports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEvent {
    pub id: u64,
    pub sha: String,
    pub date: i64,
    pub action: String,
    pub engineer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

impl crate::model::EventRecord {
    /// The event `raw` records (its service set, as a recorded event's is).
    pub fn recorded(raw: RawEvent) -> Self {
        Self {
            id: raw.id,
            timestamp: raw.date,
            sha: Sha::new(&raw.sha),
            action: raw.action,
            engineer: raw.engineer,
            service: raw.service.unwrap_or_default(),
        }
    }
}

impl From<&crate::model::EventView<'_>> for RawEvent {
    /// An event back in the export format, as it was loaded.
    fn from(event: &crate::model::EventView<'_>) -> Self {
        Self {
            id: event.id,
            sha: event.sha.as_str(&mut [0; 40]).to_owned(),
            date: event.timestamp,
            action: event.action.to_owned(),
            engineer: event.engineer.to_owned(),
            service: Some(event.service.to_owned()),
        }
    }
}

/// Why a dataset could not be loaded: the source, the record (1-based) when one is at fault,
/// its line in a JSON-lines file, and the problem.
#[derive(Debug)]
pub struct LoadError {
    pub source: String,
    pub record: Option<usize>,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.record) {
            (Some(line), _) => write!(f, "{}: line {}: {}", self.source, line, self.message),
            (None, Some(record)) => {
                write!(f, "{}: record {}: {}", self.source, record, self.message)
            }
            (None, None) => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

/// The fields of a record, in the order the export writes them; all but `service` required.
const FIELDS: [&str; 6] = ["id", "sha", "date", "action", "engineer", "service"];

/// The rules `POST /events` applies, for a record of a file: one set of rules for every way an
/// event comes in, each refusal said as a file's loader says it. A store checks a name the first
/// time it sees it (`Builder`, `Services`), not on every record that repeats it. The date's
/// bounds are the store's (`Builder::push`): a file may hold the past.
pub(crate) fn check_id(id: u64) -> Result<(), String> {
    match id {
        0 => Err("field 'id' must be a whole number from 1".into()),
        _ => Ok(()),
    }
}

pub(crate) fn parse_sha(sha: &str) -> Result<Sha, String> {
    Sha::parse(sha).ok_or_else(|| {
        format!(
            "field 'sha' must be a commit SHA, 7 to 64 hexadecimal digits, not '{}'",
            shorten(sha, 40)
        )
    })
}

pub(crate) fn check_action(action: &str) -> Result<(), String> {
    if is_action_name(action) {
        return Ok(());
    }
    Err(format!(
        "field 'action' must be a lower-case name of 1 to {MAX_ACTION_CHARS} characters \
         (a-z first, then a-z, 0-9, '_' or '-'), not '{}'",
        shorten(action, 40)
    ))
}

pub(crate) fn check_engineer(engineer: &str) -> Result<(), String> {
    if is_engineer_name(engineer) {
        return Ok(());
    }
    Err(format!(
        "field 'engineer' must be a name of 1 to {MAX_ENGINEER_CHARS} characters without \
         control characters"
    ))
}

pub(crate) fn check_service(service: &str) -> Result<(), String> {
    if is_service_name(service) {
        return Ok(());
    }
    Err(format!(
        "field 'service' must be a service name, {SERVICE_RULE}, not '{}'",
        shorten(service, 40)
    ))
}

/// What is wrong with a line that did not parse as a record, said by field.
fn diagnose(text: &[u8], error: &serde_json::Error) -> String {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) else {
        return format!("not JSON ({})", strip_position(&error.to_string()));
    };
    let serde_json::Value::Object(fields) = value else {
        return "not a JSON object".into();
    };
    if let Some(unknown) = fields.keys().find(|name| !FIELDS.contains(&name.as_str())) {
        return format!(
            "unknown field '{}'; the fields are id, sha, date, action, engineer and service",
            shorten(unknown, 40)
        );
    }
    for name in FIELDS {
        let Some(value) = fields.get(name) else {
            if name == "service" {
                continue;
            }
            return format!("field '{name}' is missing");
        };
        let expected = match name {
            "id" if value.as_u64().is_none() => "a whole number from 1",
            "date" if value.as_i64().is_none() => "Unix seconds, a whole number",
            "sha" | "action" | "engineer" | "service" if !value.is_string() => "a string",
            _ => continue,
        };
        return format!("field '{name}' must be {expected}");
    }
    strip_position(&error.to_string())
}

impl std::error::Error for LoadError {}

/// One record as it is parsed: strings borrow from the input when they can (a slice without
/// escapes), so loading allocates only what the store keeps.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordRef<'a> {
    pub id: u64,
    #[serde(borrow)]
    pub sha: Cow<'a, str>,
    pub date: i64,
    #[serde(borrow)]
    pub action: Cow<'a, str>,
    #[serde(borrow)]
    pub engineer: Cow<'a, str>,
    #[serde(borrow, default)]
    pub service: Option<Cow<'a, str>>,
}

impl<'a> From<&'a RawEvent> for RecordRef<'a> {
    fn from(raw: &'a RawEvent) -> Self {
        Self {
            id: raw.id,
            sha: Cow::Borrowed(&raw.sha),
            date: raw.date,
            action: Cow::Borrowed(&raw.action),
            engineer: Cow::Borrowed(&raw.engineer),
            service: raw.service.as_deref().map(Cow::Borrowed),
        }
    }
}

/// JSON lines are parsed a block of whole lines at a time, from memory: borrowing strings from
/// the block is several times faster than parsing through `io::Read`, and memory stays bounded
/// by the block, not the file.
pub(crate) const BLOCK_BYTES: usize = 1 << 20;

/// Streams the records of `reader` into `sink`, one at a time, so that a large file is never
/// held in memory twice. `sink` checks a record (the rules above) and may refuse it with a
/// message; loading stops there.
pub(crate) fn parse_reader<R, F>(
    reader: R,
    source: &str,
    block_bytes: usize,
    mut sink: F,
) -> Result<usize, LoadError>
where
    R: Read,
    F: FnMut(RecordRef<'_>) -> Result<(), String>,
{
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let cannot_read = |e: std::io::Error| LoadError::new(source, None, format!("cannot read: {e}"));
    let (first, skipped_lines) = first_significant_byte(&mut reader).map_err(cannot_read)?;
    if first == Some(b'[') {
        return parse_array(serde_json::de::IoRead::new(reader), source, sink);
    }

    let mut accepted = 0;
    let mut lines = skipped_lines;
    let mut pending: Vec<u8> = Vec::with_capacity(block_bytes);
    loop {
        let before = pending.len();
        (&mut reader)
            .take(block_bytes as u64)
            .read_to_end(&mut pending)
            .map_err(cannot_read)?;
        let at_end = pending.len() == before;
        // Parse up to the last complete line; keep the rest for the next block.
        let cut = match pending.iter().rposition(|&b| b == b'\n') {
            _ if at_end => pending.len(),
            Some(newline) => newline + 1,
            None => continue,
        };
        let block = &pending[..cut];
        accepted += parse_block(block, source, accepted, lines, &mut sink)?;
        lines += count_newlines(block);
        pending.drain(..cut);
        if at_end {
            return Ok(accepted);
        }
    }
}

/// How many lines end in `bytes`. Counted in byte-sized sums, which the compiler vectorises:
/// `filter().count()` went a byte at a time and was 9 % of loading a file.
fn count_newlines(bytes: &[u8]) -> usize {
    bytes
        .chunks(u8::MAX.into())
        .map(|chunk| {
            let newlines = chunk.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'));
            usize::from(newlines)
        })
        .sum()
}

/// Parses a block of JSON lines (`lines` lines and `earlier` records came before it). A block
/// that is valid UTF-8 (checked once, quickly) is parsed as text, which spares serde_json
/// checking each string it borrows again; one that is not is parsed as bytes, which says where.
fn parse_block<F>(
    block: &[u8],
    source: &str,
    earlier: usize,
    lines: usize,
    sink: F,
) -> Result<usize, LoadError>
where
    F: FnMut(RecordRef<'_>) -> Result<(), String>,
{
    let at = Origin {
        source,
        block,
        earlier,
        lines,
    };
    match std::str::from_utf8(block) {
        Ok(text) => parse_text(text, &at, sink),
        Err(_) => parse_lines(serde_json::de::SliceRead::new(block), &at, sink),
    }
}

/// Parses JSON lines that are valid UTF-8: a record as the export writes it by hand
/// (`export_line`), any other by serde_json, which also says what is wrong with one.
fn parse_text<F>(text: &str, at: &Origin<'_>, mut sink: F) -> Result<usize, LoadError>
where
    F: FnMut(RecordRef<'_>) -> Result<(), String>,
{
    let mut accepted = 0;
    let mut offset = 0;
    loop {
        offset += text[offset..]
            .bytes()
            .take_while(u8::is_ascii_whitespace)
            .count();
        if offset == text.len() {
            return Ok(accepted);
        }
        let (record, length) = match export_line::parse(&text[offset..]) {
            Some(parsed) => parsed,
            None => {
                let mut records = serde_json::Deserializer::from_str(&text[offset..])
                    .into_iter::<RecordRef<'_>>();
                match records.next() {
                    Some(Ok(record)) => (record, records.byte_offset()),
                    Some(Err(e)) => return Err(at.error(offset, accepted, Problem::Parse(&e))),
                    None => return Ok(accepted),
                }
            }
        };
        sink(record).map_err(|message| at.error(offset, accepted, Problem::Refused(message)))?;
        accepted += 1;
        offset += length;
    }
}

/// Where a block of JSON lines sits in its source, to name the line of a record at fault.
struct Origin<'a> {
    source: &'a str,
    block: &'a [u8],
    earlier: usize,
    lines: usize,
}

impl Origin<'_> {
    /// The error for the record that starts at or after `offset` in the block (the `index`-th
    /// of the block, from 0), with its line and, for a parse error, what is wrong with it.
    fn error(&self, offset: usize, index: usize, problem: Problem<'_>) -> LoadError {
        let rest = &self.block[offset..];
        let start = offset + rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let line = self.block[..start].iter().filter(|&&b| b == b'\n').count() + 1;
        let end = self.block[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.block.len(), |at| start + at);
        let message = match problem {
            Problem::Parse(error) => diagnose(&self.block[start..end], error),
            Problem::Refused(message) => message,
        };
        LoadError {
            source: self.source.to_owned(),
            record: Some(self.earlier + index + 1),
            line: Some(self.lines + line),
            message,
        }
    }
}

enum Problem<'a> {
    Parse(&'a serde_json::Error),
    Refused(String),
}

fn parse_lines<'de, R, F>(read: R, at: &Origin<'_>, mut sink: F) -> Result<usize, LoadError>
where
    R: serde_json::de::Read<'de>,
    F: FnMut(RecordRef<'_>) -> Result<(), String>,
{
    let mut records = serde_json::Deserializer::new(read).into_iter::<RecordRef<'_>>();
    let mut accepted = 0;
    loop {
        let offset = records.byte_offset();
        let Some(parsed) = records.next() else {
            return Ok(accepted);
        };
        let record = parsed.map_err(|e| at.error(offset, accepted, Problem::Parse(&e)))?;
        sink(record).map_err(|message| at.error(offset, accepted, Problem::Refused(message)))?;
        accepted += 1;
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_owned(),
        _ => message.to_owned(),
    }
}

/// Parses a dataset already in memory (the built-in sample): no copy, strings borrowed.
pub(crate) fn parse_slice<F>(bytes: &[u8], source: &str, sink: F) -> Result<usize, LoadError>
where
    F: FnMut(RecordRef<'_>) -> Result<(), String>,
{
    let is_array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if is_array {
        parse_array(serde_json::de::SliceRead::new(bytes), source, sink)
    } else {
        parse_block(bytes, source, 0, 0, sink)
    }
}

impl LoadError {
    /// A refusal of `source` (at record `record`, if known), with no line.
    pub fn new(source: &str, record: Option<usize>, message: String) -> Self {
        Self {
            source: source.to_owned(),
            record,
            line: None,
            message,
        }
    }
}

/// Parses a JSON array of records into `sink`. Returns how many were accepted.
fn parse_array<'de, R, F>(read: R, source: &str, mut sink: F) -> Result<usize, LoadError>
where
    R: serde_json::de::Read<'de>,
    F: FnMut(RecordRef<'_>) -> Result<(), String>,
{
    // Records accepted so far; an error is always about the next one.
    let accepted = Cell::new(0);
    let mut push = |record: RecordRef<'_>| {
        sink(record)?;
        accepted.set(accepted.get() + 1);
        Ok(())
    };
    let at_next = |message: String| LoadError::new(source, Some(accepted.get() + 1), message);
    let mut de = serde_json::Deserializer::new(read);
    ArraySink { push: &mut push }
        .deserialize(&mut de)
        .map_err(|e| at_next(e.to_string()))?;
    de.end().map_err(|e| {
        LoadError::new(
            source,
            None,
            format!("unexpected data after the array: {e}"),
        )
    })?;
    Ok(accepted.get())
}

/// The first byte that is not white space, left unread, and the newlines skipped before it.
fn first_significant_byte(reader: &mut impl BufRead) -> std::io::Result<(Option<u8>, usize)> {
    let mut newlines = 0;
    loop {
        let buf = reader.fill_buf()?;
        let Some(&first) = buf.first() else {
            return Ok((None, newlines));
        };
        if !first.is_ascii_whitespace() {
            return Ok((Some(first), newlines));
        }
        newlines += usize::from(first == b'\n');
        reader.consume(1);
    }
}

/// Walks a JSON array element by element, handing each record to the sink as soon as it parses.
struct ArraySink<'a, F> {
    push: &'a mut F,
}

impl<'de, F> DeserializeSeed<'de> for ArraySink<'_, F>
where
    F: FnMut(RecordRef<'de>) -> Result<(), String>,
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F> Visitor<'de> for ArraySink<'_, F>
where
    F: FnMut(RecordRef<'de>) -> Result<(), String>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of event records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element::<RecordRef<'de>>()? {
            (self.push)(record).map_err(A::Error::custom)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::DEFAULT_SERVICE;
    use crate::services::Loader;

    fn lines(count: u64) -> String {
        (1..=count)
            .map(|id| {
                let engineer = "e".repeat(id as usize % 13 + 1);
                format!(r#"{{"id":{id},"sha":"{id:07x}","date":{id},"action":"a","engineer":"{engineer}"}}"#)
                    + "\n"
            })
            .collect()
    }

    fn ids(text: &str, block: usize) -> Result<Vec<u64>, LoadError> {
        let mut ids = Vec::new();
        parse_reader(text.as_bytes(), "test", block, |r| {
            ids.push(r.id);
            Ok(())
        })?;
        Ok(ids)
    }

    #[test]
    fn blocks_split_anywhere_lose_and_repeat_nothing() {
        let text = lines(200);
        let expected: Vec<u64> = (1..=200).collect();
        // Blocks smaller than a line, around a line, and larger than the whole input.
        for block in [1, 7, 64, 97, 100, 1000, 1 << 20] {
            assert_eq!(
                ids(&text, block).unwrap(),
                expected,
                "block of {block} bytes"
            );
        }
        assert_eq!(
            ids(text.trim_end(), 50).unwrap(),
            expected,
            "no final newline"
        );
        assert_eq!(ids("", 8).unwrap(), Vec::<u64>::new());
    }

    #[test]
    fn a_block_that_is_not_utf8_is_refused_at_its_record() {
        let mut bytes = lines(4).into_bytes();
        let third = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(1)
            .map(|(at, _)| at)
            .unwrap();
        // The third record's engineer holds a byte that is not UTF-8.
        let quote = third
            + bytes[third..]
                .windows(11)
                .position(|w| w == b"\"engineer\":")
                .unwrap();
        bytes[quote + 12] = 0xff;
        for block in [16, 1 << 20] {
            let mut ids = Vec::new();
            let error = parse_reader(&bytes[..], "test", block, |r| {
                ids.push(r.id);
                Ok(())
            })
            .unwrap_err();
            assert_eq!(error.record, Some(3), "block of {block} bytes: {error}");
            assert_eq!(error.line, Some(3), "block of {block} bytes: {error}");
            assert_eq!(ids, [1, 2]);
        }
        let error = parse_slice(&bytes, "test", |_| Ok(())).unwrap_err();
        assert_eq!(error.record, Some(3), "{error}");
    }

    #[test]
    fn errors_count_records_across_blocks() {
        let mut text = lines(150);
        text.push_str("{\"id\":\"bad\"}\n");
        for block in [5, 64, 1 << 20] {
            let error = ids(&text, block).unwrap_err();
            assert_eq!(error.record, Some(151), "block of {block} bytes");
            assert_eq!(error.line, Some(151), "block of {block} bytes");
            assert_eq!(error.message, "field 'id' must be a whole number from 1");
            assert!(!error.message.contains(" at line "), "{}", error.message);
        }
    }

    /// What a store's loader makes of `text`, read `block` bytes at a time.
    fn load(text: &str, block: usize) -> Result<usize, LoadError> {
        let mut loader = Loader::new(DEFAULT_SERVICE);
        parse_reader(text.as_bytes(), "f", block, |record| {
            loader.push(record).map_err(|e| e.0)
        })
    }

    #[test]
    fn a_file_is_held_to_the_rules_of_post_and_errors_name_the_line_and_field() {
        let good = r#"{"id":1,"sha":"abcdef1","date":1,"action":"stage","engineer":"x"}"#;
        for (bad, message) in [
            ("not json", "not JSON"),
            ("[1]", "not a JSON object"),
            (
                r#"{"id":2,"sha":"zz","date":1,"action":"stage","engineer":"x"}"#,
                "field 'sha' must be a commit SHA",
            ),
            (
                r#"{"id":2,"sha":"abcdef1","date":1,"action":"Deploy Now","engineer":"x"}"#,
                "field 'action' must be",
            ),
            (
                r#"{"id":2,"sha":"abcdef1","date":1,"action":"stage","engineer":"x\u0007"}"#,
                "field 'engineer' must be",
            ),
            (
                r#"{"id":0,"sha":"abcdef1","date":1,"action":"stage","engineer":"x"}"#,
                "field 'id' must be a whole number from 1",
            ),
            (
                r#"{"id":2,"sha":"abcdef1","date":1,"action":"stage","engineer":"x","team":"a"}"#,
                "unknown field 'team'",
            ),
            (
                r#"{"id":2,"sha":"abcdef1","date":1,"action":"stage"}"#,
                "field 'engineer' is missing",
            ),
            (
                r#"{"id":2,"sha":"abcdef1","date":"today","action":"stage","engineer":"x"}"#,
                "field 'date' must be Unix seconds",
            ),
            (
                r#"{"id":2,"sha":7,"date":1,"action":"stage","engineer":"x"}"#,
                "field 'sha' must be a string",
            ),
            (
                r#"{"id":2,"sha":"abcdef1","date":1,"action":"stage","engineer":"x","service":"a b"}"#,
                "field 'service' must be a service name",
            ),
            (
                r#"{"id":2,"sha":"abcdef1","date":1,"action":"stage","engineer":"x","service":1}"#,
                "field 'service' must be a string",
            ),
        ] {
            // A blank line before it: the line, not the record, is where to look.
            let text = format!("{good}\n\n{bad}\n{good}\n");
            for block in [8, 1 << 20] {
                let error = load(&text, block).unwrap_err();
                assert_eq!(error.line, Some(3), "{bad}: {error}");
                // Blank lines first, before the bad line (a '[' first would make it an array).
                if !bad.starts_with('[') {
                    let leading = format!("\n\n{bad}\n");
                    let error = load(&leading, block).unwrap_err();
                    assert_eq!(error.line, Some(3), "blank lines first, {bad}: {error}");
                }
                assert!(error.message.starts_with(message), "{bad}: {error}");
                assert!(
                    error.to_string().starts_with("f: line 3: "),
                    "{bad}: {error}"
                );
            }
            let array = format!("[{good},{bad}]");
            if bad.starts_with('{') {
                let mut loader = Loader::new(DEFAULT_SERVICE);
                let error = parse_slice(array.as_bytes(), "f", |record| {
                    loader.push(record).map_err(|e| e.0)
                })
                .unwrap_err();
                assert_eq!(error.record, Some(2), "{bad}: {error}");
            }
        }
    }
}
