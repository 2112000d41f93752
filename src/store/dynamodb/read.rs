//! The request path: Query and GetItem only, a bounded number of each per API call.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::query::QueryError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{
    self, DayItem, DeliveryDayItem, EngineerItem, EventItem, Item, MetaItem, decode_all, from_item,
};
use super::keys::{self, Month, Scope, SkRange};
use super::{DynamoDbFailure, DynamoDbStore, failure};
use crate::events::{EventQuery, EventRecord, Position, Timestamp};
use crate::store::outcome::ReadFailure;

/// The most Query requests one page of events may take. A page whose range crosses more
/// months (or whose filtered walk reads further) comes back shorter, with a cursor.
pub const MAX_QUERIES_PER_PAGE: usize = 13;

/// Where a query reads: the table or an index, and the partition key attribute and value.
struct Partition {
    index: Option<&'static str>,
    key_attribute: &'static str,
    key: String,
    /// The last instant this partition can hold (the end of its month), if it is a month.
    ends_at: Option<Timestamp>,
}

impl DynamoDbStore {
    /// The store's totals, or a service's; `None` for an empty table (or a service without
    /// events). Refused if the table is of an older layout.
    pub async fn meta(&self, scope: Scope<'_>) -> Result<Option<MetaItem>, ReadFailure> {
        let (meta, _) = tokio::try_join!(async { Ok(self.totals(scope).await?) }, async {
            match scope {
                // The store's totals say the layout themselves.
                Scope::Whole => Ok(()),
                Scope::Service(_) => self.check_layout().await,
            }
        })?;
        if scope == Scope::Whole {
            self.note_layout(meta.as_ref())?;
        }
        Ok(meta)
    }

    /// Refuses to read a table of an older layout than this version's. The store's totals say
    /// it: read once, until they are seen current (a table is never downgraded).
    pub async fn check_layout(&self) -> Result<(), ReadFailure> {
        if self.layout_current.load(Ordering::Relaxed) {
            return Ok(());
        }
        let meta = self.totals(Scope::Whole).await?;
        self.note_layout(meta.as_ref())
    }

    fn note_layout(&self, meta: Option<&MetaItem>) -> Result<(), ReadFailure> {
        if meta.is_some_and(|meta| meta.layout() < keys::LAYOUT) {
            return Err(ReadFailure::StoreNeedsUpgrade);
        }
        self.layout_current.store(true, Ordering::Relaxed);
        Ok(())
    }

