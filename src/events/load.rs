//! The pipeline's export format: a JSON array, or JSON lines, of
//! `{"id":<integer>,"sha":"<hex>","date":<unix seconds>,"action":"<string>","engineer":"<string>"}`.

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

/// Streams the records of `reader` into `sink`, one at a time, so that a large file is never
/// held in memory twice. `sink` may refuse a record with a message; loading stops there.
pub fn parse_events<R, F>(reader: R, source: &str, mut sink: F) -> Result<usize, LoadError>
where
    R: Read,
    F: FnMut(RawEvent) -> Result<(), String>,
{
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let error = |record: Option<usize>, message: String| LoadError {
        source: source.to_owned(),
        record,
        message,
    };
    let is_array = match first_significant_byte(&mut reader) {
        Ok(Some(b'[')) => true,
        Ok(_) => false,
        Err(e) => return Err(error(None, format!("cannot read: {e}"))),
    };

    // Records accepted so far; an error is always about the next one.
    let accepted = Cell::new(0usize);
    let mut push = |raw: RawEvent| {
        sink(raw)?;
        accepted.set(accepted.get() + 1);
        Ok(())
    };
    let at_next = |message: String| error(Some(accepted.get() + 1), message);

    if is_array {
        let mut de = serde_json::Deserializer::from_reader(reader);
        ArraySink { push: &mut push }
            .deserialize(&mut de)
            .map_err(|e| at_next(e.to_string()))?;
        de.end()
            .map_err(|e| error(None, format!("unexpected data after the array: {e}")))?;
    } else {
        let stream = serde_json::Deserializer::from_reader(reader).into_iter::<RawEvent>();
        for item in stream {
            let raw = item.map_err(|e| at_next(e.to_string()))?;
            push(raw).map_err(at_next)?;
        }
    }
    Ok(accepted.get())
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
    F: FnMut(RawEvent) -> Result<(), String>,
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F> Visitor<'de> for ArraySink<'_, F>
where
    F: FnMut(RawEvent) -> Result<(), String>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of event records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<RawEvent>()? {
            (self.push)(raw).map_err(A::Error::custom)?;
        }
        Ok(())
    }
}
