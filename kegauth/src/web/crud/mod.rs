//! CRUD pages: a list (grid) with sorting, a text filter, pagination and CSV
//! export, plus add, edit and delete forms, each action behind its own
//! [`Requirement`](crate::Requirement) (keg-auth's `CrudView`).
//!
//! kegauth's admin pages for users, groups, bundles and permissions are built
//! on it ([`crate::admin`]); an app reuses it for its own records by
//! implementing [`CrudSource`] and mounting a [`CrudView`]:
//!
//! ```
//! use kegauth::crud::*;
//! use rocket::{Orbit, Rocket};
//!
//! /// A fixed list of colours (a real source would query the app's database
//! /// through `cx.rocket.state::<...>()`).
//! struct Colours;
//!
//! impl CrudSource for Colours {
//!     fn names(&self) -> (&str, &str) {
//!         ("Colour", "Colours")
//!     }
//!     fn columns(&self) -> Vec<GridColumn> {
//!         vec![GridColumn::new("name", "Name")]
//!     }
//!     fn list<'a>(&'a self, _cx: &'a CrudCx<'a>, query: &'a GridQuery) -> BoxFuture<'a, kegauth::Result<GridPage>> {
//!         Box::pin(async move {
//!             let rows: Vec<GridRow> = ["red", "green"]
//!                 .iter()
//!                 .enumerate()
//!                 .filter(|(_, n)| n.contains(query.filter.as_str()))
//!                 .map(|(i, n)| GridRow::new(i as i64 + 1, vec![n.to_string()]))
//!                 .collect();
//!             Ok(GridPage { total: rows.len() as u64, rows })
//!         })
//!     }
//! }
//!
//! // Only the list: add, edit and delete are the trait's defaults (404).
//! let routes = CrudView::new("/colours", Colours)
//!     .actions(&[Action::List])
//!     .require(Action::List, "colours-view")
//!     .routes();
//! assert_eq!(routes.len(), 1);
//! ```

mod changes;
mod grid;
mod record;
pub(crate) mod values;
pub(crate) mod view;

pub use crate::core::records::{
    decode_error, Choices, CrudRules, Record, RecordColumn, RecordSchema,
};
#[cfg(feature = "xlsx")]
pub use grid::xlsx_export;
pub(crate) use grid::ExportFile;
pub use grid::{
    csv_export, GridColumn, GridFilter, GridPage, GridQuery, GridRow, RowAction, PER_PAGE,
};
pub use record::{record_view, RecordSource};
pub use view::CrudView;

use crate::authn::session::Flash;
use crate::authz::admin_rules::Section;
use crate::core::error::Result;
use rocket::{Orbit, Rocket};
use serde::Serialize;
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use crate::authz::admin_rules::Action;

/// The sources of kegauth's admin sections (filled by [`crate::admin`]),
/// managed from launch on.
pub(crate) struct BuiltinSources(pub HashMap<Section, Arc<dyn CrudSource>>);

/// Where a view's records come from.
#[derive(Clone)]
pub(crate) enum SourceRef {
    /// An app's source.
    Custom(Arc<dyn CrudSource>),
    /// One of kegauth's admin sections (its source exists from launch on),
    /// with its row actions.
    Builtin(Section, Vec<&'static str>),
}

/// A boxed, sendable future (what [`CrudSource`] methods return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The logged-in user looking at a CRUD page, type-erased.
///
/// ```
/// # use std::sync::Arc;
/// let viewer = kegauth::crud::Viewer::new(Arc::new(42_i64));
/// assert_eq!(viewer.user::<i64>(), Some(&42));
/// assert_eq!(viewer.user::<String>(), None);
/// ```
#[derive(Clone)]
pub struct Viewer(Arc<dyn Any + Send + Sync>);

impl Viewer {
    /// Wrap a user.
    pub fn new(user: Arc<dyn Any + Send + Sync>) -> Self {
        Viewer(user)
    }

    /// The user as the app's user type, if it is one.
    pub fn user<U: 'static>(&self) -> Option<&U> {
        self.0.downcast_ref::<U>()
    }
}

