//! Configuration: environment variables, read and validated once at start-up.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tracing_subscriber::filter::Targets;

use crate::webhooks::Webhooks;

use crate::events::{
    AllowedActions, DEFAULT_SERVICE, DeliveryActions, MAX_ALLOWED_ACTIONS, SERVICE_RULE,
    is_action_name, is_service_name,
};

pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_METADATA_CACHE_TTL_SECONDS: u64 = 300;
pub const DEFAULT_LOG_LEVEL: &str = "info";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

impl LogFormat {
    /// Without `LOG_FORMAT`: JSON lines under Lambda (CloudWatch), readable text elsewhere.
    pub fn default_for(on_lambda: bool) -> Self {
        if on_lambda { Self::Json } else { Self::Pretty }
    }
}

/// Where the events are: `EVENT_STORE=memory` (the default) or `dynamodb` with `EVENTS_TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// Loaded at start-up from `EVENTS_FILE`, or the built-in sample dataset.
    Memory {
        events_file: Option<PathBuf>,
    },
    DynamoDb {
        table: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Under Lambda (`AWS_LAMBDA_RUNTIME_API` set) the runtime API serves requests instead.
    pub on_lambda: bool,
    pub bind_addr: SocketAddr,
    pub store: StoreConfig,
    pub ssm_parameter_prefix: Option<String>,
    pub metadata_cache_ttl: Duration,
    pub app_description: String,
    pub log_format: LogFormat,
    pub log_level: String,
    /// `INGEST_TOKEN`: the bearer token the local server requires to record events.
    pub ingest_token: Option<Secret>,
    /// `DEPLOY_ACTION`, `STAGE_ACTION`, `ROLLBACK_ACTION`, `COMMIT_ACTION`, `HOTFIX_ACTION`:
    /// what the delivery metrics count.
    pub delivery_actions: DeliveryActions,
    /// `ALLOWED_ACTIONS`, with the delivery names: the actions recorded; others are refused.
    pub allowed_actions: AllowedActions,
    /// `DEFAULT_SERVICE`: the service of an event that names none.
    pub default_service: String,
    /// `BADGES_ENABLED` (`true` unless `false`): `GET /badges/{metric}` is served.
    pub badges: bool,
    /// `GITHUB_WEBHOOK_SECRET` (and `_PREVIOUS`), `DEPLOY_ENVIRONMENTS`, with the delivery actions.
    pub webhooks: Webhooks,
}

/// A value that must not reach a log: its `Debug` says only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The shortest `INGEST_TOKEN` accepted: a guessable token is no protection.
pub const MIN_INGEST_TOKEN_CHARS: usize = 16;
/// The shortest webhook secret accepted, for the same reason.
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 16;

