//! A deploy of a pushed commit ships every commit pushed before it (the domain's
//! `ship_earlier_commits`), kept on DynamoDB without touching each commit it ships:
//!
//! - each service's pushed commits by place (`SVC#<service>#ORDER`, sort key: the place);
//! - its *ships*: the own first deploys of pushed commits that no deploy of a later commit
//!   beats, by place. Their instants rise with their places, so a pushed commit was first
//!   shipped by the first ship at or after its place.
//!
//! A new ship at place q and instant t ends every ship before q at t or later, and moves the
//! commits between the last ship kept before q and q to t: their lead times' days change by
//! counts (the domain's `Firsts::moved_to`), read from their places, one Query. A pushed commit's
//! lead time starts at its commit event, so its place and its ship are all it counts by.
//!
//! Every writer of a service's places or ships moves its turn item on: a ship counts `ships`
//! on, on condition that both counts are the ones it read; a push that ships nothing counts
//! `places` on, on condition that `ships` is the one it read. A push that did not see a
//! concurrent ship, or a ship that did not see a concurrent push or ship, is read again; pushes
//! do not wait for one another (the places of one never change the ship of another).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::items::{self, PlaceItem, ShipItem, from_item, to_item};
use super::keys;
use super::transact::{delete, not_built, put_new, put_over};
use super::{DynamoDbFailure, DynamoDbStore, failure};
use crate::events::{DayChange, DeliveryKind, Firsts, PushOrder, Timestamp};

/// What recording some commit events or a deploy does to a service's pushed commits.
pub(super) struct Shipping<'a> {
    pub service: &'a str,
    /// Commits pushed now, at consecutive places with no ship between them (each commit's
    /// first commit event).
    pub pushed: Vec<(PushOrder, &'a str)>,
    /// The own first deploy of the pushed commit at this place, moved earlier now.
    pub deployed: Option<(PushOrder, Timestamp)>,
}

/// How many ships and pushes have moved a service's turn (`None`: none yet).
#[derive(Debug, Clone, Copy)]
struct Turn {
    ships: Option<i64>,
    places: Option<i64>,
}

/// The days' changes (the service's; the store's change alike) and the writes.
#[derive(Default)]
pub(super) struct Shipped {
    pub changes: BTreeMap<i64, DayChange>,
    pub writes: Vec<TransactWriteItem>,
}

/// A pushed commit's contribution: from its commit event to its first ship, if any.
fn pushed_commit(place: PushOrder, shipped: Option<Timestamp>) -> Firsts {
    let firsts = Firsts::default().after(DeliveryKind::Commit, place.at);
    match shipped {
        Some(at) => firsts.after(DeliveryKind::Deploy, at),
        None => firsts,
    }
}

impl DynamoDbStore {
    /// Reads what `shipping` needs (strongly consistent) and answers what it changes.
    pub(super) async fn shipping(
        &self,
        shipping: Shipping<'_>,
    ) -> Result<Shipped, DynamoDbFailure> {
        let Shipping {
            service,
            pushed,
            deployed,
        } = shipping;
        let lowest = (pushed.iter().map(|&(place, _)| place))
            .chain(deployed.map(|(place, _)| place))
            .min();
        let Some(lowest) = lowest else {
            return Ok(Shipped::default());
        };
        // The ship after `lowest` is the deployed place's too: a deploy comes alone, or with
        // its own commit's push.
        debug_assert!(deployed.is_none_or(|(place, _)| place == lowest));
        let ships = keys::ships_pk(service);
        let turn = self.turn(service).await?;
        let mut ships_now = false;
        let next = self
            .ships_from(&ships, &keys::place_sk(lowest), true, 1)
            .await?
            .into_iter()
            .next();
        let next_at = next.as_ref().map(|ship| ship.deploy);
        let mut shipped = Shipped::default();
        for &(place, sha) in &pushed {
            let firsts = pushed_commit(place, next_at);
            DayChange::merge(&mut shipped.changes, Firsts::default().moved_to(firsts));
            shipped.writes.push(put_new(
                self,
                to_item(&PlaceItem {
                    pk: keys::push_order_pk(service),
                    sk: keys::place_sk(place),
                    sha: sha.to_owned(),
                }),
            )?);
        }
        if let Some((place, at)) = deployed
            && next_at.is_none_or(|next| at < next)
        {
            self.ship(service, (place, at), next, &pushed, &mut shipped)
                .await?;
            ships_now = true;
        }
        if !shipped.writes.is_empty() {
            shipped
                .writes
                .push(self.next_turn(service, turn, ships_now)?);
        }
        Ok(shipped)
    }

