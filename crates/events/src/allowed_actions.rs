//! Which action names the store records: a short, configured list. Every day of the daily
//! summaries lists every action the store holds, and the store's totals keep them all, so a
//! pipeline that sends a new name per run (`deploy-1234`) must be refused, not stored.

use std::collections::BTreeSet;

use crate::delivery_facts::DeliveryActions;
use crate::new_event::is_action_name;
use crate::services::Services;

/// An action outside the list: the action, and the allowed ones as a sentence lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAllowed {
    pub action: String,
    pub allowed: String,
}

/// The names recorded when none are configured: the delivery metrics' five (`commit` is a
/// code host's push; `hotfix` an unplanned deploy after an incident).
pub const DEFAULT_ALLOWED_ACTIONS: [&str; 5] = ["stage", "deploy", "rollback", "commit", "hotfix"];
/// The most names a store takes: a day's summary lists each.
pub const MAX_ALLOWED_ACTIONS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedActions(BTreeSet<String>);

impl AllowedActions {
    /// `names` and the delivery metrics' own names (always recorded); an error says why not.
    pub fn new(
        names: impl IntoIterator<Item = String>,
        delivery: &DeliveryActions,
    ) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for name in names {
            if !is_action_name(&name) {
                return Err(format!(
                    "'{name}' is not an action name (a-z first, then a-z, 0-9, '_' or '-', at most 32)"
                ));
            }
            set.insert(name);
        }
        let named = [
            &delivery.deploy,
            &delivery.stage,
            &delivery.rollback,
            &delivery.commit,
            &delivery.hotfix,
        ];
        set.extend(named.map(String::clone));
        if set.len() > MAX_ALLOWED_ACTIONS {
            return Err(format!(
                "{} names with the delivery actions; at most {MAX_ALLOWED_ACTIONS}",
                set.len()
            ));
        }
        Ok(Self(set))
    }

    /// The defaults, with `delivery`'s names.
    pub fn with_delivery(delivery: &DeliveryActions) -> Self {
        Self::new(DEFAULT_ALLOWED_ACTIONS.map(String::from), delivery)
            .expect("the defaults are valid")
    }

    pub fn contains(&self, action: &str) -> bool {
        self.0.contains(action)
    }

    /// `action`, if it is on the list.
    pub fn check(&self, action: &str) -> Result<(), NotAllowed> {
        match self.contains(action) {
            true => Ok(()),
            false => Err(NotAllowed {
                action: action.to_owned(),
                allowed: self.listed(),
            }),
        }
    }

    /// A file is refused whole if any of its events has an action off the list: one rule for
    /// every way an event comes in. The message names the action and an event that carries it.
    pub fn check_store(&self, events: &Services) -> Result<(), String> {
        let actions = events.snapshots().flat_map(|service| service.actions());
        let Some(action) = actions.into_iter().find(|action| !self.contains(action)) else {
            return Ok(());
        };
        let example = events
            .iter()
            .find(|event| event.action == action)
            .map_or(0, |event| event.id);
        Err(format!(
            "action '{action}' (event id {example} and maybe others) is not among the allowed \
             actions ({}); add it to ALLOWED_ACTIONS or correct the file",
            self.listed()
        ))
    }

    /// The names as a sentence lists them: `a, b, c`.
    pub fn listed(&self) -> String {
        self.0
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Default for AllowedActions {
    fn default() -> Self {
        Self::with_delivery(&DeliveryActions::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delivery_names_are_always_allowed_and_the_list_is_bounded() {
        let renamed = DeliveryActions {
            deploy: "release".into(),
            stage: "build".into(),
            rollback: "revert".into(),
            commit: "push".into(),
            hotfix: "patch".into(),
        };
        let allowed = AllowedActions::new(["test".to_owned()], &renamed).unwrap();
        assert_eq!(
            allowed.listed(),
            "build, patch, push, release, revert, test"
        );
        assert!(!allowed.contains("deploy"));
        let defaults = AllowedActions::default();
        assert_eq!(defaults.listed(), "commit, deploy, hotfix, rollback, stage");
        let many = (0..30).map(|n| format!("a{n}"));
        assert!(AllowedActions::new(many.clone().take(27), &renamed).is_ok());
        assert!(AllowedActions::new(many, &renamed).is_err());
        assert!(AllowedActions::new(["Deploy".to_owned()], &renamed).is_err());
    }
}
