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

use crate::backend::Backend;
use crate::crud::view::{CrudView, SourceRef, AUTH_MANAGE};
use crate::crud::{
    Action, BoxFuture, CrudCx, CrudSource, Deleted, FieldErrors, FieldKind, FormField, FormInput,
    Found, GridColumn, GridPage, GridQuery, GridRow, RowAction, Saved,
};
use crate::entity::{
    AuthEntity, BundleEntity, CoreField, EntityKind, EntitySet, GroupEntity, Kind, LoginKind,
    PermissionEntity, Role, UserEntity, Value,
};
use crate::i18n::Translator;
use crate::links::Link;
use crate::requirements::Requirement;
use crate::session::Flash;
use crate::store::Store;
use crate::{Error, Result};
use rocket::Route;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

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
}

impl Section {
    /// Every section.
    pub const ALL: [Section; 4] = [
        Section::Users,
        Section::Groups,
        Section::Bundles,
        Section::Permissions,
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
        }
    }

    pub(crate) fn row_actions(self) -> Vec<&'static str> {
        match self {
            Section::Users => vec![RESEND_VERIFICATION],
            _ => Vec::new(),
        }
    }
}

const RESEND_VERIFICATION: &str = "resend-verification";

/// The admin routes (part of [`crate::routes`]).
pub(crate) fn routes() -> Vec<Route> {
    Section::ALL
        .iter()
        .flat_map(|s| {
            let view = CrudView::with_source(s.path(), SourceRef::Builtin(*s));
            match s {
                Section::Permissions => view.actions(&[Action::List]),
                _ => view,
            }
            .routes()
        })
        .collect()
}

/// The admin sources and requirements, managed from launch on.
pub(crate) struct AdminState {
    sources: HashMap<Section, Arc<dyn CrudSource>>,
    rules: BTreeMap<(Section, Action), Requirement>,
    /// `auth-manage`, or a superuser (who passes even when the app did not
    /// declare `auth-manage`).
    default: Requirement,
}

