use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use super::store::EventStore;

/// Each day's summary as JSON, rendered once. A day's object depends only on the data (its
/// `change` is from the previous calendar day, whatever the range), and the store never
/// changes, so a response is these fragments joined. Built on the first render, not when the
/// store loads: the cold start does not pay for it.
#[derive(Default)]
pub struct DailyJson {
    active_days: OnceLock<HashMap<i64, Box<str>>>,
}

impl DailyJson {
    /// `{"days":[…]}` for the days `first..=last` (days since the Unix epoch, see `day_of`).
    pub fn render(&self, store: &EventStore, first: i64, last: i64) -> Vec<u8> {
        let active = self.active_days.get_or_init(|| {
            store
                .days_with_activity()
                .filter_map(|day| Some((day, render_day(store, day)?.into_boxed_str())))
                .collect()
        });
        let mut out = Vec::with_capacity(16 + (last - first + 1).max(0) as usize * 200);
        out.extend_from_slice(b"{\"days\":[");
        for day in first..=last {
            let fragment: Cow<'_, str> = match active.get(&day) {
                Some(fragment) => Cow::Borrowed(fragment),
                None => match render_day(store, day) {
                    Some(fragment) => Cow::Owned(fragment),
                    None => continue,
                },
            };
            if out.last() != Some(&b'[') {
                out.push(b',');
            }
            out.extend_from_slice(fragment.as_bytes());
        }
        out.extend_from_slice(b"]}");
        out
    }
}

fn render_day(store: &EventStore, day: i64) -> Option<String> {
    let summary = store.day_summary(day)?;
    Some(serde_json::to_string(&summary).expect("a day summary serializes"))
}
