//! A delivery metric as a small SVG badge for a README: a grey label, then the figure and its
//! level on the level's colour ("deploys/week | 12 · elite").

use crate::events::{DeliveryFigures, Level};

/// The metrics a badge shows, by their names in `/metrics/delivery`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadgeMetric {
    DeploymentFrequency,
    LeadTime,
    ChangeFailureRate,
    RecoveryTime,
    ReworkRate,
}

impl BadgeMetric {
    /// `time_to_restore`, the recovery time's older name, is one too.
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "deployment_frequency" => Self::DeploymentFrequency,
            "lead_time" => Self::LeadTime,
            "change_failure_rate" => Self::ChangeFailureRate,
            "failed_deployment_recovery_time" | "time_to_restore" => Self::RecoveryTime,
            "deployment_rework_rate" => Self::ReworkRate,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::DeploymentFrequency => "deploys/week",
            Self::LeadTime => "lead time",
            Self::ChangeFailureRate => "change failure rate",
            Self::RecoveryTime => "recovery time",
            Self::ReworkRate => "rework rate",
        }
    }

    /// The figure as the badge writes it (`None`: no data) and its level, if it has one.
    pub fn reading(self, figures: &DeliveryFigures) -> (Option<String>, Option<Level>) {
        match self {
            Self::DeploymentFrequency => {
                let frequency = &figures.deployment_frequency;
                (
                    Some(decimal(frequency.per_day * 7.0)),
                    Some(frequency.level),
                )
            }
            Self::LeadTime => {
                let lead = &figures.lead_time;
                (lead.median_seconds.map(duration), lead.level)
            }
            Self::ChangeFailureRate => {
                let failures = &figures.change_failure_rate;
                (failures.rate.map(percent), failures.level)
            }
            Self::RecoveryTime => {
                let recovery = &figures.failed_deployment_recovery_time;
                (recovery.median_seconds.map(duration), recovery.level)
            }
            Self::ReworkRate => {
                let rework = &figures.deployment_rework_rate;
                (rework.rate.map(percent), rework.level)
            }
        }
    }

    /// The badge: its text is `label`, then the figure ("no data" without one) and the level.
    pub fn svg(self, figures: &DeliveryFigures) -> String {
        let (figure, level) = self.reading(figures);
        let value = match (figure, level) {
            (None, _) => return self.without_data(),
            (Some(figure), None) => figure,
            (Some(figure), Some(level)) => format!("{figure} · {}", level_name(level)),
        };
        render(self.label(), &value, colour(level))
    }

    /// The badge of a store without events and a request without a range.
    pub fn without_data(self) -> String {
        render(self.label(), "no data", colour(None))
    }
}

pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::Elite => "elite",
        Level::High => "high",
        Level::Medium => "medium",
        Level::Low => "low",
    }
}

/// Each with white text at a contrast of 4.5:1 or more (WCAG AA).
fn colour(level: Option<Level>) -> &'static str {
    match level {
        Some(Level::Elite) => "#1a7f37",
        Some(Level::High) => "#3b6e1f",
        Some(Level::Medium) => "#9a6700",
        Some(Level::Low) => "#b42318",
        None => "#57606a",
    }
}

/// At most one decimal, none when it is 0: `12`, `0.5`, `3.5`.
fn decimal(value: f64) -> String {
    let tenths = (value * 10.0).round() / 10.0;
    match tenths.fract() == 0.0 {
        true => format!("{tenths:.0}"),
        false => format!("{tenths:.1}"),
    }
}

fn percent(rate: f64) -> String {
    format!("{} %", decimal(rate * 100.0))
}

/// In the largest unit that keeps it at 1 or more, once rounded: `45 s`, `12 min`, `3.5 h`,
/// `2 d` (and 23 h 59 min 59 s is `1 d`, not `24 h`).
fn duration(seconds: i64) -> String {
    let seconds = seconds as f64;
    let hours = (seconds / 3_600.0 * 10.0).round() / 10.0;
    match seconds {
        s if s < 60.0 => format!("{s} s"),
        s if s < 3_600.0 => format!("{} min", (s / 60.0).floor()),
        _ if hours < 24.0 => format!("{} h", decimal(hours)),
        s => format!("{} d", decimal(s / 86_400.0)),
    }
}

/// Pixels a text of 11 px Verdana takes, near enough for the box around it (Verdana averages
/// under 7 px a character at that size; every text here is ASCII but for the middle dot).
fn width(text: &str) -> usize {
    text.chars().count() * 7 + 10
}

fn render(label: &str, value: &str, colour: &str) -> String {
    let (label_width, value_width) = (width(label), width(value));
    let total = label_width + value_width;
    let (label, value) = (escape(label), escape(value));
    format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {value}">"##,
            r##"<title>{label}: {value}</title>"##,
            r##"<rect width="{label_width}" height="20" fill="#3d444d"/>"##,
            r##"<rect x="{label_width}" width="{value_width}" height="20" fill="{colour}"/>"##,
            r##"<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">"##,
            r##"<text x="{label_middle}" y="14">{label}</text><text x="{value_middle}" y="14">{value}</text>"##,
            "</g></svg>\n"
        ),
        total = total,
        label = label,
        value = value,
        label_width = label_width,
        value_width = value_width,
        colour = colour,
        label_middle = label_width / 2,
        value_middle = label_width + value_width / 2,
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_written_in_their_units() {
        assert_eq!(decimal(12.0), "12");
        assert_eq!(decimal(0.46), "0.5");
        assert_eq!(percent(0.0365), "3.7 %");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(1_430), "23 min");
        assert_eq!(duration(3 * 3_600 + 1_800), "3.5 h");
        assert_eq!(duration(2 * 86_400), "2 d");
        assert_eq!(duration(86_399), "1 d");
    }

    #[test]
    fn text_is_escaped() {
        let svg = render("a<b", "\"&\"", "#000");
        assert!(
            svg.contains("a&lt;b") && svg.contains("&quot;&amp;&quot;"),
            "{svg}"
        );
    }
}
