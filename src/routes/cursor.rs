//! Page cursors: opaque to clients, checked on return. A cursor holds where the last page ended
//! and a checksum over that position and the query it belongs to, so a cursor that was edited,
//! invented, or taken from another query is refused instead of silently skipping events.

use crate::error::ApiError;
use crate::events::{Position, Timestamp};

/// What a cursor is bound to: the route's own filters, normalised.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub route: &'a str,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub engineer: Option<&'a str>,
    pub action: Option<&'a str>,
    pub service: Option<&'a str>,
}

const LENGTH: usize = 48;

pub fn encode(position: Position, scope: &Scope<'_>) -> String {
    format!(
        "{:016x}{:016x}{:016x}",
        position.timestamp as u64,
        position.id,
        checksum(position, scope)
    )
}

pub fn decode(cursor: &str, scope: &Scope<'_>) -> Result<Position, ApiError> {
    if cursor.len() != LENGTH || !cursor.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::InvalidCursor);
    }
    let field = |index: usize| u64::from_str_radix(&cursor[index * 16..(index + 1) * 16], 16);
    let (Ok(timestamp), Ok(id), Ok(check)) = (field(0), field(1), field(2)) else {
        return Err(ApiError::InvalidCursor);
    };
    let position = Position {
        timestamp: timestamp as Timestamp,
        id,
    };
    if check != checksum(position, scope) {
        return Err(ApiError::InvalidCursor);
    }
    Ok(position)
}

fn checksum(position: Position, scope: &Scope<'_>) -> u64 {
    let mut hash = Fnv1a::default();
    hash.feed(b"cursor-v1")
        .feed(&position.timestamp.to_le_bytes())
        .feed(&position.id.to_le_bytes())
        .field(Some(scope.route.as_bytes()))
        .field(scope.from.map(i64::to_le_bytes).as_ref().map(|b| &b[..]))
        .field(scope.to.map(i64::to_le_bytes).as_ref().map(|b| &b[..]))
        .field(scope.engineer.map(str::as_bytes))
        .field(scope.action.map(str::as_bytes));
    // Fed only when given: a cursor of the whole store issued before services stays valid.
    if let Some(service) = scope.service {
        hash.feed(b"service").field(Some(service.as_bytes()));
    }
    hash.0
}

/// A cursor of a list by name (`GET /services`): a checksum of the route and the name, then the
/// name's bytes in hex.
pub fn encode_after(name: &str, route: &str) -> String {
    let mut cursor = format!("{:016x}", name_checksum(name, route));
    for byte in name.bytes() {
        cursor.push_str(&format!("{byte:02x}"));
    }
    cursor
}

/// The name a cursor of `encode_after` continues after; `valid` holds names to their rule (a
/// checksum is not a secret: a forged cursor must still name something a key can hold).
pub fn decode_after(
    cursor: &str,
    route: &str,
    valid: fn(&str) -> bool,
) -> Result<String, ApiError> {
    let hex_only = cursor.len() > 16
        && cursor.len().is_multiple_of(2)
        && cursor.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex_only {
        return Err(ApiError::InvalidCursor);
    }
    let (check, name) = cursor.split_at(16);
    let bytes: Vec<u8> = (0..name.len() / 2)
        .map(|at| u8::from_str_radix(&name[2 * at..2 * at + 2], 16).expect("hex digits"))
        .collect();
    let check = u64::from_str_radix(check, 16).expect("hex digits");
    match String::from_utf8(bytes) {
        Ok(name) if valid(&name) && check == name_checksum(&name, route) => Ok(name),
        _ => Err(ApiError::InvalidCursor),
    }
}

fn name_checksum(name: &str, route: &str) -> u64 {
    let mut hash = Fnv1a::default();
    hash.feed(b"cursor-after-v1")
        .field(Some(route.as_bytes()))
        .field(Some(name.as_bytes()));
    hash.0
}

/// 64-bit FNV-1a: stable across builds and platforms, so every instance of a deployment
/// accepts the cursors any other issued. It detects tampering; it is not a secret.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn feed(&mut self, bytes: &[u8]) -> &mut Self {
        for byte in bytes {
            self.0 = (self.0 ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    /// An optional field, framed so that neighbouring fields cannot run into each other.
    fn field(&mut self, value: Option<&[u8]>) -> &mut Self {
        match value {
            Some(bytes) => self
                .feed(&[1])
                .feed(&(bytes.len() as u64).to_le_bytes())
                .feed(bytes),
            None => self.feed(&[0]),
        }
    }
}
