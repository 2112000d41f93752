//! Query-string parsing shared by the list routes: every parameter is known, given once, and
//! parsed into the domain's terms, or the request is refused with a code that says why.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Days, NaiveDate};
use percent_encoding::percent_decode_str;
use utoipa::IntoParams;
use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};

use crate::error::ApiError;
use crate::events::{
    MAX_ACTION_CHARS, MAX_ENGINEER_CHARS, MAX_SERVICE_CHARS, SERVICE_PATTERN, Timestamp,
    is_action_name, is_engineer_name, is_service_name,
};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// Longer paths and queries than any route needs are refused before routing. The local server's
/// HTTP library refuses request lines over 64 KiB itself, with an empty 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// A handler's query string, parsed before the handler runs: every name one of those `A`
/// accepts (`()`: none), given once, and UTF-8 once decoded, or the request is refused.
pub struct Query<A = ()> {
    params: Params,
    accepts: PhantomData<fn() -> A>,
}

impl<A> Deref for Query<A> {
    type Target = Params;

    fn deref(&self) -> &Params {
        &self.params
    }
}

impl<S: Send + Sync, A: Accepts> FromRequestParts<S> for Query<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Self {
            params: Params::parse(parts.uri.query(), A::known)?,
            accepts: PhantomData,
        })
    }
}

/// The query parameters a route reads: the same types describe them in its `#[utoipa::path]`.
pub trait Accepts {
    const NAMES: &'static [&'static str] = &[];

    /// `name` as this set spells it, if it is one of them.
    fn known(name: &str) -> Option<&'static str> {
        Self::NAMES.iter().copied().find(|known| *known == name)
    }
}

impl Accepts for () {}

impl<A: Accepts, B: Accepts> Accepts for (A, B) {
    fn known(name: &str) -> Option<&'static str> {
        A::known(name).or_else(|| B::known(name))
    }
}

impl<A: Accepts, B: Accepts, C: Accepts> Accepts for (A, B, C) {
    fn known(name: &str) -> Option<&'static str> {
        A::known(name).or_else(|| <(B, C)>::known(name))
    }
}

impl<A: Accepts, B: Accepts, C: Accepts, D: Accepts> Accepts for (A, B, C, D) {
    fn known(name: &str) -> Option<&'static str> {
        A::known(name).or_else(|| <(B, C, D)>::known(name))
    }
}

/// What any route refuses in its query string or URI.
pub fn refusals() -> Vec<ApiError> {
    vec![
        ApiError::UnknownParameter("colour".into()),
        ApiError::invalid("query", "is not a valid query string"),
        ApiError::UriTooLong(MAX_URI_BYTES),
    ]
}

// The query parameters as the OpenAPI description shows them and the routes accept them.

/// `from` and `to`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RangeParams {
    #[param(schema_with = from_schema)]
    from: Option<String>,
    #[param(schema_with = to_schema)]
    to: Option<String>,
}

impl Accepts for RangeParams {
    const NAMES: &'static [&'static str] = &["from", "to"];
}

/// `service`, on every read route but `/events/{id}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ServiceParam {
    #[param(schema_with = service_schema)]
    service: Option<String>,
}

impl Accepts for ServiceParam {
    const NAMES: &'static [&'static str] = &["service"];
}

fn service_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "Only this service's events and figures (exact name, as `POST /events` takes it): \
             the answer a store holding only that service's events would give. Without it, the \
             whole store's.",
        ))
        .min_length(Some(1))
        .max_length(Some(MAX_SERVICE_CHARS))
        .pattern(Some(SERVICE_PATTERN))
        .examples(["octo-org/checkout"])
        .into()
}

/// `engineer`, on `GET /events`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct EngineerParam {
    /// Only this engineer's events (exact name): 1 to 128 characters, none a control
    /// character, as `POST /events` accepts them.
    #[param(
        min_length = 1,
        max_length = 128,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,128}$",
        example = "alice"
    )]
    engineer: Option<String>,
}

impl Accepts for EngineerParam {
    const NAMES: &'static [&'static str] = &["engineer"];
}

/// `action`, `limit` and `cursor`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PageParams {
    /// Only events with this action (exact name), as `POST /events` accepts them.
    #[param(
        min_length = 1,
        max_length = 32,
        pattern = "^[a-z][a-z0-9_-]{0,31}$",
        example = "deploy"
    )]
    action: Option<String>,
    /// Events per page.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: Option<u16>,
    /// The `next_cursor` of the previous page, with the same `from`, `to` and filters.
    #[param(min_length = 1)]
    cursor: Option<String>,
}

