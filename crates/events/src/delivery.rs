//! Delivery metrics, DORA's five, over whole UTC days: deployment frequency, lead time (commit,
//! else first `stage`, to the first `deploy` that shipped it), change failure rate, failed
//! deployment recovery time and deployment rework rate.
//!
//! Definitions, for the days `first..=last` (the range ends at the end of `last`):
//! - **deployments**: events with the deploy or the hotfix action on those days (a hotfix is
//!   a deploy in every metric).
//! - **lead time**: a commit (sha) counts on the day of its first deploy: its own, or a deploy
//!   of a commit pushed after it, which ships it. Its lead time starts at its commit event (when
//!   a push brought it) or, without one, at its first stage, and ends at that deploy, if it
//!   started at or before it; otherwise it counts as deployed without a start. A commit whose
//!   lead time starts in the range and whose first deploy does not happen by its end is pending.
//! - **change failure rate**: rollback events over deploy events, on those days.
//! - **failed deployment recovery time** (time to restore before 2023): from each rollback on
//!   those days to the next deploy strictly after it, if that deploy happens by the range's
//!   end; otherwise the rollback is unrestored.
//! - **deployment rework rate**: hotfix events over deploys, on those days.
//! - medians and 90th percentiles are nearest-rank: the ⌈p·n⌉-th smallest value.
//!
//! These are one service's. Several services pool theirs (`DeliveryIndex::pooled`): a commit is
//! a (service, sha) pair, and a rollback is restored by its own service's next deploy.
//!
//! `DeliveryIndex` holds these facts per day, built once from every event, so that a range of
//! a year answers with a few binary searches per day.

use std::hash::BuildHasher;

use chrono::NaiveDate;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use serde::Serialize;
use utoipa::ToSchema;

use super::delivery_facts::{
    DeliveryActions, DeliveryKind, Firsts, PushOrder, Start, ship_earlier_commits,
};
use super::model::{EventView, SECONDS_PER_DAY, Timestamp, date_of_day, day_of};
use super::sha::Sha;

/// How a range is divided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// One UTC day.
    Day,
    /// A week from Monday to Sunday (ISO 8601), cut at the range's ends.
    Week,
}

impl Bucket {
    /// The buckets of `first..=last` as (first day, last day) pairs.
    pub fn split(self, first: i64, last: i64) -> impl Iterator<Item = (i64, i64)> {
        let mut start = first;
        std::iter::from_fn(move || {
            if start > last {
                return None;
            }
            let end = match self {
                Bucket::Day => start,
                // 1970-01-01, day 0, was a Thursday: Sunday is day 3 of the week (mod 7).
                Bucket::Week => (start + (3 - start).rem_euclid(7)).min(last),
            };
            let bucket = (start, end);
            start = end + 1;
            Some(bucket)
        })
    }
}

/// A performance level of a DORA report's software delivery performance clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Elite,
    High,
    Medium,
    Low,
}

const HOUR: i64 = 3_600;
const DAY: i64 = SECONDS_PER_DAY;

impl Level {
    /// The first of elite, high and medium whose threshold is `met`; low if none is.
    fn first_met(met: [bool; 3]) -> Self {
        [Self::Elite, Self::High, Self::Medium]
            .into_iter()
            .zip(met)
            .find_map(|(level, met)| met.then_some(level))
            .unwrap_or(Self::Low)
    }
}

/// The report whose performance clusters give each metric its `level` (`?benchmark=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub enum Benchmark {
    /// Accelerate State of DevOps Report 2023: a level for each of the four keys.
    #[default]
    #[serde(rename = "2023")]
    Dora2023,
    /// Accelerate State of DevOps Report 2024: its clusters' change failure rates are not in
    /// the clusters' order (elite 5 %, high 20 %, medium 10 %, low 40 %), so that rate has no
    /// level; high and medium recover alike (under a day).
    #[serde(rename = "2024")]
    Dora2024,
}

