//! What every request shares, built once at start-up: the event store and the metadata source.

use std::sync::Arc;

use crate::metadata::MetadataSource;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub metadata: Arc<MetadataSource>,
}

impl AppState {
    pub fn new(store: Store, metadata: MetadataSource) -> Self {
        Self {
            store: Arc::new(store),
            metadata: Arc::new(metadata),
        }
    }
}