impl AdminState {
    pub(crate) fn new<DB: Backend, E: EntitySet>(
        store: Store<DB, E>,
        rules: BTreeMap<(Section, Action), Requirement>,
    ) -> Self {
        let mail = store.mailer().is_some();
        let mut sources: HashMap<Section, Arc<dyn CrudSource>> = HashMap::new();
        sources.insert(
            Section::Users,
            Arc::new(Users {
                store: store.clone(),
                mail,
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
        sources.insert(Section::Permissions, Arc::new(Permissions { store }));
        let default = crate::requirements::has_any([
            Requirement::from(AUTH_MANAGE),
            Requirement::check(|u: &E::User| u.core().is_superuser),
        ]);
        AdminState {
            sources,
            rules,
            default,
        }
    }

    pub(crate) fn source(&self, section: Section) -> Option<&dyn CrudSource> {
        self.sources.get(&section).map(|s| &**s)
    }

    pub(crate) fn requirement(&self, section: Section, action: Action) -> Requirement {
        self.rules
            .get(&(section, action))
            .cloned()
            .unwrap_or_else(|| self.default.clone())
    }
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

/// A column value as a grid cell (yes and no in the viewer's language).
fn cell(value: &Value, tr: &Translator) -> String {
    match value {
        Value::Bool(b) => tr.t(if *b { "admin-yes" } else { "admin-no" }),
        other => input_value(other),
    }
}

/// A column value as a form field's value.
fn input_value(value: &Value) -> String {
    match value {
        Value::Null | Value::Bytes(_) | Value::Bool(false) => String::new(),
        Value::Bool(true) => "true".into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(t) => t.clone(),
        Value::DateTime(d) => d.format("%Y-%m-%dT%H:%M").to_string(),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
    }
}

/// The message for `input` that does not parse as a value of `kind`.
fn input_error(tr: &Translator, kind: Kind, input: &str) -> String {
    let key = match kind {
        Kind::Int => "field-not-whole-number",
        Kind::Float => "field-not-number",
        Kind::Date => "field-not-date",
        Kind::DateTime => "field-not-date-time",
        _ => "field-not-valid",
    };
    tr.t_args(key, &[("value", input.to_string())])
}

/// `first_name` -> `First Name`.
fn title(field: &str) -> String {
    field
        .split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The app's own columns an admin form shows (not bytes, not read-only).
fn extra_columns<T: AuthEntity>() -> impl Iterator<Item = &'static crate::entity::Column> {
    T::schema()
        .extra_columns()
        .filter(|c| c.writable() && c.kind != Kind::Bytes)
}

fn extra_grid_columns<T: AuthEntity>() -> Vec<GridColumn> {
    extra_columns::<T>()
        .map(|c| GridColumn::new(c.name, &title(c.field)))
        .collect()
}

/// The value of the column named `name` among an entity's `values` (schema order).
fn value_of<'v, T: AuthEntity>(values: &'v [Value], name: &str) -> Option<&'v Value> {
    let i = T::schema().columns.iter().position(|c| c.name == name)?;
    values.get(i)
}

fn extra_fields<T: AuthEntity>(entity: &T) -> Vec<FormField> {
    let values = entity.to_values();
    extra_columns::<T>()
        .map(|c| {
            let value = value_of::<T>(&values, c.name)
                .map(input_value)
                .unwrap_or_default();
            let kind = match c.kind {
                Kind::Bool => FieldKind::Checkbox,
                Kind::Int | Kind::Float => FieldKind::Number,
                Kind::Date => FieldKind::Date,
                Kind::DateTime => FieldKind::DateTime,
                _ => FieldKind::Text,
            };
            FormField::new(c.field, &title(c.field), kind, value)
        })
        .collect()
}

fn add_error(errors: &mut FieldErrors, field: &str, message: impl Into<String>) {
    errors
        .entry(field.to_string())
        .or_default()
        .push(message.into());
}

/// Set the app's own columns from the form.
fn apply_extras<T: AuthEntity>(
    entity: &mut T,
    input: &FormInput,
    errors: &mut FieldErrors,
    tr: &Translator,
) {
    for c in extra_columns::<T>() {
        let text = if c.kind == Kind::Bool {
            if input.checked(c.field) {
                "true"
            } else {
                "false"
            }
        } else {
            input.get(c.field).unwrap_or_default()
        };
        if entity.set_from_input(c.field, text).is_err() {
            add_error(errors, c.field, input_error(tr, c.kind, text));
        }
    }
}

/// The grid cells of an entity for the given column keys (column names).
fn cells<T: AuthEntity>(entity: &T, columns: &[GridColumn], tr: &Translator) -> Vec<String> {
    let values = entity.to_values();
    columns
        .iter()
        .map(|col| {
            value_of::<T>(&values, &col.key)
                .map(|v| cell(v, tr))
                .unwrap_or_default()
        })
        .collect()
}

/// One grid page of `T`: the filter searches the grid's text columns
/// ([`Store::grid`] keeps only those); `decorate` adds row actions.
async fn grid_page<DB: Backend, E: EntitySet, T: AuthEntity>(
    store: &Store<DB, E>,
    cx: &CrudCx<'_>,
    columns: &[GridColumn],
    query: &GridQuery,
    decorate: impl Fn(&T, &mut GridRow),
) -> Result<GridPage> {
    let keys: Vec<&str> = columns.iter().map(|c| c.key.as_str()).collect();
    let (items, total) = store.grid::<T>(query, &keys).await?;
    let rows = items
        .iter()
        .map(|e| {
            let mut row = GridRow::new(e.id(), cells(e, columns, &cx.tr));
            decorate(e, &mut row);
            row
        })
        .collect();
    Ok(GridPage { rows, total })
}

type Choices = Vec<(String, String)>;

/// `(id, label)` pairs for a multi-select.
fn pairs<T: AuthEntity>(items: Vec<T>, label: fn(&T) -> &str) -> Choices {
    items
        .iter()
        .map(|t| (t.id().to_string(), label(t).to_string()))
        .collect()
}

/// The choices of a multi-select linking to `kind`.
async fn choices<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    kind: EntityKind,
) -> Result<Choices> {
    Ok(match kind {
        EntityKind::Permission => pairs(store.permissions().await?, |p| p.token()),
        EntityKind::Bundle => pairs(store.bundles().await?, |b| b.name()),
        EntityKind::Group => pairs(store.groups().await?, |g| g.name()),
        _ => Vec::new(),
    })
}

/// A multi-select for `link`, with the current choices of `id`.
async fn link_field<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    link: Link,
    id: Option<i64>,
    name: &str,
    label: &str,
) -> Result<FormField> {
    let options = choices(store, link.kinds().1).await?;
    let selected = match id {
        Some(id) => store
            .linked(link, id)
            .await?
            .iter()
            .map(i64::to_string)
            .collect(),
        None => Vec::new(),
    };
    Ok(FormField::multi(name, label, options, selected))
}

