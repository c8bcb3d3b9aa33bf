//! [`CrudView`]: the routes of a CRUD page set and their handler.

use super::grid::{list_url, ExportFile, ExportFormat, MAX_EXPORT_ROWS};
use super::{
    csv_export, Action, BuiltinSources, CrudCx, CrudSource, Deleted, FieldKind, FormField,
    FormInput, Found, GridPage, GridQuery, Saved, SourceRef, Viewer,
};
use crate::authn::principal::principal;
use crate::authn::session::{Flash, Session};
use crate::authz::admin_rules::{AdminRules, Section};
use crate::authz::requirements::{evaluate, register_rule, tag_route, Requirement, RouteRule};
use crate::core::audit::kinds;
use crate::services::templates::Templates;
use crate::web::views::{csrf_failure, html, Ctx, Page};
use rocket::data::ToByteUnit;
use rocket::http::{Method, Status};
use rocket::outcome::Outcome;
use rocket::route::{self, Handler, Route};
use rocket::{Data, Request};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) use crate::authz::admin_rules::AUTH_MANAGE;

/// A set of CRUD routes over a [`CrudSource`]: `GET <base>` (the grid, and
/// `?export_to=csv` or `xlsx`), `GET/POST <base>/add`, `GET/POST <base>/<id>/edit`,
/// `GET/POST <base>/<id>/delete` (GET shows a confirmation; deleting is a
/// POST with the CSRF token) and `POST <base>/<id>/<row action>`.
///
/// Every action requires `auth-manage` unless [`require`](Self::require)
/// says otherwise; edit and delete links show only to viewers who pass the
/// edit and delete requirements. The pages render `kegauth/crud-list.html`,
/// `kegauth/crud-form.html` and `kegauth/crud-delete.html`, which an app
/// overrides like any kegauth template. See the [module docs](super) for an example.
#[derive(Clone)]
pub struct CrudView {
    pub(super) base: String,
    pub(super) source: SourceRef,
    requirements: BTreeMap<Action, Requirement>,
    actions: Vec<Action>,
}

impl CrudView {
    /// A view of `source` at `base` (e.g. `"/widgets"`) with every action.
    pub fn new(base: &str, source: impl CrudSource) -> Self {
        Self::with_source(base, SourceRef::Custom(Arc::new(source)))
    }

    pub(crate) fn with_source(base: &str, source: SourceRef) -> Self {
        CrudView {
            base: format!("/{}", base.trim_matches('/')),
            source,
            requirements: BTreeMap::new(),
            actions: Action::ALL.to_vec(),
        }
    }

    /// Require `requirement` (a token, `has_all`/`has_any`, a check) for `action`
    /// instead of `auth-manage`.
    pub fn require(mut self, action: Action, requirement: impl Into<Requirement>) -> Self {
        self.requirements.insert(action, requirement.into());
        self
    }

    /// Offer only these actions (the others get no route).
    pub fn actions(mut self, actions: &[Action]) -> Self {
        self.actions = actions.to_vec();
        self
    }

    /// The routes, to mount (usually at `/`).
    pub fn routes(self) -> Vec<Route> {
        let row_actions = match &self.source {
            SourceRef::Custom(source) => source.row_actions(),
            SourceRef::Builtin(_, actions) => actions.clone(),
        };
        let view = Arc::new(self);
        let base = view.base.trim_end_matches('/').to_string();
        // One rule per action, so that launch checks, the route report and
        // menus know what each route requires.
        let mut rules = BTreeMap::new();
        let mut rule_of = |action: Action| {
            *rules.entry(action).or_insert_with(|| {
                register_rule(match &view.source {
                    SourceRef::Custom(_) => {
                        RouteRule::Fixed(Arc::new(view.requirement(action)), Default::default())
                    }
                    SourceRef::Builtin(section, _) => RouteRule::Admin(*section, action),
                })
            })
        };
        let mut routes = Vec::new();
        let mut add = |method: Method, path: String, op: Op| {
            let mut route = Route::new(
                method,
                &path,
                CrudHandler {
                    view: view.clone(),
                    op,
                },
            );
            let action = format!("{:?}", op.action()).to_lowercase();
            route.name = Some(format!("crud {action} {base}").into());
            tag_route(&mut route, rule_of(op.action()));
            routes.push(route);
        };
        let has = |a: Action| view.actions.contains(&a);
        if has(Action::List) {
            add(Method::Get, format!("{base}/"), Op::List);
            add(Method::Get, base.clone(), Op::List);
        }
        if has(Action::Add) {
            add(Method::Get, format!("{base}/add"), Op::Form { edit: false });
            add(
                Method::Post,
                format!("{base}/add"),
                Op::Save { edit: false },
            );
        }
        if has(Action::Edit) {
            add(
                Method::Get,
                format!("{base}/<id>/edit"),
                Op::Form { edit: true },
            );
            add(
                Method::Post,
                format!("{base}/<id>/edit"),
                Op::Save { edit: true },
            );
            for name in row_actions {
                add(
                    Method::Post,
                    format!("{base}/<id>/{name}"),
                    Op::RowAction(name),
                );
            }
        }
        if has(Action::Delete) {
            add(Method::Get, format!("{base}/<id>/delete"), Op::DeletePage);
            add(Method::Post, format!("{base}/<id>/delete"), Op::Delete);
        }
        // `/users/` and `/users` both list; keep one when base is `/`.
        routes.dedup_by(|a, b| a.uri.to_string() == b.uri.to_string() && a.method == b.method);
        routes
    }

