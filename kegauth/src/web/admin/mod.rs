//! The admin pages: users, groups, bundles and permissions, on [`crate::crud`].
//!
//! `kegauth::routes()` mounts them at keg-auth's URLs (`/users`,
//! `/users/add`, `/users/<id>/edit`, `/users/<id>/delete`, the same for
//! `/groups` and `/bundles`, and the `/permissions` list). Every action needs
//! the `auth-manage` permission (declare it with
//! [`permissions!`](crate::permissions!); superusers have it anyway) unless the
//! app sets another requirement per section and action:
//!
//! ```
//! # use kegauth::prelude::*;
//! # use kegauth::admin::Section;
//! # use kegauth::crud::Action;
//! # #[derive(rocket_db_pools::Database)] #[database("main")] struct Db(sqlx::SqlitePool);
//! # #[derive(kegauth::AuthEntity)] #[auth(user)]
//! # struct User { id: i64, email: String, #[auth(core)] core: UserCore }
//! kegauth::permissions! {
//!     AUTH_MANAGE = "auth-manage": "manage users, groups, bundles, and view permissions";
//!     USER_DELETE = "user-delete": "delete users";
//! }
//! let manager = AuthManager::<Db, User>::builder()
//!     .permissions(PERMISSIONS)
//!     .admin_requirement(Section::Users, Action::Delete, USER_DELETE)
//!     .build();
//! ```
//!
//! What the pages enforce beyond the requirement: nobody deletes their own
//! account; only a superuser sees the superuser switch, and only a superuser
//! edits or deletes a superuser; a viewer who is not a superuser can only add
//! a permission, bundle or group (to a user, group or bundle) when it grants
//! nothing they do not hold themselves; changing anyone's rights rotates their
//! session key (they are logged out), except that a viewer who edits their
//! own rights stays logged in with the new key.

use crate::core::backend::Backend;
use crate::core::entity::{BundleEntity, EntitySet, GroupEntity};
use crate::core::links::Link;
use crate::core::store::Store;
use crate::web::crud::view::CrudView;
use crate::web::crud::{Action, CrudSource};
use crate::web::crud::{BuiltinSources, SourceRef};
use rocket::Route;
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::authz::admin_rules::Section;

use common::row_actions;

/// The admin routes (part of [`crate::routes`]).
pub(crate) fn routes() -> Vec<Route> {
    Section::ALL
        .iter()
        .flat_map(|s| {
            let view = CrudView::with_source(s.path(), SourceRef::Builtin(*s, row_actions(*s)));
            match s {
                Section::Permissions | Section::Audit => view.actions(&[Action::List]),
                _ => view,
            }
            .routes()
        })
        .collect()
}

/// The sources of the admin sections, for [`BuiltinSources`].
pub(crate) fn sources<DB: Backend, E: EntitySet>(
    store: Store<DB, E>,
    two_factor: bool,
) -> BuiltinSources {
    let mail = store.mail_on();
    let mut sources: HashMap<Section, Arc<dyn CrudSource>> = HashMap::new();
    sources.insert(
        Section::Users,
        Arc::new(Users {
            store: store.clone(),
            mail,
            two_factor,
        }),
    );
    sources.insert(
        Section::Groups,
        Arc::new(Named::<DB, E, E::Group> {
            store: store.clone(),
            names: ("admin-group", "admin-groups"),
            links: &[
                (
                    Link::GroupPermissions,
                    "permission_ids",
                    "admin-permissions",
                ),
                (Link::GroupBundles, "bundle_ids", "admin-bundles"),
            ],
            name: <E::Group as GroupEntity>::name,
            set_name: <E::Group as GroupEntity>::set_name,
        }),
    );
    sources.insert(
        Section::Bundles,
        Arc::new(Named::<DB, E, E::Bundle> {
            store: store.clone(),
            names: ("admin-bundle", "admin-bundles"),
            links: &[(
                Link::BundlePermissions,
                "permission_ids",
                "admin-permissions",
            )],
            name: <E::Bundle as BundleEntity>::name,
            set_name: <E::Bundle as BundleEntity>::set_name,
        }),
    );
    sources.insert(
        Section::Permissions,
        Arc::new(Permissions {
            store: store.clone(),
        }),
    );
    sources.insert(Section::Audit, Arc::new(audit::Audit { store }));
    BuiltinSources(sources)
}

// ----- shared pieces -------------------------------------------------------------------------

/// The record inside a [`Found`], or return the same not-found or forbidden
/// answer from the enclosing source method (what `?` is to `Result`).
macro_rules! found {
    ($e:expr) => {
        match $e {
            Found::Yes(value) => value,
            Found::NotFound => return Ok(Found::NotFound),
            Found::Forbidden => return Ok(Found::Forbidden),
        }
    };
}

mod audit;
mod common;
mod named;
mod users;
use named::{Named, Permissions};
use users::Users;
