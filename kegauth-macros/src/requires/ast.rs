//! The parsed arguments of `#[requires_user(..)]` and
//! `#[requires_permissions(..)]`: the condition tree and the `key = value`
//! options, checked while they are parsed (each error spans the offending
//! token).

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprCall, Lit, Token};

/// The condition tree.
pub enum Cond {
    Token(syn::LitStr),
    All(Vec<Cond>, Span),
    Any(Vec<Cond>, Span),
    Other(Box<Expr>),
}

fn combinator(call: &ExprCall) -> Option<&'static str> {
    let Expr::Path(p) = &*call.func else {
        return None;
    };
    match p.path.segments.last()?.ident.to_string().as_str() {
        "has_all" => Some("has_all"),
        "has_any" => Some("has_any"),
        _ => None,
    }
}

fn parse_cond(expr: Expr) -> syn::Result<Cond> {
    match expr {
        Expr::Lit(lit) => match lit.lit {
            Lit::Str(s) => {
                if s.value().trim().is_empty() {
                    return Err(syn::Error::new(
                        s.span(),
                        "a permission token must not be empty",
                    ));
                }
                Ok(Cond::Token(s))
            }
            other => Err(syn::Error::new(
                other.span(),
                "expected a permission token string, a declared permission, has_all(..), \
                 has_any(..), a tuple of conditions, or a check taking the user",
            )),
        },
        Expr::Tuple(t) => {
            let span = t.span();
            if t.elems.is_empty() {
                return Err(syn::Error::new(
                    span,
                    "an empty tuple requires nothing; name at least one permission",
                ));
            }
            let items = t
                .elems
                .into_iter()
                .map(parse_cond)
                .collect::<syn::Result<_>>()?;
            Ok(Cond::All(items, span))
        }
        Expr::Paren(p) => parse_cond(*p.expr),
        Expr::Call(call) if combinator(&call).is_some() => {
            let name = combinator(&call).unwrap_or("has_all");
            let span = call.func.span();
            if call.args.is_empty() {
                return Err(syn::Error::new(
                    span,
                    format!("{name}(..) needs at least one condition"),
                ));
            }
            let items = call
                .args
                .into_iter()
                .map(parse_cond)
                .collect::<syn::Result<_>>()?;
            Ok(if name == "has_all" {
                Cond::All(items, span)
            } else {
                Cond::Any(items, span)
            })
        }
        other => Ok(Cond::Other(Box::new(other))),
    }
}

/// `key = value` options after the condition.
#[derive(Default)]
pub struct Options {
    pub on_authentication_failure: Option<Expr>,
    pub on_authorization_failure: Option<Expr>,
    pub http_methods_excluded: Option<Vec<syn::LitStr>>,
    pub request_loaders: Option<Vec<syn::Path>>,
}

pub const METHODS: &[&str] = &[
    "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "TRACE", "CONNECT", "PATCH",
];

impl Options {
    fn set(&mut self, assign: syn::ExprAssign, allow_authorization: bool) -> syn::Result<()> {
        let Expr::Path(key) = &*assign.left else {
            return Err(syn::Error::new(
                assign.left.span(),
                "expected an option name",
            ));
        };
        let name = key
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let duplicate = || syn::Error::new(key.span(), format!("`{name}` is given twice"));
        match name.as_str() {
            "on_authentication_failure" => {
                if self
                    .on_authentication_failure
                    .replace(*assign.right)
                    .is_some()
                {
                    return Err(duplicate());
                }
            }
            "on_authorization_failure" if allow_authorization => {
                if self
                    .on_authorization_failure
                    .replace(*assign.right)
                    .is_some()
                {
                    return Err(duplicate());
                }
            }
            "http_methods_excluded" => {
                let Expr::Array(array) = *assign.right else {
                    return Err(syn::Error::new(
                        assign.right.span(),
                        "expected a list of methods, e.g. [\"OPTIONS\"]",
                    ));
                };
                let mut methods = Vec::new();
                for elem in array.elems {
                    match elem {
                        Expr::Lit(syn::ExprLit {
                            lit: Lit::Str(s), ..
                        }) if METHODS.contains(&s.value().to_ascii_uppercase().as_str()) => {
                            methods.push(s)
                        }
                        other => {
                            return Err(syn::Error::new(
                                other.span(),
                                format!("expected an HTTP method name: {}", METHODS.join(", ")),
                            ))
                        }
                    }
                }
                if self.http_methods_excluded.replace(methods).is_some() {
                    return Err(duplicate());
                }
            }
            "request_loaders" => {
                let expected = "expected a list of request loader types, e.g. [JwtRequestLoader]";
                let Expr::Array(array) = *assign.right else {
                    return Err(syn::Error::new(assign.right.span(), expected));
                };
                if array.elems.is_empty() {
                    return Err(syn::Error::new(
                        array.span(),
                        "an empty list accepts no loader; name at least one, or leave the \
                         option out to accept every registered loader",
                    ));
                }
                let mut loaders = Vec::new();
                for elem in array.elems {
                    match elem {
                        Expr::Path(p) if p.qself.is_none() => loaders.push(p.path),
                        other => return Err(syn::Error::new(other.span(), expected)),
                    }
                }
                if self.request_loaders.replace(loaders).is_some() {
                    return Err(duplicate());
                }
            }
            _ => {
                let known = if allow_authorization {
                    "on_authentication_failure, on_authorization_failure, \
                     http_methods_excluded, request_loaders"
                } else {
                    "on_authentication_failure, http_methods_excluded, request_loaders"
                };
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown option `{name}`, expected one of: {known}"),
                ));
            }
        }
        Ok(())
    }
}

pub struct PermissionArgs {
    pub cond: Cond,
    pub options: Options,
}

fn split_args(input: ParseStream) -> syn::Result<(Vec<Expr>, Vec<syn::ExprAssign>)> {
    let exprs: Punctuated<Expr, Token![,]> = Punctuated::parse_terminated(input)?;
    let mut conds = Vec::new();
    let mut options = Vec::new();
    for e in exprs {
        match e {
            Expr::Assign(a) => options.push(a),
            other => conds.push(other),
        }
    }
    Ok((conds, options))
}

impl Parse for PermissionArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(input.error(
                "expected a permission condition, e.g. #[requires_permissions(\"permission1\")] \
                 or #[requires_permissions(has_any(P1, P2))]",
            ));
        }
        let (mut conds, assigns) = split_args(input)?;
        if conds.len() > 1 {
            return Err(syn::Error::new(
                conds[1].span(),
                "one condition is expected; combine several with has_all(..), has_any(..) or a tuple",
            ));
        }
        let Some(expr) = conds.pop() else {
            return Err(input.error("expected a permission condition before the options"));
        };
        let mut options = Options::default();
        for a in assigns {
            options.set(a, true)?;
        }
        Ok(PermissionArgs {
            cond: parse_cond(expr)?,
            options,
        })
    }
}

pub struct UserArgs {
    pub options: Options,
}

impl Parse for UserArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let (conds, assigns) = split_args(input)?;
        if let Some(c) = conds.first() {
            return Err(syn::Error::new(
                c.span(),
                "#[requires_user] takes no condition; use #[requires_permissions(..)] for rights",
            ));
        }
        let mut options = Options::default();
        for a in assigns {
            options.set(a, false)?;
        }
        Ok(UserArgs { options })
    }
}
