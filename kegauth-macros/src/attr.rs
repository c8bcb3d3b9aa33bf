//! Parsing of `#[auth(...)]` attributes on the struct and on its fields.

use proc_macro2::Span;
use syn::{Attribute, Ident, LitBool, LitInt, LitStr, Result};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    User,
    Group,
    Bundle,
    Permission,
    Attempt,
}

impl Kind {
    pub fn from_ident(ident: &Ident) -> Option<Self> {
        Some(match ident.to_string().as_str() {
            "user" => Kind::User,
            "group" => Kind::Group,
            "bundle" => Kind::Bundle,
            "permission" => Kind::Permission,
            "attempt" => Kind::Attempt,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Bundle => "bundle",
            Kind::Permission => "permission",
            Kind::Attempt => "attempt",
        }
    }

    /// keg-auth's table name for the kind.
    pub fn default_table(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Group => "groups",
            Kind::Bundle => "bundles",
            Kind::Permission => "permissions",
            Kind::Attempt => "attempts",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Login {
    Email,
    Username,
}

impl Login {
    pub fn field_name(self) -> &'static str {
        match self {
            Login::Email => "email",
            Login::Username => "username",
        }
    }
}

/// `#[auth(user, table = "users", login = "email", timestamps = true)]`
#[derive(Default)]
pub struct StructAttrs {
    pub kind: Option<(Kind, Span)>,
    pub table: Option<LitStr>,
    pub login: Option<(Login, Span)>,
    pub timestamps: Option<LitBool>,
}

/// The role a field plays, when it plays one other than "an app column".
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    Id,
    Login,
    Name,
    Token,
    Description,
    ApiToken,
    Core,
}

impl Role {
    pub fn keyword(self) -> &'static str {
        match self {
            Role::Id => "id",
            Role::Login => "login",
            Role::Name => "name",
            Role::Token => "token",
            Role::Description => "description",
            Role::ApiToken => "api_token",
            Role::Core => "core",
        }
    }
}

/// `#[auth(core(password = "pw_hash"), column = "x", cli_arg, unique, max_len = 80, skip)]`
#[derive(Default)]
pub struct FieldAttrs {
    pub role: Option<(Role, Span)>,
    pub core_renames: Vec<(Ident, LitStr)>,
    pub column: Option<LitStr>,
    pub cli_arg: Option<Span>,
    pub unique: Option<Span>,
    pub read_only: Option<Span>,
    pub max_len: Option<LitInt>,
    pub skip: Option<Span>,
}

fn duplicate(span: Span, what: &str) -> syn::Error {
    syn::Error::new(span, format!("duplicate `{what}` in #[auth(...)]"))
}

pub fn struct_attrs(attrs: &[Attribute]) -> Result<StructAttrs> {
    let mut out = StructAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("auth")) {
        attr.parse_nested_meta(|meta| {
            let ident = meta.path.get_ident().cloned().ok_or_else(|| {
                meta.error("expected an entity kind or `table`, `login`, `timestamps`")
            })?;
            let key = ident.to_string();
            match key.as_str() {
                "table" => {
                    if out.table.is_some() {
                        return Err(duplicate(ident.span(), "table"));
                    }
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(lit.span(), "table name must not be empty"));
                    }
                    out.table = Some(lit);
                }
                "login" => {
                    if out.login.is_some() {
                        return Err(duplicate(ident.span(), "login"));
                    }
                    let lit: LitStr = meta.value()?.parse()?;
                    let login = match lit.value().as_str() {
                        "email" => Login::Email,
                        "username" => Login::Username,
                        _ => {
                            return Err(syn::Error::new(
                                lit.span(),
                                "unknown login kind, expected \"email\" or \"username\"",
                            ))
                        }
                    };
                    out.login = Some((login, lit.span()));
                }
                "timestamps" => {
                    if out.timestamps.is_some() {
                        return Err(duplicate(ident.span(), "timestamps"));
                    }
                    out.timestamps = Some(meta.value()?.parse()?);
                }
                _ => {
                    let kind = Kind::from_ident(&ident).ok_or_else(|| {
                        syn::Error::new(
                            ident.span(),
                            format!(
                                "unknown entity kind `{key}`, expected one of: \
                                 user, group, bundle, permission, attempt"
                            ),
                        )
                    })?;
                    if let Some((prev, _)) = out.kind {
                        return Err(syn::Error::new(
                            ident.span(),
                            format!(
                                "an entity has one kind; `{}` was already given",
                                prev.name()
                            ),
                        ));
                    }
                    out.kind = Some((kind, ident.span()));
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

pub fn field_attrs(attrs: &[Attribute]) -> Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("auth")) {
        attr.parse_nested_meta(|meta| {
            let ident = meta
                .path
                .get_ident()
                .cloned()
                .ok_or_else(|| meta.error("expected a field option"))?;
            let key = ident.to_string();
            let span = ident.span();
            let role = match key.as_str() {
                "id" => Some(Role::Id),
                "login" => Some(Role::Login),
                "name" => Some(Role::Name),
                "token" => Some(Role::Token),
                "description" => Some(Role::Description),
                "api_token" => Some(Role::ApiToken),
                "core" => Some(Role::Core),
                _ => None,
            };
            if let Some(role) = role {
                if let Some((prev, _)) = out.role {
                    return Err(syn::Error::new(
                        span,
                        format!("a field plays one role; it is already `{}`", prev.keyword()),
                    ));
                }
                out.role = Some((role, span));
                if role == Role::Core && meta.input.peek(syn::token::Paren) {
                    meta.parse_nested_meta(|inner| {
                        let field = inner
                            .path
                            .get_ident()
                            .cloned()
                            .ok_or_else(|| inner.error("expected `core_field = \"column\"`"))?;
                        let lit: LitStr = inner.value()?.parse()?;
                        if lit.value().is_empty() {
                            return Err(syn::Error::new(
                                lit.span(),
                                "column name must not be empty",
                            ));
                        }
                        if out.core_renames.iter().any(|(f, _)| *f == field) {
                            return Err(duplicate(field.span(), &field.to_string()));
                        }
                        out.core_renames.push((field, lit));
                        Ok(())
                    })?;
                }
                return Ok(());
            }
            match key.as_str() {
                "column" => {
                    if out.column.is_some() {
                        return Err(duplicate(span, "column"));
                    }
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(lit.span(), "column name must not be empty"));
                    }
                    out.column = Some(lit);
                }
                "max_len" => {
                    if out.max_len.is_some() {
                        return Err(duplicate(span, "max_len"));
                    }
                    let lit: LitInt = meta.value()?.parse()?;
                    let n: u32 = lit.base10_parse()?;
                    if n == 0 {
                        return Err(syn::Error::new(lit.span(), "max_len must be at least 1"));
                    }
                    out.max_len = Some(lit);
                }
                "cli_arg" | "unique" | "skip" | "read_only" => {
                    let slot = match key.as_str() {
                        "cli_arg" => &mut out.cli_arg,
                        "unique" => &mut out.unique,
                        "read_only" => &mut out.read_only,
                        _ => &mut out.skip,
                    };
                    if slot.is_some() {
                        return Err(duplicate(span, &key));
                    }
                    *slot = Some(span);
                }
                _ => {
                    return Err(syn::Error::new(
                        span,
                        format!(
                            "unknown field option `{key}`, expected one of: id, login, name, \
                             token, description, api_token, core, column, cli_arg, unique, \
                             max_len, read_only, skip"
                        ),
                    ))
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}
