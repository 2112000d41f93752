use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Each day's summary as JSON, rendered once. A day's object depends only on the data (its
/// `change` is from the previous calendar day, whatever the range), and the store never
/// changes, so a response is these fragments joined. Filled on the first render, not when the
/// store loads: the cold start does not pay for it.
#[derive(Debug, Default)]
pub struct DailyJson {
    active_days: OnceLock<HashMap<i64, Box<str>>>,
}

impl DailyJson {
    /// `{"days":[…]}` for the days `first..=last` (days since the Unix epoch). `render_day`
    /// renders one day; `active_days` lists the days worth keeping rendered (the others are
    /// all zeros and rendered when asked).
    pub fn render(
        &self,
        first: i64,
        last: i64,
        render_day: impl Fn(i64) -> Option<String>,
        active_days: impl FnOnce() -> Vec<i64>,
    ) -> Vec<u8> {
        let active = self.active_days.get_or_init(|| {
            active_days()
                .into_iter()
                .filter_map(|day| Some((day, render_day(day)?.into_boxed_str())))
                .collect()
        });
        let mut out = Vec::with_capacity(16 + (last - first + 1).max(0) as usize * 200);
        out.extend_from_slice(b"{\"days\":[");
        for day in first..=last {
            let fragment: Cow<'_, str> = match active.get(&day) {
                Some(fragment) => Cow::Borrowed(fragment),
                None => match render_day(day) {
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
