//! BatchGetItem and BatchWriteItem within DynamoDB's limits (100 keys, 25 writes per request),
//! what comes back unprocessed retried with jittered exponential backoff.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{DeleteRequest, KeysAndAttributes, PutRequest, WriteRequest};

use super::items::Item;

pub const MAX_GET: usize = 100;
pub const MAX_WRITE: usize = 25;
/// Tries of one batch before giving up: with the backoff below, about a minute of throttling.
const MAX_TRIES: u32 = 12;

/// Reads the items with these keys (strongly consistent); missing ones are simply absent.
pub async fn get(client: &Client, table: &str, keys: Vec<Item>) -> Result<Vec<Item>, String> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(MAX_GET) {
        let mut pending = chunk.to_vec();
        let mut tries = 0;
        while !pending.is_empty() {
            tries += 1;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| e.to_string())?;
            let output = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| format!("BatchGetItem: {}", DisplayErrorContext(&e)))?;
            found.extend(
                output
                    .responses
                    .and_then(|mut tables| tables.remove(table))
                    .unwrap_or_default(),
            );
            pending = output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(table))
                .map(|unprocessed| unprocessed.keys)
                .unwrap_or_default();
            if !pending.is_empty() {
                backoff(tries, "BatchGetItem").await?;
            }
        }
    }
    Ok(found)
}

pub enum Write {
    Put(Item),
    Delete(Item),
}

/// Writes every item, 25 to a request; `done` is told how many after each request.
pub async fn write(
    client: &Client,
    table: &str,
    writes: Vec<Write>,
    mut done: impl FnMut(usize),
) -> Result<(), String> {
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
        let mut tries = 0;
        while !pending.is_empty() {
            tries += 1;
            let sent = pending.len();
            let output = client
                .batch_write_item()
                .set_request_items(Some(HashMap::from([(table.to_owned(), pending)])))
                .send()
                .await
                .map_err(|e| format!("BatchWriteItem: {}", DisplayErrorContext(&e)))?;
            pending = output
                .unprocessed_items
                .and_then(|mut tables| tables.remove(table))
                .unwrap_or_default();
            done(sent - pending.len());
            if !pending.is_empty() {
                backoff(tries, "BatchWriteItem").await?;
            }
        }
    }
    Ok(())
}

/// Sleeps before try `tries + 1`: up to 50 ms doubling to at most 5 s.
async fn backoff(tries: u32, operation: &str) -> Result<(), String> {
    if tries >= MAX_TRIES {
        return Err(format!(
            "{operation}: DynamoDB left items unprocessed {tries} times in a row (throttled)"
        ));
    }
    let wait = super::backoff::delay(tries, Duration::from_millis(50), Duration::from_secs(5));
    tokio::time::sleep(wait).await;
    Ok(())
}
