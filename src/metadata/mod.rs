//! Where `GET /metadata` gets the version and commit SHA: SSM Parameter Store when
//! `SSM_PARAMETER_PREFIX` is set, otherwise what the binary was built from.

mod ssm;

use std::time::Duration;

use serde::Serialize;

pub use ssm::{
    FAILURE_BACKOFF, FETCH_BUDGET, Parameters, SsmCache, SsmMetadata, https_client,
    ssm_client_config,
};

/// The crate version and the git commit the binary was built from (`unknown` outside git).
pub const BUILD_VERSION: &str = env!("CARGO_PKG_VERSION");
pub const BUILD_COMMIT_SHA: &str = env!("BUILD_COMMIT_SHA");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Metadata {
    #[schema(example = "0.1.0")]
    pub version: String,
    #[schema(example = "Deployment pipeline events API")]
    pub description: String,
    /// The commit deployed, or `unknown` when the build had no git checkout.
    #[serde(rename = "lastcommitsha")]
    #[schema(example = "4e3a6c1b2f0d9a8e7c6b5a4d3c2b1a0f9e8d7c6b")]
    pub last_commit_sha: String,
}

/// Why metadata could not be had; the message is safe to show a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError(pub String);

pub enum MetadataSource {
    BuildTime(Metadata),
    Ssm(Box<SsmMetadata>),
}

impl MetadataSource {
    pub fn build_time(description: String) -> Self {
        Self::BuildTime(Metadata {
            version: BUILD_VERSION.to_owned(),
            description,
            last_commit_sha: BUILD_COMMIT_SHA.to_owned(),
        })
    }

    /// Reads from SSM under `prefix` on first use; nothing remote happens here.
    pub fn ssm(prefix: String, description: String, ttl: Duration) -> Self {
        Self::Ssm(Box::new(SsmMetadata::new(prefix, description, ttl, None)))
    }

    pub async fn get(&self) -> Result<Metadata, MetadataError> {
        match self {
            Self::BuildTime(metadata) => Ok(metadata.clone()),
            Self::Ssm(ssm) => ssm.get().await,
        }
    }
}
