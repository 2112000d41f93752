//! From a validated configuration to the state every request shares: the store, the metadata.

use std::fs::File;
use std::time::Instant;

use crate::config::Config;
use crate::events::{EventStore, LoadError};
use crate::metadata::MetadataSource;
use crate::state::AppState;

/// The built-in sample dataset, written by `make sample-data` (examples/generate_events.rs).
pub const SAMPLE_EVENTS: &[u8] = include_bytes!("../data/events.jsonl");

/// Everything a request needs, built once. Nothing remote is called here: the SSM client is
/// built on the first `/metadata` request.
pub fn build_state(config: &Config) -> Result<AppState, LoadError> {
    let started = Instant::now();
    let store = match &config.events_file {
        Some(path) => {
            let source = path.display().to_string();
            let file = File::open(path).map_err(|e| LoadError {
                source: source.clone(),
                record: None,
                message: format!("cannot open: {e}"),
            })?;
            EventStore::load(file, &source)?
        }
        None => EventStore::load_slice(SAMPLE_EVENTS, "built-in sample dataset")?,
    };
    tracing::info!(
        events = store.len(),
        source = config
            .events_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "built-in".into()),
        load_ms = started.elapsed().as_secs_f64() * 1000.0,
        "event store loaded"
    );

    let metadata = match &config.ssm_parameter_prefix {
        Some(prefix) => MetadataSource::ssm(
            prefix.clone(),
            config.app_description.clone(),
            config.metadata_cache_ttl,
        ),
        None => MetadataSource::build_time(config.app_description.clone()),
    };
    Ok(AppState::new(store, metadata))
}