    /// A new ship at `place`, `at`: the ships before it it ends, and the commits it moves.
    async fn ship(
        &self,
        service: &str,
        (place, at): (PushOrder, Timestamp),
        next: Option<ShipItem>,
        pushed_now: &[(PushOrder, &str)],
        shipped: &mut Shipped,
    ) -> Result<(), DynamoDbFailure> {
        let ships = keys::ships_pk(service);
        // The ships before `place`, nearest first, that this one ends; then the one it keeps.
        let mut ended: Vec<ShipItem> = Vec::new();
        let mut kept: Option<String> = None;
        let mut below = keys::place_sk(place);
        'pages: loop {
            let page = self.ships_from(&ships, &below, false, 25).await?;
            let full = page.len() == 25;
            for ship in page {
                if ship.deploy < at {
                    kept = Some(ship.sk);
                    break 'pages;
                }
                below = ship.sk.clone();
                ended.push(ship);
            }
            if !full {
                break;
            }
        }
        // Every ship at or after a commit's place, in place order: the first is its old ship.
        let mut old: Vec<(PushOrder, Timestamp)> = (ended.iter().rev())
            .chain(&next)
            .filter_map(|ship| Some((keys::place_of_sk(&ship.sk)?, ship.deploy)))
            .collect();
        old.sort_unstable();
        let old_ship = |commit: PushOrder| {
            let first = old.partition_point(|&(ship, _)| ship < commit);
            old.get(first).map(|&(_, deploy)| deploy)
        };
        let moved = self.places_after(service, kept.as_deref(), place).await?;
        let now = pushed_now.iter().map(|&(place, _)| place);
        for commit in moved
            .into_iter()
            .chain(now.filter(|&pushed| pushed <= place))
        {
            let before = pushed_commit(commit, old_ship(commit));
            let after = pushed_commit(commit, Some(at));
            DayChange::merge(&mut shipped.changes, before.moved_to(after));
        }
        for ship in ended {
            shipped
                .writes
                .push(delete(self, items::key(ship.pk, ship.sk))?);
        }
        let ship = to_item(&ShipItem {
            pk: ships,
            sk: keys::place_sk(place),
            deploy: at,
        });
        shipped.writes.push(put_over(self, ship)?);
        Ok(())
    }

    /// The service's turn, as read.
    async fn turn(&self, service: &str) -> Result<Turn, DynamoDbFailure> {
        let pk = keys::ships_pk(service);
        let output = self
            .client()
            .await
            .get_item()
            .table_name(self.table())
            .set_key(Some(items::key(pk.clone(), keys::TURN_SK)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| failure("GetItem", &pk, e))?;
        let count = |name: &str| -> Option<i64> {
            let item = output.item.as_ref()?;
            item.get(name)?.as_n().ok()?.parse().ok()
        };
        Ok(Turn {
            ships: count("ships"),
            places: count("places"),
        })
    }

    /// The turn moved on from `was` (`ships`: by a ship, else by a push that ships nothing), on
    /// condition that what the writer depends on is still `was`.
    fn next_turn(
        &self,
        service: &str,
        was: Turn,
        ships: bool,
    ) -> Result<TransactWriteItem, DynamoDbFailure> {
        let names = HashMap::from([
            ("#ships".to_owned(), "ships".to_owned()),
            ("#places".to_owned(), "places".to_owned()),
        ]);
        let mut values = HashMap::from([(":one".to_owned(), AttributeValue::N("1".into()))]);
        let mut condition = |name: &str, count: Option<i64>| match count {
            None => format!("attribute_not_exists({name})"),
            Some(count) => {
                let value = format!(":{}", &name[1..]);
                values.insert(value.clone(), AttributeValue::N(count.to_string()));
                format!("{name} = {value}")
            }
        };
        let (condition, update) = match ships {
            true => (
                format!(
                    "{} AND {}",
                    condition("#ships", was.ships),
                    condition("#places", was.places)
                ),
                "ADD #ships :one",
            ),
            false => (condition("#ships", was.ships), "ADD #places :one"),
        };
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(items::key(keys::ships_pk(service), keys::TURN_SK)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(not_built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Up to `limit` ships from `from` on (`forward`: at or after it, ascending; else before
    /// it, descending), strongly consistent.
    async fn ships_from(
        &self,
        ships: &str,
        from: &str,
        forward: bool,
        limit: i32,
    ) -> Result<Vec<ShipItem>, DynamoDbFailure> {
        let condition = match forward {
            true => "#pk = :pk AND #sk BETWEEN :from AND :end",
            false => "#pk = :pk AND #sk < :from",
        };
        let mut query = self
            .client()
            .await
            .query()
            .table_name(self.table())
            .key_condition_expression(condition)
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", AttributeValue::S(ships.to_owned()))
            .expression_attribute_values(":from", AttributeValue::S(from.to_owned()))
            .scan_index_forward(forward)
            .consistent_read(true)
            .limit(limit);
        if forward {
            query = query.expression_attribute_values(
                ":end",
                AttributeValue::S(keys::PLACES_END.to_owned()),
            );
        }
        let output = query.send().await.map_err(|e| failure("Query", ships, e))?;
        let found = output.items.unwrap_or_default().into_iter();
        Ok(found.map(from_item).collect::<Result<_, _>>()?)
    }

    /// The places of the service's pushed commits after `after` (`None`: from the first) up to
    /// and including `to`, strongly consistent.
    async fn places_after(
        &self,
        service: &str,
        after: Option<&str>,
        to: PushOrder,
    ) -> Result<Vec<PushOrder>, DynamoDbFailure> {
        let pk = keys::push_order_pk(service);
        let low = after.unwrap_or("0").to_owned();
        let range = (low, keys::place_sk(to));
        let client = self.client().await;
        let found = super::read::query_all(client, self.table(), &pk, Some(&range), true)
            .await
            .map_err(super::read::QueryFailure::into_failure)?;
        let mut places = Vec::with_capacity(found.len());
        for item in found {
            let place: PlaceItem = from_item(item)?;
            if Some(place.sk.as_str()) != after
                && let Some(order) = keys::place_of_sk(&place.sk)
            {
                places.push(order);
            }
        }
        Ok(places)
    }
}