impl Accepts for PageParams {
    const NAMES: &'static [&'static str] = &["action", "limit", "cursor"];
}

fn from_schema() -> Schema {
    instant_schema(
        "The first instant included: an RFC 3339 timestamp (any offset; write `+` as `%2B`) or a \
         date, which means its first second in UTC.",
        "2017-10-30T00:00:00Z",
    )
}

fn to_schema() -> Schema {
    instant_schema(
        "The first instant excluded: an RFC 3339 timestamp, or a date, which includes that whole \
         UTC day. Must be later than `from`.",
        "2017-10-31",
    )
}

fn instant_schema(description: &str, example: &str) -> Schema {
    let string = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    OneOfBuilder::new()
        .description(Some(description))
        .examples([example])
        .item(string(KnownFormat::DateTime))
        .item(string(KnownFormat::Date))
        .into()
}

/// The parameters of one request, by name.
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Splits `raw` (the query string, undecoded) and refuses names `known` does not know,
    /// names given twice and values that are not UTF-8 once decoded (rather than reading them
    /// as U+FFFD, which would match nothing and answer an empty page).
    fn parse(raw: Option<&str>, known: fn(&str) -> Option<&'static str>) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pair in raw.unwrap_or("").split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name).unwrap_or_else(|bytes| String::from_utf8_lossy(&bytes).into());
            let Some(known) = known(&name) else {
                return Err(ApiError::UnknownParameter(name));
            };
            if pairs.iter().any(|(earlier, _)| *earlier == name) {
                return Err(ApiError::invalid(known, "is given more than once"));
            }
            let value = decode(value).map_err(|_| match known {
                // No cursor this service issues: the code a client restarts its pages on.
                "cursor" => ApiError::InvalidCursor,
                _ => ApiError::invalid(known, "must be UTF-8 once percent-decoded"),
            })?;
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// A value that must not be empty when given.
    pub fn text(&self, name: &'static str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            Some("") => Err(ApiError::invalid(name, "must not be empty")),
            other => Ok(other),
        }
    }

    /// `engineer`: a name `POST /events` would accept, or no event can carry it.
    pub fn engineer(&self) -> Result<Option<&str>, ApiError> {
        self.name("engineer", is_engineer_name, || {
            format!(
                "must be an engineer's name: 1 to {MAX_ENGINEER_CHARS} characters, without \
                 control characters"
            )
        })
    }

    /// `service`: a name `POST /events` would accept, or no event can carry it (nor a DynamoDB
    /// key hold it).
    pub fn service(&self) -> Result<Option<&str>, ApiError> {
        match self.get("service") {
            Some(name) if !is_service_name(name) => Err(ApiError::InvalidService),
            other => Ok(other),
        }
    }

    /// `action`: a name `POST /events` would accept, or no event can carry it.
    pub fn action(&self) -> Result<Option<&str>, ApiError> {
        self.name("action", is_action_name, || {
            format!(
                "must be an action name: 1 to {MAX_ACTION_CHARS} characters, a-z first, then \
                 a-z, 0-9, '_' or '-'"
            )
        })
    }

    /// A filter on a stored name, refused (`rule`) when it breaks what `valid` holds names to.
    fn name(
        &self,
        parameter: &'static str,
        valid: fn(&str) -> bool,
        rule: impl FnOnce() -> String,
    ) -> Result<Option<&str>, ApiError> {
        match self.get(parameter) {
            Some(name) if !valid(name) => Err(ApiError::invalid(parameter, rule())),
            other => Ok(other),
        }
    }

    /// `from`: the first instant included.
    pub fn from(&self) -> Result<Option<Timestamp>, ApiError> {
        self.get("from")
            .map(|value| instant("from", value, false))
            .transpose()
    }

    /// `to`: the first instant excluded; a date means the end of that day.
    pub fn to(&self) -> Result<Option<Timestamp>, ApiError> {
        self.get("to")
            .map(|value| instant("to", value, true))
            .transpose()
    }

    pub fn limit(&self) -> Result<usize, ApiError> {
        let Some(value) = self.get("limit") else {
            return Ok(DEFAULT_LIMIT);
        };
        let digits_only = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        match value.parse::<usize>() {
            Ok(limit) if digits_only && (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
            _ => Err(ApiError::invalid(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            )),
        }
    }
}

