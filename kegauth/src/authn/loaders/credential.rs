//! What a request loader finds: a credential kegauth looks the user up by
//! (the login service, `service.rs`, does).

/// What a loader found in a request, for kegauth to look the user up by.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user's session key (what a verified JWT names).
    SessionKey(String),
    /// A login id and a raw API token, checked against the user's stored hash.
    ApiToken {
        /// The user's login id.
        login_id: String,
        /// The raw token.
        token: String,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret.
        match self {
            Credential::SessionKey(_) => f.write_str("SessionKey(<redacted>)"),
            Credential::ApiToken { login_id, .. } => f
                .debug_struct("ApiToken")
                .field("login_id", login_id)
                .field("token", &"<redacted>")
                .finish(),
        }
    }
}