    /// The source and the requirement of `action`, at request time.
    fn resolve<'r>(
        &'r self,
        req: &'r Request<'_>,
        action: Action,
    ) -> Option<(&'r dyn CrudSource, Requirement)> {
        match &self.source {
            SourceRef::Custom(source) => Some((&**source, self.requirement(action))),
            SourceRef::Builtin(section, _) => {
                let sources = req.rocket().state::<BuiltinSources>()?;
                let rules = req.rocket().state::<AdminRules>()?;
                let source = sources.0.get(section)?;
                Some((&**source, rules.requirement(*section, action)))
            }
        }
    }

    /// The requirement of `action` of an app's view.
    fn requirement(&self, action: Action) -> Requirement {
        self.requirements
            .get(&action)
            .cloned()
            .unwrap_or_else(|| Requirement::from(AUTH_MANAGE))
    }

    fn segments(&self) -> usize {
        self.base.split('/').filter(|s| !s.is_empty()).count()
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    List,
    /// The add (false) or edit (true) form.
    Form {
        edit: bool,
    },
    /// Saving the add (false) or edit (true) form.
    Save {
        edit: bool,
    },
    DeletePage,
    Delete,
    RowAction(&'static str),
}

#[derive(Clone)]
struct CrudHandler {
    view: Arc<CrudView>,
    op: Op,
}

/// Where the view lives for this request: the mount point plus the base.
fn root(req: &Request<'_>, base: &str) -> String {
    let mount = req
        .route()
        .map(|r| r.uri.base().to_string())
        .unwrap_or_default();
    let joined = format!("{}{}", mount.trim_end_matches('/'), base);
    match joined.trim_end_matches('/') {
        "" => "/".to_string(),
        s => s.to_string(),
    }
}

/// Put submitted values back into the form's fields (never a password).
fn refill(fields: &mut [FormField], input: &FormInput) {
    for f in fields {
        match f.kind {
            FieldKind::Password => f.value.clear(),
            FieldKind::Checkbox => {
                f.value = if input.checked(&f.name) { "true" } else { "" }.into()
            }
            FieldKind::MultiSelect => f.selected = input.all(&f.name).to_vec(),
            _ => f.value = input.get(&f.name).unwrap_or_default().to_string(),
        }
    }
}

fn error_flash(message: &str) -> Flash {
    Flash {
        category: "error".into(),
        message: message.into(),
    }
}

fn success(message: String) -> Flash {
    Flash {
        category: "success".into(),
        message,
    }
}

struct Request2<'a, 'r> {
    req: &'r Request<'a>,
    ctx: Ctx<'r>,
    cx: CrudCx<'r>,
    source: &'r dyn CrudSource,
    root: String,
}

impl Request2<'_, '_> {
    fn templates(&self) -> &Templates {
        &self.ctx.templates
    }

    fn session(&self) -> &Session<'_> {
        &self.ctx.session
    }

    fn tr(&self) -> &crate::services::i18n::Translator {
        self.ctx.templates.tr()
    }

    /// The source's singular and plural names, translated when they are keys.
    fn names(&self) -> (String, String) {
        let (singular, plural) = self.source.names();
        (self.tr().label(singular), self.tr().label(plural))
    }

    /// `key` with the (translated) singular name as `$name`.
    fn t_name(&self, key: &str) -> String {
        let singular = self.tr().label(self.source.names().0);
        self.tr().t_args(key, &[("name", singular)])
    }

    fn id(&self, view: &CrudView) -> Option<i64> {
        self.req.param::<i64>(view.segments()).and_then(Result::ok)
    }

    fn query(&self, name: &str) -> Option<&str> {
        self.req.query_value::<&str>(name).and_then(Result::ok)
    }

    async fn allowed(&self, view: &CrudView, action: Action) -> bool {
        match view.resolve(self.req, action) {
            Some((_, requirement)) if view.actions.contains(&action) => {
                evaluate(self.req, &requirement).await.is_ok()
            }
            _ => false,
        }
    }

    fn redirect_to_list(&self, flash: Flash) -> Page {
        self.session().flash(&flash.category, &flash.message);
        Page::redirect(self.root.clone())
    }
}

