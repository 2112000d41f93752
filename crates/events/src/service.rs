//! Which service an event belongs to: a name as the code host spells the repository
//! (`owner/repo`, a GitLab group path), compared exactly. One rule for every way a name comes in.

/// The service of an event that names none, unless the operator configures another.
pub const DEFAULT_SERVICE: &str = "default";
pub const MAX_SERVICE_CHARS: usize = 255;

/// Whether `name` is a service name: at most `MAX_SERVICE_CHARS` letters, digits, `.`, `_` and
/// `-`, in segments joined by single `/`s, none of them empty, `.` or `..`, so that `owner/repo`
/// has one spelling (not also `owner/repo/` or `owner//repo`). ASCII only: characters and bytes
/// count the same, and every key holding a name stays far inside DynamoDB's limits.
pub fn is_service_name(name: &str) -> bool {
    name.len() <= MAX_SERVICE_CHARS
        && name.split('/').all(|segment| {
            !matches!(segment, "" | "." | "..")
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

/// The rule in a sentence, for every message that refuses a name.
pub const SERVICE_RULE: &str = "1 to 255 letters, digits, '.', '_' or '-' in segments joined by \
     single '/'s, none of them '.' or '..' (such as owner/repo)";

/// The rule as a regular expression, with `maxLength` 255 beside it: the OpenAPI description's
/// pattern, and Terraform's check. No lookahead (RE2 has none): a segment starts with a
/// character other than `.`, or is `.` and then one, or `..` and then anything.
pub const SERVICE_PATTERN: &str = "^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|[.][A-Za-z0-9_-][A-Za-z0-9._-]*|[.][.][A-Za-z0-9._-]+)(?:/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|[.][A-Za-z0-9_-][A-Za-z0-9._-]*|[.][.][A-Za-z0-9._-]+))*$";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The pattern says what the rule checks: the same answer for names of the rule's
        /// characters, dots and slashes crowded in.
        #[test]
        fn the_pattern_and_the_rule_agree(name in "[a-zA-Z0-9_./-]{0,12}|[./a]{0,8}|[a-z]{250,260}") {
            let pattern = regex::Regex::new(SERVICE_PATTERN).unwrap();
            let by_pattern = pattern.is_match(&name) && name.len() <= MAX_SERVICE_CHARS;
            prop_assert_eq!(is_service_name(&name), by_pattern, "{:?}", name);
        }
    }

    #[test]
    fn names_of_code_hosts_fit_and_others_do_not() {
        for name in [
            "default",
            "octo-org/octo-repo",
            "group/sub.group/my_project",
            "a",
            ".github",
            "a/..b",
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
            "/leading",
            "trailing/",
            "double//slash",
            ".",
            "..",
            "a/./b",
            "a/../b",
            "owner/..",
        ] {
            assert!(!is_service_name(name), "{name}");
        }
    }
}