/// A variable that does not hold what it must; the message names both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: String,
    pub value: String,
    pub expected: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={:?} is invalid: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    /// An empty value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let invalid = |variable: &str, value: String, expected: &str| ConfigError {
            variable: variable.to_owned(),
            value,
            expected: expected.to_owned(),
        };
        // A value `valid` refuses is an error; absent is `None`.
        let checked =
            |variable: &'static str, valid: fn(&str) -> bool, expected: &str| match var(variable) {
                Some(value) if !valid(&value) => Err(invalid(variable, value, expected)),
                value => Ok(value),
            };
        let on_lambda = var("AWS_LAMBDA_RUNTIME_API").is_some();

        let bind_addr = match var("BIND_ADDR") {
            None => DEFAULT_BIND_ADDR
                .parse()
                .expect("the default address parses"),
            Some(value) => value.parse().map_err(|_| {
                invalid(
                    "BIND_ADDR",
                    value,
                    "an IP address and port, such as 127.0.0.1:3000",
                )
            })?,
        };

        let ssm_parameter_prefix = checked(
            "SSM_PARAMETER_PREFIX",
            |value| value.starts_with('/') && !value.ends_with('/') && !value.contains("//"),
            "a parameter path such as /pipeline-events-api/dev (leading '/', no trailing '/')",
        )?;

        let metadata_cache_ttl = match var("METADATA_CACHE_TTL_SECONDS") {
            None => Duration::from_secs(DEFAULT_METADATA_CACHE_TTL_SECONDS),
            Some(value) => match value.parse::<u64>() {
                Ok(seconds) if seconds <= 86_400 => Duration::from_secs(seconds),
                _ => {
                    return Err(invalid(
                        "METADATA_CACHE_TTL_SECONDS",
                        value,
                        "a whole number of seconds from 0 to 86400",
                    ));
                }
            },
        };

        let log_format = match var("LOG_FORMAT").as_deref() {
            None => LogFormat::default_for(on_lambda),
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => return Err(invalid("LOG_FORMAT", other.to_owned(), "json or pretty")),
        };

        let log_level = var("LOG_LEVEL").unwrap_or_else(|| DEFAULT_LOG_LEVEL.to_owned());
        if !is_log_filter(&log_level) {
            return Err(invalid(
                "LOG_LEVEL",
                log_level,
                "a level (error, warn, info, debug, trace, off) or tracing directives such as info,pipeline_events_api=debug",
            ));
        }

        let events_file = var("EVENTS_FILE").map(PathBuf::from);
        let store = match var("EVENT_STORE").as_deref() {
            None | Some("memory") => StoreConfig::Memory { events_file },
            Some("dynamodb") => {
                if let Some(file) = events_file {
                    return Err(invalid(
                        "EVENTS_FILE",
                        file.display().to_string(),
                        "nothing with EVENT_STORE=dynamodb: the table holds the events (load a file with `pipeline-events-api import`)",
                    ));
                }
                let table = checked(
                    "EVENTS_TABLE",
                    is_table_name,
                    "a DynamoDB table name: 3 to 255 of a-z, A-Z, 0-9, '_', '-' and '.'",
                )?;
                let table = table.ok_or_else(|| {
                    let expected = "the table's name when EVENT_STORE=dynamodb";
                    invalid("EVENTS_TABLE", String::new(), expected)
                })?;
                StoreConfig::DynamoDb { table }
            }
            Some(other) => {
                return Err(invalid(
                    "EVENT_STORE",
                    other.to_owned(),
                    "memory or dynamodb",
                ));
            }
        };

        let ingest_token = match var("INGEST_TOKEN") {
            None => None,
            Some(token)
                if token.len() >= MIN_INGEST_TOKEN_CHARS
                    && token.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(Secret(token))
            }
            Some(token) => {
                return Err(invalid(
                    "INGEST_TOKEN",
                    format!("<{} characters, not shown>", token.chars().count()),
                    &format!(
                        "at least {MIN_INGEST_TOKEN_CHARS} printable ASCII characters without spaces, such as the output of `openssl rand -hex 24`"
                    ),
                ));
            }
        };

        let defaults = DeliveryActions::default();
        let action = |variable: &'static str, default: String| {
            let name = checked(
                variable,
                is_action_name,
                "an action name as POST /events accepts it: a-z first, then a-z, 0-9, '_' or '-', at most 32",
            )?;
            Ok::<_, ConfigError>(name.unwrap_or(default))
        };
        let delivery_actions = DeliveryActions {
            deploy: action("DEPLOY_ACTION", defaults.deploy)?,
            stage: action("STAGE_ACTION", defaults.stage)?,
            rollback: action("ROLLBACK_ACTION", defaults.rollback)?,
            commit: action("COMMIT_ACTION", defaults.commit)?,
            hotfix: action("HOTFIX_ACTION", defaults.hotfix)?,
        };
        let DeliveryActions {
            deploy,
            stage,
            rollback,
            commit,
            hotfix,
        } = &delivery_actions;
        let named = [
            ("DEPLOY_ACTION", deploy),
            ("STAGE_ACTION", stage),
            ("ROLLBACK_ACTION", rollback),
            ("COMMIT_ACTION", commit),
            ("HOTFIX_ACTION", hotfix),
        ];
        let clash = (named.iter().enumerate())
            .flat_map(|(i, a)| named[i + 1..].iter().map(move |b| (a, b)))
            .find(|((_, a), (_, b))| a == b);
        if let Some(((first, name), (second, _))) = clash {
            return Err(invalid(
                &format!("{first} and {second}"),
                name.to_string(),
                "a different name for each of DEPLOY_ACTION, STAGE_ACTION, ROLLBACK_ACTION, COMMIT_ACTION and HOTFIX_ACTION",
            ));
        }

        let allowed_actions = match var("ALLOWED_ACTIONS") {
            None => AllowedActions::with_delivery(&delivery_actions),
            Some(list) => AllowedActions::new(
                list.split([',', ' '])
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned),
                &delivery_actions,
            )
            .map_err(|why| {
                invalid(
                    "ALLOWED_ACTIONS",
                    list.clone(),
                    &format!(
                        "action names separated by commas, at most {MAX_ALLOWED_ACTIONS} with the delivery actions: {why}"
                    ),
                )
            })?,
        };

        let default_service = checked(
            "DEFAULT_SERVICE",
            is_service_name,
            &format!("a service name: {SERVICE_RULE}"),
        )?
        .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());

        let secret = |variable: &'static str| match var(variable) {
            None => Ok(None),
            Some(secret) if secret.chars().count() >= MIN_WEBHOOK_SECRET_CHARS => {
                Ok(Some(Secret(secret)))
            }
            Some(secret) => Err(invalid(
                variable,
                format!("<{} characters, not shown>", secret.chars().count()),
                &format!(
                    "at least {MIN_WEBHOOK_SECRET_CHARS} characters, such as the output of `openssl rand -hex 32`"
                ),
            )),
        };
        // The current secret, then the previous one during a rotation (set only with it).
        let secrets = |current: &'static str, previous: &'static str| match (
            secret(current)?,
            secret(previous)?,
        ) {
            (Some(current), previous) => {
                Ok([Some(current), previous].into_iter().flatten().collect())
            }
            (None, None) => Ok(Vec::new()),
            (None, Some(_)) => Err(invalid(
                current,
                String::new(),
                &format!("the current secret, set whenever {previous} is"),
            )),
        };
        let github_secrets = secrets("GITHUB_WEBHOOK_SECRET", "GITHUB_WEBHOOK_SECRET_PREVIOUS")?;
        let gitlab_tokens = secrets("GITLAB_WEBHOOK_TOKEN", "GITLAB_WEBHOOK_TOKEN_PREVIOUS")?;
        let secrets_parameter_prefix = checked(
            "WEBHOOK_SECRETS_PARAMETER_PREFIX",
            |value| value.starts_with('/') && !value.ends_with('/') && !value.contains("//"),
            "a parameter path such as /pipeline-events-api/dev/webhooks (leading '/', no trailing '/')",
        )?;
        if secrets_parameter_prefix.is_some()
            && !(github_secrets.is_empty() && gitlab_tokens.is_empty())
        {
            return Err(invalid(
                "WEBHOOK_SECRETS_PARAMETER_PREFIX",
                secrets_parameter_prefix.unwrap_or_default(),
                "unset while a webhook secret is set in the environment: the secrets come from one place",
            ));
        }
        let deploy_environments = match var("DEPLOY_ENVIRONMENTS") {
            None => Webhooks::default().deploy_environments,
            Some(list) => {
                let names: Vec<String> = (list.split(','))
                    .map(|name| name.trim().to_owned())
                    .filter(|name| !name.is_empty())
                    .collect();
                if names.is_empty() || names.iter().any(|name| name.len() > 255) {
                    return Err(invalid(
                        "DEPLOY_ENVIRONMENTS",
                        list,
                        "deployment environment names separated by commas, such as production,prod",
                    ));
                }
                names
            }
        };
        let webhooks = Webhooks {
            github_secrets,
            gitlab_tokens,
            secrets_parameter_prefix,
            deploy_environments,
            actions: delivery_actions.clone(),
        };

        let badges = match checked(
            "BADGES_ENABLED",
            |value| ["true", "false"].contains(&value),
            "true or false",
        )? {
            None => true,
            Some(value) => value == "true",
        };
        Ok(Self {
            on_lambda,
            bind_addr,
            store,
            ssm_parameter_prefix,
            metadata_cache_ttl,
            app_description: var("APP_DESCRIPTION")
                .unwrap_or_else(|| env!("CARGO_PKG_DESCRIPTION").to_owned()),
            log_format,
            log_level,
            ingest_token,
            delivery_actions,
            allowed_actions,
            default_service,
            badges,
            webhooks,
        })
    }
}