impl Benchmark {
    /// Every benchmark by its name in `?benchmark=`.
    pub const ALL: [(&'static str, Self); 2] = [("2023", Self::Dora2023), ("2024", Self::Dora2024)];

    pub fn named(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find_map(|&(known, benchmark)| (known == name).then_some(benchmark))
    }

    /// The report, named for people.
    pub fn levels_from(self) -> &'static str {
        match self {
            Self::Dora2023 => {
                "Accelerate State of DevOps Report 2023 (DORA), https://dora.dev/research/2023/dora-report/"
            }
            Self::Dora2024 => {
                "Accelerate State of DevOps Report 2024 (DORA), https://dora.dev/research/2024/dora-report/"
            }
        }
    }

    /// Both reports: elite at least daily; high at least weekly; medium at least monthly (30
    /// days).
    pub fn deploys_per_day(self, per_day: f64) -> Level {
        Level::first_met([1.0, 1.0 / 7.0, 1.0 / 30.0].map(|at_least| per_day >= at_least))
    }

    /// Both reports: elite under a day; high under a week; medium under a month (30 days).
    pub fn lead_time(self, seconds: i64) -> Level {
        Level::first_met([DAY, 7 * DAY, 30 * DAY].map(|under| seconds < under))
    }

    /// 2023: elite at most 5 %; high at most 10 %; medium at most 15 %. 2024: none (above).
    pub fn change_failure_rate(self, rate: f64) -> Option<Level> {
        match self {
            Self::Dora2023 => Some(Level::first_met(
                [0.05, 0.10, 0.15].map(|at_most| rate <= at_most),
            )),
            Self::Dora2024 => None,
        }
    }

    /// 2023: elite under an hour; high under a day; medium under a week. 2024: elite under an
    /// hour; high under a day (medium's "under a day" too is high's); low beyond.
    pub fn recovery_time(self, seconds: i64) -> Level {
        let medium_under = match self {
            Self::Dora2023 => 7 * DAY,
            Self::Dora2024 => DAY,
        };
        Level::first_met([HOUR, DAY, medium_under].map(|under| seconds < under))
    }

    /// Neither report gives the rework rate levels.
    pub fn rework_rate(self, _rate: f64) -> Option<Level> {
        None
    }
}

/// `GET /metrics/delivery`'s body: the range as a whole, then bucket by bucket.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeliveryReport {
    pub bucket: Bucket,
    /// The benchmark chosen (`?benchmark=`).
    pub benchmark: Benchmark,
    /// The report whose performance clusters set each `level`.
    #[schema(
        example = "Accelerate State of DevOps Report 2023 (DORA), https://dora.dev/research/2023/dora-report/"
    )]
    pub levels_from: &'static str,
    /// The whole range; `null` when there is no range: no `from` or `to` and no events.
    pub total: Option<DeliveryFigures>,
    /// Every bucket of the range, empty ones included.
    pub buckets: Vec<DeliveryFigures>,
}

impl DeliveryReport {
    /// The report for the days `first..=last` (`None`: no range), from per-range figures.
    pub fn new(
        days: Option<(i64, i64)>,
        bucket: Bucket,
        benchmark: Benchmark,
        index: &DeliveryIndex,
    ) -> Self {
        let figures = |(first, last)| index.figures(first, last, benchmark);
        Self {
            bucket,
            benchmark,
            levels_from: benchmark.levels_from(),
            total: days.map(figures),
            buckets: days
                .into_iter()
                .flat_map(|(first, last)| bucket.split(first, last))
                .map(figures)
                .collect(),
        }
    }
}

/// The five metrics for one range of days, under DORA's names since 2024.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeliveryFigures {
    #[schema(value_type = String, format = Date, example = "2017-10-02")]
    pub first_day: NaiveDate,
    /// Included.
    #[schema(value_type = String, format = Date, example = "2017-10-08")]
    pub last_day: NaiveDate,
    pub days: u32,
    pub deployment_frequency: DeploymentFrequency,
    pub lead_time: LeadTime,
    pub change_failure_rate: ChangeFailureRate,
    pub failed_deployment_recovery_time: RecoveryTime,
    pub deployment_rework_rate: ReworkRate,
    /// Deprecated: `failed_deployment_recovery_time` under its name before DORA's 2023 report.
    pub time_to_restore: RecoveryTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeploymentFrequency {
    /// Deploy events on these days.
    pub deploys: u64,
    /// `deploys` over `days`.
    pub per_day: f64,
    pub level: Level,
}

