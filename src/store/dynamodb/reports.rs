//! The answers built from the table's aggregates rather than from its events: the engineer
//! list, the daily summary and the delivery metrics, in the domain's terms and rendered by the
//! domain, as the memory store renders them.

use std::collections::{BTreeMap, BTreeSet};

use super::items::{DayItem, DeliveryDayItem, MetaItem};
use super::keys::{self, Scope};
use super::{DynamoDbStore, delivery};
use crate::events::{
    Benchmark, Bucket, DayTotals, DeliveryDay, DeliveryIndex, DeliveryReport, EngineerList,
    EngineerSummary, NO_DAYS_JSON, Timestamp, daily_json, summary_days,
};
use crate::store::outcome::ReadFailure;

impl DynamoDbStore {
    /// `{"engineers":[…]}`: every engineer of `scope`, sorted by name.
    pub async fn engineers_json(&self, scope: Scope<'_>) -> Result<Vec<u8>, ReadFailure> {
        let engineers = self.engineers(scope).await?;
        Ok(EngineerList::json(engineers.iter().map(|engineer| {
            EngineerSummary {
                name: &engineer.sk,
                events: engineer.events as usize,
                first_event: engineer.first,
                last_event: engineer.last,
            }
        })))
    }

    /// `{"days":[…]}` of `scope` for the days `from` and `to` choose from its time span.
    pub async fn daily_json(
        &self,
        scope: Scope<'_>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<u8>, ReadFailure> {
        let meta = self.meta(scope).await?;
        let span = meta.as_ref().map(|meta| (meta.first, meta.last));
        let Some((first, last)) = summary_days(from, to, span)? else {
            return Ok(NO_DAYS_JSON.to_vec());
        };
        let Some(meta) = meta else {
            // No events: every day listed, all zeros.
            return Ok(daily_json(&BTreeMap::new(), &[], first, last));
        };
        // The day before the first: its change is from there.
        let items = self.days(scope, first - 1, last).await?;
        let (actions, totals) = day_totals(&meta.actions, items).ok_or(ReadFailure::Internal)?;
        Ok(daily_json(&totals, &actions, first, last))
    }

    /// The delivery metrics of `scope` for the days `from` and `to` choose from its time span.
    pub async fn delivery_metrics(
        &self,
        scope: Scope<'_>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        (bucket, benchmark): (Bucket, Benchmark),
    ) -> Result<DeliveryReport, ReadFailure> {
        let meta = self.meta(scope).await?;
        let span = meta.as_ref().map(|meta| (meta.first, meta.last));
        let days = summary_days(from, to, span)?;
        let stored = match days {
            Some((first, last)) => self.delivery_days(scope, first, last).await?,
            None => Vec::new(),
        };
        let facts = delivery_facts(self, meta.as_ref(), &stored)?;
        let index = DeliveryIndex::from_days(&facts);
        Ok(DeliveryReport::new(days, bucket, benchmark, &index))
    }
}

/// The domain's per-day facts from stored delivery days, if the table's were counted for the
/// store's action names (`meta`: the store's totals, absent in an empty table).
fn delivery_facts(
    store: &DynamoDbStore,
    meta: Option<&MetaItem>,
    stored: &[DeliveryDayItem],
) -> Result<Vec<DeliveryDay>, ReadFailure> {
    let counted = delivery::counted(&store.delivery_actions);
    // The totals say what the table was counted for (`None`: never), and each day.
    let table = meta.map(|meta| (meta.pk.as_str(), meta.delivery_counted.as_deref()));
    let days = stored
        .iter()
        .map(|day| (day.pk.as_str(), Some(day.counted.as_str())));
    if let Some((key, other)) = table
        .into_iter()
        .chain(days)
        .find(|(_, c)| *c != Some(&counted))
    {
        tracing::error!(
            configured = counted,
            stored = other,
            key,
            "delivery facts were counted for other action names, or never; run verify --rebuild"
        );
        return Err(ReadFailure::MetricsNeedRebuild);
    }
    let mut services = delivery::ServiceNumbers::default();
    stored
        .iter()
        .map(|day| delivery::to_day(day, &mut services))
        .collect::<Option<Vec<_>>>()
        .ok_or(ReadFailure::Internal)
}

type DaysTotals = BTreeMap<i64, DayTotals>;

/// The domain's per-day totals from day items; `None` (logged) if a day names an action the
/// store's totals do not know, which only a broken table can hold.
fn day_totals(
    action_names: &BTreeSet<String>,
    items: Vec<DayItem>,
) -> Option<(Vec<Box<str>>, DaysTotals)> {
    let actions: Vec<Box<str>> = action_names
        .iter()
        .map(|name| name.as_str().into())
        .collect();
    let mut days = BTreeMap::new();
    for item in items {
        let broken = |what: &str| {
            let key = format!("{}/{}", item.pk, item.sk);
            tracing::error!(key, what, "a day item does not parse");
        };
        let Some(day) = keys::day_of_sk(&item.sk) else {
            broken("a malformed date");
            return None;
        };
        let mut counts = vec![0u32; actions.len()].into_boxed_slice();
        for (name, count) in &item.actions {
            let Ok(index) = actions.binary_search_by(|known| (**known).cmp(name.as_str())) else {
                broken(&format!(
                    "action {name:?}, which the store's totals do not list"
                ));
                return None;
            };
            counts[index] = *count;
        }
        days.insert(
            day,
            DayTotals {
                total: item.total,
                engineers: item.engineers,
                actions: counts,
            },
        );
    }
    Some((actions, days))
}
