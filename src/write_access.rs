//! Who may record events (`POST /events`).
//!
//! Behind API Gateway the method uses IAM authorization: the gateway checks the SigV4
//! signature and names the caller in the request context; the function refuses a request that
//! names none, in case the gateway is misconfigured. On the local server, `INGEST_TOKEN`
//! requires a bearer token; without one, only a server on a loopback address accepts writes.

use std::net::SocketAddr;

use axum::http::{HeaderMap, header};

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteAccess {
    /// On Lambda: the request context must name an IAM caller.
    Iam,
    /// `Authorization: Bearer <token>` required.
    Token(String),
    /// No token, and the server listens on loopback only: whoever can reach it is on this host.
    Loopback,
    /// No token, and the server listens beyond loopback: writes are refused.
    Refused,
}

/// The IAM principal API Gateway verified, as the Lambda entry point finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamCaller(pub String);

impl WriteAccess {
    /// The local server's rule, from `INGEST_TOKEN` and the address it listens on.
    pub fn local(token: Option<String>, listening_on: SocketAddr) -> Self {
        match token {
            Some(token) => Self::Token(token),
            None if listening_on.ip().is_loopback() => Self::Loopback,
            None => Self::Refused,
        }
    }

    pub fn check(&self, headers: &HeaderMap, caller: Option<&IamCaller>) -> Result<(), ApiError> {
        match self {
            Self::Loopback => Ok(()),
            Self::Refused => Err(ApiError::WritesForbidden(
                "This server listens beyond loopback without INGEST_TOKEN, so it records no events: set INGEST_TOKEN",
            )),
            Self::Iam if caller.is_some() => Ok(()),
            Self::Iam => Err(ApiError::WritesForbidden(
                "Recording events requires a request signed with AWS SigV4 by an allowed IAM principal",
            )),
            Self::Token(token) => {
                let given = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|value| value.to_str().ok())
                    .and_then(bearer_token)
                    .map(str::trim);
                match given {
                    Some(given) if same_secret(given.as_bytes(), token.as_bytes()) => Ok(()),
                    _ => Err(ApiError::Unauthorized),
                }
            }
        }
    }
}

/// Compares in time that depends on the length only, not on where the first difference is.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}

/// The credentials of `Bearer <token>`; the scheme's name is case-insensitive (RFC 9110, 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn the_local_rule_follows_token_and_address() {
        let loopback: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let v6_loopback: SocketAddr = "[::1]:3000".parse().unwrap();
        let everywhere: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        assert_eq!(WriteAccess::local(None, loopback), WriteAccess::Loopback);
        assert_eq!(WriteAccess::local(None, v6_loopback), WriteAccess::Loopback);
        assert_eq!(WriteAccess::local(None, everywhere), WriteAccess::Refused);
        assert_eq!(
            WriteAccess::local(Some("t".into()), everywhere),
            WriteAccess::Token("t".into())
        );
    }

    #[test]
    fn a_token_must_match_exactly() {
        let access = WriteAccess::Token("s3cret".into());
        for right in ["Bearer s3cret", "bearer s3cret", "BEARER s3cret"] {
            assert_eq!(access.check(&bearer(right), None), Ok(()), "{right}");
        }
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "Bearer S3cret",
            "Basic s3cret",
            "s3cret",
        ] {
            assert_eq!(
                access.check(&bearer(wrong), None),
                Err(ApiError::Unauthorized),
                "{wrong}"
            );
        }
        assert_eq!(
            access.check(&HeaderMap::new(), None),
            Err(ApiError::Unauthorized)
        );
    }

    #[test]
    fn behind_the_gateway_a_caller_is_required() {
        let caller = IamCaller("arn:aws:sts::123456789012:assumed-role/deploy/ci".into());
        assert_eq!(
            WriteAccess::Iam.check(&HeaderMap::new(), Some(&caller)),
            Ok(())
        );
        assert!(matches!(
            WriteAccess::Iam.check(&HeaderMap::new(), None),
            Err(ApiError::WritesForbidden(_))
        ));
    }
}