/// A query string's name or value, `+` read as a space and percent-decoded; the bytes when
/// they are not UTF-8.
fn decode(text: &str) -> Result<String, Vec<u8>> {
    let spaced = text.replace('+', " ");
    let bytes: Vec<u8> = percent_decode_str(&spaced).collect();
    String::from_utf8(bytes).map_err(|error| error.into_bytes())
}

/// `from` must come before `to` when both are given.
pub fn check_range(from: Option<Timestamp>, to: Option<Timestamp>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(from), Some(to)) if from >= to => Err(range_refusal()),
        _ => Ok(()),
    }
}

pub fn range_refusal() -> ApiError {
    ApiError::InvalidRange(
        "Parameter 'from' must be earlier than 'to' (a date in 'to' means the end of that day)"
            .into(),
    )
}

/// What `from` or `to` is refused with when it is not an instant.
pub fn instant_refusal(name: &'static str) -> ApiError {
    ApiError::invalid(
        name,
        "must be an RFC 3339 timestamp (2017-10-30T12:00:00Z) or a date (2017-10-30)",
    )
}

/// An RFC 3339 timestamp (any offset) or a `YYYY-MM-DD` date in UTC, as whole seconds rounded
/// up: events carry whole seconds, so `t >= 10.5` and `t >= 11` select the same events, and so
/// do `t < 10.5` and `t < 11`.
fn instant(
    name: &'static str,
    value: &str,
    date_means_end_of_day: bool,
) -> Result<Timestamp, ApiError> {
    let expected = || instant_refusal(name);
    if value.len() == 10 {
        let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| expected())?;
        let date = if date_means_end_of_day {
            date.checked_add_days(Days::new(1)).ok_or_else(expected)?
        } else {
            date
        };
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp());
    }
    let instant = DateTime::parse_from_rfc3339(value).map_err(|_| {
        if value.contains(' ') {
            // An unencoded '+' in a query string means a space.
            ApiError::invalid(
                name,
                "must be an RFC 3339 timestamp; it holds a space, which is how an unencoded '+' \
                 arrives: write the offset's '+' as %2B (2017-10-09T08:00:00%2B02:00)",
            )
        } else {
            expected()
        }
    })?;
    let rounded_up = i64::from(instant.timestamp_subsec_nanos() > 0);
    Ok(instant.timestamp() + rounded_up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_set_accepts_the_names_it_describes() {
        fn holds<P: IntoParams + Accepts>() {
            let described: Vec<String> = P::into_params(|| None)
                .into_iter()
                .map(|parameter| parameter.name)
                .collect();
            let names = [
                "from",
                "to",
                "engineer",
                "action",
                "limit",
                "cursor",
                "bucket",
                "benchmark",
            ];
            for name in names.into_iter().chain(["colour"]) {
                let expected = described.iter().any(|d| d == name).then_some(name);
                assert_eq!(P::known(name), expected, "{name}");
            }
            assert!(described.iter().all(|d| names.contains(&d.as_str())));
        }
        holds::<RangeParams>();
        holds::<EngineerParam>();
        holds::<PageParams>();
        holds::<crate::routes::metrics::ReportParams>();
        holds::<crate::routes::badges::BadgeParams>();
    }

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(instant("from", "2017-10-30", false), Ok(1_509_321_600));
        assert_eq!(
            instant("to", "2017-10-30", true),
            Ok(1_509_321_600 + 86_400)
        );
        assert_eq!(
            instant("from", "2017-10-30T00:00:00Z", false),
            Ok(1_509_321_600)
        );
        assert_eq!(
            instant("from", "2017-10-30T02:00:00+02:00", false),
            Ok(1_509_321_600)
        );
        assert_eq!(
            instant("from", "2017-10-30T00:00:00.25Z", false),
            Ok(1_509_321_601)
        );
        assert!(instant("from", "2017-13-01", false).is_err());
        assert!(instant("from", "2017-10-30T00:00:00", false).is_err());
        assert_eq!(instant("to", "9999-12-31", true), Ok(253_402_300_800));
        assert!(instant("to", "0000-00-00", true).is_err());
    }
}
