use std::collections::HashMap;
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

/// Parameters' values by name, as one `GetParameters` call returned them (decrypted); a
/// parameter that does not exist is absent.
pub struct Parameters(HashMap<String, String>);

impl Parameters {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// What a cache makes of its parameters.
type Read<T> = Box<dyn Fn(&Parameters) -> Result<T, MetadataError> + Send + Sync>;

/// Named SSM parameters, read in one `GetParameters` call (SecureStrings decrypted) and what
/// `read` makes of them cached for `ttl`. A failed refresh serves the last value read, if any.
/// One refresh runs at a time; requests that wait for it share its outcome.
pub struct SsmCache<T> {
    names: Vec<String>,
    read: Read<T>,
    ttl: Duration,
    budget: Duration,
    client: OnceCell<Client>,
    state: RwLock<State<T>>,
    refreshing: Mutex<()>,
}

struct State<T> {
    cached: Option<Cached<T>>,
    /// The last refresh failed: until `retry_at`, its error is the answer.
    failure: Option<(MetadataError, Instant)>,
}

impl<T> Default for State<T> {
    fn default() -> Self {
        Self {
            cached: None,
            failure: None,
        }
    }
}

#[derive(Clone)]
struct Cached<T> {
    value: T,
    /// When to ask SSM again.
    refresh_at: Instant,
}

enum Snapshot<T> {
    Answer(Result<T, MetadataError>),
    Refresh { stale: Option<T> },
}

impl<T: Clone> State<T> {
    /// What a request gets without calling SSM, if anything.
    fn snapshot(&self, now: Instant) -> Snapshot<T> {
        match (&self.cached, &self.failure) {
            (Some(cached), _) if now < cached.refresh_at => {
                Snapshot::Answer(Ok(cached.value.clone()))
            }
            (None, Some((error, retry_at))) if now < *retry_at => {
                Snapshot::Answer(Err(error.clone()))
            }
            (cached, _) => Snapshot::Refresh {
                stale: cached.as_ref().map(|cached| cached.value.clone()),
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

impl<T: Clone> SsmCache<T> {
    /// `client` is for tests that point at a stand-in; otherwise the client is built from the
    /// environment (region, credentials, endpoint) on first use.
    pub fn new(
        names: Vec<String>,
        read: impl Fn(&Parameters) -> Result<T, MetadataError> + Send + Sync + 'static,
        ttl: Duration,
        client: Option<Client>,
    ) -> Self {
        Self {
            names,
            read: Box::new(read),
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

    pub async fn get(&self) -> Result<T, MetadataError> {
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
            Ok(value) => {
                state.cached = Some(Cached {
                    value: value.clone(),
                    refresh_at: now + self.ttl,
                });
                state.failure = None;
                Ok(value)
            }
            Err(error) => {
                state.failure = Some((error.clone(), now + FAILURE_BACKOFF));
                let Some(value) = stale else {
                    tracing::error!(reason = error.0, "SSM read failed and nothing is cached");
                    return Err(error);
                };
                tracing::warn!(
                    reason = error.0,
                    "SSM refresh failed; serving what is cached"
                );
                state.cached = Some(Cached {
                    value: value.clone(),
                    refresh_at: now + RETRY_BACKOFF.min(self.ttl),
                });
                Ok(value)
            }
        }
    }

    async fn fetch(&self) -> Result<T, MetadataError> {
        let client = self.client.get_or_init(build_client).await;
        let output = client
            .get_parameters()
            .set_names(Some(self.names.clone()))
            .with_decryption(true)
            .send()
            .await
            .map_err(|error| {
                // The SDK's error chain can name hosts and accounts: log it, tell the client less.
                tracing::warn!(error = %aws_sdk_ssm::error::DisplayErrorContext(&error), "GetParameters failed");
                MetadataError("SSM Parameter Store could not be read".into())
            })?;
        let values = (output.parameters().iter())
            .filter_map(|parameter| {
                Some((parameter.name()?.to_owned(), parameter.value()?.to_owned()))
            })
            .collect();
        (self.read)(&Parameters(values))
    }
}

/// Version and commit SHA from the SSM parameters `<prefix>/version` and `<prefix>/commit_sha`,
/// cached for `ttl` (`SsmCache`).
pub struct SsmMetadata(SsmCache<Metadata>);

impl SsmMetadata {
    /// `client` is for tests that point at a stand-in; otherwise the client is built from the
    /// environment (region, credentials, endpoint) on first use.
    pub fn new(prefix: String, description: String, ttl: Duration, client: Option<Client>) -> Self {
        let version_name = format!("{prefix}/version");
        let commit_sha_name = format!("{prefix}/commit_sha");
        let names = vec![version_name.clone(), commit_sha_name.clone()];
        let read = move |values: &Parameters| {
            let (missing, what): (Vec<&str>, Vec<&str>) = [
                (version_name.as_str(), "version"),
                (commit_sha_name.as_str(), "commit SHA"),
            ]
            .into_iter()
            .filter(|(name, _)| values.get(name).is_none())
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
                version: values.get(&version_name).unwrap_or_default().to_owned(),
                description: description.clone(),
                last_commit_sha: values.get(&commit_sha_name).unwrap_or_default().to_owned(),
            })
        };
        Self(SsmCache::new(names, read, ttl, client))
    }

    /// A budget other than `FETCH_BUDGET`, for tests of the budget itself.
    pub fn with_budget(self, budget: Duration) -> Self {
        Self(self.0.with_budget(budget))
    }

    pub async fn get(&self) -> Result<Metadata, MetadataError> {
        self.0.get().await
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