    async fn totals(&self, scope: Scope<'_>) -> Result<Option<MetaItem>, DynamoDbFailure> {
        let (pk, sk) = scope.totals_key();
        let output = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key(pk, sk)))
            .send()
            .await
            .map_err(|e| failure("GetItem", &format!("{pk}/{sk}"), e))?;
        Ok(output.item.map(from_item).transpose()?)
    }

    pub async fn has_engineer(&self, scope: Scope<'_>, name: &str) -> Result<bool, ReadFailure> {
        let pk = keys::engineers_pk(scope);
        let output = self
            .client()
            .await
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::key(&pk, name)))
            .projection_expression("#pk")
            .expression_attribute_names("#pk", keys::PK)
            .send()
            .await
            .map_err(|e| failure("GetItem", &format!("{pk}/{name}"), e))?;
        Ok(output.item.is_some())
    }

    /// Every engineer's totals, sorted by name (DynamoDB orders sort keys by their UTF-8
    /// bytes, as Rust orders strings).
    pub async fn engineers(&self, scope: Scope<'_>) -> Result<Vec<EngineerItem>, ReadFailure> {
        let (items, _) = tokio::try_join!(
            async {
                Ok(self
                    .query_partition(&keys::engineers_pk(scope), None)
                    .await?)
            },
            self.check_layout()
        )?;
        Ok(decode_all(items).map_err(DynamoDbFailure::from)?)
    }

    /// At most `limit` services' totals by name after `after`, and whether more follow: one
    /// Query (fewer services when their totals pass the 1 MB a Query returns).
    pub async fn services(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<MetaItem>, bool), ReadFailure> {
        let query = async {
            let mut request = self
                .client()
                .await
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":pk", AttributeValue::S(keys::SERVICES_PK.into()))
                .limit(limit as i32 + 1);
            if let Some(after) = after {
                request =
                    request.set_exclusive_start_key(Some(items::key(keys::SERVICES_PK, after)));
            }
            let output =
                (request.send().await).map_err(|e| failure("Query", keys::SERVICES_PK, e))?;
            let cut_short = output.last_evaluated_key.is_some();
            Ok::<_, ReadFailure>((output.items.unwrap_or_default(), cut_short))
        };
        let ((found, cut_short), _) = tokio::try_join!(query, self.check_layout())?;
        let mut services: Vec<MetaItem> = decode_all(found).map_err(DynamoDbFailure::from)?;
        // A Query stops at 1 MB: then the page is shorter, and the next one goes on from it.
        let more = services.len() > limit || cut_short;
        services.truncate(limit);
        Ok((services, more))
    }

    /// The per-day totals stored for the days `first..=last` (days since the epoch): one
    /// Query per calendar year the days touch.
    pub async fn days(
        &self,
        scope: Scope<'_>,
        first: i64,
        last: i64,
    ) -> Result<Vec<DayItem>, DynamoDbFailure> {
        let partition = |day| keys::days_pk(scope, day);
        Ok(decode_all(self.per_day(&partition, first, last).await?)?)
    }

    /// The delivery metrics' facts of the days `first..=last` that have any: one Query per
    /// calendar year (more only past 1 MB a year).
    pub async fn delivery_days(
        &self,
        scope: Scope<'_>,
        first: i64,
        last: i64,
    ) -> Result<Vec<DeliveryDayItem>, DynamoDbFailure> {
        let partition = |day| keys::delivery_days_pk(scope, day);
        Ok(decode_all(self.per_day(&partition, first, last).await?)?)
    }

    /// Items kept per day in yearly partitions (`partition` names a day's), `first..=last`.
    async fn per_day(
        &self,
        partition: &(dyn Fn(i64) -> String + Sync),
        first: i64,
        last: i64,
    ) -> Result<Vec<Item>, DynamoDbFailure> {
        let first = first.max(0);
        let mut days = Vec::new();
        if last < first {
            return Ok(days);
        }
        let years: BTreeSet<String> = [first, last]
            .into_iter()
            .chain((first..=last).step_by(300))
            .map(partition)
            .collect();
        let sk_between = (keys::day_sk(first), keys::day_sk(last));
        for partition in years {
            days.extend(self.query_partition(&partition, Some(&sk_between)).await?);
        }
        Ok(days)
    }

    /// Every item of one partition (sort keys between the two given, if given). Not generic,
    /// as `query_all` is not: the Lambda package holds one copy of the paging.
    async fn query_partition(
        &self,
        partition: &str,
        sk_between: Option<&(String, String)>,
    ) -> Result<Vec<Item>, DynamoDbFailure> {
        let client = self.client().await;
        query_all(client, &self.table, partition, sk_between, false)
            .await
            .map_err(|QueryFailure(partition, error)| failure("Query", &partition, *error))
    }

    /// One page of events, in (timestamp, id) order, and where the next page starts.
    ///
    /// Without an engineer the events are read month by month (the table, or the index by
    /// action), each Query asking for just what the page still needs; with an engineer, from
    /// that engineer's partition of the index by engineer, the action (if any) filtered there.
    pub async fn events_page(
        &self,
        query: &EventQuery<'_>,
    ) -> Result<(Vec<EventRecord>, Option<Position>), ReadFailure> {
        let scope = Scope::of(query.service);
        let Some(range) = keys::sk_range(query.from, query.to, query.after) else {
            return Ok((Vec::new(), None));
        };
        let partitions: Vec<Partition> = match query.engineer {
            Some(engineer) => {
                self.check_layout().await?;
                vec![Partition {
                    index: Some(keys::BY_ENGINEER),
                    key_attribute: keys::BY_ENGINEER_PK,
                    key: keys::engineer_index_pk(scope, engineer),
                    ends_at: None,
                }]
            }
            None => {
                let Some(meta) = self.meta(scope).await? else {
                    return Ok((Vec::new(), None));
                };
                let first = range.first.max(meta.first);
                let last = range.last.min(meta.last);
                if first > last {
                    return Ok((Vec::new(), None));
                }
                Month::of(first)
                    .through(Month::of(last))
                    .map(|month| {
                        let ends_at = Some(month.next().start() - 1);
                        match query.action {
                            Some(action) => Partition {
                                index: Some(keys::BY_ACTION),
                                key_attribute: keys::BY_ACTION_PK,
                                key: keys::action_index_pk(scope, action, month),
                                ends_at,
                            },
                            None => Partition {
                                index: None,
                                key_attribute: keys::PK,
                                key: keys::events_pk(scope, month),
                                ends_at,
                            },
                        }
                    })
                    .collect()
            }
        };
        let filter = query.engineer.and(query.action);
        Ok(self.walk(&partitions, &range, filter, query.limit).await?)
    }

    async fn walk(
        &self,
        partitions: &[Partition],
        range: &SkRange,
        action_filter: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<EventRecord>, Option<Position>), DynamoDbFailure> {
        // One more than the page, to know whether another follows.
        let want = limit + 1;
        let mut events: Vec<EventRecord> = Vec::with_capacity(want.min(1024));
        let mut queries = 0;
        // The last position read, matched or not: where a shortened page resumes.
        let mut read_through: Option<Position> = None;
        'partitions: for partition in partitions {
            let mut start: Option<Item> = None;
            loop {
                if queries == MAX_QUERIES_PER_PAGE {
                    return Ok((events, read_through));
                }
                let needed = want - events.len();
                // A filter reads before it filters: ask for more than is needed, within reason.
                let read = match action_filter {
                    Some(_) => (needed * 4).clamp(100, 1000),
                    None => needed,
                };
                let mut request = self
                    .client()
                    .await
                    .query()
                    .table_name(&self.table)
                    .set_index_name(partition.index.map(str::to_owned))
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                    .expression_attribute_names("#pk", partition.key_attribute)
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_values(":pk", AttributeValue::S(partition.key.clone()))
                    .expression_attribute_values(":low", AttributeValue::S(range.low.clone()))
                    .expression_attribute_values(":high", AttributeValue::S(range.high.clone()))
                    .limit(read as i32)
                    .set_exclusive_start_key(start);
                if let Some(action) = action_filter {
                    request = request
                        .filter_expression("#action = :action")
                        .expression_attribute_names("#action", "action")
                        .expression_attribute_values(":action", AttributeValue::S(action.into()));
                }
                let output = request
                    .send()
                    .await
                    .map_err(|e| failure("Query", &partition.key, e))?;
                queries += 1;
                for item in output.items.unwrap_or_default() {
                    let event: EventItem = from_item(item)?;
                    events.push(event.into_record(&self.default_service));
                    if events.len() == want {
                        break 'partitions;
                    }
                }
                start = output.last_evaluated_key;
                match &start {
                    Some(key) => {
                        let sk = key.get(keys::SK).and_then(|sk| sk.as_s().ok());
                        read_through =
                            Some(sk.and_then(|sk| keys::position_of_sk(sk)).ok_or_else(|| {
                                tracing::error!(
                                    key = items::key_of(key),
                                    "a LastEvaluatedKey without an event sort key"
                                );
                                DynamoDbFailure::Internal
                            })?);
                    }
                    None => {
                        read_through = Some(Position {
                            timestamp: partition.ends_at.unwrap_or(range.last).min(range.last),
                            id: u64::MAX,
                        });
                        break;
                    }
                }
            }
        }
        if events.len() > limit {
            events.truncate(limit);
            let last = events.last().map(|event| Position {
                timestamp: event.timestamp,
                id: event.id,
            });
            return Ok((events, last));
        }
        Ok((events, None))
    }
}