/// The chosen ids of a multi-select; ids that are not among `options` are errors.
fn chosen(
    options: &Choices,
    input: &FormInput,
    name: &str,
    errors: &mut FieldErrors,
    tr: &Translator,
) -> Vec<i64> {
    let mut ids = Vec::new();
    for value in input.all(name) {
        match value.parse::<i64>() {
            Ok(id) if options.iter().any(|(v, _)| v == value) => ids.push(id),
            _ => add_error(
                errors,
                name,
                tr.t_args("field-not-a-choice", &[("value", value.clone())]),
            ),
        }
    }
    ids
}

/// The chosen ids of every multi-select in `links` for record `id` (`None`
/// when new). A viewer who is not a superuser may only add links that grant
/// permissions they hold themselves (links the record already has stay,
/// whoever edits it); anything else is an error on the field.
async fn chosen_links<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    cx: &CrudCx<'_>,
    links: &[LinkSpec],
    id: Option<i64>,
    input: &FormInput,
    errors: &mut FieldErrors,
) -> Result<Vec<(Link, Vec<i64>)>> {
    let viewer = cx.viewer.user::<E::User>();
    let held = match viewer {
        Some(v) if v.core().is_superuser => None,
        Some(v) => Some(store.user_permissions(v).await?),
        None => Some(BTreeSet::new()),
    };
    let mut all = Vec::new();
    for &(link, field, _) in links {
        let options = choices(store, link.kinds().1).await?;
        let ids = chosen(&options, input, field, errors, &cx.tr);
        if let Some(held) = &held {
            let lacking = ungrantable(store, link, id, &ids, &options, held).await?;
            if !lacking.is_empty() {
                let list = lacking.into_iter().collect::<Vec<_>>().join(", ");
                add_error(
                    errors,
                    field,
                    cx.tr.t_args("admin-cannot-grant", &[("permissions", list)]),
                );
            }
        }
        all.push((link, ids));
    }
    Ok(all)
}

/// The permissions outside `held` that linking record `id` to `ids` would
/// newly grant (through a permission, a bundle or a group); `options` are
/// the field's choices (a permission's label is its token).
async fn ungrantable<DB: Backend, E: EntitySet>(
    store: &Store<DB, E>,
    link: Link,
    id: Option<i64>,
    ids: &[i64],
    options: &Choices,
    held: &BTreeSet<String>,
) -> Result<BTreeSet<String>> {
    let existing = match id {
        Some(id) => store.linked(link, id).await?,
        None => Vec::new(),
    };
    let added: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|t| !existing.contains(t))
        .collect();
    let mut lacking = BTreeSet::new();
    if added.is_empty() {
        return Ok(lacking);
    }
    for target in added {
        let grants = match link.kinds().1 {
            EntityKind::Permission => options
                .iter()
                .filter(|(v, _)| *v == target.to_string())
                .map(|(_, token)| token.clone())
                .collect(),
            EntityKind::Bundle => store.bundle_permissions(target).await?,
            EntityKind::Group => store.group_permissions(target).await?,
            _ => BTreeSet::new(),
        };
        lacking.extend(grants.difference(held).cloned());
    }
    Ok(lacking)
}

fn refused(tr: &Translator, label: &str) -> Deleted {
    Deleted::Refused(tr.t_args("admin-delete-referenced", &[("label", label.to_string())]))
}

// ----- users ---------------------------------------------------------------------------------

struct Users<DB: Backend, E: EntitySet> {
    store: Store<DB, E>,
    mail: bool,
}

fn core_name<U: AuthEntity>(field: CoreField) -> Option<&'static str> {
    U::schema().column(Role::Core(field)).map(|c| c.name)
}

impl<DB: Backend, E: EntitySet> Users<DB, E> {
    fn email_login() -> bool {
        <E::User as UserEntity>::LOGIN == LoginKind::Email
    }

    fn login_field() -> (&'static str, &'static str) {
        let schema = <E::User as AuthEntity>::schema();
        let field = schema.column(Role::Login).map_or("login_id", |c| c.field);
        let label = if Self::email_login() {
            "login-email"
        } else {
            "login-username"
        };
        (field, label)
    }

