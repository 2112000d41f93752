//! Code hosts' webhooks. A delivery is verified (GitHub's signature, GitLab's token) before
//! anything of its body is parsed, then read as the events `POST /events` records, each recorded
//! once under its own identity (a deployment's, `IdempotencyKey::Delivery`; a pushed commit's,
//! `IdempotencyKey::Commit`), so that a redelivery or an overlapping push records nothing new.

pub mod github;
pub mod gitlab;
pub mod secrets;

use serde::de::DeserializeOwned;

use crate::config::Secret;
use crate::error::ApiError;
use crate::events::{
    DEFAULT_SERVICE, DELIVERY_WINDOW_SECONDS, DeliveryActions, IdempotencyKey, MIN_TIMESTAMP,
    NewEvent, Timestamp, format_timestamp, shorten,
};

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
    /// GitLab's tokens, likewise.
    pub gitlab_tokens: Vec<Secret>,
    /// `WEBHOOK_SECRETS_PARAMETER_PREFIX`: the secrets are SSM parameters under it instead.
    pub secrets_parameter_prefix: Option<String>,
    /// `DEPLOY_ENVIRONMENTS`, compared without regard to case (as GitHub names environments).
    pub deploy_environments: Vec<String>,
    /// The names a deploy and a stage are recorded under.
    pub actions: DeliveryActions,
}

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            github_secrets: Vec::new(),
            gitlab_tokens: Vec::new(),
            secrets_parameter_prefix: None,
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

/// Ok if `matches` one of `secrets`. Every secret is tried, so that the time taken does not
/// say which one matched; a refusal says nothing of why.
fn one_of(secrets: &[Secret], matches: impl Fn(&Secret) -> bool) -> Result<(), ApiError> {
    let matched = (secrets.iter()).fold(false, |matched, secret| matches(secret) | matched);
    match matched {
        true => Ok(()),
        false => Err(ApiError::InvalidSignature),
    }
}

/// Refuses a body that is not a JSON object: every payload of both code hosts is one, so
/// anything else is no delivery of any event, read or ignored.
fn check_object(host: &str, event: &str, body: &[u8]) -> Result<(), ApiError> {
    let is_object = body.trim_ascii_start().starts_with(b"{")
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    match is_object {
        true => Ok(()),
        false => Err(ApiError::InvalidPayload(format!(
            "The body is not a {host} '{}' event: not a JSON object",
            shorten(event, 64)
        ))),
    }
}

/// An event of `host` that records nothing here.
fn not_recorded(host: &str, event: &str) -> Delivery {
    Delivery::Ignored(format!(
        "{host}'s '{}' event is not one this service records",
        shorten(event, 64)
    ))
}

/// `body` read as `host`'s `event`.
fn parse<T: DeserializeOwned>(host: &str, event: &str, body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        ApiError::InvalidPayload(format!(
            "The body is not a {host} '{}' event: {}",
            shorten(event, 64),
            shorten(&error.to_string(), 200)
        ))
    })
}

/// The event `fields` describe, held to the rules of `POST /events`.
fn new_event(fields: &serde_json::Value, now: Timestamp) -> Result<NewEvent, ApiError> {
    let body = serde_json::to_vec(fields).expect("a JSON value serialises");
    // Every field is given: the default service is never taken.
    NewEvent::parse(&body, now, DEFAULT_SERVICE)
        .map_err(|refusal| ApiError::InvalidPayload(refusal.message.trim_end_matches('.').into()))
}

/// How long before its week is over a delivered event stops being taken. Its identity is
/// remembered for a week from its first delivery, which comes after the event itself: an event
/// refused here was, if ever recorded, still remembered when it came again.
const STALE_MARGIN_SECONDS: i64 = 60 * 60;

/// A push of `shas` (oldest first) to `service`'s default branch by `engineer`, at `pushed`:
/// each commit recorded once for good, at the push's instant (when it reached the repository;
/// the README argues why not the commit's own dates), no later than `now`.
fn pushed(
    service: &str,
    engineer: &str,
    pushed: Timestamp,
    shas: &[&str],
    webhooks: &Webhooks,
    now: Timestamp,
) -> Result<Delivery, ApiError> {
    if shas.is_empty() {
        return Ok(Delivery::Ignored(
            "a push that brings no commit to the default branch".into(),
        ));
    }
    // Within the times an event may carry: a signed body may still hold any number.
    let timestamp = format_timestamp(pushed.clamp(MIN_TIMESTAMP, now));
    let events = (shas.iter())
        .map(|sha| {
            let fields = serde_json::json!({
                "sha": sha,
                "action": webhooks.actions.commit,
                "engineer": engineer,
                "timestamp": timestamp,
                "service": service,
            });
            let event = new_event(&fields, now)?;
            let key = IdempotencyKey::commit(&event.service, &event.sha);
            Ok((event, key))
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Delivery::Events(events))
}

/// Why a push to `git_ref` records nothing, if it does not reach `default_branch`.
fn off_default_branch(git_ref: &str, default_branch: &str) -> Option<Delivery> {
    let branch = git_ref.strip_prefix("refs/heads/");
    (branch != Some(default_branch)).then(|| {
        Delivery::Ignored(format!(
            "a push to '{}', not to the default branch '{}'",
            shorten(git_ref, 100),
            shorten(default_branch, 100)
        ))
    })
}

/// `event`, recorded once under `key`, unless it is older than a delivery is remembered: a
/// signature covers the body, not when it was sent, so a delivery kept and sent again after a
/// week would otherwise be recorded again.
fn once(event: NewEvent, key: IdempotencyKey, now: Timestamp) -> Delivery {
    let oldest = now - DELIVERY_WINDOW_SECONDS + STALE_MARGIN_SECONDS;
    match event.timestamp {
        Some(instant) if instant < oldest => Delivery::Ignored(format!(
            "a deployment of {}, older than the week a delivery is remembered: a replay, or a \
             redelivery too late to tell from one",
            format_timestamp(instant)
        )),
        _ => Delivery::Events(vec![(event, key)]),
    }
}