fn found_status<T>(found: &Found<T>) -> Option<Status> {
    match found {
        Found::Yes(_) => None,
        Found::NotFound => Some(Status::NotFound),
        Found::Forbidden => Some(Status::Forbidden),
    }
}

impl CrudHandler {
    async fn list(&self, r: &Request2<'_, '_>) -> crate::core::error::Result<Page> {
        let view = &*self.view;
        let source = r.source;
        let columns: Vec<_> = source
            .columns()
            .into_iter()
            .map(|mut c| {
                c.label = r.tr().label(&c.label);
                c
            })
            .collect();
        let mut query = GridQuery::from_params(
            &columns,
            r.query("sort"),
            r.query("filter"),
            r.query("page"),
        );
        let filters: Vec<_> = source
            .filters()
            .into_iter()
            .map(|mut f| {
                f.label = r.tr().label(&f.label);
                for o in &mut f.options {
                    o.1 = r.tr().label(&o.1);
                }
                f
            })
            .collect();
        for f in &filters {
            let value: String = r
                .query(&f.key)
                .unwrap_or_default()
                .trim()
                .chars()
                .take(crate::core::store::grid::MAX_FILTER_CHARS)
                .collect();
            // A choice the filter does not offer is no filter.
            let offered = f.options.is_empty() || f.options.iter().any(|o| o.0 == value);
            if !value.is_empty() && offered && !matches!(f.key.as_str(), "sort" | "filter" | "page")
            {
                query.params.insert(f.key.clone(), value);
            }
        }
        let filter_values: Vec<_> = filters
            .iter()
            .map(|f| {
                json!({
                    "key": f.key,
                    "label": f.label,
                    "options": f.options,
                    "value": query.params.get(&f.key).cloned().unwrap_or_default(),
                })
            })
            .collect();
        #[cfg(not(feature = "xlsx"))]
        if r.query("export_to") == Some("xlsx") {
            return Err(crate::core::error::Error::NotFound(
                "the Excel export (kegauth's `xlsx` feature, which this build lacks)".into(),
            ));
        }
        if let Some(format) = r.query("export_to").and_then(ExportFormat::parse) {
            query.page = 1;
            query.per_page = MAX_EXPORT_ROWS;
            let page = source.list(&r.cx, &query).await?;
            let body = match format {
                ExportFormat::Csv => csv_export(&columns, &page.rows)?.into_bytes(),
                #[cfg(feature = "xlsx")]
                ExportFormat::Xlsx => super::grid::xlsx_export(&columns, &page.rows)?,
            };
            return Ok(Page::Export(ExportFile {
                name: r.names().1.to_lowercase().replace(' ', "-"),
                format,
                body,
            }));
        }
        let GridPage { rows, total } = source.list(&r.cx, &query).await?;
        let pages = total.div_ceil(u64::from(query.per_page)).max(1);
        let (can_add, can_edit, can_delete) = (
            r.allowed(view, Action::Add).await,
            r.allowed(view, Action::Edit).await,
            r.allowed(view, Action::Delete).await,
        );
        let root = &r.root;
        let sort = query.sort.as_deref().map(|k| (k, query.descending));
        let heads: Vec<_> = columns
            .iter()
            .map(|c| {
                let current = query.sort.as_deref() == Some(c.key.as_str());
                let desc_next = current && !query.descending;
                json!({
                    "key": c.key,
                    "label": c.label,
                    "sort_url": c.sortable.then(|| list_url(root, Some((&c.key, desc_next)), &query, 1)),
                    "sorted": current.then_some(if query.descending { "desc" } else { "asc" }),
                })
            })
            .collect();
        // Rows straight into template values (no JSON in between: a page of
        // rows is most of what the grid renders).
        let rows: Vec<_> = rows
            .iter()
            .map(|row| {
                let actions: Vec<_> = row
                    .actions
                    .iter()
                    .filter(|_| can_edit)
                    .map(|a| minijinja::context! { label => r.tr().label(&a.label), url => format!("{root}/{}/{}", row.id, a.name) })
                    .collect();
                minijinja::context! {
                    id => row.id,
                    cells => row.cells,
                    edit_url => can_edit.then(|| format!("{root}/{}/edit", row.id)),
                    delete_url => can_delete.then(|| format!("{root}/{}/delete", row.id)),
                    actions => actions,
                }
            })
            .collect();
        let page = u64::from(query.page);
        let export = |format: &str| {
            let mut url = list_url(root, sort, &query, 1);
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("export_to=");
            url.push_str(format);
            url
        };
        let (singular, plural) = r.names();
        let body = r.templates().render(
            "kegauth/crud-list.html",
            &plural,
            minijinja::context! {
                singular => singular,
                plural => plural,
                columns => heads,
                rows => rows,
                total => total,
                page => page,
                pages => pages,
                filter => query.filter,
                filters => filter_values,
                list_url => root,
                sort => query.sort.as_deref().map(|k| format!("{}{k}", if query.descending { "-" } else { "" })),
                prev_url => (page > 1).then(|| list_url(root, sort, &query, query.page - 1)),
                next_url => (page < pages).then(|| list_url(root, sort, &query, query.page + 1)),
                add_url => can_add.then(|| format!("{root}/add")),
                export_url => export("csv"),
                export_xlsx_url => cfg!(feature = "xlsx").then(|| export("xlsx")),
                csrf_token => r.session().csrf_token(),
                flashes => r.session().take_flashes(),
            },
        );
        Ok(html(Status::Ok, body))
    }

