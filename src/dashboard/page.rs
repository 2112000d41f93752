//! The dashboard page: one HTML file with its style and script inside, and the
//! Content-Security-Policy that lets it run those two and call its own origin, nothing else.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

pub const PAGE: &str = include_str!("page.html");

/// Nothing from elsewhere: the page's own style and script (by their SHA-256), requests to its
/// own origin, and no framing, plugins, forms posted elsewhere or base rewritten.
pub static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = |tag: &str| {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        let start = PAGE.find(&open).expect("the page has its element") + open.len();
        let end = start + PAGE[start..].find(&close).expect("the element ends");
        format!(
            "'sha256-{}'",
            STANDARD.encode(Sha256::digest(&PAGE[start..end]))
        )
    };
    format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; img-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hash("script"),
        hash("style")
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_one_script_and_one_style_and_loads_nothing() {
        assert_eq!(PAGE.matches("<script").count(), 1);
        assert_eq!(PAGE.matches("<style").count(), 1);
        for elsewhere in ["http://", "https://", "src=", "href=", "@import", "url("] {
            let outside = PAGE.replace("http://www.w3.org/2000/svg", "");
            assert!(!outside.contains(elsewhere), "{elsewhere}");
        }
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none'; script-src 'sha256-"));
    }
}