impl DeploymentFrequency {
    /// `deploys` over `days` days.
    pub fn of(deploys: u64, days: u32, benchmark: Benchmark) -> Self {
        let per_day = deploys as f64 / f64::from(days);
        Self {
            deploys,
            per_day,
            level: benchmark.deploys_per_day(per_day),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LeadTime {
    /// Commits first deployed on these days whose lead time started at or before that deploy.
    pub commits: u64,
    /// Of `commits`, those whose lead time started at their commit event (a push).
    pub started_at_commit: u64,
    /// Of `commits`, those with no commit event, whose lead time started at their first stage.
    pub started_at_stage: u64,
    /// From start to first deploy; `null` without commits.
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    /// Commits first deployed on these days with no start at or before that deploy: neither a
    /// commit event nor a stage (the name is from before commit events).
    pub deployed_without_stage: u64,
    /// Commits whose lead time started on these days and not deployed by their end.
    pub pending: u64,
    /// By the median; `null` without commits.
    pub level: Option<Level>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChangeFailureRate {
    pub rollbacks: u64,
    pub deploys: u64,
    /// `rollbacks` over `deploys`; `null` without deploys.
    pub rate: Option<f64>,
    /// `null` without deploys, or when the benchmark gives this rate no level (2024).
    pub level: Option<Level>,
}

/// Failed deployment recovery time: from a rollback to its service's next deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RecoveryTime {
    /// Rollbacks on these days followed by a deploy by their end.
    pub restored: u64,
    /// From rollback to its service's next deploy; `null` without restored rollbacks.
    pub median_seconds: Option<i64>,
    /// Rollbacks on these days with no deploy after them by their end.
    pub unrestored: u64,
    pub level: Option<Level>,
}

/// Deployment rework rate: the deploys on these days that were hotfixes (the hotfix action:
/// unplanned, made because of an incident in production), over all of them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReworkRate {
    /// Hotfix events on these days; each is one of `deploys` too.
    pub hotfixes: u64,
    pub deploys: u64,
    /// `hotfixes` over `deploys`; `null` without deploys.
    pub rate: Option<f64>,
    /// Always `null`: neither benchmark gives this rate levels.
    pub level: Option<Level>,
}

/// A first deploy or a first stage that never happened.
const NEVER: i64 = i64::MAX;

/// A rollback, as time to restore needs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Rollback {
    /// Day of the next deploy strictly after the rollback, or `NEVER`.
    restored_on: i64,
    /// Seconds to that deploy (meaningless when `restored_on` is `NEVER`).
    seconds: i64,
}

/// Values grouped by day: the values of the `i`-th day are `values[offsets[i]..offsets[i + 1]]`.
#[derive(Debug)]
struct PerDay<T> {
    offsets: Vec<usize>,
    values: Vec<T>,
}

impl<T: Copy + Default> PerDay<T> {
    /// `entries` (day, value) spread over `days`, which holds every day named; each day's
    /// values in the order they come. Counted first, then placed: no list of pairs is kept.
    fn collect(days: &Days, entries: impl Iterator<Item = (i64, T)> + Clone) -> Self {
        let mut offsets = vec![0usize; days.len() + 1];
        for (day, _) in entries.clone() {
            offsets[days.position(day) + 1] += 1;
        }
        for position in 0..days.len() {
            offsets[position + 1] += offsets[position];
        }
        let mut next = offsets.clone();
        let mut values = vec![T::default(); offsets[days.len()]];
        for (day, value) in entries {
            let slot = &mut next[days.position(day)];
            values[*slot] = value;
            *slot += 1;
        }
        Self { offsets, values }
    }

    fn days(&self, positions: std::ops::Range<usize>) -> &[T] {
        &self.values[self.offsets[positions.start]..self.offsets[positions.end]]
    }