    /// What a user's edit page shows besides the form: their sessions (with
    /// "End all sessions") and, for a viewer who may see the audit page, a
    /// link to their audit events.
    async fn form_extras(&self, r: &Request2<'_, '_>, id: Option<i64>) -> serde_json::Value {
        let (SourceRef::Builtin(Section::Users, _), Some(id)) = (&self.view.source, id) else {
            return json!({});
        };
        let sessions = crate::web::views::account::sessions_of(&r.ctx, id, None).await;
        let mut extras = json!({
            "sessions": sessions.unwrap_or_else(|e| {
                log::error!("kegauth: listing the sessions of user {id} failed: {e}");
                Vec::new()
            }),
            "end_sessions_url": format!("{}/{id}/end-sessions", r.root),
        });
        let Some(rules) = r.req.rocket().state::<AdminRules>() else {
            return extras;
        };
        if evaluate(r.req, &rules.requirement(Section::Audit, Action::List))
            .await
            .is_ok()
        {
            let mount = root(r.req, "");
            extras["links"] = json!([{
                "label": r.tr().t("audit-user-events"),
                "url": format!("{}{}?user={id}", mount.trim_end_matches('/'), Section::Audit.path()),
            }]);
        }
        extras
    }

    fn render_form(
        &self,
        r: &Request2<'_, '_>,
        id: Option<i64>,
        fields: Vec<FormField>,
        errors: &super::FieldErrors,
        flashes: Vec<Flash>,
        extras: serde_json::Value,
    ) -> Page {
        let (singular, _) = r.names();
        let (title, action) = match id {
            Some(id) => (r.t_name("crud-edit-title"), format!("{}/{id}/edit", r.root)),
            None => (r.t_name("crud-create"), format!("{}/add", r.root)),
        };
        let fields: Vec<_> = fields
            .into_iter()
            .map(|mut f| {
                f.label = r.tr().label(&f.label);
                f.help = f.help.map(|h| r.tr().label(&h));
                f
            })
            .collect();
        let mut context = json!({
            "singular": singular,
            "fields": fields,
            "errors": errors,
            "form_action": action,
            "cancel_url": r.root,
            "csrf_token": r.session().csrf_token(),
            "flashes": flashes,
        });
        if let (Some(context), serde_json::Value::Object(extras)) =
            (context.as_object_mut(), extras)
        {
            context.extend(extras);
        }
        html(
            Status::Ok,
            r.templates()
                .render("kegauth/crud-form.html", &title, context),
        )
    }

