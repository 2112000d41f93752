//! What events contribute to the delivery metrics, stated once: which action is which, how a
//! commit's firsts move (its commit event, first stage, and the first deploy that shipped it,
//! its own or a later pushed commit's), and what each day's facts gain from an event and from
//! a commit. The memory store's `DeliveryIndex` is built from these rules, and
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
    /// A deploy made because of an incident in production: a deploy, and rework.
    pub hotfix: String,
}

impl Default for DeliveryActions {
    fn default() -> Self {
        Self {
            deploy: "deploy".into(),
            stage: "stage".into(),
            rollback: "rollback".into(),
            commit: "commit".into(),
            hotfix: "hotfix".into(),
        }
    }
}

/// What an action means to the delivery metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    Deploy,
    Stage,
    Rollback,
    /// A commit reaching the default branch (recorded from a push).
    Commit,
    /// An unplanned deploy, made because of an incident in production: a deploy in every
    /// metric, and the deployment rework rate's rework.
    Hotfix,
}

impl DeliveryActions {
    /// The actions that are deploys: the deploy action and the hotfix action.
    pub fn deploys(&self) -> [&str; 2] {
        [&self.deploy, &self.hotfix]
    }

    pub fn is_deploy(&self, action: &str) -> bool {
        self.deploys().contains(&action)
    }

    /// `None` for an action the metrics do not read.
    pub fn kind_of(&self, action: &str) -> Option<DeliveryKind> {
        if action == self.deploy {
            Some(DeliveryKind::Deploy)
        } else if action == self.stage {
            Some(DeliveryKind::Stage)
        } else if action == self.rollback {
            Some(DeliveryKind::Rollback)
        } else if action == self.commit {
            Some(DeliveryKind::Commit)
        } else if action == self.hotfix {
            Some(DeliveryKind::Hotfix)
        } else {
            None
        }
    }
}

/// No commit event, first stage or first deploy yet (a sentinel, so that a commit is three
/// words).
const NEVER: Timestamp = Timestamp::MAX;

/// Where a lead time starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The commit's commit event: when a push brought it to the default branch.
    Commit,
    /// Its first stage, for a commit the store has no commit event of.
    Stage,
}

/// A commit's firsts: its commit event, its first stage, and the first deploy that shipped it;
/// each as yet absent or the earliest so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firsts {
    commit: Timestamp,
    stage: Timestamp,
    deploy: Timestamp,
}

impl Default for Firsts {
    fn default() -> Self {
        Self::new(None, None, None)
    }
}

impl Firsts {
    pub fn new(
        commit: Option<Timestamp>,
        stage: Option<Timestamp>,
        deploy: Option<Timestamp>,
    ) -> Self {
        Self {
            commit: commit.unwrap_or(NEVER),
            stage: stage.unwrap_or(NEVER),
            deploy: deploy.unwrap_or(NEVER),
        }
    }

    pub fn commit(self) -> Option<Timestamp> {
        (self.commit != NEVER).then_some(self.commit)
    }

    pub fn stage(self) -> Option<Timestamp> {
        (self.stage != NEVER).then_some(self.stage)
    }

    pub fn deploy(self) -> Option<Timestamp> {
        (self.deploy != NEVER).then_some(self.deploy)
    }

    /// No commit event, stage or deploy: the commit counts nowhere.
    pub fn is_none(self) -> bool {
        self == Self::default()
    }

    /// After one more event of `kind` at `at` (a rollback moves nothing). A deploy of this
    /// commit, or of a later pushed commit that ships it (`ship_earlier_commits`), is a
    /// `Deploy`.
    pub fn after(self, kind: DeliveryKind, at: Timestamp) -> Self {
        match kind {
            DeliveryKind::Commit => Self {
                commit: self.commit.min(at),
                ..self
            },
            DeliveryKind::Stage => Self {
                stage: self.stage.min(at),
                ..self
            },
            DeliveryKind::Deploy | DeliveryKind::Hotfix => Self {
                deploy: self.deploy.min(at),
                ..self
            },
            DeliveryKind::Rollback => self,
        }
    }

    /// The earlier of each first of two accounts of one commit.
    pub fn earliest(self, other: Self) -> Self {
        Self {
            commit: self.commit.min(other.commit),
            stage: self.stage.min(other.stage),
            deploy: self.deploy.min(other.deploy),
        }
    }

    /// Where the lead time starts: the commit event if there is one, else the first stage.
    pub fn start(self) -> Option<(Timestamp, Start)> {
        match (self.commit(), self.stage()) {
            (Some(at), _) => Some((at, Start::Commit)),
            (None, Some(at)) => Some((at, Start::Stage)),
            (None, None) => None,
        }
    }