    /// Every (day, value), `days` being the days this was collected over.
    fn entries<'a>(&'a self, days: &'a [i64]) -> impl Iterator<Item = (i64, T)> + Clone + 'a {
        (days.iter().enumerate()).flat_map(move |(position, &day)| {
            self.days(position..position + 1)
                .iter()
                .map(move |&value| (day, value))
        })
    }
}

impl<T: Copy + Ord> PerDay<T> {
    fn sort_each_day(&mut self) {
        for window in self.offsets.windows(2) {
            self.values[window[0]..window[1]].sort_unstable();
        }
    }
}

/// The facts the metrics need, per UTC day that has any.
#[derive(Debug)]
pub struct DeliveryIndex {
    /// Days with a deploy, a rollback, a commit's first deploy or first stage, ascending. The
    /// other fields are indexed by position in this.
    days: Vec<i64>,
    deploys: Vec<u32>,
    /// Of those, hotfixes.
    hotfixes: Vec<u32>,
    rollbacks: Vec<u32>,
    without_stage: Vec<u32>,
    /// Commits first deployed that day whose lead time started at their commit event.
    from_commit: Vec<u32>,
    /// Lead times of the commits first deployed that day, ascending.
    leads: PerDay<i64>,
    /// Commits whose lead time started that day.
    started: Vec<u32>,
    /// For each commit that stopped being pending that day, the day its lead time started,
    /// ascending.
    resolved: PerDay<i64>,
    /// That day's rollbacks, each restored by its own service's next deploy (or not).
    restores: PerDay<Rollback>,
}

impl DeliveryIndex {
    /// Built from every event, in any order.
    pub fn build<'a>(
        events: impl IntoIterator<Item = EventView<'a>>,
        actions: &DeliveryActions,
    ) -> Self {
        let Delivered {
            commits,
            mut deploys,
            hotfixes,
            mut rollbacks,
        } = first_stages_and_deploys(events, actions);
        deploys.sort_unstable();
        rollbacks.sort_unstable();
        let restores = restores_of(&deploys, &rollbacks);
        Self::assemble(Facts {
            deploy_counts: deploys.iter().map(|&t| (day_of(t), 1)),
            hotfix_counts: hotfixes.iter().map(|&t| (day_of(t), 1)),
            restores: restores.iter().copied(),
            leads: commits
                .iter()
                .filter_map(|commit| match commit.firsts.deployed()? {
                    (day, Some((lead, _))) => Some((day, lead)),
                    (_, None) => None,
                }),
            from_commit: commits
                .iter()
                .filter_map(|commit| match commit.firsts.deployed()? {
                    (day, Some((_, Start::Commit))) => Some((day, 1)),
                    _ => None,
                }),
            without_stage: commits
                .iter()
                .filter_map(|commit| match commit.firsts.deployed()? {
                    (day, None) => Some((day, 1)),
                    (_, Some(_)) => None,
                }),
            started: commits.iter().filter_map(|commit| {
                let (day, _) = commit.firsts.started()?;
                Some((day, 1))
            }),
            resolved: commits.iter().filter_map(|commit| {
                let (day, resolved_on) = commit.firsts.started()?;
                Some((resolved_on?, day))
            }),
        })
    }

