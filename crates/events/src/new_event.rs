//! An event as a pipeline sends it, before it has an id:
//! `{"sha","action","engineer","timestamp","service"}` read from a request body and checked field
//! by field, each refusal with a stable code.

use std::fmt;

use chrono::DateTime;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};

use super::model::{MIN_TIMESTAMP, Timestamp};
use super::service::{SERVICE_PATTERN, SERVICE_RULE, is_service_name};

/// How far ahead of the receiving clock a timestamp may be: clocks drift, deploys do not
/// happen in the future.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;
pub const MAX_ENGINEER_CHARS: usize = 128;
pub const MAX_ACTION_CHARS: usize = 32;
const MIN_SHA_DIGITS: usize = 7;
const MAX_SHA_DIGITS: usize = 64;

/// A new event, checked: `sha` in lower case, `timestamp` in whole seconds (fractions dropped)
/// or `None` for "when it is received", `service` the one named or the configured default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub sha: String,
    pub action: String,
    pub engineer: String,
    pub timestamp: Option<Timestamp>,
    pub service: String,
    /// Whether `service` is the configured default, named or not.
    in_default_service: bool,
}

/// Why a body was refused: a stable `code` (`invalid_body`, `unknown_field`, `duplicate_field`,
/// `missing_field`, `invalid_sha`, `invalid_action`, `invalid_engineer`, `invalid_timestamp`,
/// `invalid_service`) and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

fn refuse<T>(code: &'static str, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        message: message.into(),
    })
}

impl NewEvent {
    /// Reads a JSON body; `now` (Unix seconds) bounds how far in the future a timestamp may be;
    /// an event naming no service belongs to `default_service`.
    pub fn parse(body: &[u8], now: Timestamp, default_service: &str) -> Result<Self, Refusal> {
        let Ok(Fields(fields)) = serde_json::from_slice::<Fields>(body) else {
            return refuse(
                "invalid_body",
                "The body must be one JSON object with the fields sha, action, engineer and \
                 optionally timestamp and service.",
            );
        };
        let mut sha = None;
        let mut action = None;
        let mut engineer = None;
        let mut timestamp = None;
        let mut service = None;
        for (name, value) in fields {
            let slot = match name.as_str() {
                "sha" => &mut sha,
                "action" => &mut action,
                "engineer" => &mut engineer,
                "timestamp" => &mut timestamp,
                "service" => &mut service,
                _ => {
                    return refuse(
                        "unknown_field",
                        format!(
                            "Unknown field '{}'; the fields are sha, action, engineer, timestamp \
                             and service.",
                            shorten(&name, 64)
                        ),
                    );
                }
            };
            if slot.replace(value).is_some() {
                return refuse(
                    "duplicate_field",
                    format!("Field '{name}' appears more than once."),
                );
            }
        }
        let required = |value: Option<Value>, name: &str| match value {
            Some(value) => Ok(value),
            None => refuse("missing_field", format!("Field '{name}' is required.")),
        };
        Ok(Self {
            sha: check_sha(required(sha, "sha")?)?,
            action: check_action(required(action, "action")?)?,
            engineer: check_engineer(required(engineer, "engineer")?)?,
            timestamp: timestamp.map(|t| check_timestamp(t, now)).transpose()?,
            in_default_service: match &service {
                Some(Value::String(named)) => named == default_service,
                _ => service.is_none(),
            },
            service: match service {
                Some(value) => check_service(value)?,
                None => default_service.to_owned(),
            },
        })
    }

    /// The instant the event is stored with.
    pub fn instant(&self, received: Timestamp) -> Timestamp {
        self.timestamp.unwrap_or(received)
    }

    /// The request, canonical: two bodies that ask for the same event have the same
    /// fingerprint (what an idempotency key is compared by), whatever their spacing, field order
    /// or sha case. The default service, named or not, is left out: a key recorded before events
    /// had services still matches its retry.
    pub fn fingerprint(&self) -> String {
        #[derive(Serialize)]
        struct Request<'a> {
            sha: &'a str,
            action: &'a str,
            engineer: &'a str,
            timestamp: Option<Timestamp>,
            #[serde(skip_serializing_if = "Option::is_none")]
            service: Option<&'a str>,
        }
        let request = Request {
            sha: &self.sha,
            action: &self.action,
            engineer: &self.engineer,
            timestamp: self.timestamp,
            service: (!self.in_default_service).then_some(self.service.as_str()),
        };
        serde_json::to_string(&request).expect("a new event serializes")
    }
}

