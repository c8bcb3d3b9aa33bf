//! Password policy: the checks a new password must pass when it is set through
//! a reset or verification link, the CLI's `set-password`, and (later) the
//! admin forms. One policy serves them all: set it with
//! `AuthManager::builder().password_policy(..)`.

use crate::core::password::MAX_PASSWORD_BYTES;
use crate::services::i18n::Translator;

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

    /// The problems in the language of `tr` (kegauth calls this one, with
    /// the request's language). By default [`check`](Self::check)'s
    /// messages, as they are; kegauth's policies translate theirs.
    ///
    /// ```
    /// use kegauth::i18n::Translator;
    /// use kegauth::policy::{DefaultPolicy, PasswordPolicy};
    /// let es = Translator::english().with_lang("es");
    /// assert_eq!(DefaultPolicy::default().check_in("corta", "ann", &es),
    ///            vec!["La contraseña debe tener al menos 8 caracteres.".to_string()]);
    /// ```
    fn check_in(&self, password: &str, login_id: &str, tr: &Translator) -> Vec<String> {
        let _ = tr;
        self.check(password, login_id)
    }

    /// This policy's checks, then `other`'s (an app's own checks on top of
    /// kegauth's).
    ///
    /// ```
    /// use kegauth::policy::{DefaultPolicy, PasswordPolicy};
    /// let policy = DefaultPolicy::default().and(|password: &str, _login: &str| {
    ///     if password.to_lowercase().contains("acme") {
    ///         vec!["Password must not contain the company name.".to_string()]
    ///     } else {
    ///         vec![]
    ///     }
    /// });
    /// assert_eq!(policy.check("acme", "ann").len(), 2);
    /// ```
    fn and<P: PasswordPolicy>(self, other: P) -> Both<Self, P>
    where
        Self: Sized,
    {
        Both(self, other)
    }
}

/// Two policies, one after the other (see [`PasswordPolicy::and`]).
#[derive(Clone, Copy, Debug)]
pub struct Both<A, B>(pub A, pub B);

impl<A: PasswordPolicy, B: PasswordPolicy> PasswordPolicy for Both<A, B> {
    fn check(&self, password: &str, login_id: &str) -> Vec<String> {
        self.check_in(password, login_id, &Translator::english())
    }

    fn check_in(&self, password: &str, login_id: &str, tr: &Translator) -> Vec<String> {
        let mut errors = self.0.check_in(password, login_id, tr);
        errors.extend(self.1.check_in(password, login_id, tr));
        errors
    }
}

/// keg-auth's extended policy: the default length check, at least three of
/// the four character classes (lowercase, uppercase, digits, others), and not
/// containing the login id, case-insensitively (for an email address, its
/// local part).
///
/// Composition rules are not what NIST 800-63B recommends; the default
/// policy has none. This one is for apps whose rules require them.
///
/// ```
/// use kegauth::policy::{ExtendedPolicy, PasswordPolicy};
/// let policy = ExtendedPolicy::default();
/// assert!(policy.check("Tr0ub4dor&3", "ann@example.com").is_empty());
/// assert_eq!(policy.check("alllowercase", "ann@example.com"),
///            vec!["Password must include at least 3 of lowercase letter, uppercase letter, number and/or symbol.".to_string()]);
/// assert_eq!(policy.check("Ann-Secret-99", "ann@example.com"),
///            vec!["Password may not contain username.".to_string()]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExtendedPolicy {
    /// The length check.
    pub base: DefaultPolicy,
}

impl PasswordPolicy for ExtendedPolicy {
    fn check(&self, password: &str, login_id: &str) -> Vec<String> {
        self.check_in(password, login_id, &Translator::english())
    }

    fn check_in(&self, password: &str, login_id: &str, tr: &Translator) -> Vec<String> {
        // The login name check below is stricter (any length): not twice.
        let base = DefaultPolicy {
            refuse_login_name: false,
            ..self.base
        };
        let mut errors = base.check_in(password, login_id, tr);
        let classes = [
            password.chars().any(char::is_lowercase),
            password.chars().any(char::is_uppercase),
            password.chars().any(|c| c.is_numeric()),
            password
                .chars()
                .any(|c| !c.is_lowercase() && !c.is_uppercase() && !c.is_numeric()),
        ];
        if classes.iter().filter(|c| **c).count() < 3 {
            errors.push(tr.t("policy-classes"));
        }
        if contains_login_name(password, login_id, 1) {
            errors.push(tr.t("policy-no-username"));
        }
        errors
    }
}

