use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use tokio::sync::{Mutex, OnceCell, RwLock};

use super::{Metadata, MetadataError};

/// Everything one refresh may take, client set-up, retries and all: the one timeout that bounds
/// a `/metadata` request (the SDK's own attempt timeouts only keep a single try from using it up).
pub const FETCH_BUDGET: Duration = Duration::from_secs(2);
/// After a failed refresh with a stale value at hand, keep serving it this long before
/// asking SSM again, so that an outage does not make every request wait for a timeout.
const RETRY_BACKOFF: Duration = Duration::from_secs(30);
/// After a failed refresh with nothing cached, answer 503 at once for this long (the
/// `Retry-After` the 503 carries) instead of sending every request into the same outage.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(5);

/// Version and commit SHA from the SSM parameters `<prefix>/version` and `<prefix>/commit_sha`,
/// read in one `GetParameters` call and cached for `ttl`. A failed refresh serves the last
/// value read, if any. One refresh runs at a time; requests that wait for it share its outcome.
pub struct SsmMetadata {
    version_name: String,
    commit_sha_name: String,
    description: String,
    ttl: Duration,
    budget: Duration,
    client: OnceCell<Client>,
    state: RwLock<State>,
    refreshing: Mutex<()>,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    /// The last refresh failed: until `retry_at`, its error is the answer.
    failure: Option<(MetadataError, Instant)>,
}

#[derive(Clone)]
struct Cached {
    metadata: Metadata,
    /// When to ask SSM again.
    refresh_at: Instant,
}

enum Snapshot {
    Answer(Result<Metadata, MetadataError>),
    Refresh { stale: Option<Metadata> },
}

impl State {
    /// What a request gets without calling SSM, if anything.
    fn snapshot(&self, now: Instant) -> Snapshot {
        match (&self.cached, &self.failure) {
            (Some(cached), _) if now < cached.refresh_at => {
                Snapshot::Answer(Ok(cached.metadata.clone()))
            }
            (None, Some((error, retry_at))) if now < *retry_at => {
                Snapshot::Answer(Err(error.clone()))
            }
            (cached, _) => Snapshot::Refresh {
                stale: cached.as_ref().map(|cached| cached.metadata.clone()),
            },
        }
    }
}

/// The timeouts and retries every SSM client of this service uses: two attempts of at most
/// 900 ms each, so that one slow try leaves time for another within `FETCH_BUDGET`.
pub fn ssm_client_config() -> (TimeoutConfig, RetryConfig) {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_millis(900))
        .operation_attempt_timeout(Duration::from_millis(900))
        .build();
    let retries = RetryConfig::standard().with_max_attempts(2);
    (timeouts, retries)
}

/// The HTTPS client every AWS client of this service uses: rustls with the ring provider.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
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
            budget: FETCH_BUDGET,
            client: OnceCell::new_with(client),
            state: RwLock::default(),
            refreshing: Mutex::new(()),
        }
    }

    /// A budget other than `FETCH_BUDGET`, for tests of the budget itself.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    pub async fn get(&self) -> Result<Metadata, MetadataError> {
        let stale = match self.state.read().await.snapshot(Instant::now()) {
            Snapshot::Answer(answer) => return answer,
            Snapshot::Refresh { stale } => stale,
        };

        // One refresh at a time. Requests that have a stale value serve it rather than queue;
        // the others wait for the refresh in progress and take its outcome.
        let _refreshing = match (self.refreshing.try_lock(), &stale) {
            (Ok(guard), _) => guard,
            (Err(_), Some(stale)) => return Ok(stale.clone()),
            (Err(_), None) => {
                let guard = self.refreshing.lock().await;
                if let Snapshot::Answer(answer) = self.state.read().await.snapshot(Instant::now()) {
                    return answer;
                }
                guard
            }
        };

        let outcome = match tokio::time::timeout(self.budget, self.fetch()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(MetadataError(format!(
                "SSM did not answer within {} ms",
                self.budget.as_millis()
            ))),
        };
        let mut state = self.state.write().await;
        let now = Instant::now();
        match outcome {
            Ok(metadata) => {
                state.cached = Some(Cached {
                    metadata: metadata.clone(),
                    refresh_at: now + self.ttl,
                });
                state.failure = None;
                Ok(metadata)
            }
            Err(error) => {
                state.failure = Some((error.clone(), now + FAILURE_BACKOFF));
                let Some(metadata) = stale else {
                    tracing::error!(
                        reason = error.0,
                        "SSM read failed and no metadata is cached"
                    );
                    return Err(error);
                };
                tracing::warn!(
                    reason = error.0,
                    "SSM refresh failed; serving the cached metadata"
                );
                state.cached = Some(Cached {
                    metadata: metadata.clone(),
                    refresh_at: now + RETRY_BACKOFF.min(self.ttl),
                });
                Ok(metadata)
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
        let (missing, what): (Vec<&str>, Vec<&str>) = [
            (self.version_name.as_str(), "version"),
            (self.commit_sha_name.as_str(), "commit SHA"),
        ]
        .into_iter()
        .filter(|(name, _)| value(name).is_none())
        .unzip();
        if !missing.is_empty() {
            // The parameter path is the operator's to know (the log), not a client's.
            tracing::error!(missing = missing.join(", "), "SSM parameters do not exist");
            return Err(MetadataError(format!(
                "The deployed {} is not recorded yet",
                what.join(" and ")
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
        .http_client(https_client())
        .timeout_config(timeouts)
        .retry_config(retries)
        .load()
        .await;
    Client::new(&config)
}
