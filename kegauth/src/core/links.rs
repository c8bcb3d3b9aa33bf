//! keg-auth's many-to-many mapping tables.

use crate::core::entity::EntityKind;

/// One of keg-auth's six mapping tables (two-column primary key, cascading deletes).
///
/// ```
/// use kegauth::Link;
/// assert_eq!(Link::UserGroups.table(), "keg_auth_user_groups");
/// assert_eq!(Link::UserGroups.columns(), ("user_id", "group_id"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    /// A user's direct permissions.
    UserPermissions,
    /// A user's bundles.
    UserBundles,
    /// A user's groups.
    UserGroups,
    /// A group's permissions.
    GroupPermissions,
    /// A group's bundles.
    GroupBundles,
    /// A bundle's permissions.
    BundlePermissions,
}

impl Link {
    /// Every mapping table.
    pub const ALL: [Link; 6] = [
        Link::UserPermissions,
        Link::UserBundles,
        Link::UserGroups,
        Link::GroupPermissions,
        Link::GroupBundles,
        Link::BundlePermissions,
    ];

    /// The table name.
    pub fn table(self) -> &'static str {
        match self {
            Link::UserPermissions => "keg_auth_user_permissions",
            Link::UserBundles => "keg_auth_user_bundles",
            Link::UserGroups => "keg_auth_user_groups",
            Link::GroupPermissions => "keg_auth_group_permissions",
            Link::GroupBundles => "keg_auth_group_bundles",
            Link::BundlePermissions => "keg_auth_bundle_permissions",
        }
    }

    /// The entity kinds on the left and right.
    pub fn kinds(self) -> (EntityKind, EntityKind) {
        use EntityKind::*;
        match self {
            Link::UserPermissions => (User, Permission),
            Link::UserBundles => (User, Bundle),
            Link::UserGroups => (User, Group),
            Link::GroupPermissions => (Group, Permission),
            Link::GroupBundles => (Group, Bundle),
            Link::BundlePermissions => (Bundle, Permission),
        }
    }

    /// The left and right column names.
    pub fn columns(self) -> (&'static str, &'static str) {
        let (l, r) = self.kinds();
        (fk_column(l), fk_column(r))
    }
}

/// The mapping-table column that refers to an entity kind.
pub(crate) fn fk_column(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::User => "user_id",
        EntityKind::Group => "group_id",
        EntityKind::Bundle => "bundle_id",
        EntityKind::Permission => "permission_id",
        EntityKind::Attempt => "attempt_id",
    }
}
