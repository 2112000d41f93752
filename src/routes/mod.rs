//! One file per resource. Handlers are plain async functions over the shared state.

pub mod badges;
pub mod cursor;
pub mod dashboard;
pub mod docs;
pub mod engineers;
pub mod event_by_id;
pub mod events;
pub mod health;
pub mod metadata;
pub mod metrics;
pub mod openapi_json;
pub mod params;
pub mod record_event;
pub mod root;
pub mod services;
pub mod summaries;
pub mod webhook_delivery;
pub mod webhook_github;
pub mod webhook_gitlab;