/// Why a paged Query failed: DynamoDB's error, with the partition.
pub(super) struct QueryFailure(String, Box<SdkError<QueryError, HttpResponse>>);

impl QueryFailure {
    pub(super) fn into_failure(self) -> DynamoDbFailure {
        failure("Query", &self.0, *self.1)
    }
}

impl From<QueryFailure> for String {
    fn from(QueryFailure(partition, error): QueryFailure) -> String {
        format!("Query {partition}: {}", DisplayErrorContext(&error))
    }
}

/// Every item of one partition (sort keys between the two given, if given), page after page:
/// the request path's reads and the operator's.
pub(super) async fn query_all(
    client: &Client,
    table: &str,
    partition: &str,
    sk_between: Option<&(String, String)>,
    consistent: bool,
) -> Result<Vec<Item>, QueryFailure> {
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let mut query = client
            .query()
            .table_name(table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()));
        if consistent {
            query = query.consistent_read(true);
        }
        if let Some((low, high)) = sk_between {
            query = query
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":low", AttributeValue::S(low.clone()))
                .expression_attribute_values(":high", AttributeValue::S(high.clone()));
        }
        let output = query
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|error| QueryFailure(partition.to_owned(), Box::new(error)))?;
        found.extend(output.items.unwrap_or_default());
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(found);
        }
    }
}
