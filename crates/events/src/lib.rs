//! The event domain: the pipeline's events, their indexes, queries and daily statistics.
//! Nothing in here depends on HTTP, Lambda or AWS: it writes the JSON bodies the routes send,
//! and knows no route, status or header.

mod allowed_actions;
mod daily_json;
mod delivery;
mod delivery_facts;
mod event_index;
mod event_json;
mod export_line;
mod generate;
mod idempotency;
mod load;
mod model;
mod new_event;
mod query;
mod service;
mod services;
mod sha;
mod snapshot;
mod summary;
mod summary_days;

pub use allowed_actions::{
    AllowedActions, DEFAULT_ALLOWED_ACTIONS, MAX_ALLOWED_ACTIONS, NotAllowed,
};
pub use daily_json::DailyJson;
pub use delivery::{
    Benchmark, Bucket, ChangeFailureRate, DeliveryDay, DeliveryFigures, DeliveryIndex,
    DeliveryReport, DeploymentFrequency, LeadTime, Level, RecoveryTime, ReworkRate,
};
pub use delivery_facts::{
    DayChange, DeliveryActions, DeliveryKind, Firsts, PushOrder, Start, ship_earlier_commits,
};
pub use event_index::{EngineerList, EngineerSummary, EventIndex, InvalidRecord};
pub use event_json::{EVENT_JSON_BYTES, write_events_json};
pub use generate::{GeneratorSettings, generate, service_name, write_json_lines};
pub use idempotency::{DELIVERY_WINDOW_SECONDS, IDEMPOTENCY_WINDOW_SECONDS, IdempotencyKey};
pub use load::{LoadError, RawEvent};
pub use model::{
    Event, EventRecord, EventView, MAX_TIMESTAMP, MIN_TIMESTAMP, SECONDS_PER_DAY, Timestamp,
    date_of_day, day_of, format_timestamp,
};
pub use new_event::{
    MAX_ACTION_CHARS, MAX_CLOCK_SKEW_SECONDS, MAX_ENGINEER_CHARS, NewEvent, Refusal,
    is_action_name, is_engineer_name, shorten,
};
pub use query::{EventQuery, Page, Position};
pub use service::{
    DEFAULT_SERVICE, MAX_SERVICE_CHARS, SERVICE_PATTERN, SERVICE_RULE, is_service_name,
};
pub use services::{SERVICE_FREQUENCY_DAYS, ServiceSummary, Services};
pub use sha::Sha;
pub use snapshot::EventSnapshot;
pub use summary::{
    ActionCounts, DayList, DaySummary, DayTotals, NO_DAYS_JSON, daily_json, day_summary,
};
pub use summary_days::{MAX_SUMMARY_DAYS, TooManyDays, summary_days};
