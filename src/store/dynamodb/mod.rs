//! The event store in DynamoDB: one table (layout in `keys`), read on the request path with
//! Query and GetItem only, written by `import` and kept exact by `maintenance`.

mod aggregates;
mod backoff;
mod batch;
mod delivery;
pub mod import;
pub mod items;
pub mod keys;
pub mod maintenance;
pub mod read;
mod reports;
mod shipping;
pub mod table;
mod transact;
pub mod write;
mod write_many;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::{BoxError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio::sync::OnceCell;

use crate::metadata::https_client;
use crate::store::outcome::{ReadFailure, WriteFailure};

/// Everything one API call may spend in DynamoDB, every request and retry included: the one
/// timeout that bounds an event route when the table is slow or unreachable.
pub const CALL_BUDGET: Duration = Duration::from_millis(2500);
/// The same for recording one event: a few more requests (the id, the aggregates, the
/// transaction) and retries of cancelled transactions. A client that gets 503 retries with its
/// Idempotency-Key and cannot record the event twice.
pub const WRITE_BUDGET: Duration = Duration::from_secs(5);
/// The same for a webhook delivery's events together (a push's transactions, one after
/// another): under GitHub's 10 s and the function's default 10 s timeout, so that a push too
/// large for it is answered 503, its whole transactions kept, rather than cut off by Lambda.
pub const DELIVERY_WRITE_BUDGET: Duration = Duration::from_secs(8);

/// Why the store could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DynamoDbFailure {
    /// DynamoDB did not answer, refused for now (throttling), or the table is missing.
    Unavailable,
    /// An item did not decode, or DynamoDB refused a request the code made: a defect, logged.
    Internal,
}

impl From<DynamoDbFailure> for WriteFailure {
    fn from(failure: DynamoDbFailure) -> Self {
        match failure {
            DynamoDbFailure::Unavailable => Self::Unavailable,
            DynamoDbFailure::Internal => Self::Internal,
        }
    }
}

impl From<DynamoDbFailure> for ReadFailure {
    fn from(failure: DynamoDbFailure) -> Self {
        match failure {
            DynamoDbFailure::Unavailable => Self::Unavailable,
            DynamoDbFailure::Internal => Self::Internal,
        }
    }
}

/// A table and the client that reads it, built on first use (start-up calls nothing remote).
pub struct DynamoDbStore {
    table: String,
    client: OnceCell<Client>,
    /// A client configuration given by the caller (tests, the CLI's endpoint); otherwise the
    /// environment's, as every AWS SDK reads it.
    config: Option<aws_sdk_dynamodb::Config>,
    requests: Arc<AtomicU64>,
    budget: Duration,
    settings: fn() -> (TimeoutConfig, RetryConfig),
    /// The action names the delivery metrics' facts are kept for.
    delivery_actions: crate::events::DeliveryActions,
    /// The service of events stored before events had services (`DEFAULT_SERVICE`).
    default_service: Arc<str>,
    /// The table was seen to be of this version's layout (`keys::LAYOUT`): it stays so.
    layout_current: AtomicBool,
}

impl DynamoDbStore {
    pub fn new(table: String, config: Option<aws_sdk_dynamodb::Config>) -> Self {
        Self {
            table,
            client: OnceCell::new(),
            config,
            requests: Arc::default(),
            budget: CALL_BUDGET,
            settings: client_settings,
            delivery_actions: crate::events::DeliveryActions::default(),
            default_service: crate::events::DEFAULT_SERVICE.into(),
            layout_current: AtomicBool::new(false),
        }
    }

    pub fn with_default_service(mut self, service: &str) -> Self {
        self.default_service = service.into();
        self
    }

    /// The service of events stored before events had services.
    pub fn default_service(&self) -> &str {
        &self.default_service
    }

    /// This store, keeping and reading the delivery metrics' facts for `actions`.
    pub fn with_delivery_actions(mut self, actions: crate::events::DeliveryActions) -> Self {
        self.delivery_actions = actions;
        self
    }

    pub fn delivery_actions(&self) -> &crate::events::DeliveryActions {
        &self.delivery_actions
    }

