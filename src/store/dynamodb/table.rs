//! The table as `infra/dynamodb.tf` makes it, for `pipeline-events-api create-table` (a local
//! DynamoDB-compatible endpoint, tests). A test checks that the two agree.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    PointInTimeRecoverySpecification, Projection, ProjectionType, ScalarAttributeType,
    TimeToLiveSpecification,
};

use super::keys;

/// Creates the table and turns on point-in-time recovery; `Ok(false)` if it already exists.
pub async fn create_table(client: &Client, table: &str) -> Result<bool, String> {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("a complete key element")
    };
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("a complete attribute definition")
    };
    let index = |name: &str, partition: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key(partition, KeyType::Hash))
            .key_schema(key(keys::SK, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("a complete index")
    };
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string(keys::PK))
        .attribute_definitions(string(keys::SK))
        .attribute_definitions(string(keys::BY_ENGINEER_PK))
        .attribute_definitions(string(keys::BY_ACTION_PK))
        .key_schema(key(keys::PK, KeyType::Hash))
        .key_schema(key(keys::SK, KeyType::Range))
        .global_secondary_indexes(index(keys::BY_ENGINEER, keys::BY_ENGINEER_PK))
        .global_secondary_indexes(index(keys::BY_ACTION, keys::BY_ACTION_PK))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return Ok(false);
        }
        Err(error) => return Err(failed("CreateTable", table)(error)),
    }
    wait_until_active(client, table).await?;
    client
        .update_continuous_backups()
        .table_name(table)
        .point_in_time_recovery_specification(
            PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .expect("a complete specification"),
        )
        .send()
        .await
        .map_err(failed("UpdateContinuousBackups", table))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(keys::EXPIRES)
                .enabled(true)
                .build()
                .expect("a complete specification"),
        )
        .send()
        .await
        .map_err(failed("UpdateTimeToLive", table))?;
    Ok(true)
}

async fn wait_until_active(client: &Client, table: &str) -> Result<(), String> {
    for _ in 0..120 {
        let described = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(failed("DescribeTable", table))?;
        let status = described.table().and_then(|t| t.table_status());
        if status.is_some_and(|s| s.as_str() == "ACTIVE") {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(format!(
        "table {table} did not become ACTIVE within a minute"
    ))
}

/// The operator's message for a failed request.
fn failed<E: std::error::Error + 'static>(
    operation: &str,
    table: &str,
) -> impl FnOnce(E) -> String {
    move |error| format!("{operation} {table}: {}", DisplayErrorContext(&error))
}
