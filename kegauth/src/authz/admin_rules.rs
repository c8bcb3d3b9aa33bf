//! What the admin pages require: for each section (users, groups, bundles,
//! permissions) and CRUD action, the app's rule or else `auth-manage` (or a
//! superuser). The pages are in [`crate::admin`]; the rules are here, where
//! the route report and the menus read them too.

use crate::authz::requirements::{has_any, Requirement};
use crate::core::entity::{EntitySet, UserEntity};
use std::collections::BTreeMap;

/// The permission every CRUD and admin action needs unless told otherwise (keg-auth's).
pub(crate) const AUTH_MANAGE: &str = "auth-manage";

/// One of the admin sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    /// `/users`
    Users,
    /// `/groups`
    Groups,
    /// `/bundles`
    Bundles,
    /// `/permissions` (a list only: permissions are declared in code)
    Permissions,
    /// `/audit` (a list only: the audit trail, see [`crate::audit`])
    Audit,
}

impl Section {
    /// Every section.
    pub const ALL: [Section; 5] = [
        Section::Users,
        Section::Groups,
        Section::Bundles,
        Section::Permissions,
        Section::Audit,
    ];

    /// The section's path.
    ///
    /// ```
    /// assert_eq!(kegauth::admin::Section::Users.path(), "/users");
    /// ```
    pub fn path(self) -> &'static str {
        match self {
            Section::Users => "/users",
            Section::Groups => "/groups",
            Section::Bundles => "/bundles",
            Section::Permissions => "/permissions",
            Section::Audit => "/audit",
        }
    }
}

/// The four actions of a CRUD view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// The grid (and its CSV export).
    List,
    /// The add form.
    Add,
    /// The edit form (and row actions such as "resend verification").
    Edit,
    /// Deleting a record.
    Delete,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 4] = [Action::List, Action::Add, Action::Edit, Action::Delete];
}

/// The requirement of each admin section and action, managed from launch on.
pub(crate) struct AdminRules {
    rules: BTreeMap<(Section, Action), Requirement>,
    /// `auth-manage`, or a superuser (who passes even when the app did not
    /// declare `auth-manage`).
    default: Requirement,
}

impl AdminRules {
    /// The app's `rules`, with `auth-manage` (or a superuser) for the rest.
    pub(crate) fn new<E: EntitySet>(rules: BTreeMap<(Section, Action), Requirement>) -> Self {
        let default = has_any([
            Requirement::from(AUTH_MANAGE),
            Requirement::check(|u: &E::User| u.core().is_superuser),
        ]);
        AdminRules { rules, default }
    }

    /// What `action` of `section` requires.
    pub(crate) fn requirement(&self, section: Section, action: Action) -> Requirement {
        self.rules
            .get(&(section, action))
            .cloned()
            .unwrap_or_else(|| self.default.clone())
    }
}