    /// For the operator's commands (import, verify): long Scans and batches, and patience with
    /// throttling, instead of the request path's tight timeouts.
    pub fn for_operator(table: String) -> Self {
        Self {
            settings: operator_settings,
            ..Self::new(table, None)
        }
    }

    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// HTTP requests sent to DynamoDB so far, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let counter = RequestCounter(self.requests.clone());
                let config = match &self.config {
                    Some(config) => config.to_builder(),
                    None => {
                        let (timeouts, retries) = (self.settings)();
                        let shared = aws_config::defaults(BehaviorVersion::latest())
                            .http_client(https_client())
                            .timeout_config(timeouts)
                            .retry_config(retries)
                            .load()
                            .await;
                        aws_sdk_dynamodb::config::Builder::from(&shared)
                    }
                };
                Client::from_conf(config.interceptor(counter).build())
            })
            .await
    }

    /// Runs one recording within `WRITE_BUDGET` (scaled as the read budget is, for tests).
    pub async fn within_write_budget<T>(
        &self,
        work: impl Future<Output = Result<T, WriteFailure>>,
    ) -> Result<T, WriteFailure> {
        self.within_write_budget_until(None, work).await
    }

    /// When a delivery's writes must be done by: `DELIVERY_WRITE_BUDGET` (scaled) from now.
    pub fn delivery_deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + DELIVERY_WRITE_BUDGET.max(self.budget)
    }

    /// As `within_write_budget`, ending by `deadline` too when one is given.
    pub async fn within_write_budget_until<T>(
        &self,
        deadline: Option<tokio::time::Instant>,
        work: impl Future<Output = Result<T, WriteFailure>>,
    ) -> Result<T, WriteFailure> {
        let mut budget = WRITE_BUDGET.max(self.budget);
        if let Some(deadline) = deadline {
            budget = budget.min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        }
        match tokio::time::timeout(budget, work).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(
                    budget_ms = budget.as_millis() as u64,
                    "DynamoDB did not record the event within the budget"
                );
                Err(WriteFailure::Unavailable)
            }
        }
    }

    /// Runs one API call's worth of DynamoDB work within the budget.
    pub async fn within_budget<T, E: From<DynamoDbFailure>>(
        &self,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        match tokio::time::timeout(self.budget, work).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::warn!(
                    budget_ms = self.budget.as_millis() as u64,
                    "DynamoDB did not answer within the budget"
                );
                Err(DynamoDbFailure::Unavailable.into())
            }
        }
    }
}

/// Timeouts and retries for the service's DynamoDB client: a try that hangs is cut after
/// 800 ms so that another fits in `CALL_BUDGET`.
pub fn client_settings() -> (TimeoutConfig, RetryConfig) {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_millis(800))
        .operation_attempt_timeout(Duration::from_millis(800))
        .build();
    (timeouts, RetryConfig::standard().with_max_attempts(3))
}

fn operator_settings() -> (TimeoutConfig, RetryConfig) {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(60))
        .build();
    (timeouts, RetryConfig::standard().with_max_attempts(8))
}

/// Classifies a failed request and logs it with the key it was for (`key`: the item's or the
/// partition's); the SDK's message can name hosts and accounts, so it goes to the log, never to
/// a client. A refusal (a ValidationException, say) is a defect: the routes check what a client
/// sends against DynamoDB's limits before any request, and the SDK does not retry it.
pub fn failure<E>(
    operation: &'static str,
    key: &str,
    error: SdkError<E, HttpResponse>,
) -> DynamoDbFailure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let unavailable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        // A 5xx is the service failing, whatever its body says (or does not: an HTML page from a
        // proxy or an overloaded endpoint).
        SdkError::ServiceError(service) if service.raw().status().is_server_error() => true,
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ResourceNotFoundException"
                    | "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
            )
        ),
        _ => false,
    };
    if unavailable {
        tracing::warn!(operation, error = %DisplayErrorContext(&error), "DynamoDB unavailable");
        DynamoDbFailure::Unavailable
    } else {
        let code = error
            .as_service_error()
            .and_then(|e| e.code())
            .unwrap_or("none");
        tracing::error!(
            operation,
            code,
            key = shorten_key(key),
            error = %DisplayErrorContext(&error),
            "defect: DynamoDB refused a request"
        );
        DynamoDbFailure::Internal
    }
}

/// A key as the log shows it: enough to find the item, never a whole oversized value.
fn shorten_key(key: &str) -> &str {
    const MAX_BYTES: usize = 300;
    let mut end = key.len().min(MAX_BYTES);
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}

/// Counts every request the client sends, retries included: the figure the README states per
/// route and the tests assert.
#[derive(Debug)]
struct RequestCounter(Arc<AtomicU64>);

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
