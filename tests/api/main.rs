//! Integration tests: one file per route or concern; `support/` holds what the tests start.

mod support;

mod badges;
mod cli;
mod dynamodb;
mod engineers;
mod errors;
mod events;
mod health;
mod lambda_events;
mod lambda_package;
mod lambda_runtime;
mod load;
mod local_server;
mod metadata;
mod metadata_ssm;
mod metrics;
mod openapi;
mod oracle;
mod properties;
mod record_event;
mod root;
mod services;
mod summaries;
mod webhook_pushes;
mod webhook_secrets_ssm;
mod webhooks_github;
mod webhooks_gitlab;