/// What a [`CrudSource`] call gets: the running app (for its managed state)
/// and the viewer.
pub struct CrudCx<'a> {
    /// The app (`cx.rocket.state::<MyDb>()`).
    pub rocket: &'a Rocket<Orbit>,
    /// Who is looking.
    pub viewer: Viewer,
    /// The app's catalogs in the request's language (for messages and
    /// labels a source makes).
    pub tr: crate::services::i18n::Translator,
    /// Where [`audit`](Self::audit) records, with the viewer's id and address.
    pub(crate) auditing: Auditing,
}

/// The request's side of the audit trail: where events go, the viewer's id
/// and the client's address.
#[derive(Clone, Default)]
pub(crate) struct Auditing {
    pub auditor: Option<crate::core::audit::Auditor>,
    pub actor: Option<i64>,
    pub client_ip: Option<String>,
}

impl CrudCx<'_> {
    /// Record an audit event about this request (see [`crate::audit`]): the
    /// viewer is its actor unless it names one, and the client's address is
    /// added. It never waits or fails; kegauth records the add, edit and
    /// delete of every CRUD view itself (with the fields changed), so a
    /// source records only what else it does.
    ///
    /// ```
    /// # use kegauth::crud::CrudCx;
    /// use kegauth::audit::{AuditEvent, Outcome};
    /// fn archived(cx: &CrudCx<'_>, id: i64) {
    ///     cx.audit(AuditEvent::new("widget-archived", Outcome::Success)
    ///         .detail(serde_json::json!({ "widget": id })));
    /// }
    /// ```
    pub fn audit(&self, mut event: crate::core::audit::AuditEvent) {
        let a = &self.auditing;
        if event.actor.is_none() {
            event.actor = a.actor;
        }
        if event.client_ip.is_none() {
            event.client_ip.clone_from(&a.client_ip);
        }
        if let Some(auditor) = &a.auditor {
            auditor.record(event);
        }
    }

    /// The viewer's user id, when kegauth knows it.
    pub fn viewer_id(&self) -> Option<i64> {
        self.auditing.actor
    }
}

/// A record was found, or not, or the viewer may not touch it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found<T> {
    /// Found.
    Yes(T),
    /// No such record (404).
    NotFound,
    /// The viewer may not see or change this record (403), e.g. a superuser
    /// edited by someone who is not one.
    Forbidden,
}

/// How a form field is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    /// A text box.
    Text,
    /// An email address.
    Email,
    /// A password (never filled in again).
    Password,
    /// A number.
    Number,
    /// A checkbox (present when checked).
    Checkbox,
    /// A date (`YYYY-MM-DD`).
    Date,
    /// A date and time (`YYYY-MM-DDTHH:MM`).
    DateTime,
    /// Several choices from `options` (values in `selected`).
    MultiSelect,
    /// One choice from `options` (its value in `value`).
    Select,
}

/// One field of an add or edit form.
#[derive(Clone, Debug, Serialize)]
pub struct FormField {
    /// The form field name.
    pub name: String,
    /// The label.
    pub label: String,
    /// How it is shown.
    pub kind: FieldKind,
    /// The current value (a checkbox: `"true"` when checked).
    pub value: String,
    /// For multi-selects: the chosen option values.
    pub selected: Vec<String>,
    /// For multi-selects: `(value, label)` pairs.
    pub options: Vec<(String, String)>,
    /// Whether it must be filled in.
    pub required: bool,
    /// A hint shown under the field.
    pub help: Option<String>,
    /// Shown but not editable (`readonly`).
    pub readonly: bool,
    /// The longest text accepted, in characters (`maxlength`).
    pub max_len: Option<u32>,
}

impl FormField {
    /// A field of `kind` with a value.
    ///
    /// ```
    /// use kegauth::crud::{FieldKind, FormField};
    /// let f = FormField::new("name", "Name", FieldKind::Text, "ann").required();
    /// assert!(f.required && f.value == "ann");
    /// ```
    pub fn new(name: &str, label: &str, kind: FieldKind, value: impl Into<String>) -> Self {
        FormField {
            name: name.into(),
            label: label.into(),
            kind,
            value: value.into(),
            selected: Vec::new(),
            options: Vec::new(),
            required: false,
            help: None,
            readonly: false,
            max_len: None,
        }
    }

    /// A checkbox.
    pub fn checkbox(name: &str, label: &str, checked: bool) -> Self {
        Self::new(
            name,
            label,
            FieldKind::Checkbox,
            if checked { "true" } else { "" },
        )
    }