    /// Built from per-day facts, as a store that keeps them per day (DynamoDB) holds them.
    /// The days must include every day whose deploys a rollback in them may be restored by.
    /// Deploys and rollbacks carry their service (a number the caller gives each): a rollback
    /// is restored by its own service's next deploy.
    pub fn from_days(days: &[DeliveryDay]) -> Self {
        let mut deploys: Vec<(u32, Timestamp)> = days
            .iter()
            .flat_map(|d| d.deploy_times.iter().copied())
            .collect();
        let mut rollbacks: Vec<(u32, Timestamp)> = days
            .iter()
            .flat_map(|d| d.rollback_times.iter().copied())
            .collect();
        deploys.sort_unstable();
        rollbacks.sort_unstable();
        let mut restores = Vec::with_capacity(rollbacks.len());
        for service in rollbacks.chunk_by(|a, b| a.0 == b.0) {
            let of = |list: &[(u32, Timestamp)]| -> Vec<Timestamp> {
                let start = list.partition_point(|&(s, _)| s < service[0].0);
                let end = list.partition_point(|&(s, _)| s <= service[0].0);
                list[start..end].iter().map(|&(_, at)| at).collect()
            };
            restores.extend(restores_of(&of(&deploys), &of(&rollbacks)));
        }
        let repeated = |day: i64, (value, count): (i64, u32)| {
            std::iter::repeat_n((day, value), count as usize)
        };
        Self::assemble(Facts {
            deploy_counts: days.iter().map(|d| (d.day, d.deploys)),
            hotfix_counts: days.iter().map(|d| (d.day, d.hotfixes)),
            restores: restores.iter().copied(),
            leads: days
                .iter()
                .flat_map(|d| d.leads.iter().flat_map(move |&lead| repeated(d.day, lead))),
            without_stage: days.iter().map(|d| (d.day, d.deployed_without_stage)),
            from_commit: days.iter().map(|d| (d.day, d.leads_from_commit)),
            started: days.iter().map(|d| (d.day, d.started)),
            resolved: days.iter().flat_map(|d| {
                d.resolved
                    .iter()
                    .flat_map(move |&started| repeated(d.day, started))
            }),
        })
    }

    /// Every service's facts as one store's: deploys and rollbacks summed, lead times pooled
    /// into one distribution, and each rollback restored (or not) as in its own service.
    pub fn pooled(indexes: &[&DeliveryIndex]) -> Self {
        let each = || indexes.iter().copied();
        Self::assemble(Facts {
            deploy_counts: each().flat_map(|index| index.per_day(&index.deploys)),
            hotfix_counts: each().flat_map(|index| index.per_day(&index.hotfixes)),
            restores: each().flat_map(|index| index.restores.entries(&index.days)),
            leads: each().flat_map(|index| index.leads.entries(&index.days)),
            without_stage: each().flat_map(|index| index.per_day(&index.without_stage)),
            from_commit: each().flat_map(|index| index.per_day(&index.from_commit)),
            started: each().flat_map(|index| index.per_day(&index.started)),
            resolved: each().flat_map(|index| index.resolved.entries(&index.days)),
        })
    }

    /// (day, count) of a per-day count.
    fn per_day<'a>(&'a self, counts: &'a [u32]) -> impl Iterator<Item = (i64, u32)> + Clone + 'a {
        self.days.iter().copied().zip(counts.iter().copied())
    }

    fn assemble(
        facts: Facts<
            impl Iterator<Item = (i64, u32)> + Clone,
            impl Iterator<Item = (i64, u32)> + Clone,
            impl Iterator<Item = (i64, Rollback)> + Clone,
            impl Iterator<Item = (i64, i64)> + Clone,
            impl Iterator<Item = (i64, u32)> + Clone,
            impl Iterator<Item = (i64, u32)> + Clone,
            impl Iterator<Item = (i64, u32)> + Clone,
            impl Iterator<Item = (i64, i64)> + Clone,
        >,
    ) -> Self {
        let days = Days::new(
            facts
                .deploy_counts
                .clone()
                .map(|(day, _)| day)
                .chain(facts.restores.clone().map(|(day, _)| day))
                .chain(facts.leads.clone().map(|(day, _)| day))
                .chain(facts.without_stage.clone().map(|(day, _)| day))
                .chain(facts.started.clone().map(|(day, _)| day))
                .chain(facts.resolved.clone().map(|(day, _)| day)),
        );
        let counts = |per_day: &mut dyn Iterator<Item = (i64, u32)>| {
            let mut counts = vec![0u32; days.len()];
            for (day, count) in per_day {
                counts[days.position(day)] += count;
            }
            counts
        };
        let mut leads = PerDay::collect(&days, facts.leads);
        let mut resolved = PerDay::collect(&days, facts.resolved);
        leads.sort_each_day();
        resolved.sort_each_day();

        Self {
            deploys: counts(&mut facts.deploy_counts.clone()),
            hotfixes: counts(&mut facts.hotfix_counts.clone()),
            rollbacks: counts(&mut facts.restores.clone().map(|(day, _)| (day, 1))),
            without_stage: counts(&mut facts.without_stage.clone()),
            from_commit: counts(&mut facts.from_commit.clone()),
            started: counts(&mut facts.started.clone()),
            leads,
            resolved,
            restores: PerDay::collect(&days, facts.restores),
            days: days.list,
        }
    }

