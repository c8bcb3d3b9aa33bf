//! Password policy: the checks a new password must pass when it is set through
//! a reset or verification link (and, later, the CLI and admin forms).

use crate::password::MAX_PASSWORD_BYTES;

/// Checks a new password. Return one message per failed check; none means the
/// password is acceptable.
///
/// ```
/// use kegauth::policy::{DefaultPolicy, PasswordPolicy};
/// let policy = DefaultPolicy::default();
/// assert!(policy.check("correct horse battery staple", "ann@example.com").is_empty());
/// assert_eq!(policy.check("short", "ann@example.com"),
///            vec!["Password must be at least 8 characters long.".to_string()]);
/// ```
pub trait PasswordPolicy: Send + Sync + 'static {
    /// The problems with `password` for the user whose login id is `login_id`.
    fn check(&self, password: &str, login_id: &str) -> Vec<String>;
}

/// keg-auth's default policy: at least `min_length` characters (8), and no
/// composition rules (NIST 800-63B). Passwords longer than
/// [`MAX_PASSWORD_BYTES`] are refused as a denial-of-service guard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultPolicy {
    /// The fewest characters (Unicode scalar values) a password may have.
    pub min_length: usize,
}

impl Default for DefaultPolicy {
    fn default() -> Self {
        DefaultPolicy { min_length: 8 }
    }
}

impl PasswordPolicy for DefaultPolicy {
    fn check(&self, password: &str, _login_id: &str) -> Vec<String> {
        let mut errors = Vec::new();
        if password.chars().count() < self.min_length {
            errors.push(format!(
                "Password must be at least {} characters long.",
                self.min_length
            ));
        }
        if password.len() > MAX_PASSWORD_BYTES {
            errors.push(format!(
                "Password must be at most {MAX_PASSWORD_BYTES} bytes long."
            ));
        }
        errors
    }
}

impl<F> PasswordPolicy for F
where
    F: Fn(&str, &str) -> Vec<String> + Send + Sync + 'static,
{
    fn check(&self, password: &str, login_id: &str) -> Vec<String> {
        self(password, login_id)
    }
}
