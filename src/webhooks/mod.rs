//! Code hosts' webhooks. A delivery is verified before anything of its body is read, then read
//! as the events `POST /events` records, each recorded once under its own identity
//! (`IdempotencyKey::Delivery`), so that a redelivery records nothing new.

pub mod github;

use crate::config::Secret;
use crate::events::{DeliveryActions, IdempotencyKey, NewEvent};

/// The largest body a webhook route reads: GitHub sends up to 25 MB, Lambda takes 6 MB.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 5 * 1024 * 1024;

/// The deployment environments whose successful deployment is a deploy, without
/// `DEPLOY_ENVIRONMENTS`; any other environment's is a stage.
pub const DEFAULT_DEPLOY_ENVIRONMENTS: [&str; 2] = ["production", "prod"];

/// What the webhook routes need of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhooks {
    /// GitHub's secrets: the current one, then the previous one during a rotation. None: the
    /// route is not configured.
    pub github_secrets: Vec<Secret>,
    /// `DEPLOY_ENVIRONMENTS`, compared without regard to case (as GitHub names environments).
    pub deploy_environments: Vec<String>,
    /// The names a deploy and a stage are recorded under.
    pub actions: DeliveryActions,
}

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            github_secrets: Vec::new(),
            deploy_environments: DEFAULT_DEPLOY_ENVIRONMENTS.map(str::to_owned).to_vec(),
            actions: DeliveryActions::default(),
        }
    }
}

impl Webhooks {
    /// The action a successful deployment to `environment` is recorded as.
    pub fn action_for(&self, environment: &str) -> &str {
        let is_deploy =
            (self.deploy_environments.iter()).any(|name| name.eq_ignore_ascii_case(environment));
        match is_deploy {
            true => &self.actions.deploy,
            false => &self.actions.stage,
        }
    }
}

/// What a verified delivery asks for.
#[derive(Debug)]
pub enum Delivery {
    /// The code host checking the hook.
    Ping,
    /// Nothing to record, and why.
    Ignored(String),
    /// Events to record, each under its identity.
    Events(Vec<(NewEvent, IdempotencyKey)>),
}
