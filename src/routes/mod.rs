//! One file per resource. Handlers are plain async functions over the shared state.

pub mod cursor;
pub mod engineers;
pub mod events;
pub mod health;
pub mod metadata;
pub mod params;
pub mod root;
pub mod summaries;