    /// The metrics for the days `first..=last`, with `benchmark`'s levels.
    pub fn figures(&self, first: i64, last: i64, benchmark: Benchmark) -> DeliveryFigures {
        let start = self.days.partition_point(|&day| day < first);
        let end = self.days.partition_point(|&day| day <= last);
        let positions = start..end;
        let sum = |counts: &[u32]| {
            counts[positions.clone()]
                .iter()
                .map(|&c| u64::from(c))
                .sum()
        };
        let days = (last - first + 1) as u32;

        let deploys: u64 = sum(&self.deploys);
        let hotfixes: u64 = sum(&self.hotfixes);
        let rate_of = |count: u64| (deploys > 0).then(|| count as f64 / deploys as f64);

        let leads: Vec<&[i64]> = positions
            .clone()
            .map(|p| self.leads.days(p..p + 1))
            .collect();
        let commits: u64 = leads.iter().map(|day| day.len() as u64).sum();
        let started_at_commit = sum(&self.from_commit);
        let median = nearest_rank(&leads, commits, 1, 2);
        let resolved_in_range: u64 = positions
            .clone()
            .map(|p| {
                let started_on = self.resolved.days(p..p + 1);
                (started_on.len() - started_on.partition_point(|&day| day < first)) as u64
            })
            .sum();
        // Never below 0 from facts that add up; saturating, not wrapping, if stored ones do not.
        let pending = sum(&self.started).saturating_sub(resolved_in_range);

        let rollbacks: u64 = sum(&self.rollbacks);
        let rate = rate_of(rollbacks);
        let rework_rate = rate_of(hotfixes);

        let in_range = self.restores.days(positions.clone());
        let mut restore_seconds: Vec<i64> = (in_range.iter())
            .filter(|rollback| rollback.restored_on <= last)
            .map(|rollback| rollback.seconds)
            .collect();
        let restored = restore_seconds.len();
        let restore_median = median_of(&mut restore_seconds);
        let recovery = RecoveryTime {
            restored: restored as u64,
            median_seconds: restore_median,
            unrestored: (in_range.len() - restored) as u64,
            level: restore_median.map(|seconds| benchmark.recovery_time(seconds)),
        };

        DeliveryFigures {
            first_day: date_of_day(first).expect("the caller bounds days to the calendar"),
            last_day: date_of_day(last).expect("the caller bounds days to the calendar"),
            days,
            deployment_frequency: DeploymentFrequency::of(deploys, days, benchmark),
            lead_time: LeadTime {
                commits,
                started_at_commit,
                started_at_stage: commits.saturating_sub(started_at_commit),
                median_seconds: median,
                p90_seconds: nearest_rank(&leads, commits, 9, 10),
                deployed_without_stage: sum(&self.without_stage),
                pending,
                level: median.map(|seconds| benchmark.lead_time(seconds)),
            },
            change_failure_rate: ChangeFailureRate {
                rollbacks,
                deploys,
                rate,
                level: rate.and_then(|rate| benchmark.change_failure_rate(rate)),
            },
            failed_deployment_recovery_time: recovery.clone(),
            deployment_rework_rate: ReworkRate {
                hotfixes,
                deploys,
                rate: rework_rate,
                level: rework_rate.and_then(|rate| benchmark.rework_rate(rate)),
            },
            time_to_restore: recovery,
        }
    }
}

/// What the index is assembled from: per-day counts and values as (day, value) pairs in any
/// order.
struct Facts<C, H, R, L, W, F, S, V> {
    deploy_counts: C,
    /// (day, hotfixes): each day's deploys that were hotfixes, a day that has deploys.
    hotfix_counts: H,
    /// Each rollback on its day, restored or not.
    restores: R,
    leads: L,
    without_stage: W,
    /// (first-deploy day, commits whose lead time started at their commit event).
    from_commit: F,
    /// (lead-time start day, commits).
    started: S,
    /// (day a commit stopped being pending, its lead time's start day).
    resolved: V,
}

