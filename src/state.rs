//! What every request shares, built once at start-up: the event store and the metadata source.

use std::sync::Arc;

use crate::events::{AllowedActions, DEFAULT_SERVICE};
use crate::metadata::MetadataSource;
use crate::store::Store;
use crate::webhooks::Webhooks;
use crate::webhooks::secrets::{HostSecrets, WebhookSecrets};
use crate::write_access::WriteAccess;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub metadata: Arc<MetadataSource>,
    pub write_access: Arc<WriteAccess>,
    /// The actions `POST /events` records.
    pub allowed_actions: Arc<AllowedActions>,
    /// The service of an event that names none (`DEFAULT_SERVICE`).
    pub default_service: Arc<str>,
    /// The code hosts' webhooks: their secrets and how a deployment is recorded.
    pub webhooks: Arc<Webhooks>,
    /// Their secrets: those of `webhooks`, or SSM's.
    pub webhook_secrets: Arc<WebhookSecrets>,
    /// `GET /badges/{metric}` is served (`BADGES_ENABLED`); otherwise it is not found.
    pub badges: bool,
}

impl AppState {
    /// Writes allowed as on a loopback server; see `with_write_access`.
    pub fn new(store: Store, metadata: MetadataSource) -> Self {
        Self {
            store: Arc::new(store),
            metadata: Arc::new(metadata),
            write_access: Arc::new(WriteAccess::Loopback),
            allowed_actions: Arc::new(AllowedActions::default()),
            default_service: DEFAULT_SERVICE.into(),
            webhooks: Arc::new(Webhooks::default()),
            webhook_secrets: Arc::new(WebhookSecrets::Fixed(HostSecrets::default())),
            badges: true,
        }
    }

    /// The webhooks, with their secrets from SSM when `webhooks` names a parameter prefix
    /// (read on first use).
    pub fn with_webhooks(mut self, webhooks: Webhooks) -> Self {
        let secrets = match &webhooks.secrets_parameter_prefix {
            Some(prefix) => WebhookSecrets::ssm(prefix, None),
            None => WebhookSecrets::Fixed(HostSecrets {
                github: webhooks.github_secrets.clone(),
                gitlab: webhooks.gitlab_tokens.clone(),
            }),
        };
        self.webhooks = Arc::new(webhooks);
        self.webhook_secrets = Arc::new(secrets);
        self
    }

    pub fn with_webhook_secrets(mut self, secrets: WebhookSecrets) -> Self {
        self.webhook_secrets = Arc::new(secrets);
        self
    }

    pub fn with_badges(mut self, served: bool) -> Self {
        self.badges = served;
        self
    }

    pub fn with_default_service(mut self, service: String) -> Self {
        self.default_service = service.into();
        self
    }

    pub fn with_allowed_actions(mut self, actions: AllowedActions) -> Self {
        self.allowed_actions = Arc::new(actions);
        self
    }

    pub fn with_write_access(mut self, access: WriteAccess) -> Self {
        self.write_access = Arc::new(access);
        self
    }
}
