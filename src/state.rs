//! What every request shares, built once at start-up: the event store and the metadata source.

use std::sync::Arc;

use crate::events::EventStore;
use crate::metadata::MetadataSource;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<EventStore>,
    pub metadata: Arc<MetadataSource>,
}

impl AppState {
    pub fn new(store: EventStore, metadata: MetadataSource) -> Self {
        Self {
            store: Arc::new(store),
            metadata: Arc::new(metadata),
        }
    }
}
