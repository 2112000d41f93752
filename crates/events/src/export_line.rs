//! A record exactly as the export writes it (`write_json_lines`, serde's own order):
//! `{"id":1,"sha":"…","date":1,"action":"…","engineer":"…"}`, optionally with `,"service":"…"`
//! before the `}`, no white space inside and no escapes. Read by hand, it costs a third of what
//! serde_json's general parser does (`BENCHMARKS.md`), and nearly every line of a large file
//! is one. Anything else is not one: the loader hands it to serde_json, which reads any JSON
//! and says what is wrong with it.

use std::borrow::Cow;

use crate::load::RecordRef;

/// The record at the start of `text` and the length of its JSON, if it is one as the export
/// writes it. `None` says nothing about the record: it may still be valid JSON.
pub(crate) fn parse(text: &str) -> Option<(RecordRef<'_>, usize)> {
    let mut line = Cursor { text, at: 0 };
    line.literal(r#"{"id":"#)?;
    let id = line.unsigned()?;
    line.literal(r#","sha":""#)?;
    let sha = line.string()?;
    line.literal(r#","date":"#)?;
    let date = line.signed()?;
    line.literal(r#","action":""#)?;
    let action = line.string()?;
    line.literal(r#","engineer":""#)?;
    let engineer = line.string()?;
    let service = match line.literal(r#","service":""#) {
        Some(()) => Some(Cow::Borrowed(line.string()?)),
        None => None,
    };
    line.literal("}")?;
    let record = RecordRef {
        id,
        sha: Cow::Borrowed(sha),
        date,
        action: Cow::Borrowed(action),
        engineer: Cow::Borrowed(engineer),
        service,
    };
    Some((record, line.at))
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.text.as_bytes()[self.at..]
    }

    #[inline(always)] // A constant's length then compares it without a call to memcmp.
    fn literal(&mut self, literal: &str) -> Option<()> {
        self.rest().starts_with(literal.as_bytes()).then(|| {
            self.at += literal.len();
        })
    }

    /// A string's characters up to its closing quote, which is passed; none that JSON would
    /// have escaped (a control character) or that is an escape.
    fn string(&mut self) -> Option<&'a str> {
        let rest = self.rest();
        let mut length = 0;
        while let Some(word) = rest.get(length..length + 8) {
            let found = ends_or_escapes(u64::from_le_bytes(word.try_into().ok()?));
            if found != 0 {
                length += (found.trailing_zeros() / 8) as usize;
                break;
            }
            length += 8;
        }
        length += rest[length..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest[length] != b'"' {
            return None;
        }
        // The text is a `str` and a quote is ASCII: both ends are character boundaries.
        let string = &self.text[self.at..self.at + length];
        self.at += length + 1;
        Some(string)
    }

    /// A whole number as JSON writes one: digits, no leading zero, no fraction or exponent
    /// (the next byte is checked by what follows it), and within `u64`.
    fn unsigned(&mut self) -> Option<u64> {
        let digits = self
            .rest()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = &self.rest()[..digits];
        if digits == 0 || (digits > 1 && text[0] == b'0') {
            return None;
        }
        let value = text.iter().try_fold(0u64, |value, &digit| {
            value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
        })?;
        self.at += digits;
        Some(value)
    }

    fn signed(&mut self) -> Option<i64> {
        if self.literal("-").is_some() {
            let magnitude = self.unsigned()?;
            return 0i64.checked_sub_unsigned(magnitude);
        }
        i64::try_from(self.unsigned()?).ok()
    }
}

/// Eight bytes read as one word (the first in its lowest byte): the lowest byte whose high
/// bit is set is the first that is `"`, `\\` or a control character, if any. The other set bits
/// may be false (a borrow runs upward), never a lower one. Serde_json looks for them so too.
fn ends_or_escapes(word: u64) -> u64 {
    const EACH: u64 = u64::from_le_bytes([1; 8]);
    let zero_where = |pattern: u8| (word ^ (EACH * u64::from(pattern))).wrapping_sub(EACH);
    let control = word.wrapping_sub(EACH * 0x20);
    (zero_where(b'"') | zero_where(b'\\') | control) & !word & (EACH * 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What serde_json makes of the first JSON value of `text`, and where it ends.
    fn by_serde(text: &str) -> Option<(RecordRef<'_>, usize)> {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<RecordRef<'_>>();
        let record = values.next()?.ok()?;
        Some((record, values.byte_offset()))
    }

    fn same(a: &RecordRef<'_>, b: &RecordRef<'_>) -> bool {
        (a.id, &a.sha, a.date, &a.action, &a.engineer, &a.service)
            == (b.id, &b.sha, b.date, &b.action, &b.engineer, &b.service)
    }

    #[test]
    fn the_first_byte_that_ends_or_escapes_a_string_is_found_in_every_place() {
        for special in 0..=u8::MAX {
            let expected = special == b'"' || special == b'\\' || special < 0x20;
            for place in 0..8 {
                // Before it, ordinary bytes; after it, each byte value in turn.
                for after in [b'a', b'"', 0, 0xff, b'\\', 0x80] {
                    let mut bytes = [b'a'; 8];
                    bytes[place] = special;
                    bytes[place + 1..].fill(after);
                    let found = ends_or_escapes(u64::from_le_bytes(bytes));
                    let first = (found != 0).then(|| found.trailing_zeros() as usize / 8);
                    let first_expected = bytes
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
                    assert_eq!(first, first_expected, "{bytes:?}");
                    if expected {
                        assert_eq!(first, Some(place), "{bytes:?}");
                    }
                }
            }
        }
    }

    /// Pieces of lines: the export's own, and what breaks or changes it in JSON's eyes.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(r#"{"id":"#.to_owned()),
            Just(r#","sha":""#.to_owned()),
            Just(r#","date":"#.to_owned()),
            Just(r#","action":""#.to_owned()),
            Just(r#","engineer":""#.to_owned()),
            Just(r#","service":""#.to_owned()),
            Just("}".to_owned()),
            Just("\"".to_owned()),
            "[0-9]{1,21}",
            Just("18446744073709551615".to_owned()),
            Just("18446744073709551616".to_owned()),
            Just("9223372036854775807".to_owned()),
            Just("-9223372036854775808".to_owned()),
            Just("-9223372036854775809".to_owned()),
            "-?0[0-9]?",
            "[0-9]\\.[0-9]|[0-9]e[0-9]",
            "[a-f0-9]{7,40}",
            "[a-z./_-]{0,12}",
            "[ \t\n]",
            Just("\\\"".to_owned()),
            Just("\\u0041".to_owned()),
            Just("\u{1}".to_owned()),
            Just("\u{1f}".to_owned()),
            Just("\u{7f}".to_owned()),
            Just("é€😀".to_owned()),
            Just(",".to_owned()),
            Just(r#""team":"x","#.to_owned()),
        ]
    }

    /// A line as the export writes it, with the fields and values drawn.
    fn exported() -> impl Strategy<Value = String> {
        (
            any::<u64>(),
            "[a-fA-F0-9]{0,41}",
            any::<i64>(),
            "[a-z_-]{0,8}",
            "[a-zA-Zé. -]{0,12}",
            proptest::option::of("[a-z./_-]{0,12}"),
        )
            .prop_map(|(id, sha, date, action, engineer, service)| {
                let raw = crate::RawEvent {
                    id,
                    sha,
                    date,
                    action,
                    engineer,
                    service,
                };
                serde_json::to_string(&raw).unwrap()
            })
    }

    proptest! {
        // No failure file in the source tree: a failing case is printed.
        #![proptest_config(ProptestConfig {
            cases: 4096,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Whatever the text, a record read by hand is the record serde_json reads, ending at
        /// the same byte: the oracle is serde_json.
        #[test]
        fn a_record_read_by_hand_is_the_one_serde_reads(
            pieces in proptest::collection::vec(piece(), 0..16),
        ) {
            let text = pieces.concat();
            if let Some((record, end)) = parse(&text) {
                let (expected, expected_end) = by_serde(&text).expect("serde reads it too");
                prop_assert!(same(&record, &expected), "{text:?}");
                prop_assert_eq!(end, expected_end, "{:?}", text);
            }
        }

        /// The same of an exported line with a piece put in and some characters taken out,
        /// where a mistake of the hand-written reader would most likely show.
        #[test]
        fn a_changed_line_read_by_hand_is_the_one_serde_reads(
            line in exported(),
            at in any::<prop::sample::Index>(),
            taken in 0..4usize,
            put in piece(),
        ) {
            let mut text: Vec<char> = line.chars().collect();
            let at = at.index(text.len() + 1);
            text.drain(at..(at + taken).min(text.len()));
            let text: String = text[..at].iter().collect::<String>() + &put
                + &text[at..].iter().collect::<String>();
            if let Some((record, end)) = parse(&text) {
                let (expected, expected_end) = by_serde(&text).expect("serde reads it too");
                prop_assert!(same(&record, &expected), "{text:?}");
                prop_assert_eq!(end, expected_end, "{:?}", text);
            }
        }

        /// And every line the export writes is read by hand, as serde_json reads it.
        #[test]
        fn every_exported_line_is_read_by_hand(line in exported(), after in "[\n{]?") {
            let text = line.clone() + &after;
            let (record, end) = parse(&text).expect("an exported line");
            let (expected, expected_end) = by_serde(&text).unwrap();
            prop_assert!(same(&record, &expected), "{text:?}");
            prop_assert_eq!(end, expected_end);
            prop_assert_eq!(end, line.len());
        }
    }
}
