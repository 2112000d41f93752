//! From a validated configuration to the state every request shares: the store, the metadata.

use std::fs::File;
use std::path::Path;
use std::time::Instant;

use crate::config::{Config, StoreConfig};
use crate::events::{LoadError, Services};
use crate::metadata::MetadataSource;
use crate::state::AppState;
use crate::store::Store;
use crate::store::dynamodb::DynamoDbStore;
use crate::store::memory::{EventsFile, MemoryStore};
use crate::write_access::WriteAccess;

/// The built-in sample dataset, written by `make sample-data` (examples/generate_events.rs).
pub const SAMPLE_EVENTS: &[u8] = include_bytes!("../data/events.jsonl");

/// Everything a request needs, built once. Nothing remote is called here: the SSM and
/// DynamoDB clients are built on first use.
pub fn build_state(config: &Config) -> Result<AppState, LoadError> {
    let store = match &config.store {
        StoreConfig::Memory { events_file } => {
            let source = events_file
                .as_deref()
                .map_or("built-in sample dataset".into(), |p| {
                    p.display().to_string()
                });
            let refused = |message| LoadError::new(&source, None, message);
            // Locked before it is read: nothing appends to it between the read and this
            // store's first record.
            let file = events_file
                .as_deref()
                .map(EventsFile::open)
                .transpose()
                .map_err(|message| LoadError::new("EVENTS_FILE", None, message))?;
            let events = load_memory_store(events_file.as_deref(), &config.default_service)?;
            config
                .allowed_actions
                .check_store(&events)
                .map_err(refused)?;
            Store::Memory(MemoryStore::new(
                events,
                file,
                config.delivery_actions.clone(),
            ))
        }
        StoreConfig::DynamoDb { table } => {
            tracing::info!(table, "serving events from DynamoDB");
            Store::DynamoDb(Box::new(
                DynamoDbStore::new(table.clone(), None)
                    .with_delivery_actions(config.delivery_actions.clone())
                    .with_default_service(&config.default_service),
            ))
        }
    };
    let metadata = match &config.ssm_parameter_prefix {
        Some(prefix) => MetadataSource::ssm(
            prefix.clone(),
            config.app_description.clone(),
            config.metadata_cache_ttl,
        ),
        None => MetadataSource::build_time(config.app_description.clone()),
    };
    let write_access = if config.on_lambda {
        WriteAccess::Iam
    } else {
        let token = config.ingest_token.as_ref().map(|secret| secret.0.clone());
        WriteAccess::local(token, config.bind_addr)
    };
    if write_access == WriteAccess::Refused {
        tracing::warn!(
            bind_addr = %config.bind_addr,
            "POST /events is refused: the server listens beyond loopback and INGEST_TOKEN is not set"
        );
    }
    Ok(AppState::new(store, metadata)
        .with_write_access(write_access)
        .with_allowed_actions(config.allowed_actions.clone())
        .with_default_service(config.default_service.clone())
        .with_badges(config.badges)
        .with_webhooks(config.webhooks.clone()))
}

/// `EVENTS_FILE`, or the built-in sample dataset; a record naming no service belongs to
/// `default_service`.
pub fn load_memory_store(
    events_file: Option<&Path>,
    default_service: &str,
) -> Result<Services, LoadError> {
    let started = Instant::now();
    let store = match events_file {
        Some(path) => {
            let source = path.display().to_string();
            let file = File::open(path)
                .map_err(|e| LoadError::new(&source, None, format!("cannot open: {e}")))?;
            Services::load(file, &source, default_service)?
        }
        None => Services::load_slice(SAMPLE_EVENTS, "built-in sample dataset", default_service)?,
    };
    tracing::info!(
        events = store.len(),
        source = events_file
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "built-in".into()),
        load_ms = started.elapsed().as_secs_f64() * 1000.0,
        "event store loaded"
    );
    Ok(store)
}
