//! GitHub's webhook: `X-Hub-Signature-256` verified, then `ping`, `deployment_status` and
//! `push` read.
//! The payloads are GitHub's (docs.github.com, "Webhook events and payloads"); only the fields
//! read here are named.

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{
    Delivery, Webhooks, check_object, new_event, not_recorded, off_default_branch, once, one_of,
    parse, pushed,
};
use crate::config::Secret;
use crate::error::ApiError;
use crate::events::{IdempotencyKey, Timestamp};

pub const SIGNATURE: &str = "x-hub-signature-256";
pub const EVENT: &str = "x-github-event";
pub const DELIVERY: &str = "x-github-delivery";

/// Whether `signature` (`sha256=<hex>`, the digits of either case) is the HMAC-SHA256 of `body`
/// under one of `secrets`. The comparison is the `hmac` crate's, in constant time; a refusal
/// says nothing of why.
pub fn verify(secrets: &[Secret], signature: Option<&[u8]>, body: &[u8]) -> Result<(), ApiError> {
    let digest = signature
        .and_then(|value| value.strip_prefix(b"sha256="))
        .and_then(|digits| hex::decode(digits).ok())
        .ok_or(ApiError::InvalidSignature)?;
    one_of(secrets, |secret| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(body);
        mac.verify_slice(&digest).is_ok()
    })
}

/// What a verified delivery of `event` (`X-GitHub-Event`) asks for.
pub fn read(
    event: &str,
    body: &[u8],
    webhooks: &Webhooks,
    now: Timestamp,
) -> Result<Delivery, ApiError> {
    check_object("GitHub", event, body)?;
    match event {
        "ping" => Ok(Delivery::Ping),
        "deployment_status" => deployment_status(parse("GitHub", event, body)?, webhooks, now),
        "push" => push(parse("GitHub", event, body)?, webhooks, now),
        other => Ok(not_recorded("GitHub", other)),
    }
}

#[derive(Deserialize)]
struct DeploymentStatusEvent {
    deployment_status: DeploymentStatus,
    deployment: Deployment,
    repository: Repository,
    sender: Option<User>,
}

#[derive(Deserialize)]
struct DeploymentStatus {
    id: u64,
    state: String,
    created_at: String,
}

#[derive(Deserialize)]
struct Deployment {
    sha: String,
    environment: String,
    creator: Option<User>,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

/// A successful deployment is a deploy in a deploy environment and a stage elsewhere. Any other
/// state records nothing: `pending`, `queued` and `in_progress` have not deployed yet; `failure`
/// and `error` never reached the environment, so DORA counts them as neither a deployment nor a
/// change failure (a failure is a deployment that degrades production: a `rollback`);
/// `inactive` is a deployment superseded by a later one, already counted.
fn deployment_status(
    event: DeploymentStatusEvent,
    webhooks: &Webhooks,
    now: Timestamp,
) -> Result<Delivery, ApiError> {
    let DeploymentStatusEvent {
        deployment_status: status,
        deployment,
        repository,
        sender,
    } = event;
    if status.state != "success" {
        return Ok(Delivery::Ignored(format!(
            "a deployment status '{}' is not a finished deployment",
            crate::events::shorten(&status.state, 32)
        )));
    }
    let engineer = (deployment.creator.or(sender))
        .ok_or_else(|| ApiError::InvalidPayload("The deployment names no creator".into()))?
        .login;
    let fields = serde_json::json!({
        "sha": deployment.sha,
        "action": webhooks.action_for(&deployment.environment),
        "engineer": engineer,
        "timestamp": status.created_at,
        "service": repository.full_name,
    });
    let event = new_event(&fields, now)?;
    let key = IdempotencyKey::Delivery(format!("github:deployment_status:{}", status.id));
    Ok(once(event, key, now))
}

#[derive(Deserialize)]
struct PushEvent {
    #[serde(rename = "ref")]
    git_ref: String,
    commits: Vec<PushedCommit>,
    repository: PushedRepository,
    sender: User,
}

#[derive(Deserialize)]
struct PushedCommit {
    id: String,
}

#[derive(Deserialize)]
struct PushedRepository {
    full_name: String,
    default_branch: String,
    /// When the push reached GitHub: seconds since 1970 in a push event.
    pushed_at: Option<i64>,
}

/// A push to the repository's default branch records each commit it lists (GitHub lists up to
/// 2 048, oldest first), by the user who pushed; other branches and tags record nothing.
fn push(event: PushEvent, webhooks: &Webhooks, now: Timestamp) -> Result<Delivery, ApiError> {
    let repository = event.repository;
    if let Some(ignored) = off_default_branch(&event.git_ref, &repository.default_branch) {
        return Ok(ignored);
    }
    let shas: Vec<&str> = event
        .commits
        .iter()
        .map(|commit| commit.id.as_str())
        .collect();
    let at = repository.pushed_at.unwrap_or(now);
    let service = &repository.full_name;
    pushed(service, &event.sender.login, at, &shas, webhooks, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(values: &[&str]) -> Vec<Secret> {
        values.iter().map(|value| Secret((*value).into())).collect()
    }

    /// GitHub's own example ("Validating webhook deliveries", docs.github.com): the secret
    /// "It's a Secret to Everybody" and the payload "Hello, World!".
    #[test]
    fn githubs_documented_example_verifies() {
        let signature = b"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let body = b"Hello, World!";
        let secret = secrets(&["It's a Secret to Everybody"]);
        assert_eq!(verify(&secret, Some(signature), body), Ok(()));
        let upper = signature.to_ascii_uppercase();
        let upper = [b"sha256=", &upper[7..]].concat();
        assert_eq!(
            verify(&secret, Some(&upper), body),
            Ok(()),
            "hex of either case"
        );
        let rotated = secrets(&[
            "the new one, not yet in GitHub",
            "It's a Secret to Everybody",
        ]);
        assert_eq!(
            verify(&rotated, Some(signature), body),
            Ok(()),
            "the previous"
        );
        for (secrets, signature, body) in [
            (secrets(&["another"]), &signature[..], &body[..]),
            (secret.clone(), &signature[..], b"Hello, World?"),
            (secret.clone(), &signature[..70], &body[..]),
            (secret.clone(), &signature[7..], &body[..]),
            (secret.clone(), b"sha1=757107ea", &body[..]),
            (secret.clone(), b"sha256=not hex", &body[..]),
            (Vec::new(), &signature[..], &body[..]),
        ] {
            let given = String::from_utf8_lossy(signature);
            assert_eq!(
                verify(&secrets, Some(signature), body),
                Err(ApiError::InvalidSignature),
                "{given}"
            );
        }
        assert_eq!(verify(&secret, None, body), Err(ApiError::InvalidSignature));
    }
}
