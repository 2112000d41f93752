pub mod app;
pub mod binary;
pub mod dynamodb_standin;
pub mod moto;
pub mod payloads;
pub mod runtime_api;
pub mod temp;

pub use app::{Backend, ROUTES, TestApp, blocking_runtime, fixture_records, on_backend};
