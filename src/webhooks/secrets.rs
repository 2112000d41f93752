//! The webhooks' secrets: from the environment (`GITHUB_WEBHOOK_SECRET`, …), or, deployed, from
//! SSM SecureString parameters under `WEBHOOK_SECRETS_PARAMETER_PREFIX` that `make
//! webhook-secret` writes and Terraform never holds: read with decryption, cached 5 minutes.

use std::time::Duration;

use crate::config::{MIN_WEBHOOK_SECRET_CHARS, Secret};
use crate::error::ApiError;
use crate::metadata::{MetadataError, Parameters, SsmCache};

/// How long secrets read from SSM are used before they are read again: a new secret set by
/// `make webhook-secret` is taken within this.
pub const SECRETS_CACHE_TTL: Duration = Duration::from_secs(5 * 60);

/// The parameters under the prefix: each host's current secret, then the one before it (during
/// a rotation).
pub const GITHUB_PARAMETERS: [&str; 2] = ["github-secret", "github-secret-previous"];
pub const GITLAB_PARAMETERS: [&str; 2] = ["gitlab-token", "gitlab-token-previous"];

/// Each host's secrets, the current one first; none: the host's route is not configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSecrets {
    pub github: Vec<Secret>,
    pub gitlab: Vec<Secret>,
}

pub enum WebhookSecrets {
    /// Set at start-up, from the environment.
    Fixed(HostSecrets),
    /// Read from SSM, cached.
    Ssm(Box<SsmCache<HostSecrets>>),
}

impl WebhookSecrets {
    /// The parameters under `prefix`, read on first use; `client` is for tests that point at a
    /// stand-in.
    pub fn ssm(prefix: &str, client: Option<aws_sdk_ssm::Client>) -> Self {
        let name = |parameter: &str| format!("{prefix}/{parameter}");
        let github = GITHUB_PARAMETERS.map(name);
        let gitlab = GITLAB_PARAMETERS.map(name);
        let names = github.iter().chain(&gitlab).cloned().collect();
        let read = move |values: &Parameters| {
            Ok(HostSecrets {
                github: secrets_of(values, &github),
                gitlab: secrets_of(values, &gitlab),
            })
        };
        Self::Ssm(Box::new(SsmCache::new(
            names,
            read,
            SECRETS_CACHE_TTL,
            client,
        )))
    }

    /// The secrets now; SSM unreadable with nothing cached is `503 webhook_unavailable`.
    pub async fn get(&self) -> Result<HostSecrets, ApiError> {
        match self {
            Self::Fixed(secrets) => Ok(secrets.clone()),
            Self::Ssm(cache) => cache
                .get()
                .await
                .map_err(|MetadataError(_)| ApiError::WebhookUnavailable),
        }
    }
}

/// The current secret and the previous one, as far as they are usable: a previous one without
/// a current one, or one shorter than the environment's minimum, is left out and logged (by
/// name, never by value).
fn secrets_of(values: &Parameters, [current, previous]: &[String; 2]) -> Vec<Secret> {
    let usable = |name: &String| {
        let value = values.get(name)?;
        if value.chars().count() < MIN_WEBHOOK_SECRET_CHARS {
            tracing::error!(
                parameter = name,
                "webhook secret shorter than {MIN_WEBHOOK_SECRET_CHARS} characters; not used"
            );
            return None;
        }
        Some(Secret(value.to_owned()))
    };
    let Some(current_secret) = usable(current) else {
        if values.get(previous).is_some() {
            tracing::error!(
                parameter = previous,
                "a previous webhook secret without a current one; not used"
            );
        }
        return Vec::new();
    };
    std::iter::once(current_secret)
        .chain(usable(previous))
        .collect()
}