    /// If deployed: the day of the first deploy and the lead time, from the start to that
    /// deploy (`None`: no start at or before it; a commit event after its deploy is not a
    /// negative lead time).
    pub fn deployed(self) -> Option<(i64, Option<(i64, Start)>)> {
        let deploy = self.deploy()?;
        let lead = (self.start())
            .filter(|&(at, _)| at <= deploy)
            .map(|(at, start)| (deploy - at, start));
        Some((day_of(deploy), lead))
    }

    /// If started: the day the lead time started and, once deployed, the day it stopped being
    /// pending: its first deploy's, or the start's if that is later.
    pub fn started(self) -> Option<(i64, Option<i64>)> {
        let (at, _) = self.start()?;
        let start = day_of(at);
        Some((start, self.deploy().map(|deploy| day_of(deploy).max(start))))
    }

    /// The days a commit with these firsts counts on, and what it adds to each.
    pub fn contribution(self) -> BTreeMap<i64, DayChange> {
        let mut days: BTreeMap<i64, DayChange> = BTreeMap::new();
        if let Some((day, lead)) = self.deployed() {
            let day = days.entry(day).or_default();
            match lead {
                Some((lead, start)) => {
                    day.leads.insert(lead, 1);
                    day.from_commit = i64::from(start == Start::Commit);
                }
                None => day.unstaged = 1,
            }
        }
        if let Some((day, resolved_on)) = self.started() {
            days.entry(day).or_default().started = 1;
            if let Some(resolved_on) = resolved_on {
                days.entry(resolved_on).or_default().resolved.insert(day, 1);
            }
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

/// Where a pushed commit stands in its service's history: pushes in the order they reached
/// the repository (their instant), and a push's commits in the order it lists them, oldest
/// first (the order their events were recorded in, so their ids').
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PushOrder {
    pub at: Timestamp,
    pub id: u64,
}

impl PushOrder {
    /// A commit stands where its first recorded commit event (the lowest id) puts it.
    pub fn first_recorded(self, other: Option<Self>) -> Self {
        other.map_or(self, |other| if other.id < self.id { other } else { self })
    }
}

/// A deploy of a pushed commit ships every commit pushed before it: each pushed commit's
/// first deploy becomes the earliest deploy of itself or of any commit pushed after it (`commits`:
/// one service's pushed commits, in any order; sorted by their order on return).
pub fn ship_earlier_commits(commits: &mut [(PushOrder, &mut Firsts)]) {
    commits.sort_unstable_by_key(|(order, _)| *order);
    let mut earliest_later = NEVER;
    for (_, firsts) in commits.iter_mut().rev() {
        earliest_later = earliest_later.min(firsts.deploy);
        firsts.deploy = earliest_later;
    }
}

/// A change to one day's delivery facts: what one event or one move of a commit's firsts
/// brings (one deploy instant, one rollback at most).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayChange {
    pub deploys: i64,
    /// Of those, hotfixes (the deployment rework rate's rework).
    pub hotfixes: i64,
    /// A deploy instant to add.
    pub time: Option<Timestamp>,
    /// A rollback to add: event id, instant.
    pub rollback: Option<(u64, Timestamp)>,
    /// Lead time → commits first deployed that day after their start.
    pub leads: BTreeMap<i64, i64>,
    /// Of those, the commits whose lead time started at their commit event.
    pub from_commit: i64,
    /// Commits first deployed that day without a start (commit event or stage) at or before it.
    pub unstaged: i64,
    /// Commits whose lead time started that day.
    pub started: i64,
    /// Start day → commits that stopped being pending that day (first deployed, or started
    /// after their deploy). Pending over a range is what started in it and did not resolve in
    /// it: a resolution is never before its start, so the range's own days tell.
    pub resolved: BTreeMap<i64, i64>,
}

impl DayChange {
    /// What an event adds to its own day besides its commit's firsts: a deploy's count and
    /// instant (a hotfix's, and its rework), or a rollback; `None` for other events.
    pub fn of_event(kind: DeliveryKind, id: u64, at: Timestamp) -> Option<(i64, DayChange)> {
        let change = match kind {
            DeliveryKind::Deploy | DeliveryKind::Hotfix => DayChange {
                deploys: 1,
                hotfixes: i64::from(kind == DeliveryKind::Hotfix),
                time: Some(at),
                ..DayChange::default()
            },
            DeliveryKind::Rollback => DayChange {
                rollback: Some((id, at)),
                ..DayChange::default()
            },
            DeliveryKind::Stage | DeliveryKind::Commit => return None,
        };
        Some((day_of(at), change))
    }

    /// Adds `other` times `sign` (1 or -1).
    pub fn add(&mut self, other: &DayChange, sign: i64) {
        self.deploys += sign * other.deploys;
        self.hotfixes += sign * other.hotfixes;
        self.from_commit += sign * other.from_commit;
        self.unstaged += sign * other.unstaged;
        for (lead, count) in &other.leads {
            *self.leads.entry(*lead).or_default() += sign * count;
        }
        self.started += sign * other.started;
        for (day, count) in &other.resolved {
            *self.resolved.entry(*day).or_default() += sign * count;
        }
        self.time = self.time.or(other.time);
        self.rollback = self.rollback.or(other.rollback);
        self.leads.retain(|_, count| *count != 0);
        self.resolved.retain(|_, count| *count != 0);
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
        assert_eq!(firsts, Firsts::new(None, Some(10), Some(DAY + 5)));
        let days = firsts.contribution();
        assert_eq!(days[&1].leads, BTreeMap::from([(DAY - 5, 1)]));
        assert_eq!((days[&0].started, days[&0].resolved.len()), (1, 0));
        assert_eq!(days[&1].resolved, BTreeMap::from([(0, 1)]));
    }

    #[test]
    fn a_deploy_before_any_stage_is_unstaged() {
        let firsts = Firsts::new(None, Some(100), Some(50));
        assert_eq!(firsts.deployed(), Some((0, None)));
        assert_eq!(firsts.contribution()[&0].unstaged, 1);
    }

    #[test]
    fn moving_firsts_takes_the_old_contribution_away() {
        let before = Firsts::new(None, Some(10), None);
        let after = before.after(DeliveryKind::Deploy, 2 * DAY);
        let changes = before.moved_to(after);
        assert_eq!(changes[&2].resolved, BTreeMap::from([(0, 1)]));
        assert!(!changes.contains_key(&0), "the start is unchanged");
        assert_eq!(changes[&2].leads, BTreeMap::from([(2 * DAY - 10, 1)]));
        assert!(after.moved_to(after).is_empty());
    }

    #[test]
    fn a_commit_event_starts_the_lead_time_before_any_stage() {
        let firsts = Firsts::default()
            .after(DeliveryKind::Stage, 50)
            .after(DeliveryKind::Commit, 20)
            .after(DeliveryKind::Deploy, 80)
            .after(DeliveryKind::Commit, 30);
        assert_eq!(firsts.start(), Some((20, Start::Commit)));
        assert_eq!(firsts.deployed(), Some((0, Some((60, Start::Commit)))));
        let day = &firsts.contribution()[&0];
        assert_eq!(
            (day.leads.clone(), day.from_commit),
            (BTreeMap::from([(60, 1)]), 1)
        );
        assert_eq!(
            (day.started, day.resolved.clone()),
            (1, BTreeMap::from([(0, 1)]))
        );
    }

    #[test]
    fn a_commit_event_after_its_deploy_is_no_lead_time_not_a_negative_one() {
        let firsts = Firsts::new(Some(DAY + 100), Some(10), Some(DAY));
        assert_eq!(firsts.deployed(), Some((1, None)));
        let days = firsts.contribution();
        assert_eq!((days[&1].unstaged, days[&1].from_commit), (1, 0));
        assert!(days[&1].leads.is_empty());
        assert_eq!(
            days[&1].resolved,
            BTreeMap::from([(1, 1)]),
            "resolved as it starts"
        );
    }

    #[test]
    fn a_deploy_ships_every_commit_pushed_before_it_not_shipped_earlier() {
        let order = |at, id| PushOrder { at, id };
        let deployed = |at| Firsts::new(Some(1), None, Some(at));
        let pushed = Firsts::new(Some(1), None, None);
        let mut firsts = [deployed(500), pushed, deployed(700), deployed(600), pushed];
        let orders = [
            order(30, 9),
            order(10, 2),
            order(10, 1),
            order(20, 5),
            order(40, 3),
        ];
        let mut commits: Vec<(PushOrder, &mut Firsts)> =
            orders.into_iter().zip(firsts.iter_mut()).collect();
        ship_earlier_commits(&mut commits);
        let shipped: Vec<(u64, Option<Timestamp>)> = (commits.iter())
            .map(|(order, firsts)| (order.id, firsts.deploy()))
            .collect();
        assert_eq!(
            shipped,
            [
                (1, Some(500)),
                (2, Some(500)),
                (5, Some(500)),
                (9, Some(500)),
                (3, None)
            ]
        );
    }
}
