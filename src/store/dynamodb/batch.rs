//! BatchGetItem and BatchWriteItem within DynamoDB's limits (100 keys, 25 writes per request),
//! what comes back unprocessed retried with jittered exponential backoff.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemError;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError;
use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};

use super::backoff::{PATIENT, Retries};
use super::items::{Item, key_of};

pub const MAX_GET: usize = 100;
pub const MAX_WRITE: usize = 25;

/// Why a batch failed: DynamoDB's error, or keys it left unprocessed try after try.
pub enum BatchFailure<E> {
    Sdk(&'static str, Box<SdkError<E, HttpResponse>>),
    Throttled { operation: &'static str, tries: u32 },
}

impl<E: std::error::Error + 'static> From<BatchFailure<E>> for String {
    fn from(failure: BatchFailure<E>) -> String {
        match failure {
            BatchFailure::Sdk(operation, error) => {
                format!("{operation}: {}", DisplayErrorContext(&error))
            }
            BatchFailure::Throttled { operation, tries } => format!(
                "{operation}: DynamoDB left items unprocessed {tries} times in a row (throttled)"
            ),
        }
    }
}

/// The items with these keys, strongly consistent, by `pk/sk`; missing ones are absent.
pub async fn get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    retries: &Retries,
) -> Result<HashMap<String, Item>, BatchFailure<BatchGetItemError>> {
    let mut found = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(MAX_GET) {
        let mut pending = chunk.to_vec();
        for attempt in 0.. {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .expect("keys are set");
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|error| BatchFailure::Sdk("BatchGetItem", Box::new(error)))?;
            let items = output.responses.and_then(|mut tables| tables.remove(table));
            found.extend(
                items
                    .into_iter()
                    .flatten()
                    .map(|item| (key_of(&item), item)),
            );
            pending = output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(table))
                .map(|unprocessed| unprocessed.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            backoff(attempt, "BatchGetItem", retries).await?;
        }
    }
    Ok(found)
}

pub enum Write {
    Put(Item),
    Delete(Item),
}

impl Write {
    /// `pk/sk` of the item written or deleted.
    pub fn key(&self) -> String {
        match self {
            Self::Put(item) | Self::Delete(item) => super::items::key_of(item),
        }
    }
}

/// Writes every item, 25 to a request; `done` is told how many after each request.
pub async fn write(
    client: &Client,
    table: &str,
    writes: Vec<Write>,
    mut done: impl FnMut(usize),
) -> Result<(), BatchFailure<BatchWriteItemError>> {
    let requests: Vec<WriteRequest> = writes
        .into_iter()
        .map(|write| match write {
            Write::Put(item) => WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .expect("an item"),
                )
                .build(),
            Write::Delete(key) => WriteRequest::builder()
                .delete_request(
                    DeleteRequest::builder()
                        .set_key(Some(key))
                        .build()
                        .expect("a key"),
                )
                .build(),
        })
        .collect();
    for chunk in requests.chunks(MAX_WRITE) {
        let mut pending = chunk.to_vec();
        for attempt in 0.. {
            let sent = pending.len();
            let output = client
                .batch_write_item()
                .set_request_items(Some(HashMap::from([(table.to_owned(), pending)])))
                .send()
                .await
                .map_err(|error| BatchFailure::Sdk("BatchWriteItem", Box::new(error)))?;
            pending = output
                .unprocessed_items
                .and_then(|mut tables| tables.remove(table))
                .unwrap_or_default();
            done(sent - pending.len());
            if pending.is_empty() {
                break;
            }
            backoff(attempt, "BatchWriteItem", &PATIENT).await?;
        }
    }
    Ok(())
}

/// Sleeps before attempt `attempt + 1`, or fails when that would be one too many.
async fn backoff<E>(
    attempt: u32,
    operation: &'static str,
    retries: &Retries,
) -> Result<(), BatchFailure<E>> {
    if attempt + 1 >= retries.tries {
        return Err(BatchFailure::Throttled {
            operation,
            tries: attempt + 1,
        });
    }
    tokio::time::sleep(retries.delay(attempt)).await;
    Ok(())
}
