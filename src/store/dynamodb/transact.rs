//! One item of a `TransactWriteItems` under construction: an update whose clauses, conditions,
//! names and values are added one at a time, or a conditional put.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};

use super::items::{self, Item};
use super::keys;
use super::{DynamoDbFailure, DynamoDbStore};
use crate::events::Timestamp;

/// A request part that did not build: a defect, logged, never shown to a client.
pub(super) fn not_built(error: aws_sdk_dynamodb::error::BuildError) -> DynamoDbFailure {
    tracing::error!(%error, "a request part did not build");
    DynamoDbFailure::Internal
}

/// DynamoDB's limit: items in one `TransactWriteItems`.
pub(super) const MAX_TRANSACTION_ITEMS: usize = 100;

/// An UpdateItem under construction: its clauses, conditions, names and values.
pub(super) struct Change {
    key: Item,
    set: Vec<String>,
    add: Vec<String>,
    remove: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Change {
    pub(super) fn new(pk: &str, sk: &str) -> Self {
        Self {
            key: items::key(pk, sk),
            set: Vec::new(),
            add: Vec::new(),
            remove: Vec::new(),
            // The item must still exist: an update would otherwise create half an item.
            conditions: vec!["attribute_exists(#pk)".into()],
            names: HashMap::from([("#pk".into(), keys::PK.into())]),
            values: HashMap::new(),
        }
    }

    pub(super) fn name(&mut self, attribute: &str) -> String {
        let alias = format!("#{attribute}");
        self.names.insert(alias.clone(), attribute.to_owned());
        alias
    }

    /// `attribute += by` (from 0 if absent).
    pub(super) fn add(&mut self, attribute: &str, by: i64) {
        self.add_value(attribute, AttributeValue::N(by.to_string()));
    }

    /// `ADD attribute value`: a number to a number, or members to a set (created if absent).
    pub(super) fn add_value(&mut self, attribute: &str, value: AttributeValue) {
        let name = self.name(attribute);
        let alias = format!(":add_{attribute}");
        self.values.insert(alias.clone(), value);
        self.add.push(format!("{name} {alias}"));
    }

    /// A fresh alias for a map key, and one for a value.
    pub(super) fn entry_aliases(&mut self, key: &str) -> (String, String) {
        let n = self.names.len();
        let name = format!("#k{n}");
        self.names.insert(name.clone(), key.to_owned());
        (name, format!(":v{n}"))
    }

    /// `map.key += by`, the entry created at `by` if absent (the map must exist).
    pub(super) fn add_in_map(&mut self, map: &str, key: &str, by: i64) {
        let map = self.name(map);
        let (entry, value) = self.entry_aliases(key);
        self.values
            .insert(value.clone(), AttributeValue::N(by.to_string()));
        self.values
            .insert(":zero".into(), AttributeValue::N("0".into()));
        self.set.push(format!(
            "{map}.{entry} = if_not_exists({map}.{entry}, :zero) + {value}"
        ));
    }

    /// `map.key = value` (the map must exist).
    pub(super) fn set_in_map(&mut self, map: &str, key: &str, to: AttributeValue) {
        let map = self.name(map);
        let (entry, value) = self.entry_aliases(key);
        self.values.insert(value.clone(), to);
        self.set.push(format!("{map}.{entry} = {value}"));
    }

    /// `map.key` removed (nothing if absent).
    pub(super) fn remove_in_map(&mut self, map: &str, key: &str) {
        let map = self.name(map);
        let (entry, _) = self.entry_aliases(key);
        self.remove.push(format!("{map}.{entry}"));
    }

    /// `attribute = to`.
    pub(super) fn set_number(&mut self, attribute: &str, to: impl ToString) {
        let name = self.name(attribute);
        let value = format!(":to_{attribute}");
        self.values
            .insert(value.clone(), AttributeValue::N(to.to_string()));
        self.set.push(format!("{name} = {value}"));
    }

    /// On condition that `attribute` is still `was` (`None`: still absent).
    pub(super) fn still(&mut self, attribute: &str, was: Option<impl ToString>) {
        let name = self.name(attribute);
        match was {
            None => self
                .conditions
                .push(format!("attribute_not_exists({name})")),
            Some(was) => {
                let old = format!(":was_{attribute}");
                self.values
                    .insert(old.clone(), AttributeValue::N(was.to_string()));
                self.conditions.push(format!("{name} = {old}"));
            }
        }
    }

    /// `attribute = to` if it is still `still` (`>`: later, `<`: earlier) than `to`.
    pub(super) fn move_to(&mut self, attribute: &str, to: Timestamp, still: &str) {
        self.set_number(attribute, to);
        self.conditions
            .push(format!("#{attribute} {still} :to_{attribute}"));
    }

    pub(super) fn build(self, store: &DynamoDbStore) -> Result<TransactWriteItem, DynamoDbFailure> {
        let mut expression = Vec::new();
        if !self.set.is_empty() {
            expression.push(format!("SET {}", self.set.join(", ")));
        }
        if !self.add.is_empty() {
            expression.push(format!("ADD {}", self.add.join(", ")));
        }
        if !self.remove.is_empty() {
            expression.push(format!("REMOVE {}", self.remove.join(", ")));
        }
        let update = Update::builder()
            .table_name(store.table())
            .set_key(Some(self.key))
            .update_expression(expression.join(" "))
            .condition_expression(self.conditions.join(" AND "))
            .set_expression_attribute_names(Some(self.names))
            .set_expression_attribute_values(Some(self.values))
            .build()
            .map_err(not_built)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// A put of an item that must not exist yet.
pub(super) fn put_new(
    store: &DynamoDbStore,
    item: Item,
) -> Result<TransactWriteItem, DynamoDbFailure> {
    put(store, item, "attribute_not_exists(#pk)", HashMap::new())
}

pub(super) fn put(
    store: &DynamoDbStore,
    item: Item,
    condition: &str,
    values: HashMap<String, AttributeValue>,
) -> Result<TransactWriteItem, DynamoDbFailure> {
    let mut names = HashMap::from([("#pk".to_owned(), keys::PK.to_owned())]);
    if condition.contains("#expires") {
        names.insert("#expires".into(), keys::EXPIRES.into());
    }
    let put = Put::builder()
        .table_name(store.table())
        .set_item(Some(item))
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values((!values.is_empty()).then_some(values))
        .build()
        .map_err(not_built)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A put that replaces the item if there is one.
pub(super) fn put_over(
    store: &DynamoDbStore,
    item: Item,
) -> Result<TransactWriteItem, DynamoDbFailure> {
    let put = Put::builder()
        .table_name(store.table())
        .set_item(Some(item))
        .build()
        .map_err(not_built)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// A delete of the item with `key` (nothing if there is none).
pub(super) fn delete(
    store: &DynamoDbStore,
    key: Item,
) -> Result<TransactWriteItem, DynamoDbFailure> {
    let delete = Delete::builder()
        .table_name(store.table())
        .set_key(Some(key))
        .build()
        .map_err(not_built)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}