    async fn form(
        &self,
        r: &Request2<'_, '_>,
        id: Option<i64>,
    ) -> crate::core::error::Result<Page> {
        let found = r.source.form(&r.cx, id).await?;
        if let Some(status) = found_status(&found) {
            return Ok(Page::Status(status));
        }
        let Found::Yes(fields) = found else {
            return Ok(Page::Status(Status::NotFound));
        };
        let flashes = r.session().take_flashes();
        let extras = self.form_extras(r, id).await;
        Ok(self.render_form(r, id, fields, &BTreeMap::new(), flashes, extras))
    }

    async fn save(
        &self,
        r: &Request2<'_, '_>,
        id: Option<i64>,
        input: &FormInput,
    ) -> crate::core::error::Result<Page> {
        // The form as it was: what the save changed is recorded against
        // it, and an invalid save (which writes nothing) shows it again.
        let before = r.source.form(&r.cx, id).await?;
        let saved = r.source.save(&r.cx, id, input).await?;
        if let Some(status) = found_status(&saved) {
            return Ok(Page::Status(status));
        }
        match saved {
            Found::Yes(Saved::Done {
                id: saved_id,
                relogin,
            }) => {
                let after = match r.source.form(&r.cx, Some(saved_id)).await? {
                    Found::Yes(fields) => fields,
                    _ => Vec::new(),
                };
                super::changes::record_save(
                    (&self.view.base, &self.view.source),
                    &r.cx,
                    id.is_some(),
                    saved_id,
                    match &before {
                        Found::Yes(fields) => fields,
                        _ => &[],
                    },
                    &after,
                    input,
                );
                let flash = success(r.t_name(if id.is_some() {
                    "crud-modified"
                } else {
                    "crud-created"
                }));
                match relogin {
                    // The viewer changed their own rights: keep them logged in
                    // with their new key (other sessions of theirs end).
                    Some(key) => {
                        r.ctx.rekey(&key, vec![flash]).await?;
                        Ok(Page::redirect(r.root.clone()))
                    }
                    None => Ok(r.redirect_to_list(flash)),
                }
            }
            Found::Yes(Saved::Invalid(errors)) => {
                let Found::Yes(mut fields) = before else {
                    return Ok(Page::Status(
                        found_status(&before).unwrap_or(Status::NotFound),
                    ));
                };
                refill(&mut fields, input);
                let mut flashes = r.session().take_flashes();
                flashes.push(error_flash(&r.tr().t("form-has-errors")));
                for message in errors.get("_form").into_iter().flatten() {
                    flashes.push(error_flash(message));
                }
                let extras = self.form_extras(r, id).await;
                Ok(self.render_form(r, id, fields, &errors, flashes, extras))
            }
            _ => Ok(Page::Status(Status::NotFound)),
        }
    }

    async fn delete_page(&self, r: &Request2<'_, '_>, id: i64) -> crate::core::error::Result<Page> {
        let found = r.source.label(&r.cx, id).await?;
        let Found::Yes(label) = found else {
            return Ok(Page::Status(
                found_status(&found).unwrap_or(Status::NotFound),
            ));
        };
        let (singular, _) = r.names();
        Ok(html(
            Status::Ok,
            r.templates().render(
                "kegauth/crud-delete.html",
                &r.t_name("crud-delete-title"),
                json!({
                    "singular": singular,
                    "label": label,
                    "form_action": format!("{}/{id}/delete", r.root),
                    "cancel_url": r.root,
                    "csrf_token": r.session().csrf_token(),
                    "flashes": r.session().take_flashes(),
                }),
            ),
        ))
    }

    async fn delete(&self, r: &Request2<'_, '_>, id: i64) -> crate::core::error::Result<Page> {
        let label = match r.source.label(&r.cx, id).await? {
            Found::Yes(label) => Some(label),
            _ => None,
        };
        let deleted = r.source.delete(&r.cx, id).await?;
        Ok(match deleted {
            Found::Yes(Deleted::Done) => {
                r.cx.audit(
                    super::changes::event(
                        (&self.view.base, &self.view.source),
                        kinds::ADMIN_DELETE,
                        id,
                    )
                    .detail_merged(json!({ "label": label })),
                );
                r.redirect_to_list(success(r.t_name("crud-removed")))
            }
            Found::Yes(Deleted::Refused(message)) => r.redirect_to_list(Flash {
                category: "warning".into(),
                message,
            }),
            other => Page::Status(found_status(&other).unwrap_or(Status::NotFound)),
        })
    }

