//! keg-auth-compatible group, bundle, permission and attempt entities, for apps
//! that need nothing more than keg-auth's tables.

use super::AttemptCore;
use kegauth_macros::AuthEntity;

/// A group on keg-auth's `groups` table.
#[derive(Clone, Debug, PartialEq, Eq, AuthEntity)]
#[auth(group)]
pub struct Group {
    /// Primary key.
    pub id: i64,
    /// Unique name.
    pub name: String,
}

/// A bundle on keg-auth's `bundles` table.
#[derive(Clone, Debug, PartialEq, Eq, AuthEntity)]
#[auth(bundle)]
pub struct Bundle {
    /// Primary key.
    pub id: i64,
    /// Unique name.
    pub name: String,
}

/// A permission on keg-auth's `permissions` table.
#[derive(Clone, Debug, PartialEq, Eq, AuthEntity)]
#[auth(permission)]
pub struct Permission {
    /// Primary key.
    pub id: i64,
    /// Unique token, as declared in code.
    pub token: String,
    /// What the permission allows.
    pub description: Option<String>,
}

/// An attempt on keg-auth's `attempts` table.
#[derive(Clone, Debug, PartialEq, Eq, AuthEntity)]
#[auth(attempt)]
pub struct Attempt {
    /// Primary key.
    pub id: i64,
    /// The attempt.
    #[auth(core)]
    pub core: AttemptCore,
}
