//! What events contribute to the delivery metrics, stated once: which action is which, how a
//! commit's first stage and first deploy move, and what each day's facts gain from an event
//! and from a commit. The memory store's `DeliveryIndex` is built from these rules, and
//! DynamoDB stores and adds up the `DayChange`s they give.

use std::collections::BTreeMap;

use super::model::{Timestamp, day_of};

/// The action names the metrics read (configuration: `DEPLOY_ACTION`, …), and the one a
/// pushed commit is recorded as (`COMMIT_ACTION`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryActions {
    pub deploy: String,
    pub stage: String,
    pub rollback: String,
    pub commit: String,
}

impl Default for DeliveryActions {
    fn default() -> Self {
        Self {
            deploy: "deploy".into(),
            stage: "stage".into(),
            rollback: "rollback".into(),
            commit: "commit".into(),
        }
    }
}

/// What an action means to the delivery metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    Deploy,
    Stage,
    Rollback,
}

impl DeliveryActions {
    /// `None` for an action the metrics do not read.
    pub fn kind_of(&self, action: &str) -> Option<DeliveryKind> {
        if action == self.deploy {
            Some(DeliveryKind::Deploy)
        } else if action == self.stage {
            Some(DeliveryKind::Stage)
        } else if action == self.rollback {
            Some(DeliveryKind::Rollback)
        } else {
            None
        }
    }
}

/// No first stage or no first deploy yet (kept as a sentinel so that a commit is two words).
const NEVER: Timestamp = Timestamp::MAX;

/// A commit's first stage and first deploy, each as yet absent or the earliest so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firsts {
    stage: Timestamp,
    deploy: Timestamp,
}

impl Default for Firsts {
    fn default() -> Self {
        Self::new(None, None)
    }
}

impl Firsts {
    pub fn new(stage: Option<Timestamp>, deploy: Option<Timestamp>) -> Self {
        Self {
            stage: stage.unwrap_or(NEVER),
            deploy: deploy.unwrap_or(NEVER),
        }
    }

    pub fn stage(self) -> Option<Timestamp> {
        (self.stage != NEVER).then_some(self.stage)
    }

    pub fn deploy(self) -> Option<Timestamp> {
        (self.deploy != NEVER).then_some(self.deploy)
    }

    /// Neither staged nor deployed: the commit counts nowhere.
    pub fn is_none(self) -> bool {
        self == Self::default()
    }

    /// After one more event of `kind` at `at` (a rollback moves nothing).
    pub fn after(self, kind: DeliveryKind, at: Timestamp) -> Self {
        match kind {
            DeliveryKind::Stage => Self {
                stage: self.stage.min(at),
                ..self
            },
            DeliveryKind::Deploy => Self {
                deploy: self.deploy.min(at),
                ..self
            },
            DeliveryKind::Rollback => self,
        }
    }

    /// The earlier of each first of two accounts of one commit.
    pub fn earliest(self, other: Self) -> Self {
        Self {
            stage: self.stage.min(other.stage),
            deploy: self.deploy.min(other.deploy),
        }
    }

    /// If deployed: the day of the first deploy and the lead time, from the first stage to
    /// that deploy (`None`: deployed without a stage at or before it).
    pub fn deployed(self) -> Option<(i64, Option<i64>)> {
        let deploy = self.deploy()?;
        let lead = self
            .stage()
            .filter(|&stage| stage <= deploy)
            .map(|stage| deploy - stage);
        Some((day_of(deploy), lead))
    }

    /// If staged: the day of the first stage and the day of the first deploy (`None`: not
    /// deployed).
    pub fn staged(self) -> Option<(i64, Option<i64>)> {
        Some((day_of(self.stage()?), self.deploy().map(day_of)))
    }

    /// The days a commit with these firsts counts on, and what it adds to each.
    pub fn contribution(self) -> BTreeMap<i64, DayChange> {
        let mut days: BTreeMap<i64, DayChange> = BTreeMap::new();
        if let Some((day, lead)) = self.deployed() {
            let day = days.entry(day).or_default();
            match lead {
                Some(lead) => {
                    day.leads.insert(lead, 1);
                }
                None => day.unstaged = 1,
            }
        }
        if let Some((day, deployed_on)) = self.staged() {
            days.entry(day).or_default().staged.insert(deployed_on, 1);
        }
        days
    }