    /// The viewer's id and superuser flag.
    fn viewer(cx: &CrudCx<'_>) -> (Option<i64>, bool) {
        match cx.viewer.user::<E::User>() {
            Some(u) => (Some(u.id()), u.core().is_superuser),
            None => (None, false),
        }
    }

    /// The user, unless the viewer may not touch them (a superuser, for
    /// someone who is not one).
    async fn existing(&self, cx: &CrudCx<'_>, id: i64) -> Result<Found<E::User>> {
        let Some(user) = self.store.user(id).await? else {
            return Ok(Found::NotFound);
        };
        if user.core().is_superuser && !Self::viewer(cx).1 {
            return Ok(Found::Forbidden);
        }
        Ok(Found::Yes(user))
    }

    const LINKS: [(Link, &'static str, &'static str); 3] = [
        (Link::UserPermissions, "permission_ids", "admin-permissions"),
        (Link::UserBundles, "bundle_ids", "admin-bundles"),
        (Link::UserGroups, "group_ids", "admin-groups"),
    ];

    async fn fields(
        &self,
        cx: &CrudCx<'_>,
        user: &E::User,
        id: Option<i64>,
    ) -> Result<Vec<FormField>> {
        let (login_field, login_label) = Self::login_field();
        let kind = if Self::email_login() {
            FieldKind::Email
        } else {
            FieldKind::Text
        };
        let core = user.core();
        let mut fields =
            vec![FormField::new(login_field, login_label, kind, user.login_id()).required()];
        fields.extend(extra_fields(user));
        fields.push(FormField::checkbox(
            "is_enabled",
            "admin-enabled",
            core.is_enabled,
        ));
        fields.push(
            FormField::new(
                "disabled_utc",
                "admin-disable-on",
                FieldKind::DateTime,
                core.disabled_utc
                    .map(|d| d.format("%Y-%m-%dT%H:%M").to_string())
                    .unwrap_or_default(),
            )
            .help("admin-disable-on-help"),
        );
        if Self::viewer(cx).1 {
            fields.push(FormField::checkbox(
                "is_superuser",
                "admin-superuser",
                core.is_superuser,
            ));
        }
        for (link, name, label) in Self::LINKS {
            fields.push(link_field(&self.store, link, id, name, label).await?);
        }
        if self.mail {
            if id.is_none() && Self::email_login() {
                fields.push(
                    FormField::checkbox("send_welcome", "admin-send-welcome", true)
                        .help("admin-send-welcome-help"),
                );
            }
        } else {
            let label = if id.is_some() {
                "admin-reset-password"
            } else {
                "admin-password"
            };
            fields.push(
                FormField::new("password", label, FieldKind::Password, "")
                    .help("admin-password-help"),
            );
            fields.push(FormField::new(
                "confirm",
                "admin-confirm-password",
                FieldKind::Password,
                "",
            ));
        }
        Ok(fields)
    }

