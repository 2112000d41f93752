//! GitLab's webhook: `X-Gitlab-Token` compared, then the Deployment and Push Hooks read. The payloads are
//! GitLab's ("Webhook events", docs.gitlab.com); only the fields read here are named. GitLab's
//! optional HMAC signing of deliveries (signing tokens) is not read: the token is the check.

use chrono::{DateTime, NaiveDateTime, SecondsFormat};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{
    Delivery, Webhooks, check_object, new_event, not_recorded, off_default_branch, once, one_of,
    parse, pushed,
};
use crate::config::Secret;
use crate::error::ApiError;
use crate::events::{IdempotencyKey, Timestamp, shorten};

pub const TOKEN: &str = "x-gitlab-token";
pub const EVENT: &str = "x-gitlab-event";
pub const DELIVERY: &str = "x-gitlab-event-uuid";

/// Whether `token` is one of `tokens`. Both sides are hashed first, so the comparison (in
/// constant time, `subtle`) takes as long whatever the token's length; a refusal says nothing
/// of why.
pub fn verify(tokens: &[Secret], token: Option<&[u8]>) -> Result<(), ApiError> {
    let given = Sha256::digest(token.ok_or(ApiError::InvalidSignature)?);
    one_of(tokens, |secret| {
        let expected = Sha256::digest(secret.0.as_bytes());
        bool::from(expected.as_slice().ct_eq(given.as_slice()))
    })
}

/// What a verified delivery of `event` (`X-Gitlab-Event`) asks for.
pub fn read(
    event: &str,
    body: &[u8],
    webhooks: &Webhooks,
    now: Timestamp,
) -> Result<Delivery, ApiError> {
    check_object("GitLab", event, body)?;
    match event {
        "Deployment Hook" => deployment(parse("GitLab", event, body)?, webhooks, now),
        "Push Hook" => push(parse("GitLab", event, body)?, webhooks, now),
        other => Ok(not_recorded("GitLab", other)),
    }
}

#[derive(Deserialize)]
struct DeploymentHook {
    status: String,
    status_changed_at: String,
    deployment_id: u64,
    environment: String,
    project: Project,
    user: User,
    commit_url: String,
}

#[derive(Deserialize)]
struct Project {
    path_with_namespace: String,
}

#[derive(Deserialize)]
struct User {
    username: String,
}

/// A successful deployment, as for GitHub: a deploy in a deploy environment, a stage elsewhere.
/// `running`, `created` and `blocked` have not deployed yet; `failed` and `canceled` never
/// reached the environment.
fn deployment(
    hook: DeploymentHook,
    webhooks: &Webhooks,
    now: Timestamp,
) -> Result<Delivery, ApiError> {
    if hook.status != "success" {
        return Ok(Delivery::Ignored(format!(
            "a deployment '{}' is not a finished deployment",
            shorten(&hook.status, 32)
        )));
    }
    // `short_sha` would never match a pushed commit: the full SHA (40 digits, or 64 in a
    // SHA-256 repository) ends the commit's URL.
    let sha = hook.commit_url.rsplit('/').next().unwrap_or_default();
    let is_full = matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_full {
        return Err(ApiError::InvalidPayload(format!(
            "The deployment's commit_url does not end in a full commit SHA: '{}'",
            shorten(sha, 70)
        )));
    }
    let fields = serde_json::json!({
        "sha": sha,
        "action": webhooks.action_for(&hook.environment),
        "engineer": hook.user.username,
        "timestamp": instant(&hook.status_changed_at)?,
        "service": hook.project.path_with_namespace,
    });
    let event = new_event(&fields, now)?;
    let key = IdempotencyKey::Delivery(format!("gitlab:deployment:{}", hook.deployment_id));
    Ok(once(event, key, now))
}

#[derive(Deserialize)]
struct PushHook {
    #[serde(rename = "ref")]
    git_ref: String,
    user_username: String,
    project: PushedProject,
    commits: Vec<PushedCommit>,
    total_commits_count: u64,
}

#[derive(Deserialize)]
struct PushedProject {
    path_with_namespace: String,
    default_branch: String,
}

#[derive(Deserialize)]
struct PushedCommit {
    id: String,
}

/// A push to the project's default branch records each commit it lists, by the user who
/// pushed, at the delivery's arrival: a Push Hook carries no push time, and GitLab sends it as
/// the push happens. GitLab lists the last 20 commits of a push (`total_commits_count` counts
/// them all): the others are not recorded, and their lead time starts at their stage.
fn push(hook: PushHook, webhooks: &Webhooks, now: Timestamp) -> Result<Delivery, ApiError> {
    if let Some(ignored) = off_default_branch(&hook.git_ref, &hook.project.default_branch) {
        return Ok(ignored);
    }
    let shas: Vec<&str> = hook
        .commits
        .iter()
        .map(|commit| commit.id.as_str())
        .collect();
    let unlisted = hook.total_commits_count.saturating_sub(shas.len() as u64);
    if unlisted > 0 {
        tracing::info!(unlisted, "a GitLab push lists only some of its commits");
    }
    let service = &hook.project.path_with_namespace;
    pushed(service, &hook.user_username, now, &shas, webhooks, now)
}

/// GitLab's time (`2021-04-28 21:50:00 +0200`, or `… UTC`) as RFC 3339.
fn instant(text: &str) -> Result<String, ApiError> {
    let parsed = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z")
        .map(|instant| instant.to_utc())
        .or_else(|_| {
            let utc = text.strip_suffix(" UTC").unwrap_or("not UTC");
            NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S").map(|naive| naive.and_utc())
        });
    match parsed {
        Ok(instant) => Ok(instant.to_rfc3339_opts(SecondsFormat::Secs, true)),
        Err(_) => Err(ApiError::InvalidPayload(format!(
            "The deployment's status_changed_at ('{}') is not a time as GitLab writes one, such as 2021-04-28 21:50:00 +0200",
            shorten(text, 40)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_times_are_read_with_their_offset() {
        for (text, expected) in [
            ("2021-04-28 21:50:00 +0200", "2021-04-28T19:50:00Z"),
            ("2021-04-28 21:50:00 -0130", "2021-04-28T23:20:00Z"),
            ("2025-01-15 12:20:00 UTC", "2025-01-15T12:20:00Z"),
        ] {
            assert_eq!(instant(text), Ok(expected.to_owned()), "{text}");
        }
        for text in [
            "2021-04-28T21:50:00Z",
            "yesterday",
            "2021-04-28 21:50:00",
            "",
        ] {
            assert!(instant(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_token_must_be_one_of_the_configured_ones() {
        let tokens = [
            Secret("the current token".into()),
            Secret("the one before it".into()),
        ];
        assert_eq!(verify(&tokens, Some(b"the current token")), Ok(()));
        assert_eq!(verify(&tokens, Some(b"the one before it")), Ok(()));
        for wrong in [
            &b"the current toke"[..],
            b"the current tokens",
            b"",
            b"THE CURRENT TOKEN",
        ] {
            assert_eq!(
                verify(&tokens, Some(wrong)),
                Err(ApiError::InvalidSignature)
            );
        }
        assert_eq!(verify(&tokens, None), Err(ApiError::InvalidSignature));
        assert_eq!(verify(&[], Some(b"")), Err(ApiError::InvalidSignature));
    }
}
