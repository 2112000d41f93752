use serde::Serialize;

/// A commit SHA, exactly as the pipeline sent it. The usual form, 40 lowercase hex digits, is
/// kept as its 20 bytes inside the event: no allocation per event (a million events' SHAs take
/// 24 MB in place instead of ~80 MB with their allocations). Anything else is kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sha {
    Hex20([u8; 20]),
    Text(Box<str>),
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Each byte's value as a lowercase hex digit, or `NOT_HEX`: one lookup per digit where a match
/// on ranges was 10 % of loading a million events.
const NOT_HEX: u8 = 0xff;
const NIBBLES: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        table[HEX_DIGITS[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};

/// The same, for a digit of either case: what a client sends.
const NIBBLES_ANY_CASE: [u8; 256] = {
    let mut table = NIBBLES;
    let mut digit = 10;
    while digit < 16 {
        table[HEX_DIGITS[digit].to_ascii_uppercase() as usize] = digit as u8;
        digit += 1;
    }
    table
};

impl Sha {
    /// A commit SHA as a client sends it: 7 to 64 hex digits of either case (`is_sha`), kept in
    /// lower case so that one commit is one SHA whichever way it came in. The usual 40 digits
    /// are checked and packed in one pass, the bulk of loading a file's SHAs.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() == 40 {
            let mut packed = [0u8; 20];
            let mut invalid = 0;
            for (pair, byte) in bytes.chunks_exact(2).zip(&mut packed) {
                let high = NIBBLES_ANY_CASE[pair[0] as usize];
                let low = NIBBLES_ANY_CASE[pair[1] as usize];
                invalid |= (high | low) & 0xf0;
                *byte = high << 4 | (low & 0x0f);
            }
            return (invalid == 0).then_some(Self::Hex20(packed));
        }
        crate::new_event::is_sha(text).then(|| Self::Text(text.to_ascii_lowercase().into()))
    }

    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        if bytes.len() == 40 {
            let mut packed = [0u8; 20];
            let mut invalid = 0;
            for (pair, byte) in bytes.chunks_exact(2).zip(&mut packed) {
                let (high, low) = (NIBBLES[pair[0] as usize], NIBBLES[pair[1] as usize]);
                invalid |= (high | low) & 0xf0;
                *byte = high << 4 | (low & 0x0f);
            }
            if invalid == 0 {
                return Self::Hex20(packed);
            }
        }
        Self::Text(text.into())
    }

    /// The SHA as text; `buffer` holds it for the packed form.
    pub fn as_str<'b>(&'b self, buffer: &'b mut [u8; 40]) -> &'b str {
        match self {
            Self::Text(text) => text,
            Self::Hex20(packed) => {
                *buffer = hex_digits(packed);
                std::str::from_utf8(buffer).expect("hex digits are ASCII")
            }
        }
    }
}

/// Each byte's two lowercase hex digits: one lookup per byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let mut table = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = [HEX_DIGITS[byte >> 4], HEX_DIGITS[byte & 0x0f]];
        byte += 1;
    }
    table
};

/// A packed SHA's 40 lowercase hex digits.
pub(crate) fn hex_digits(packed: &[u8; 20]) -> [u8; 40] {
    let mut digits = [0; 40];
    for (byte, pair) in packed.iter().zip(digits.chunks_exact_mut(2)) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(*byte)]);
    }
    digits
}

/// A packed SHA's first 8 bytes are as random as the whole and hash in one step: the delivery
/// metrics' index hashes every commit of the store.
impl std::hash::Hash for Sha {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Self::Hex20(packed) => {
                let (head, _) = packed.split_first_chunk::<8>().expect("20 bytes");
                state.write_u64(u64::from_le_bytes(*head));
            }
            Self::Text(text) => text.hash(state),
        }
    }
}

impl Serialize for Sha {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str(&mut [0u8; 40]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sha_reads_back_as_it_was_given() {
        let lower = "aae208354d86599338a50eaea960c911627ec2a0";
        assert!(matches!(Sha::new(lower), Sha::Hex20(_)));
        for text in [
            lower,
            "0000000000000000000000000000000000000000",
            "ffffffffffffffffffffffffffffffffffffffff",
            "AAE208354D86599338A50EAEA960C911627EC2A0",
            "aae208354d86599338a50eaea960c911627ec2a",
            "aae208354d86599338a50eaea960c911627ec2a0f",
            "aae208354d86599338a50eaea960c911627ec2ag",
            "b1",
            "é",
        ] {
            let sha = Sha::new(text);
            assert_eq!(sha.as_str(&mut [0; 40]), text);
            assert_eq!(serde_json::to_string(&sha).unwrap(), format!("\"{text}\""));
        }
    }

    #[test]
    fn a_parsed_sha_is_a_valid_one_in_lower_case() {
        let digits = "0123456789abcdefABCDEF";
        // Every length around the rule's bounds and the packed form, digits of both cases, and
        // each kind of byte that is not a digit in each position of a 40-digit SHA.
        let mut texts: Vec<String> = (0..=66)
            .map(|len| digits.chars().cycle().take(len).collect())
            .collect();
        let base = "aae208354d86599338a50eaea960c911627ec2a0";
        for at in 0..40 {
            for bad in ["g", "G", " ", "/", ":", "@", "`", "\u{7f}"] {
                let mut text = base.to_owned();
                text.replace_range(at..at + 1, bad);
                texts.push(text);
            }
        }
        texts.push("é".repeat(20));
        for text in texts {
            let parsed = Sha::parse(&text);
            let valid =
                (7..=64).contains(&text.len()) && text.chars().all(|c| c.is_ascii_hexdigit());
            assert_eq!(parsed.is_some(), valid, "{text:?}");
            if let Some(sha) = parsed {
                assert_eq!(sha.as_str(&mut [0; 40]), text.to_ascii_lowercase());
                assert_eq!(sha, Sha::new(&text.to_ascii_lowercase()), "{text:?}");
            }
        }
    }
}