fn is_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Levels, or `target=level` directives, comma-separated. tracing would also take a bare word
/// as a target name, so a misspelt level (`warning`) would silently log nothing: refused here.
fn is_log_filter(value: &str) -> bool {
    const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
    let is_level = |word: &str| LEVELS.iter().any(|level| level.eq_ignore_ascii_case(word));
    value.parse::<Targets>().is_ok()
        && value
            .split(',')
            .all(|directive| match directive.rsplit_once('=') {
                Some((target, level)) => !target.is_empty() && is_level(level),
                None => is_level(directive),
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let value = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v);
        Config::from_lookup(|name| value(name).map(|v| v.to_string()))
    }

    #[test]
    fn defaults_serve_locally_without_aws() {
        let config = config(&[]).unwrap();
        assert!(!config.on_lambda);
        assert_eq!(config.default_service, "default");
        let named = super::tests::config(&[("DEFAULT_SERVICE", "octo-org/web")]).unwrap();
        assert_eq!(named.default_service, "octo-org/web");
        assert_eq!(config.bind_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.ssm_parameter_prefix, None);
        assert_eq!(config.metadata_cache_ttl, Duration::from_secs(300));
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.delivery_actions, DeliveryActions::default());
        assert_eq!(config.allowed_actions, AllowedActions::default());
    }

    #[test]
    fn allowed_actions_are_a_list_that_always_holds_the_delivery_names() {
        let configured = config(&[
            ("ALLOWED_ACTIONS", "build, test,promote"),
            ("DEPLOY_ACTION", "release"),
        ])
        .unwrap();
        assert_eq!(
            configured.allowed_actions.listed(),
            "build, commit, hotfix, promote, release, rollback, stage, test"
        );
        for bad in [
            "Build",
            "a,b c,d;e",
            &(0..40)
                .map(|n| format!("a{n}"))
                .collect::<Vec<_>>()
                .join(","),
        ] {
            let error = config(&[("ALLOWED_ACTIONS", bad)]).unwrap_err();
            assert_eq!(error.variable, "ALLOWED_ACTIONS", "{bad}");
        }
    }

    #[test]
    fn delivery_actions_are_configurable() {
        let config = config(&[
            ("DEPLOY_ACTION", "release"),
            ("STAGE_ACTION", "build"),
            ("ROLLBACK_ACTION", "revert"),
            ("COMMIT_ACTION", "push"),
            ("HOTFIX_ACTION", "patch"),
        ])
        .unwrap();
        assert_eq!(
            config.delivery_actions,
            DeliveryActions {
                deploy: "release".into(),
                stage: "build".into(),
                rollback: "revert".into(),
                commit: "push".into(),
                hotfix: "patch".into(),
            }
        );
    }

    #[test]
    fn lambda_defaults_to_json_logs() {
        let config = config(&[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")]).unwrap();
        assert!(config.on_lambda);
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (name, value) in [
            ("BIND_ADDR", "localhost"),
            ("SSM_PARAMETER_PREFIX", "no-slash"),
            ("SSM_PARAMETER_PREFIX", "/trailing/"),
            ("METADATA_CACHE_TTL_SECONDS", "-1"),
            ("METADATA_CACHE_TTL_SECONDS", "soon"),
            ("LOG_FORMAT", "xml"),
            ("LOG_LEVEL", "info,[[["),
            ("LOG_LEVEL", "warning"),
            ("DEPLOY_ACTION", "Deploy"),
            ("STAGE_ACTION", "has space"),
            ("DEFAULT_SERVICE", "has space"),
            ("DEFAULT_SERVICE", "semi;colon"),
            ("LOG_LEVEL", "hyper"),
            ("LOG_LEVEL", "info,hyper=loud"),
            ("LOG_LEVEL", "=debug"),
            ("GITHUB_WEBHOOK_SECRET", "too short"),
            ("GITLAB_WEBHOOK_TOKEN", "too short"),
            ("DEPLOY_ENVIRONMENTS", " , ,"),
        ] {
            let error = config(&[(name, value)]).unwrap_err();
            assert_eq!(error.variable, name);
            let message = error.to_string();
            assert!(message.starts_with(name), "{message}");
            assert!(message.contains("expected"), "{message}");
        }
    }

    #[test]
    fn webhook_secrets_come_from_the_environment_or_ssm_not_both() {
        let prefix = "/pipeline-events-api/dev/webhooks";
        let config = config(&[("WEBHOOK_SECRETS_PARAMETER_PREFIX", prefix)]).unwrap();
        assert_eq!(
            config.webhooks.secrets_parameter_prefix.as_deref(),
            Some(prefix)
        );
        for bad in ["no-slash", "/trailing/", "/double//slash"] {
            let error = config_error(&[("WEBHOOK_SECRETS_PARAMETER_PREFIX", bad)]);
            assert_eq!(error.variable, "WEBHOOK_SECRETS_PARAMETER_PREFIX", "{bad}");
        }
        let both = config_error(&[
            ("WEBHOOK_SECRETS_PARAMETER_PREFIX", prefix),
            ("GITLAB_WEBHOOK_TOKEN", "a token of 32 characters, ok"),
        ]);
        assert_eq!(both.variable, "WEBHOOK_SECRETS_PARAMETER_PREFIX");
    }

    fn config_error(vars: &[(&str, &str)]) -> ConfigError {
        config(vars).unwrap_err()
    }

    #[test]
    fn webhook_secrets_are_the_current_then_the_previous_and_never_shown() {
        let current = "the current secret, 32 characters";
        let previous = "the previous secret, long enough";
        let config = config(&[
            ("GITHUB_WEBHOOK_SECRET", current),
            ("GITHUB_WEBHOOK_SECRET_PREVIOUS", previous),
            ("DEPLOY_ENVIRONMENTS", "live, Production"),
        ])
        .unwrap();
        let secrets: Vec<&str> = (config.webhooks.github_secrets.iter())
            .map(|secret| secret.0.as_str())
            .collect();
        assert_eq!(secrets, [current, previous]);
        assert_eq!(config.webhooks.deploy_environments, ["live", "Production"]);
        let shown = format!("{config:?}");
        assert!(
            !shown.contains(current) && !shown.contains(previous),
            "{shown}"
        );
        assert!(
            super::tests::config(&[])
                .unwrap()
                .webhooks
                .github_secrets
                .is_empty()
        );
        let alone = super::tests::config(&[("GITHUB_WEBHOOK_SECRET_PREVIOUS", previous)]);
        let error = alone.unwrap_err();
        assert_eq!(error.variable, "GITHUB_WEBHOOK_SECRET");
        assert!(!error.to_string().contains(previous), "{error}");
        let short = super::tests::config(&[("GITHUB_WEBHOOK_SECRET", "short secret")]);
        assert!(!short.unwrap_err().to_string().contains("short secret"));
    }

    #[test]
    fn two_action_names_alike_are_named_as_the_pair() {
        for (set, pair) in [
            (("DEPLOY_ACTION", "stage"), "DEPLOY_ACTION and STAGE_ACTION"),
            (
                ("ROLLBACK_ACTION", "deploy"),
                "DEPLOY_ACTION and ROLLBACK_ACTION",
            ),
            (
                ("ROLLBACK_ACTION", "stage"),
                "STAGE_ACTION and ROLLBACK_ACTION",
            ),
            (
                ("COMMIT_ACTION", "deploy"),
                "DEPLOY_ACTION and COMMIT_ACTION",
            ),
            (
                ("HOTFIX_ACTION", "rollback"),
                "ROLLBACK_ACTION and HOTFIX_ACTION",
            ),
        ] {
            let error = config(&[set]).unwrap_err();
            assert_eq!(error.variable, pair);
            assert_eq!(error.value, set.1);
        }
    }

    #[test]
    fn log_levels_and_directives() {
        for value in [
            "error",
            "WARN",
            "off",
            "info,hyper=warn",
            "pipeline_events_api=trace",
        ] {
            assert_eq!(config(&[("LOG_LEVEL", value)]).unwrap().log_level, value);
        }
    }

    #[test]
    fn empty_values_count_as_unset() {
        let config = config(&[("SSM_PARAMETER_PREFIX", ""), ("EVENTS_FILE", "")]).unwrap();
        assert_eq!(config.ssm_parameter_prefix, None);
        assert_eq!(config.store, StoreConfig::Memory { events_file: None });
    }

    #[test]
    fn the_store_is_memory_unless_dynamodb_is_named_with_a_table() {
        assert_eq!(
            config(&[("EVENTS_FILE", "a.jsonl")]).unwrap().store,
            StoreConfig::Memory {
                events_file: Some("a.jsonl".into())
            }
        );
        assert_eq!(
            config(&[
                ("EVENT_STORE", "dynamodb"),
                ("EVENTS_TABLE", "pipeline-events-api-dev-events")
            ])
            .unwrap()
            .store,
            StoreConfig::DynamoDb {
                table: "pipeline-events-api-dev-events".into()
            }
        );
        for (vars, variable) in [
            (&[("EVENT_STORE", "sqlite")][..], "EVENT_STORE"),
            (&[("EVENT_STORE", "dynamodb")][..], "EVENTS_TABLE"),
            (
                &[("EVENT_STORE", "dynamodb"), ("EVENTS_TABLE", "a b")][..],
                "EVENTS_TABLE",
            ),
            (
                &[("EVENT_STORE", "dynamodb"), ("EVENTS_TABLE", "ab")][..],
                "EVENTS_TABLE",
            ),
            (
                &[
                    ("EVENT_STORE", "dynamodb"),
                    ("EVENTS_TABLE", "abc"),
                    ("EVENTS_FILE", "x"),
                ][..],
                "EVENTS_FILE",
            ),
        ] {
            assert_eq!(config(vars).unwrap_err().variable, variable, "{vars:?}");
        }
    }
}