    async fn save_user(
        &self,
        cx: &CrudCx<'_>,
        id: Option<i64>,
        input: &FormInput,
    ) -> Result<Found<Saved>> {
        let store = &self.store.in_language(cx.tr.lang());
        let tr = &cx.tr;
        let mut user = match id {
            Some(id) => found!(self.existing(cx, id).await?),
            None => crate::entity::blank_user::<E::User>()?,
        };
        let (viewer_id, viewer_super) = Self::viewer(cx);
        let mut errors = FieldErrors::new();
        let (login_field, _) = Self::login_field();
        let login = input
            .get(login_field)
            .unwrap_or_default()
            .trim()
            .to_string();
        // A user whose domain belongs to an OAuth provider is that provider's
        // identity: their login id stays as it is.
        let provider = id.and_then(|_| store.provider_of(user.login_id()));
        if let Some(provider) = provider.filter(|_| login != user.login_id()) {
            let message = tr.t_args(
                "admin-login-by-provider",
                &[("provider", provider.to_string())],
            );
            add_error(&mut errors, login_field, message);
        } else if login.is_empty() {
            add_error(&mut errors, login_field, tr.t("field-required"));
        } else if Self::email_login() && login.parse::<lettre::Address>().is_err() {
            add_error(&mut errors, login_field, tr.t("invalid-email"));
        }
        user.set_login_id(login);
        apply_extras(&mut user, input, &mut errors, tr);
        let now = store.now();
        let was_enabled = user.core().is_enabled;
        let disabled = input.get("disabled_utc").unwrap_or_default();
        match <Option<chrono::NaiveDateTime> as crate::entity::FieldValue>::parse_input(disabled) {
            Ok(date) => user.core_mut().disabled_utc = date,
            Err(_) => add_error(
                &mut errors,
                "disabled_utc",
                input_error(tr, Kind::DateTime, disabled),
            ),
        }
        let enabled = input.checked("is_enabled");
        if enabled && !was_enabled {
            // Re-enabling clears a date that has passed.
            user.core_mut().set_enabled(true, now);
        } else {
            user.core_mut().is_enabled = enabled;
        }
        if viewer_super {
            user.core_mut().is_superuser = input.checked("is_superuser");
        }
        let links = chosen_links(store, cx, &Self::LINKS, id, input, &mut errors).await?;
        let password = input.get("password").unwrap_or_default();
        if !self.mail && !password.is_empty() {
            if input.get("confirm") != Some(password) {
                add_error(&mut errors, "confirm", tr.t("passwords-must-match"));
            } else {
                for e in store.password_errors(password, &user) {
                    add_error(&mut errors, "password", e);
                }
            }
        }
        if !errors.is_empty() {
            return Ok(Found::Yes(Saved::Invalid(errors)));
        }
        if !self.mail && !password.is_empty() {
            user.core_mut().password = Some(store.hasher().hash(password).await?);
        }
        let result = match id {
            Some(_) => store.update_user(&mut user).await,
            None => {
                if !self.mail {
                    // Nobody can verify an address without mail: the admin vouches for it.
                    user.core_mut().is_verified = true;
                }
                let send = self.mail && input.checked("send_welcome");
                store.create_user(&mut user, send).await.map(drop)
            }
        };
        match result {
            Ok(()) => {}
            Err(Error::Conflict(_)) => {
                add_error(&mut errors, login_field, tr.t("field-in-use"));
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            Err(Error::Invalid(message)) => {
                add_error(&mut errors, "_form", message);
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            Err(Error::Mail(e)) => {
                log::error!("kegauth: the welcome mail could not be sent: {e}");
                add_error(&mut errors, "_form", tr.t("admin-welcome-failed"));
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            Err(e) => return Err(e),
        }
        for (link, ids) in links {
            store.set_links(link, user.id(), &ids).await?;
        }
        let relogin = if viewer_id == Some(user.id()) {
            store
                .user(user.id())
                .await?
                .map(|u| u.core().session_key.clone())
        } else {
            None
        };
        Ok(Found::Yes(Saved::Done {
            id: user.id(),
            relogin,
        }))
    }
}

impl<DB: Backend, E: EntitySet> CrudSource for Users<DB, E> {
    fn names(&self) -> (&str, &str) {
        ("admin-user", "admin-users")
    }

    fn columns(&self) -> Vec<GridColumn> {
        type U<E> = <E as EntitySet>::User;
        let schema = <U<E> as AuthEntity>::schema();
        let mut cols = Vec::new();
        if let Some(c) = schema.column(Role::Login) {
            cols.push(GridColumn::new(c.name, Self::login_field().1));
        }
        cols.extend(extra_grid_columns::<U<E>>());
        let mut core = vec![
            (CoreField::IsEnabled, "admin-enabled"),
            (CoreField::IsSuperuser, "admin-superuser"),
        ];
        if Self::email_login() {
            core.push((CoreField::IsVerified, "admin-verified"));
        }
        core.push((CoreField::LastLoginUtc, "admin-last-login"));
        for (field, label) in core {
            if let Some(name) = core_name::<U<E>>(field) {
                cols.push(GridColumn::new(name, label));
            }
        }
        cols
    }

    fn list<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        query: &'a GridQuery,
    ) -> BoxFuture<'a, Result<GridPage>> {
        Box::pin(async move {
            let columns = self.columns();
            let resend = self.mail && Self::email_login();
            grid_page(&self.store, cx, &columns, query, |u: &E::User, row| {
                if resend && !u.core().is_verified {
                    row.actions.push(RowAction {
                        name: RESEND_VERIFICATION.into(),
                        label: "admin-resend-verification".into(),
                    });
                }
            })
            .await
        })
    }

    fn form<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        id: Option<i64>,
    ) -> BoxFuture<'a, Result<Found<Vec<FormField>>>> {
        Box::pin(async move {
            let user = match id {
                Some(id) => found!(self.existing(cx, id).await?),
                None => crate::entity::blank_user::<E::User>()?,
            };
            Ok(Found::Yes(self.fields(cx, &user, id).await?))
        })
    }

    fn save<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        id: Option<i64>,
        input: &'a FormInput,
    ) -> BoxFuture<'a, Result<Found<Saved>>> {
        Box::pin(self.save_user(cx, id, input))
    }

    fn label<'a>(&'a self, cx: &'a CrudCx<'a>, id: i64) -> BoxFuture<'a, Result<Found<String>>> {
        Box::pin(async move {
            Ok(match self.existing(cx, id).await? {
                Found::Yes(u) => Found::Yes(u.login_id().to_string()),
                Found::NotFound => Found::NotFound,
                Found::Forbidden => Found::Forbidden,
            })
        })
    }

    fn delete<'a>(&'a self, cx: &'a CrudCx<'a>, id: i64) -> BoxFuture<'a, Result<Found<Deleted>>> {
        Box::pin(async move {
            let user = found!(self.existing(cx, id).await?);
            if Self::viewer(cx).0 == Some(id) {
                return Ok(Found::Yes(Deleted::Refused(cx.tr.t("admin-delete-self"))));
            }
            match self.store.delete_user(id).await {
                Ok(()) => Ok(Found::Yes(Deleted::Done)),
                Err(Error::Referenced(_)) => Ok(Found::Yes(refused(&cx.tr, user.login_id()))),
                Err(Error::NotFound(_)) => Ok(Found::NotFound),
                Err(e) => Err(e),
            }
        })
    }

    fn row_actions(&self) -> Vec<&'static str> {
        Section::Users.row_actions()
    }

    fn row_action<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        name: &'a str,
        id: i64,
    ) -> BoxFuture<'a, Result<Found<Flash>>> {
        Box::pin(async move {
            if name != RESEND_VERIFICATION || !self.mail || !Self::email_login() {
                return Ok(Found::NotFound);
            }
            let user = found!(self.existing(cx, id).await?);
            let flash = |category: &str, key: &str| Flash {
                category: category.into(),
                message: cx.tr.t(key),
            };
            if user.core().is_verified {
                return Ok(Found::Yes(flash("info", "admin-already-verified")));
            }
            let store = self.store.in_language(cx.tr.lang());
            Ok(Found::Yes(
                match store.send_verification_mail(&user).await {
                    Ok(()) => flash("success", "admin-verification-sent"),
                    Err(e) => {
                        log::error!("kegauth: verification mail to user {id} failed: {e}");
                        flash("error", "admin-verification-failed")
                    }
                },
            ))
        })
    }
}

