//! The pipeline's export format: a JSON array, or JSON lines, of
//! `{"id":<integer>,"sha":"<hex>","date":<unix seconds>,"action":"<string>","engineer":"<string>"}`.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::io::{BufRead, BufReader, Read};

use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// One record as the pipeline exports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawEvent {
    pub id: u64,
    pub sha: String,
    pub date: i64,
    pub action: String,
    pub engineer: String,
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
        }
    }
}

/// Why a dataset could not be loaded: the source, the record (1-based) when one is at fault,
/// and the problem.
#[derive(Debug)]
pub struct LoadError {
    pub source: String,
    pub record: Option<usize>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            Some(record) => write!(f, "{}: record {}: {}", self.source, record, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

impl std::error::Error for LoadError {}

/// One record as it is parsed: strings borrow from the input when they can (a slice without
/// escapes), so loading allocates only what the store keeps.
#[derive(Debug, Deserialize)]
pub(crate) struct RecordRef<'a> {
    pub id: u64,
    #[serde(borrow)]
    pub sha: Cow<'a, str>,
    pub date: i64,
    #[serde(borrow)]
    pub action: Cow<'a, str>,
    #[serde(borrow)]
    pub engineer: Cow<'a, str>,
}

impl<'a> From<&'a RawEvent> for RecordRef<'a> {
    fn from(raw: &'a RawEvent) -> Self {
        Self {
            id: raw.id,
            sha: Cow::Borrowed(&raw.sha),
            date: raw.date,
            action: Cow::Borrowed(&raw.action),
            engineer: Cow::Borrowed(&raw.engineer),
        }
    }
}

/// Streams the records of `reader` into `sink`, one at a time, so that a large file is never
/// held in memory twice. `sink` may refuse a record with a message; loading stops there.
pub(crate) fn parse_reader<R, F>(reader: R, source: &str, sink: F) -> Result<usize, LoadError>
where
    R: Read,
    F: FnMut(RecordRef<'_>) -> Result<(), String>,
{
    parse_reader_in_blocks(reader, source, BLOCK_BYTES, sink)
}

/// JSON lines are parsed a block of whole lines at a time, from memory: borrowing strings from
/// the block is several times faster than parsing through `io::Read`, and memory stays bounded
/// by the block, not the file.
const BLOCK_BYTES: usize = 1 << 20;

fn parse_reader_in_blocks<R, F>(
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
    let cannot_read = |e: std::io::Error| error(source, None, format!("cannot read: {e}"));
    if first_significant_byte(&mut reader).map_err(cannot_read)? == Some(b'[') {
        return parse(serde_json::de::IoRead::new(reader), true, source, 0, sink);
    }

    let mut accepted = 0;
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
        accepted += parse_block(block, source, accepted, &mut sink).map_err(|mut e| {
            // serde's line and column count from the block, not the file: the record says where.
            e.message = strip_position(&e.message);
            e
        })?;
        pending.drain(..cut);
        if at_end {
            return Ok(accepted);
        }
    }
}

/// Parses a block of JSON lines. A block that is valid UTF-8 (checked once, quickly) is parsed
/// as text, which spares serde_json checking each string it borrows again; one that is not is
/// parsed as bytes, which says where.
fn parse_block<F>(block: &[u8], source: &str, earlier: usize, sink: F) -> Result<usize, LoadError>
where
    F: FnMut(RecordRef<'_>) -> Result<(), String>,
{
    match std::str::from_utf8(block) {
        Ok(text) => parse(
            serde_json::de::StrRead::new(text),
            false,
            source,
            earlier,
            sink,
        ),
        Err(_) => parse(
            serde_json::de::SliceRead::new(block),
            false,
            source,
            earlier,
            sink,
        ),
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
    let parsed = if is_array {
        parse(serde_json::de::SliceRead::new(bytes), true, source, 0, sink)
    } else {
        parse_block(bytes, source, 0, sink)
    };
    parsed.map_err(|mut e| {
        // As for files: in JSON lines the record number is the location.
        if !is_array {
            e.message = strip_position(&e.message);
        }
        e
    })
}

fn error(source: &str, record: Option<usize>, message: String) -> LoadError {
    LoadError {
        source: source.to_owned(),
        record,
        message,
    }
}

/// Parses records into `sink`; `earlier` records were accepted before these (for numbering).
/// Returns how many were accepted.
fn parse<'de, R, F>(
    read: R,
    is_array: bool,
    source: &str,
    earlier: usize,
    mut sink: F,
) -> Result<usize, LoadError>
where
    R: serde_json::de::Read<'de>,
    F: FnMut(RecordRef<'_>) -> Result<(), String>,
{
    // Records accepted so far; an error is always about the next one.
    let accepted = Cell::new(earlier);
    let mut push = |record: RecordRef<'_>| {
        sink(record)?;
        accepted.set(accepted.get() + 1);
        Ok(())
    };
    let at_next = |message: String| error(source, Some(accepted.get() + 1), message);

    let mut de = serde_json::Deserializer::new(read);
    if is_array {
        ArraySink { push: &mut push }
            .deserialize(&mut de)
            .map_err(|e| at_next(e.to_string()))?;
        de.end().map_err(|e| {
            error(
                source,
                None,
                format!("unexpected data after the array: {e}"),
            )
        })?;
    } else {
        for item in de.into_iter::<RecordRef<'_>>() {
            let record = item.map_err(|e| at_next(e.to_string()))?;
            push(record).map_err(at_next)?;
        }
    }
    Ok(accepted.get() - earlier)
}

fn first_significant_byte(reader: &mut impl BufRead) -> std::io::Result<Option<u8>> {
    loop {
        let buf = reader.fill_buf()?;
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if !first.is_ascii_whitespace() {
            return Ok(Some(first));
        }
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

    fn lines(count: u64) -> String {
        (1..=count)
            .map(|id| {
                let engineer = "e".repeat(id as usize % 13 + 1);
                format!(r#"{{"id":{id},"sha":"s{id}","date":{id},"action":"a","engineer":"{engineer}"}}"#)
                    + "\n"
            })
            .collect()
    }

    fn ids(text: &str, block: usize) -> Result<Vec<u64>, LoadError> {
        let mut ids = Vec::new();
        parse_reader_in_blocks(text.as_bytes(), "test", block, |r| {
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
            let error = parse_reader_in_blocks(&bytes[..], "test", block, |r| {
                ids.push(r.id);
                Ok(())
            })
            .unwrap_err();
            assert_eq!(error.record, Some(3), "block of {block} bytes: {error}");
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
            assert!(error.message.contains("invalid type"), "{}", error.message);
            assert!(!error.message.contains(" at line "), "{}", error.message);
        }
    }
}