/// Whether `text` is a commit SHA as `POST /events` accepts it: 7 to 64 hexadecimal digits.
pub(crate) fn is_sha(text: &str) -> bool {
    (MIN_SHA_DIGITS..=MAX_SHA_DIGITS).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_sha(value: Value) -> Result<String, Refusal> {
    match value {
        Value::String(sha) if is_sha(&sha) => Ok(sha.to_ascii_lowercase()),
        _ => refuse(
            "invalid_sha",
            "Field 'sha' must be a commit SHA: 7 to 64 hexadecimal digits.",
        ),
    }
}

/// Whether `POST /events` accepts `action` as an action name: a-z first, then a-z, 0-9, '_' or
/// '-', at most `MAX_ACTION_CHARS`.
pub fn is_action_name(action: &str) -> bool {
    let mut bytes = action.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && action.len() <= MAX_ACTION_CHARS
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

fn check_action(value: Value) -> Result<String, Refusal> {
    match value {
        Value::String(action) if is_action_name(&action) => Ok(action),
        _ => refuse(
            "invalid_action",
            format!(
                "Field 'action' must be a lower-case name of 1 to {MAX_ACTION_CHARS} characters \
                 (a-z first, then a-z, 0-9, '_' or '-'), such as deploy."
            ),
        ),
    }
}

/// Whether `POST /events` accepts `engineer` as an engineer's name: 1 to `MAX_ENGINEER_CHARS`
/// characters, none of them a control character.
pub fn is_engineer_name(engineer: &str) -> bool {
    !engineer.is_empty()
        && engineer.chars().count() <= MAX_ENGINEER_CHARS
        && !engineer.chars().any(char::is_control)
}

fn check_engineer(value: Value) -> Result<String, Refusal> {
    match value {
        Value::String(engineer) if is_engineer_name(&engineer) => Ok(engineer),
        _ => refuse(
            "invalid_engineer",
            format!(
                "Field 'engineer' must be a name of 1 to {MAX_ENGINEER_CHARS} characters, \
                 without control characters."
            ),
        ),
    }
}

fn check_service(value: Value) -> Result<String, Refusal> {
    match value {
        Value::String(service) if is_service_name(&service) => Ok(service),
        _ => refuse(
            "invalid_service",
            format!("Field 'service' must be a service name: {SERVICE_RULE}."),
        ),
    }
}

fn check_timestamp(value: Value, now: Timestamp) -> Result<Timestamp, Refusal> {
    let invalid = |message: String| refuse("invalid_timestamp", message);
    let Value::String(text) = value else {
        return invalid(
            "Field 'timestamp' must be an RFC 3339 date-time string, such as 2024-05-01T12:00:00Z."
                .into(),
        );
    };
    let Ok(instant) = DateTime::parse_from_rfc3339(&text) else {
        return invalid(format!(
            "Field 'timestamp' ('{}') is not an RFC 3339 date-time, such as 2024-05-01T12:00:00Z.",
            shorten(&text, 64)
        ));
    };
    // Whole seconds, as every stored event: the fraction is dropped (rounded down).
    let seconds = instant.timestamp();
    if seconds < MIN_TIMESTAMP {
        return invalid("Field 'timestamp' is before 1970-01-01T00:00:00Z.".into());
    }
    if seconds > now.saturating_add(MAX_CLOCK_SKEW_SECONDS) {
        return invalid(format!(
            "Field 'timestamp' is more than {} minutes in the future.",
            MAX_CLOCK_SKEW_SECONDS / 60
        ));
    }
    Ok(seconds)
}

/// At most `max_chars` of `text`, and `…` if it was longer: what a message quotes of it.
pub fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// The body's schema, from the limits `parse` checks. What it cannot say: a `timestamp` must
/// not be before 1970 nor more than `MAX_CLOCK_SKEW_SECONDS` ahead of the receiving clock.
impl utoipa::PartialSchema for NewEvent {
    fn schema() -> RefOr<Schema> {
        let text = |pattern: String, description: &str, example: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern))
                .description(Some(description))
                .examples([example])
        };
        ObjectBuilder::new()
            .description(Some(
                "One event as a pipeline sends it. Field names are case-sensitive, each given \
                 once; no other field is accepted.",
            ))
            .property(
                "sha",
                text(
                    format!("^[0-9A-Fa-f]{{{MIN_SHA_DIGITS},{MAX_SHA_DIGITS}}}$"),
                    "The commit: 7 to 64 hexadecimal digits, stored in lower case.",
                    "4e3a6c1b2f0d9a8e7c6b5a4d3c2b1a0f9e8d7c6b",
                ),
            )
            .property(
                "action",
                text(
                    format!("^[a-z][a-z0-9_-]{{0,{}}}$", MAX_ACTION_CHARS - 1),
                    "What the pipeline did, such as stage, deploy or rollback.",
                    "deploy",
                ),
            )
            .property(
                "engineer",
                text(
                    // Rust's `char::is_control` is Unicode's Cc category: these two ranges.
                    format!("^[^\\u0000-\\u001f\\u007f-\\u009f]{{1,{MAX_ENGINEER_CHARS}}}$"),
                    "Who triggered it: 1 to 128 characters, no control characters.",
                    "alice",
                )
                .min_length(Some(1))
                .max_length(Some(MAX_ENGINEER_CHARS)),
            )
            .property(
                "timestamp",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                    .description(Some(
                        "When it happened (RFC 3339; fractions of a second are dropped): not \
                         before 1970, at most 5 minutes ahead of the service's clock. Without \
                         it, the time the service receives the event.",
                    ))
                    .examples(["2024-05-01T12:00:00Z"]),
            )
            .property(
                "service",
                text(
                    SERVICE_PATTERN.to_owned(),
                    "The service it belongs to, as its code host names the repository \
                     (owner/repo). Without it, the operator's DEFAULT_SERVICE (default: \
                     default).",
                    "octo-org/checkout",
                )
                .min_length(Some(1))
                .max_length(Some(crate::service::MAX_SERVICE_CHARS)),
            )
            .required("sha")
            .required("action")
            .required("engineer")
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl utoipa::ToSchema for NewEvent {}

/// A JSON object's members in the order given, repeats kept (a map would keep one silently).
struct Fields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    fields.push(member);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::DEFAULT_SERVICE;

    const NOW: Timestamp = 1_700_000_000;

    #[test]
    fn a_full_body_is_read_and_normalised() {
        let event = NewEvent::parse(
            br#"{"sha":"ABCDEF1","action":"deploy","engineer":"alice","timestamp":"2023-11-14T23:13:20.999+01:00"}"#,
            NOW,
            "default",
        )
        .unwrap();
        assert_eq!(event.sha, "abcdef1");
        // 23:13:20.999 at +01:00 is 22:13:20Z, the fraction dropped.
        assert_eq!(event.timestamp, Some(NOW));
        assert_eq!(event.instant(5), NOW);
        let without = NewEvent::parse(
            br#"{"engineer":"a","action":"b","sha":"abcdefa"}"#,
            NOW,
            "web",
        )
        .unwrap();
        assert_eq!(without.instant(NOW), NOW);
        assert_eq!(without.service, "web");
    }

    #[test]
    fn the_fingerprint_ignores_spacing_order_and_case() {
        let parse = |body: &[u8]| NewEvent::parse(body, NOW, DEFAULT_SERVICE).unwrap();
        let a = parse(br#"{"sha":"ABCDEF1","action":"a","engineer":"e"}"#);
        let b = parse(b"{ \"engineer\":\"e\", \"action\":\"a\", \"sha\":\"abcdef1\" }");
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = parse(br#"{"sha":"abcdef2","action":"a","engineer":"e"}"#);
        assert_ne!(a.fingerprint(), c.fingerprint());
        // The default service named or not is one request, and its fingerprint is the one
        // recorded before events had services; another service is another request.
        let named = parse(br#"{"sha":"abcdef1","action":"a","engineer":"e","service":"default"}"#);
        assert_eq!(a.fingerprint(), named.fingerprint());
        assert_eq!(
            a.fingerprint(),
            r#"{"sha":"abcdef1","action":"a","engineer":"e","timestamp":null}"#
        );
        let other = parse(br#"{"sha":"abcdef1","action":"a","engineer":"e","service":"web"}"#);
        assert_ne!(a.fingerprint(), other.fingerprint());
        // With another default, the same holds of it: the fingerprint is the one recorded
        // before events had services, named or not.
        let body = br#"{"sha":"abcdef1","action":"a","engineer":"e"}"#;
        let unnamed = NewEvent::parse(body, NOW, "web").unwrap();
        assert_eq!(unnamed.fingerprint(), a.fingerprint());
        let named = br#"{"sha":"abcdef1","action":"a","engineer":"e","service":"web"}"#;
        assert_eq!(
            NewEvent::parse(named, NOW, "web").unwrap().fingerprint(),
            a.fingerprint()
        );
        let elsewhere = NewEvent::parse(
            br#"{"sha":"abcdef1","action":"a","engineer":"e","service":"default"}"#,
            NOW,
            "web",
        )
        .unwrap();
        assert_ne!(elsewhere.fingerprint(), a.fingerprint());
    }

    #[test]
    fn the_timestamp_bounds_are_1970_and_five_minutes_ahead() {
        let at = |text: &str| {
            NewEvent::parse(
                format!(r#"{{"sha":"abcdef1","action":"a","engineer":"e","timestamp":"{text}"}}"#)
                    .as_bytes(),
                NOW,
                DEFAULT_SERVICE,
            )
        };
        assert_eq!(at("1970-01-01T00:00:00Z").unwrap().timestamp, Some(0));
        assert_eq!(
            at("1969-12-31T23:59:59.9Z").unwrap_err().code,
            "invalid_timestamp"
        );
        assert_eq!(
            at("2023-11-14T22:18:20Z").unwrap().timestamp,
            Some(NOW + 300)
        );
        assert_eq!(
            at("2023-11-14T22:18:21Z").unwrap_err().code,
            "invalid_timestamp"
        );
    }

    #[test]
    fn a_service_is_a_name_by_the_rule_or_refused() {
        let with = |service: &str| {
            NewEvent::parse(
                format!(r#"{{"sha":"abcdef1","action":"a","engineer":"e","service":{service}}}"#)
                    .as_bytes(),
                NOW,
                DEFAULT_SERVICE,
            )
        };
        assert_eq!(with(r#""octo-org/web""#).unwrap().service, "octo-org/web");
        for refused in [
            r#""""#,
            r#""a b""#,
            "7",
            "null",
            &format!("\"{}\"", "x".repeat(256)),
        ] {
            assert_eq!(
                with(refused).unwrap_err().code,
                "invalid_service",
                "{refused}"
            );
        }
    }
}