/// Each rollback of one service on its day, with the service's next deploy strictly after it
/// (both lists sorted): one pass, as both are in time order.
fn restores_of(deploys: &[Timestamp], rollbacks: &[Timestamp]) -> Vec<(i64, Rollback)> {
    let mut next = 0;
    (rollbacks.iter())
        .map(|&at| {
            next += deploys[next..].partition_point(|&deploy| deploy <= at);
            let rollback = match deploys.get(next) {
                Some(&deploy) => Rollback {
                    restored_on: day_of(deploy),
                    seconds: deploy - at,
                },
                None => Rollback {
                    restored_on: NEVER,
                    seconds: 0,
                },
            };
            (day_of(at), rollback)
        })
        .collect()
}

/// One UTC day's delivery facts, as a store that keeps them per day holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryDay {
    pub day: i64,
    /// Deploy events that day, hotfixes included.
    pub deploys: u32,
    /// Of those, hotfixes.
    pub hotfixes: u32,
    /// Their instants, each with its service (any number the caller gives it: 0 for the
    /// days of one service); repeats may be dropped (only the next deploy of its service after
    /// a rollback is read from these).
    pub deploy_times: Vec<(u32, Timestamp)>,
    /// Every rollback that day, with its service.
    pub rollback_times: Vec<(u32, Timestamp)>,
    /// (lead time, commits) of the commits first deployed that day after their start.
    pub leads: Vec<(i64, u32)>,
    /// Of those, the commits whose lead time started at their commit event.
    pub leads_from_commit: u32,
    pub deployed_without_stage: u32,
    /// Commits whose lead time started that day.
    pub started: u32,
    /// (start day, commits) of the commits that stopped being pending that day: first
    /// deployed, or started after their deploy.
    pub resolved: Vec<(i64, u32)>,
}

/// A commit's firsts, and where it stands among pushed commits if it was pushed.
struct Commit<'a> {
    sha: &'a Sha,
    firsts: Firsts,
    pushed: Option<PushOrder>,
}

/// What the events say of delivery, before it is counted by day.
struct Delivered<'a> {
    /// Every commit with a commit event, a stage or a deploy, each pushed one shipped by the
    /// deploys of those pushed after it.
    commits: Vec<Commit<'a>>,
    /// The instants of every deploy (hotfixes included), hotfix and rollback.
    deploys: Vec<Timestamp>,
    hotfixes: Vec<Timestamp>,
    rollbacks: Vec<Timestamp>,
}

fn first_stages_and_deploys<'a>(
    events: impl IntoIterator<Item = EventView<'a>>,
    actions: &DeliveryActions,
) -> Delivered<'a> {
    let hasher = RandomState::default();
    // Positions in `commits`, found by SHA.
    let mut positions: HashTable<u32> = HashTable::new();
    let mut commits: Vec<Commit<'a>> = Vec::new();
    let mut deploys = Vec::new();
    let mut hotfixes = Vec::new();
    let mut rollbacks = Vec::new();
    for event in events {
        let Some(kind) = actions.kind_of(event.action) else {
            continue;
        };
        match kind {
            DeliveryKind::Deploy => deploys.push(event.timestamp),
            DeliveryKind::Hotfix => {
                deploys.push(event.timestamp);
                hotfixes.push(event.timestamp);
            }
            DeliveryKind::Rollback => {
                rollbacks.push(event.timestamp);
                continue;
            }
            DeliveryKind::Stage | DeliveryKind::Commit => {}
        }
        let hash = hasher.hash_one(event.sha);
        let position = match positions.find(hash, |&p| commits[p as usize].sha == event.sha) {
            Some(&position) => position as usize,
            None => {
                commits.push(Commit {
                    sha: event.sha,
                    firsts: Firsts::default(),
                    pushed: None,
                });
                let position = commits.len() - 1;
                positions.insert_unique(hash, position as u32, |&p| {
                    hasher.hash_one(commits[p as usize].sha)
                });
                position
            }
        };
        let commit = &mut commits[position];
        match kind {
            DeliveryKind::Commit => {
                let place = PushOrder {
                    at: event.timestamp,
                    id: event.id,
                };
                commit.pushed = Some(place.first_recorded(commit.pushed));
            }
            kind => commit.firsts = commit.firsts.after(kind, event.timestamp),
        }
    }
    let mut pushed: Vec<(PushOrder, &mut Firsts)> = (commits.iter_mut())
        .filter_map(|commit| {
            let place = commit.pushed?;
            commit.firsts = commit.firsts.after(DeliveryKind::Commit, place.at);
            Some((place, &mut commit.firsts))
        })
        .collect();
    ship_earlier_commits(&mut pushed);
    Delivered {
        commits,
        deploys,
        hotfixes,
        rollbacks,
    }
}