/// A login id's name: the whole id, or an email address's local part,
/// trimmed and lowercased.
fn login_name(login_id: &str) -> String {
    login_id
        .split('@')
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase()
}

/// Whether `password` contains the login name (case-insensitively), for
/// names of at least `min_chars` characters.
fn contains_login_name(password: &str, login_id: &str, min_chars: usize) -> bool {
    let name = login_name(login_id);
    name.chars().count() >= min_chars.max(1) && password.to_lowercase().contains(&name)
}

/// Characters of a password the strength estimate looks at (the estimate
/// grows steeply with length; a password weak in its first 100 characters
/// is weak).
#[cfg(feature = "password-strength")]
const STRENGTH_CHARS: usize = 100;

/// kegauth's default policy, as NIST 800-63B asks: at least `min_length`
/// characters (8), no composition rules, and a check against common and
/// easily guessed passwords: the password must reach a
/// [zxcvbn](https://docs.rs/zxcvbn) score of `min_strength` (2: more than a
/// million guesses; zxcvbn knows 30,000 common passwords, names, words,
/// dates, keyboard walks and l33t speak), and must not contain the login name
/// (an email address's local part) when that has 4 characters or more.
/// The strength check needs the `password-strength` feature (a default one);
/// without it the policy checks length and the login name only.
/// Passwords longer than [`MAX_PASSWORD_BYTES`] are refused as a
/// denial-of-service guard.
///
/// ```
/// use kegauth::policy::{DefaultPolicy, PasswordPolicy};
/// let policy = DefaultPolicy::default();
/// assert!(policy.check("correct horse battery staple", "ann@example.com").is_empty());
/// assert_eq!(policy.check("password1234", "ann@example.com"),
///            vec!["Password is too easy to guess. Try a few uncommon words together.".to_string()]);
/// assert_eq!(policy.check("victoria-in-the-rain", "victoria@example.com"),
///            vec!["Password may not contain username.".to_string()]);
/// // keg-auth's length-only policy:
/// let lenient = DefaultPolicy { min_strength: 0, refuse_login_name: false, ..DefaultPolicy::default() };
/// assert!(lenient.check("password1234", "ann@example.com").is_empty());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefaultPolicy {
    /// The fewest characters (Unicode scalar values) a password may have.
    pub min_length: usize,
    /// The zxcvbn score (0 to 4) a password must reach; 0 turns the check off.
    /// (Feature `password-strength`: a build without it has no strength check.)
    #[cfg(feature = "password-strength")]
    pub min_strength: u8,
    /// Refuse passwords that contain the login name (of 4 characters or more).
    pub refuse_login_name: bool,
}

impl Default for DefaultPolicy {
    fn default() -> Self {
        DefaultPolicy {
            min_length: 8,
            #[cfg(feature = "password-strength")]
            min_strength: 2,
            refuse_login_name: true,
        }
    }
}

impl DefaultPolicy {
    /// Whether `password` falls short of `min_strength` (judged on its first
    /// [`STRENGTH_CHARS`] characters, with the login id as a known word).
    #[cfg(feature = "password-strength")]
    fn too_guessable(&self, password: &str, login_id: &str) -> bool {
        if self.min_strength == 0 {
            return false;
        }
        let head: String = password.chars().take(STRENGTH_CHARS).collect();
        let name = login_name(login_id);
        let score = u8::from(zxcvbn::zxcvbn(&head, &[login_id, &name]).score());
        score < self.min_strength
    }

    /// Without the `password-strength` feature there is no strength check.
    #[cfg(not(feature = "password-strength"))]
    fn too_guessable(&self, _password: &str, _login_id: &str) -> bool {
        false
    }
}

impl PasswordPolicy for DefaultPolicy {
    fn check(&self, password: &str, login_id: &str) -> Vec<String> {
        self.check_in(password, login_id, &Translator::english())
    }

    fn check_in(&self, password: &str, login_id: &str, tr: &Translator) -> Vec<String> {
        if password.chars().count() < self.min_length {
            return vec![tr.t_args("policy-too-short", &[("min", self.min_length.to_string())])];
        }
        if password.len() > MAX_PASSWORD_BYTES {
            return vec![tr.t_args(
                "policy-too-long",
                &[("max", MAX_PASSWORD_BYTES.to_string())],
            )];
        }
        let mut errors = Vec::new();
        if self.refuse_login_name && contains_login_name(password, login_id, 4) {
            errors.push(tr.t("policy-no-username"));
        } else if self.too_guessable(password, login_id) {
            errors.push(tr.t("policy-too-common"));
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
