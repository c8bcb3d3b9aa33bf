//! Validation of post-login redirect targets (`next`).
//!
//! keg-auth's `is_safe_url` lets `/\evil.com` through: browsers read a
//! backslash as a slash, so that is `//evil.com`, another origin. kegauth
//! accepts only same-origin relative paths and checks the text a browser would
//! act on: after percent-decoding (repeatedly, to catch double encoding) and
//! with control characters (which browsers strip) refused outright.

use percent_encoding::percent_decode_str;
use rocket::http::uri::Origin;

/// The open-redirect payloads of SECURITY-CHECKLIST row 38: `safe_next`
/// refuses every one. Public so that apps can run them against their own
/// login flows in tests.
pub const OPEN_REDIRECT_PAYLOADS: &[&str] = &[
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "/\\/evil.com",
    "https:evil.com",
    "http:/\\/evil.com",
    "https://evil.com",
    "//evil.com@good.com",
    "http://good\\@evil.com",
    "/%09/evil.com",
    "/\t/evil.com",
    "%2F%2Fevil.com",
    "%252F%252Fevil.com",
    "/%5Cevil.com",
    "javascript:alert(1)",
    "java\nscript:",
    "\x08//evil.com",
    "data:text/html,x",
    "http:999999999",
];

/// Longest `next` accepted.
pub const MAX_NEXT_LEN: usize = 2048;

fn bad_prefix(s: &str) -> bool {
    let mut chars = s.chars();
    // One leading slash, not followed by another slash or a backslash.
    chars.next() != Some('/') || matches!(chars.next(), Some('/' | '\\'))
}

/// `Some(target)` when `next` is a same-origin relative path safe to redirect to.
///
/// ```
/// use kegauth::next::safe_next;
/// assert_eq!(safe_next("/view/?p=http://evil.com").as_deref(), Some("/view/?p=http://evil.com"));
/// assert_eq!(safe_next("/\\evil.com"), None);
/// assert_eq!(safe_next("//evil.com"), None);
/// assert_eq!(safe_next("https://evil.com"), None);
/// assert_eq!(safe_next("/%09/evil.com"), None);
/// ```
pub fn safe_next(next: &str) -> Option<String> {
    if next.is_empty() || next.len() > MAX_NEXT_LEN {
        return None;
    }
    // The raw text is what the browser reads from `Location`: no whitespace at all.
    if next.chars().any(char::is_whitespace) {
        return None;
    }
    let mut text = next.to_string();
    // Decode until stable (bounded), checking every layer: a layer with a
    // control character (browsers strip tabs and newlines), a backslash or a
    // second leading slash is refused.
    for _ in 0..4 {
        if bad_prefix(&text) || text.contains('\\') || text.chars().any(char::is_control) {
            return None;
        }
        let decoded = percent_decode_str(&text).decode_utf8().ok()?.into_owned();
        if decoded == text {
            break;
        }
        text = decoded;
    }
    // It must also be what Rocket will put in `Location`: an origin-form URI.
    let origin = Origin::parse(next).ok()?;
    if origin.path().as_str().is_empty() {
        return None;
    }
    Some(next.to_string())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    /// SECURITY-CHECKLIST row 38: every payload is refused.
    #[test]
    fn checklist_redirect_payloads_are_refused() {
        let more = [
            // beyond the checklist, of the same families
            "/%2F/evil.com",
            "/%252F/evil.com",
            "/%5C%5Cevil.com",
            " /evil",
            "/ /evil.com",
            "",
        ];
        let payloads = super::OPEN_REDIRECT_PAYLOADS.iter().chain(&more);
        for p in payloads {
            assert_eq!(safe_next(p), None, "{p:?} must be refused");
        }
        let long = format!("/{}", "a".repeat(super::MAX_NEXT_LEN));
        assert_eq!(safe_next(&long), None);
    }

    #[test]
    fn same_origin_paths_pass() {
        for ok in [
            "/view/?p=http://evil.com",
            "/",
            "/secret1",
            "/users?page=2&sort=-email",
            "/a%20b",
            "/caf%C3%A9",
        ] {
            assert_eq!(safe_next(ok).as_deref(), Some(ok), "{ok:?} must pass");
        }
    }
}