    /// Per-day changes when a commit's firsts go from `self` to `after`.
    pub fn moved_to(self, after: Self) -> BTreeMap<i64, DayChange> {
        let mut days = after.contribution();
        for (day, old) in self.contribution() {
            days.entry(day).or_default().add(&old, -1);
        }
        days.retain(|_, change| !change.is_empty());
        days
    }
}

/// A change to one day's delivery facts: what one event or one move of a commit's firsts
/// brings (one deploy instant, one rollback at most).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayChange {
    pub deploys: i64,
    /// A deploy instant to add.
    pub time: Option<Timestamp>,
    /// A rollback to add: event id, instant.
    pub rollback: Option<(u64, Timestamp)>,
    /// Lead time → commits first deployed that day after a stage.
    pub leads: BTreeMap<i64, i64>,
    /// Commits first deployed that day without a stage at or before it.
    pub unstaged: i64,
    /// Day of first deploy (`None`: not deployed) → commits first staged that day.
    pub staged: BTreeMap<Option<i64>, i64>,
}

impl DayChange {
    /// What an event adds to its own day besides its commit's firsts: a deploy's count and
    /// instant, or a rollback; `None` for other events.
    pub fn of_event(kind: DeliveryKind, id: u64, at: Timestamp) -> Option<(i64, DayChange)> {
        let change = match kind {
            DeliveryKind::Deploy => DayChange {
                deploys: 1,
                time: Some(at),
                ..DayChange::default()
            },
            DeliveryKind::Rollback => DayChange {
                rollback: Some((id, at)),
                ..DayChange::default()
            },
            DeliveryKind::Stage => return None,
        };
        Some((day_of(at), change))
    }

    /// Adds `other` times `sign` (1 or -1).
    pub fn add(&mut self, other: &DayChange, sign: i64) {
        self.deploys += sign * other.deploys;
        self.unstaged += sign * other.unstaged;
        for (lead, count) in &other.leads {
            *self.leads.entry(*lead).or_default() += sign * count;
        }
        for (day, count) in &other.staged {
            *self.staged.entry(*day).or_default() += sign * count;
        }
        self.time = self.time.or(other.time);
        self.rollback = self.rollback.or(other.rollback);
        self.leads.retain(|_, count| *count != 0);
        self.staged.retain(|_, count| *count != 0);
    }

    pub fn is_empty(&self) -> bool {
        *self == DayChange::default()
    }

    /// Adds each day's change of `more` to `days`.
    pub fn merge(days: &mut BTreeMap<i64, DayChange>, more: BTreeMap<i64, DayChange>) {
        for (day, change) in more {
            days.entry(day).or_default().add(&change, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn a_commit_counts_its_lead_on_the_deploy_day_and_its_stage_on_the_stage_day() {
        let firsts = Firsts::default()
            .after(DeliveryKind::Stage, 10)
            .after(DeliveryKind::Deploy, DAY + 5)
            .after(DeliveryKind::Stage, 20)
            .after(DeliveryKind::Rollback, 1);
        assert_eq!(firsts, Firsts::new(Some(10), Some(DAY + 5)));
        let days = firsts.contribution();
        assert_eq!(days[&1].leads, BTreeMap::from([(DAY - 5, 1)]));
        assert_eq!(days[&0].staged, BTreeMap::from([(Some(1), 1)]));
    }

    #[test]
    fn a_deploy_before_any_stage_is_unstaged() {
        let firsts = Firsts::new(Some(100), Some(50));
        assert_eq!(firsts.deployed(), Some((0, None)));
        assert_eq!(firsts.contribution()[&0].unstaged, 1);
    }

    #[test]
    fn moving_firsts_takes_the_old_contribution_away() {
        let before = Firsts::new(Some(10), None);
        let after = before.after(DeliveryKind::Deploy, 2 * DAY);
        let changes = before.moved_to(after);
        assert_eq!(
            changes[&0].staged,
            BTreeMap::from([(None, -1), (Some(2), 1)])
        );
        assert_eq!(changes[&2].leads, BTreeMap::from([(2 * DAY - 10, 1)]));
        assert!(after.moved_to(after).is_empty());
    }
}
