//! A deployment pipeline's events over HTTP: one Router served by AWS Lambda or locally.

pub mod app;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod lambda;
pub mod local_server;
pub mod metadata;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod webhooks;
pub mod write_access;

/// The event domain (its own crate, `crates/events`), where the routes expect it.
pub use pipeline_events as events;