    async fn run(&self, r: &Request2<'_, '_>, data: Data<'_>) -> crate::core::error::Result<Page> {
        let view = &*self.view;
        let id = match self.op {
            Op::List | Op::Form { edit: false } | Op::Save { edit: false } => None,
            _ => match r.id(view) {
                Some(id) => Some(id),
                None => return Ok(Page::Status(Status::NotFound)),
            },
        };
        let input = match self.op {
            Op::Save { .. } | Op::Delete | Op::RowAction(_) => {
                let limit = r.req.limits().get("form").unwrap_or(32.kibibytes());
                let body = match data.open(limit).into_bytes().await {
                    Ok(body) if body.is_complete() => body.into_inner(),
                    Ok(_) => return Ok(Page::Status(Status::PayloadTooLarge)),
                    Err(_) => return Ok(Page::Status(Status::BadRequest)),
                };
                let input = FormInput::parse(&body);
                if !r
                    .session()
                    .csrf_matches(input.get("csrf_token").unwrap_or_default())
                {
                    return Ok(csrf_failure(r.templates()));
                }
                input
            }
            _ => FormInput::default(),
        };
        match (self.op, id) {
            (Op::List, _) => self.list(r).await,
            (Op::Form { .. }, id) => self.form(r, id).await,
            (Op::Save { .. }, id) => self.save(r, id, &input).await,
            (Op::DeletePage, Some(id)) => self.delete_page(r, id).await,
            (Op::Delete, Some(id)) => self.delete(r, id).await,
            (Op::RowAction(name), Some(id)) => {
                let found = r.source.row_action(&r.cx, name, id).await?;
                Ok(match found {
                    Found::Yes(flash) => r.redirect_to_list(flash),
                    other => Page::Status(found_status(&other).unwrap_or(Status::NotFound)),
                })
            }
            _ => Ok(Page::Status(Status::NotFound)),
        }
    }
}

impl Op {
    fn action(self) -> Action {
        match self {
            Op::List => Action::List,
            Op::Form { edit: true } | Op::Save { edit: true } | Op::RowAction(_) => Action::Edit,
            Op::Form { edit: false } | Op::Save { edit: false } => Action::Add,
            Op::DeletePage | Op::Delete => Action::Delete,
        }
    }
}

#[rocket::async_trait]
impl Handler for CrudHandler {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> route::Outcome<'r> {
        let view = &*self.view;
        let Some((source, requirement)) = view.resolve(req, self.op.action()) else {
            log::error!(
                "kegauth: the CRUD view at {} has no source: attach the AuthManager",
                view.base
            );
            return Outcome::Error(Status::InternalServerError);
        };
        if let Err(denied) = evaluate(req, &requirement).await {
            return Outcome::Error(denied.status());
        }
        let (viewer, actor) = match principal(req).await {
            Ok(Some(p)) => (
                Viewer::new(p.user.clone()),
                req.rocket()
                    .state::<crate::authn::service::Auth>()
                    .and_then(|auth| auth.0.id_of(&*p.user)),
            ),
            Ok(None) => return Outcome::Error(Status::Unauthorized),
            Err(status) => return Outcome::Error(status),
        };
        let ctx = match req.guard::<Ctx<'r>>().await {
            Outcome::Success(ctx) => ctx,
            _ => return Outcome::Error(Status::InternalServerError),
        };
        let tr = ctx.templates.tr().clone();
        let auditing = super::Auditing {
            auditor: Some(ctx.auditor.clone()),
            actor,
            client_ip: ctx.ip.map(|ip| ip.to_string()),
        };
        let r = Request2 {
            req,
            ctx,
            cx: CrudCx {
                rocket: req.rocket(),
                viewer,
                tr,
                auditing,
            },
            source,
            root: root(req, &view.base),
        };
        let page = match self.run(&r, data).await {
            Ok(page) => page,
            Err(e) => Page::Error(e),
        };
        route::Outcome::from(req, page)
    }
}