    /// A multi-select of `options` with `selected` chosen.
    pub fn multi(
        name: &str,
        label: &str,
        options: Vec<(String, String)>,
        selected: Vec<String>,
    ) -> Self {
        FormField {
            options,
            selected,
            ..Self::new(name, label, FieldKind::MultiSelect, "")
        }
    }

    /// Mark as required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Add a hint.
    pub fn help(mut self, text: &str) -> Self {
        self.help = Some(text.into());
        self
    }
}

/// A submitted form: every value of every field, in order.
///
/// ```
/// use kegauth::crud::FormInput;
/// let input = FormInput::parse(b"name=a%20b&ids=1&ids=2&on=true");
/// assert_eq!(input.get("name"), Some("a b"));
/// assert_eq!(input.all("ids"), ["1", "2"]);
/// assert!(input.checked("on") && !input.checked("off"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct FormInput(BTreeMap<String, Vec<String>>);

impl FormInput {
    /// Parse an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Self {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(body) {
            map.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        FormInput(map)
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    /// Every value of a field (a multi-select).
    pub fn all(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether a checkbox was checked (present and not `false`/empty).
    pub fn checked(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| !v.is_empty() && v != "false")
    }
}

/// Messages per form field; the key `"_form"` holds messages about the whole form.
pub use crate::core::records::FieldErrors;

/// What saving a form did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    /// Saved as the record with this id.
    Done {
        /// The record's id.
        id: i64,
        /// A session key to put in the viewer's session: the viewer changed
        /// their own rights, which rotated their key.
        relogin: Option<String>,
    },
    /// Not saved: what to fix.
    Invalid(FieldErrors),
}

/// What a delete did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// Removed.
    Done,
    /// Nothing removed, with the reason (e.g. other records refer to it).
    Refused(String),
}

/// The records behind a [`CrudView`]. Only `names`, `columns` and `list` are
/// required; the rest default to "not found", for read-only views.
pub trait CrudSource: Send + Sync + 'static {
    /// Singular and plural names, for titles and messages (`("User", "Users")`).
    fn names(&self) -> (&str, &str);

    /// The grid's columns, in order.
    fn columns(&self) -> Vec<GridColumn>;

    /// Filters of this source's own, shown beside the text filter; their
    /// values reach [`list`](Self::list) in [`GridQuery::params`]. None by default.
    fn filters(&self) -> Vec<GridFilter> {
        Vec::new()
    }

    /// One page of rows matching the query's filter, in its order, and the
    /// number of rows matching the filter.
    fn list<'a>(
        &'a self,
        cx: &'a CrudCx<'a>,
        query: &'a GridQuery,
    ) -> BoxFuture<'a, Result<GridPage>>;

    /// The add (`id` None) or edit form's fields with their current values.
    fn form<'a>(
        &'a self,
        _cx: &'a CrudCx<'a>,
        _id: Option<i64>,
    ) -> BoxFuture<'a, Result<Found<Vec<FormField>>>> {
        Box::pin(async { Ok(Found::NotFound) })
    }

    /// Validate and save a submitted form (add when `id` is None).
    fn save<'a>(
        &'a self,
        _cx: &'a CrudCx<'a>,
        _id: Option<i64>,
        _input: &'a FormInput,
    ) -> BoxFuture<'a, Result<Found<Saved>>> {
        Box::pin(async { Ok(Found::NotFound) })
    }

    /// A record's name, for the delete page.
    fn label<'a>(&'a self, _cx: &'a CrudCx<'a>, _id: i64) -> BoxFuture<'a, Result<Found<String>>> {
        Box::pin(async { Ok(Found::NotFound) })
    }

    /// Delete a record.
    fn delete<'a>(
        &'a self,
        _cx: &'a CrudCx<'a>,
        _id: i64,
    ) -> BoxFuture<'a, Result<Found<Deleted>>> {
        Box::pin(async { Ok(Found::NotFound) })
    }

    /// The row actions this source offers (`POST <base>/<id>/<name>`), by
    /// name; [`GridRow::actions`] says which rows show which.
    fn row_actions(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// Run a row action; the message is flashed on the list page.
    fn row_action<'a>(
        &'a self,
        _cx: &'a CrudCx<'a>,
        _name: &'a str,
        _id: i64,
    ) -> BoxFuture<'a, Result<Found<Flash>>> {
        Box::pin(async { Ok(Found::NotFound) })
    }
}
