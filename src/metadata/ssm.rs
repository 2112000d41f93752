use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ssm::Client;
use tokio::sync::{Mutex, OnceCell, RwLock};

use super::{Metadata, MetadataError};

/// Everything one refresh may take, client set-up, retries and all.
pub const FETCH_BUDGET: Duration = Duration::from_secs(2);
/// After a failed refresh with a stale value at hand, keep serving it this long before
/// asking SSM again, so that an outage does not make every request wait for a timeout.
const RETRY_BACKOFF: Duration = Duration::from_secs(30);

/// Version and commit SHA from the SSM parameters `<prefix>/version` and `<prefix>/commit_sha`,
/// read in one `GetParameters` call and cached for `ttl`. A failed refresh serves the last
/// value read, if any.
pub struct SsmMetadata {
    version_name: String,
    commit_sha_name: String,
    description: String,
    ttl: Duration,
    client: OnceCell<Client>,
    cache: RwLock<Option<Cached>>,
    refreshing: Mutex<()>,
}

#[derive(Clone)]
struct Cached {
    metadata: Metadata,
    /// When to ask SSM again.
    refresh_at: Instant,
}

/// The timeouts and retries every SSM client of this service uses; within `FETCH_BUDGET`.
pub fn ssm_client_config() -> (TimeoutConfig, RetryConfig) {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_millis(900))
        .operation_attempt_timeout(Duration::from_millis(900))
        .operation_timeout(FETCH_BUDGET)
        .build();
    let retries = RetryConfig::standard().with_max_attempts(2);
    (timeouts, retries)
}

impl SsmMetadata {
    /// `client` is for tests that point at a stand-in; otherwise the client is built from the
    /// environment (region, credentials, endpoint) on first use.
    pub fn new(prefix: String, description: String, ttl: Duration, client: Option<Client>) -> Self {
        Self {
            version_name: format!("{prefix}/version"),
            commit_sha_name: format!("{prefix}/commit_sha"),
            description,
            ttl,
            client: OnceCell::new_with(client),
            cache: RwLock::new(None),
            refreshing: Mutex::new(()),
        }
    }

    pub async fn get(&self) -> Result<Metadata, MetadataError> {
        let stale = match self.cache.read().await.as_ref() {
            Some(cached) if Instant::now() < cached.refresh_at => {
                return Ok(cached.metadata.clone());
            }
            other => other.map(|cached| cached.metadata.clone()),
        };

        // One refresh at a time. Requests that have a stale value serve it rather than queue.
        let _refreshing = match (self.refreshing.try_lock(), &stale) {
            (Ok(guard), _) => guard,
            (Err(_), Some(stale)) => return Ok(stale.clone()),
            (Err(_), None) => {
                let guard = self.refreshing.lock().await;
                if let Some(cached) = self.cache.read().await.as_ref() {
                    return Ok(cached.metadata.clone());
                }
                guard
            }
        };

        match tokio::time::timeout(FETCH_BUDGET, self.fetch()).await {
            Ok(Ok(metadata)) => {
                *self.cache.write().await = Some(Cached {
                    metadata: metadata.clone(),
                    refresh_at: Instant::now() + self.ttl,
                });
                Ok(metadata)
            }
            outcome => {
                let reason = match outcome {
                    Ok(Err(error)) => error.0,
                    _ => format!("SSM did not answer within {} ms", FETCH_BUDGET.as_millis()),
                };
                match stale {
                    Some(metadata) => {
                        tracing::warn!(reason, "SSM refresh failed; serving the cached metadata");
                        *self.cache.write().await = Some(Cached {
                            metadata: metadata.clone(),
                            refresh_at: Instant::now() + RETRY_BACKOFF.min(self.ttl),
                        });
                        Ok(metadata)
                    }
                    None => {
                        tracing::error!(reason, "SSM read failed and no metadata is cached");
                        Err(MetadataError(reason))
                    }
                }
            }
        }
    }

    async fn fetch(&self) -> Result<Metadata, MetadataError> {
        let client = self.client.get_or_init(build_client).await;
        let output = client
            .get_parameters()
            .names(&self.version_name)
            .names(&self.commit_sha_name)
            .send()
            .await
            .map_err(|error| {
                // The SDK's error chain can name hosts and accounts: log it, tell the client less.
                tracing::warn!(error = %aws_sdk_ssm::error::DisplayErrorContext(&error), "GetParameters failed");
                MetadataError("SSM Parameter Store could not be read".into())
            })?;

        let value = |name: &str| {
            output
                .parameters()
                .iter()
                .find(|parameter| parameter.name() == Some(name))
                .and_then(|parameter| parameter.value())
                .map(str::to_owned)
        };
        let missing: Vec<&str> = [&self.version_name, &self.commit_sha_name]
            .into_iter()
            .filter(|name| value(name).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(MetadataError(format!(
                "SSM parameter {} does not exist",
                missing.join(" and ")
            )));
        }
        Ok(Metadata {
            version: value(&self.version_name).unwrap_or_default(),
            description: self.description.clone(),
            last_commit_sha: value(&self.commit_sha_name).unwrap_or_default(),
        })
    }
}

async fn build_client() -> Client {
    let (timeouts, retries) = ssm_client_config();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(retries)
        .load()
        .await;
    Client::new(&config)
}
