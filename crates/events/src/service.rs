//! Which service an event belongs to: a name as the code host spells the repository
//! (`owner/repo`, a GitLab group path), compared exactly. One rule for every way a name comes in.

/// The service of an event that names none, unless the operator configures another.
pub const DEFAULT_SERVICE: &str = "default";
pub const MAX_SERVICE_CHARS: usize = 255;

/// Whether `name` is a service name: 1 to `MAX_SERVICE_CHARS` letters, digits, `.`, `_`, `-`
/// or `/`. ASCII only, so characters and bytes count the same and every key holding it stays
/// far inside DynamoDB's limits.
pub fn is_service_name(name: &str) -> bool {
    (1..=MAX_SERVICE_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
}

/// The rule in a sentence, for every message that refuses a name.
pub const SERVICE_RULE: &str =
    "1 to 255 letters, digits, '.', '_', '-' or '/' (such as owner/repo)";

/// The rule as a JSON Schema pattern, for the OpenAPI description.
pub const SERVICE_PATTERN: &str = "^[A-Za-z0-9._/-]{1,255}$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_code_hosts_fit_and_others_do_not() {
        for name in [
            "default",
            "octo-org/octo-repo",
            "group/sub.group/my_project",
            "a",
            &"x".repeat(255),
        ] {
            assert!(is_service_name(name), "{name}");
        }
        for name in [
            "",
            &"x".repeat(256),
            "has space",
            "naïve",
            "semi;colon",
            "hash#",
            "tab\t",
        ] {
            assert!(!is_service_name(name), "{name}");
        }
    }
}