// ----- groups and bundles --------------------------------------------------------------------

type LinkSpec = (Link, &'static str, &'static str);

struct Named<DB: Backend, E: EntitySet, T: AuthEntity> {
    store: Store<DB, E>,
    names: (&'static str, &'static str),
    links: &'static [LinkSpec],
    name: fn(&T) -> &str,
    set_name: fn(&mut T, String),
}

impl<DB: Backend, E: EntitySet, T: AuthEntity> Named<DB, E, T> {
    async fn entity(&self, id: i64) -> Result<Option<T>> {
        self.store.entity::<T>(id).await
    }

    async fn save_named(
        &self,
        cx: &CrudCx<'_>,
        id: Option<i64>,
        input: &FormInput,
    ) -> Result<Found<Saved>> {
        let store = &self.store;
        let tr = &cx.tr;
        let mut entity = match id {
            Some(id) => match self.entity(id).await? {
                Some(e) => e,
                None => return Ok(Found::NotFound),
            },
            None => crate::entity::blank::<T>()?,
        };
        let mut errors = FieldErrors::new();
        let name = input.get("name").unwrap_or_default().trim().to_string();
        if name.is_empty() {
            add_error(&mut errors, "name", tr.t("field-required"));
        } else if name.chars().count() > 1024 {
            add_error(
                &mut errors,
                "name",
                tr.t_args("field-too-long", &[("max", "1024".into())]),
            );
        }
        (self.set_name)(&mut entity, name);
        apply_extras(&mut entity, input, &mut errors, tr);
        let links = chosen_links(store, cx, self.links, id, input, &mut errors).await?;
        if !errors.is_empty() {
            return Ok(Found::Yes(Saved::Invalid(errors)));
        }
        let result = match id {
            Some(_) => store.update_entity(&entity).await,
            None => store.insert_entity(&mut entity).await,
        };
        match result {
            Ok(()) => {}
            Err(Error::Conflict(_)) => {
                add_error(&mut errors, "name", tr.t("field-in-use"));
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            Err(Error::Invalid(message)) => {
                add_error(&mut errors, "_form", message);
                return Ok(Found::Yes(Saved::Invalid(errors)));
            }
            Err(e) => return Err(e),
        }
        for (link, ids) in links {
            store.set_links(link, entity.id(), &ids).await?;
        }
        Ok(Found::Yes(Saved::Done {
            id: entity.id(),
            relogin: None,
        }))
    }
}

impl<DB: Backend, E: EntitySet, T: AuthEntity> CrudSource for Named<DB, E, T> {
    fn names(&self) -> (&str, &str) {
        self.names
    }

