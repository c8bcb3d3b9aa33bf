//! The handler's route attribute (`#[get("/p")]`, `#[route(GET, uri = "/p")]`):
//! whether there is one, and its method and path.

use super::ast::METHODS;
use syn::punctuated::Punctuated;
use syn::{Expr, ItemFn, Lit, Token};

const ROUTE_ATTRS: &[&str] = &[
    "get", "put", "post", "delete", "head", "patch", "options", "route",
];

pub fn has_route_attr(item: &ItemFn) -> bool {
    item.attrs.iter().any(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| ROUTE_ATTRS.contains(&s.ident.to_string().as_str()))
    })
}

/// The method and path of the handler's route attribute (`#[get("/p")]`,
/// `#[route(GET, uri = "/p")]`), for the route report and menus.
pub fn route_of(item: &ItemFn) -> Option<(String, String)> {
    let attr = item.attrs.iter().find(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| ROUTE_ATTRS.contains(&s.ident.to_string().as_str()))
    })?;
    let kind = attr.path().segments.last()?.ident.to_string();
    let args = attr
        .parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated)
        .ok()?;
    let mut method = (kind != "route").then(|| kind.to_ascii_uppercase());
    let mut path = None;
    let str_of = |e: &Expr| match e {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.value()),
        _ => None,
    };
    let ident_of = |e: &Expr| match e {
        Expr::Path(p) => p
            .path
            .get_ident()
            .map(|i| i.to_string().to_ascii_uppercase()),
        _ => None,
    };
    for arg in &args {
        match arg {
            Expr::Assign(a) => match ident_of(&a.left).as_deref() {
                Some("URI") => path = path.or_else(|| str_of(&a.right)),
                Some("METHOD") => method = method.or_else(|| ident_of(&a.right)),
                _ => {}
            },
            other => {
                if let Some(p) = str_of(other) {
                    path = path.or(Some(p));
                } else if let Some(m) = ident_of(other).filter(|m| METHODS.contains(&m.as_str())) {
                    method = method.or(Some(m));
                }
            }
        }
    }
    Some((method?, path?))
}
