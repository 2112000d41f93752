//! A deterministic generator of pipeline events: the built-in sample dataset and the large
//! stores benchmarks need come from here, so both can be rebuilt bit for bit from a seed.

use std::io::{self, Write};

use super::load::RawEvent;
use super::model::Timestamp;

const FIRST_NAMES: [&str; 24] = [
    "ada", "bjorn", "chen", "dana", "emeka", "farah", "goran", "hana", "ivan", "jia", "kofi",
    "lena", "mateo", "nadia", "omar", "priya", "quinn", "rosa", "sami", "tomas", "uma", "vera",
    "wei", "yusuf",
];
const LAST_NAMES: [&str; 8] = [
    "almeida", "berg", "costa", "dubois", "eriksen", "fischer", "garcia", "haddad",
];

/// What to generate. Each change is staged, usually deployed a few minutes later with the same
/// sha, and now and then rolled back; work happens in office hours, mostly on weekdays.
#[derive(Debug, Clone)]
pub struct GeneratorSettings {
    pub seed: u64,
    pub engineers: usize,
    /// Midnight UTC of the first day.
    pub start: Timestamp,
    pub days: u32,
    /// Approximate number of events wanted.
    pub events: usize,
    /// How many services the changes are spread over (`service_name`); with one, records
    /// name none (they take the loader's default).
    pub services: usize,
}

impl Default for GeneratorSettings {
    /// The built-in sample: 36 engineers over six weeks from Monday 2017-10-02.
    fn default() -> Self {
        Self {
            seed: 2017,
            engineers: 36,
            start: 1_506_902_400,
            days: 42,
            events: 1_500,
            services: 1,
        }
    }
}

/// Generates events sorted by time, with ids counting up from 1 in that order.
pub fn generate(settings: &GeneratorSettings) -> Vec<RawEvent> {
    let mut rng = SplitMix64(settings.seed);
    let names: Vec<String> = (0..settings.engineers.max(1)).map(engineer_name).collect();
    let mut events: Vec<(Timestamp, String, &'static str, usize, usize)> =
        Vec::with_capacity(settings.events + settings.events / 8);

    while events.len() < settings.events {
        let day = rng.below(u64::from(settings.days.max(1))) as i64;
        let weekday = (day + weekday_of(settings.start)) % 7;
        // Weekends see a tenth of the work.
        if weekday >= 5 && rng.below(10) != 0 {
            continue;
        }
        let engineer = rng.below(names.len() as u64) as usize;
        let seconds = 7 * 3600 + rng.below(11 * 3600) as i64;
        let staged = settings.start + day * 86_400 + seconds;
        let sha = rng.sha();
        // One service draws nothing, so that the sample stays what it was before services.
        let service = match settings.services {
            0 | 1 => 0,
            n => rng.below(n as u64) as usize,
        };
        events.push((staged, sha.clone(), "stage", engineer, service));
        if rng.below(100) < 85 {
            let deployed = staged + 300 + rng.below(3300) as i64;
            events.push((deployed, sha.clone(), "deploy", engineer, service));
            if rng.below(100) < 4 {
                let rolled_back = deployed + 120 + rng.below(1800) as i64;
                events.push((rolled_back, sha, "rollback", engineer, service));
            }
        }
    }
    events.sort_by(|a, b| (a.0, a.2).cmp(&(b.0, b.2)));
    events
        .into_iter()
        .enumerate()
        .map(|(index, (date, sha, action, engineer, service))| RawEvent {
            id: index as u64 + 1,
            sha,
            date,
            action: action.to_owned(),
            engineer: names[engineer].clone(),
            service: (settings.services > 1).then(|| service_name(service)),
        })
        .collect()
}

/// The `index`-th generated service: `team-<index / 10>/service-<index>`.
pub fn service_name(index: usize) -> String {
    format!("team-{}/service-{index:03}", index / 10)
}

/// Writes records as JSON lines, the pipeline's export format.
pub fn write_json_lines(records: &[RawEvent], mut out: impl Write) -> io::Result<()> {
    for record in records {
        serde_json::to_writer(&mut out, record)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn engineer_name(index: usize) -> String {
    let first = FIRST_NAMES[index % FIRST_NAMES.len()];
    let last = LAST_NAMES[(index / FIRST_NAMES.len() + index) % LAST_NAMES.len()];
    match index / (FIRST_NAMES.len() * LAST_NAMES.len()) {
        0 => format!("{first}.{last}"),
        n => format!("{first}.{last}{n}"),
    }
}

/// 0 = Monday.
fn weekday_of(timestamp: Timestamp) -> i64 {
    // 1970-01-01 was a Thursday.
    (timestamp.div_euclid(86_400) + 3).rem_euclid(7)
}

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, and its output never changes between
/// versions, which a seeded dataset needs more than statistical quality.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn sha(&mut self) -> String {
        format!(
            "{:016x}{:016x}{:08x}",
            self.next(),
            self.next(),
            self.next() as u32
        )
    }
}