    fn columns(&self) -> Vec<GridColumn> {
        let schema = T::schema();
        let mut cols = Vec::new();
        if let Some(c) = schema.column(Role::Name) {
            cols.push(GridColumn::new(c.name, "admin-name"));
        }
        cols.extend(extra_grid_columns::<T>());
        cols
    }

    fn list<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        query: &'a GridQuery,
    ) -> BoxFuture<'a, Result<GridPage>> {
        Box::pin(async move {
            let columns = self.columns();
            grid_page(&self.store, cx, &columns, query, |_: &T, _| {}).await
        })
    }

    fn form<'a>(
        &'a self,
        _cx: &'a CrudCx<'a>,
        id: Option<i64>,
    ) -> BoxFuture<'a, Result<Found<Vec<FormField>>>> {
        Box::pin(async move {
            let entity = match id {
                Some(id) => match self.entity(id).await? {
                    Some(e) => e,
                    None => return Ok(Found::NotFound),
                },
                None => crate::entity::blank::<T>()?,
            };
            let mut fields =
                vec![
                    FormField::new("name", "admin-name", FieldKind::Text, (self.name)(&entity))
                        .required(),
                ];
            fields.extend(extra_fields(&entity));
            for (link, field, label) in self.links {
                fields.push(link_field(&self.store, *link, id, field, label).await?);
            }
            Ok(Found::Yes(fields))
        })
    }

    fn save<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        id: Option<i64>,
        input: &'a FormInput,
    ) -> BoxFuture<'a, Result<Found<Saved>>> {
        Box::pin(self.save_named(cx, id, input))
    }

    fn label<'a>(&'a self, _cx: &'a CrudCx<'a>, id: i64) -> BoxFuture<'a, Result<Found<String>>> {
        Box::pin(async move {
            Ok(match self.entity(id).await? {
                Some(e) => Found::Yes((self.name)(&e).to_string()),
                None => Found::NotFound,
            })
        })
    }

    fn delete<'a>(&'a self, cx: &'a CrudCx<'a>, id: i64) -> BoxFuture<'a, Result<Found<Deleted>>> {
        Box::pin(async move {
            let Some(entity) = self.entity(id).await? else {
                return Ok(Found::NotFound);
            };
            match self.store.delete_entity(T::KIND, id).await {
                Ok(()) => Ok(Found::Yes(Deleted::Done)),
                Err(Error::Referenced(_)) => Ok(Found::Yes(refused(&cx.tr, (self.name)(&entity)))),
                Err(Error::NotFound(_)) => Ok(Found::NotFound),
                Err(e) => Err(e),
            }
        })
    }
}

// ----- permissions ---------------------------------------------------------------------------

struct Permissions<DB: Backend, E: EntitySet> {
    store: Store<DB, E>,
}

impl<DB: Backend, E: EntitySet> CrudSource for Permissions<DB, E> {
    fn names(&self) -> (&str, &str) {
        ("admin-permission", "admin-permissions")
    }

    fn columns(&self) -> Vec<GridColumn> {
        let schema = <E::Permission as AuthEntity>::schema();
        [
            (Role::Token, "admin-name"),
            (Role::Description, "admin-description"),
        ]
        .iter()
        .filter_map(|(role, label)| schema.column(*role).map(|c| GridColumn::new(c.name, label)))
        .collect()
    }

    fn list<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        query: &'a GridQuery,
    ) -> BoxFuture<'a, Result<GridPage>> {
        Box::pin(async move {
            let columns = self.columns();
            grid_page(&self.store, cx, &columns, query, |_: &E::Permission, _| {}).await
        })
    }
}
