//! Validation of the parsed input, with errors spanned at the offending tokens.
//!
//! The result is a [`Plan`]: which field plays which role, ready for expansion.

use crate::ast::{Field, Input};
use crate::attr::{Kind, Login, Role};
use proc_macro2::Span;
use syn::{Error, Result};

/// Core fields of the library's embedded core structs, for checking renames.
const USER_CORE_FIELDS: &[&str] = &[
    "is_enabled",
    "is_superuser",
    "is_verified",
    "password",
    "session_key",
    "last_login_utc",
    "disabled_utc",
];
const ATTEMPT_CORE_FIELDS: &[&str] = &[
    "user_input",
    "datetime_utc",
    "attempt_type",
    "is_during_lockout",
    "success",
    "source_ip",
];

pub struct Plan<'a> {
    pub kind: Kind,
    pub login: Login,
    pub table: String,
    pub timestamps: bool,
    /// Index into `input.fields` of each role.
    pub id: usize,
    pub login_field: Option<usize>,
    pub name: Option<usize>,
    pub token: Option<usize>,
    pub description: Option<usize>,
    pub api_token: Option<usize>,
    pub core: Option<usize>,
    pub input: &'a Input<'a>,
}

struct Errors(Option<Error>);

impl Errors {
    fn push(&mut self, span: Span, msg: impl std::fmt::Display) {
        let e = Error::new(span, msg);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
}

fn allowed(kind: Kind, role: Role) -> bool {
    matches!(
        (kind, role),
        (_, Role::Id)
            | (Kind::User, Role::Login | Role::ApiToken | Role::Core)
            | (Kind::Group | Kind::Bundle, Role::Name)
            | (Kind::Permission, Role::Token | Role::Description)
            | (Kind::Attempt, Role::Core)
    )
}

/// The role a field plays by its name alone, when no attribute says otherwise.
fn implied_role(kind: Kind, login: Login, field: &Field) -> Option<Role> {
    let name = field.ident.to_string();
    match (kind, name.as_str()) {
        (_, "id") => Some(Role::Id),
        (Kind::User, n) if n == login.field_name() => Some(Role::Login),
        (Kind::Group | Kind::Bundle, "name") => Some(Role::Name),
        (Kind::Permission, "token") => Some(Role::Token),
        (Kind::Permission, "description") => Some(Role::Description),
        _ => None,
    }
}

pub fn validate<'a>(input: &'a Input<'a>) -> Result<Plan<'a>> {
    let mut errors = Errors(None);
    let ident_span = input.ident.span();

    if !input.original.generics.params.is_empty() {
        errors.push(
            input.original.generics.params[0].clone().into_span(),
            "AuthEntity does not support generic structs",
        );
    }

    let Some((kind, kind_span)) = input.attrs.kind else {
        return Err(Error::new(
            ident_span,
            "missing entity kind: add #[auth(user)], #[auth(group)], #[auth(bundle)], \
             #[auth(permission)] or #[auth(attempt)] to the struct",
        ));
    };
    let login = match input.attrs.login {
        Some((login, span)) => {
            if kind != Kind::User {
                errors.push(span, "`login` applies only to #[auth(user)] entities");
            }
            login
        }
        None => Login::Email,
    };

    // Explicit roles first; a role given explicitly suppresses the implied one.
    let mut explicit: Vec<(usize, Role, Span)> = Vec::new();
    for (i, field) in input.fields.iter().enumerate() {
        let a = &field.attrs;
        if let Some(skip) = a.skip {
            if a.role.is_some() || a.column.is_some() || a.cli_arg.is_some() || a.unique.is_some() {
                errors.push(skip, "a skipped field takes no other #[auth] option");
            }
        }
        if let Some((role, span)) = a.role {
            if !allowed(kind, role) {
                errors.push(
                    span,
                    format!(
                        "`{}` does not apply to a {} entity",
                        role.keyword(),
                        kind.name()
                    ),
                );
                continue;
            }
            if role != Role::Core {
                if let Some((first, _)) = a.core_renames.first() {
                    errors.push(first.span(), "column renames belong to `core(...)` fields");
                }
            }
            if role == Role::Core {
                if let Some(col) = &a.column {
                    errors.push(
                        col.span(),
                        "a core field has several columns; rename them with core(field = \"column\")",
                    );
                }
                let known = if kind == Kind::User {
                    USER_CORE_FIELDS
                } else {
                    ATTEMPT_CORE_FIELDS
                };
                for (field, _) in &a.core_renames {
                    let name = field.to_string();
                    if !known.contains(&name.as_str()) {
                        errors.push(
                            field.span(),
                            format!(
                                "unknown core field `{name}`, expected one of: {}",
                                known.join(", ")
                            ),
                        );
                    }
                    if kind == Kind::User && login == Login::Username && name == "is_verified" {
                        errors.push(
                            field.span(),
                            "username-login users have no `is_verified` column",
                        );
                    }
                }
            }
            explicit.push((i, role, span));
        }
    }

    let mut slot = |role: Role| -> Option<usize> {
        let given: Vec<&(usize, Role, Span)> =
            explicit.iter().filter(|(_, r, _)| *r == role).collect();
        if let Some(second) = given.get(1) {
            let what = match role {
                Role::Login => "two login fields".to_string(),
                other => format!("two `{}` fields", other.keyword()),
            };
            errors.push(
                second.2,
                format!(
                    "{what}: `{}` is already the {} field",
                    input.fields[given[0].0].ident,
                    role.keyword()
                ),
            );
        }
        if let Some(first) = given.first() {
            return Some(first.0);
        }
        input.fields.iter().position(|f| {
            f.attrs.role.is_none()
                && f.attrs.skip.is_none()
                && implied_role(kind, login, f) == Some(role)
        })
    };

    let id = slot(Role::Id);
    let login_field = if kind == Kind::User {
        slot(Role::Login)
    } else {
        None
    };
    let name = if matches!(kind, Kind::Group | Kind::Bundle) {
        slot(Role::Name)
    } else {
        None
    };
    let (token, description) = if kind == Kind::Permission {
        (slot(Role::Token), slot(Role::Description))
    } else {
        (None, None)
    };
    let api_token = if kind == Kind::User {
        slot(Role::ApiToken)
    } else {
        None
    };
    let core = if matches!(kind, Kind::User | Kind::Attempt) {
        slot(Role::Core)
    } else {
        None
    };

    if id.is_none() {
        errors.push(
            ident_span,
            "missing id field: an entity needs an `id: i64` primary key \
             (name the field `id` or mark it #[auth(id)])",
        );
    }
    match kind {
        Kind::User => {
            if login_field.is_none() {
                errors.push(
                    ident_span,
                    format!(
                        "missing login field: a user with login = \"{}\" needs a `{}: String` \
                         field (or a field marked #[auth(login)])",
                        login.field_name(),
                        login.field_name()
                    ),
                );
            }
            if core.is_none() {
                errors.push(
                    ident_span,
                    "missing core columns: add `#[auth(core)] core: kegauth::UserCore`",
                );
            }
        }
        Kind::Attempt => {
            if core.is_none() {
                errors.push(
                    ident_span,
                    "missing core columns: add `#[auth(core)] core: kegauth::AttemptCore`",
                );
            }
        }
        Kind::Group | Kind::Bundle => {
            if name.is_none() {
                errors.push(
                    ident_span,
                    format!(
                        "missing name field: a {} needs a `name: String` field",
                        kind.name()
                    ),
                );
            }
        }
        Kind::Permission => {
            if token.is_none() {
                errors.push(
                    ident_span,
                    "missing token field: a permission needs a `token: String` field",
                );
            }
        }
    }
    let _ = kind_span;

    // Two fields may not map to one column.
    let mut seen: Vec<(String, Span)> = Vec::new();
    for field in &input.fields {
        if field.attrs.skip.is_some() || matches!(field.attrs.role, Some((Role::Core, _))) {
            continue;
        }
        let (col, span) = match &field.attrs.column {
            Some(lit) => (lit.value(), lit.span()),
            None => (field.ident.to_string(), field.ident.span()),
        };
        if seen.iter().any(|(c, _)| *c == col) {
            errors.push(span, format!("two fields map to the column `{col}`"));
        }
        seen.push((col, span));
    }

    if let Some(e) = errors.0 {
        return Err(e);
    }
    let table = input
        .attrs
        .table
        .as_ref()
        .map(|t| t.value())
        .unwrap_or_else(|| kind.default_table().to_string());
    let timestamps = input.attrs.timestamps.as_ref().is_none_or(|b| b.value);
    Ok(Plan {
        kind,
        login,
        table,
        timestamps,
        id: id.unwrap_or_default(),
        login_field,
        name,
        token,
        description,
        api_token,
        core,
        input,
    })
}

trait IntoSpan {
    fn into_span(self) -> Span;
}

impl IntoSpan for syn::GenericParam {
    fn into_span(self) -> Span {
        use syn::spanned::Spanned;
        self.span()
    }
}