/// The days that have any fact, ascending, and each one's position in that list.
#[derive(Default)]
struct Days {
    list: Vec<i64>,
    first: i64,
    /// By day from `first`: the day's position in `list`. Days span at most 1970–9999, so
    /// this is at most 2.9 M entries, and a few hundred for a year of events.
    positions: Vec<u32>,
}

impl Days {
    fn new(days: impl Iterator<Item = i64> + Clone) -> Self {
        let (first, last) = days.clone().fold((i64::MAX, i64::MIN), |(lo, hi), day| {
            (lo.min(day), hi.max(day))
        });
        if first > last {
            return Self::default();
        }
        let mut present = vec![false; (last - first + 1) as usize];
        for day in days {
            present[(day - first) as usize] = true;
        }
        let mut list = Vec::new();
        let mut positions = vec![u32::MAX; present.len()];
        for (offset, _) in present.iter().enumerate().filter(|(_, here)| **here) {
            positions[offset] = list.len() as u32;
            list.push(first + offset as i64);
        }
        Self {
            list,
            first,
            positions,
        }
    }

    /// The position of `day`, which must be one of the days given.
    fn position(&self, day: i64) -> usize {
        let position = self.positions[(day - self.first) as usize];
        debug_assert_ne!(position, u32::MAX, "every day named is in the list");
        position as usize
    }

    fn len(&self) -> usize {
        self.list.len()
    }
}

/// The ⌈n·numerator/denominator⌉-th smallest of `n` values held in sorted runs; `None` if
/// `n` is 0. Found by bisecting on the value: each step counts the values at most the middle,
/// searching each run only between where the answer's bounds already fall in it.
fn nearest_rank(runs: &[&[i64]], n: u64, numerator: u64, denominator: u64) -> Option<i64> {
    if n == 0 {
        return None;
    }
    let rank = (n * numerator).div_ceil(denominator).max(1);
    let mut non_empty = runs.iter().filter(|run| !run.is_empty());
    if let (Some(run), None) = (non_empty.next(), non_empty.next()) {
        return Some(run[rank as usize - 1]);
    }
    let (mut low, mut high) = (
        runs.iter().filter_map(|run| run.first()).copied().min()?,
        runs.iter().filter_map(|run| run.last()).copied().max()?,
    );
    // In each run, the values below `low` and those at most `high`.
    let mut below_low = vec![0usize; runs.len()];
    let mut up_to_high: Vec<usize> = runs.iter().map(|run| run.len()).collect();
    let mut at_most = vec![0usize; runs.len()];
    // The smallest value v with at least `rank` values ≤ v.
    while low < high {
        let middle = low + (high - low) / 2;
        let mut count = 0u64;
        for (i, run) in runs.iter().enumerate() {
            let window = &run[below_low[i]..up_to_high[i]];
            at_most[i] = below_low[i] + window.partition_point(|&value| value <= middle);
            count += at_most[i] as u64;
        }
        if count >= rank {
            high = middle;
            up_to_high.copy_from_slice(&at_most);
        } else {
            low = middle + 1;
            below_low.copy_from_slice(&at_most);
        }
    }
    Some(low)
}

/// The nearest-rank median (the ⌈n/2⌉-th smallest); `None` for no values.
fn median_of(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let rank = values.len().div_ceil(2);
    Some(*values.select_nth_unstable(rank - 1).1)
}
