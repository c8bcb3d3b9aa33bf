//! `#[requires_user]` and `#[requires_permissions(cond)]` on Rocket handlers.
//!
//! The condition is parsed into a small tree (tokens, tuples, `has_all`,
//! `has_any`, anything else as a user check), validated with spans, and
//! expanded into a [`RequirementSpec`] type plus a guard parameter that Rocket
//! checks before the handler (and, as a sentinel, at launch).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprCall, ItemFn, Lit, Token};

/// The condition tree.
enum Cond {
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

fn expand_cond(cond: &Cond) -> TokenStream {
    match cond {
        Cond::Token(s) => quote_spanned!(s.span()=> ::kegauth::Requirement::from(#s)),
        Cond::All(items, span) => {
            let items = items.iter().map(expand_cond);
            quote_spanned!(*span=> ::kegauth::requirements::has_all([#(#items),*]))
        }
        Cond::Any(items, span) => {
            let items = items.iter().map(expand_cond);
            quote_spanned!(*span=> ::kegauth::requirements::has_any([#(#items),*]))
        }
        Cond::Other(expr) => quote_spanned! {expr.span()=>
            ::kegauth::requirements::IntoRequirement::into_requirement(#expr)
        },
    }
}

/// `key = value` options after the condition.
#[derive(Default)]
struct Options {
    on_authentication_failure: Option<Expr>,
    on_authorization_failure: Option<Expr>,
    http_methods_excluded: Option<Vec<syn::LitStr>>,
    request_loaders: Option<Vec<syn::Path>>,
}

const METHODS: &[&str] = &[
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

    fn expand(&self) -> TokenStream {
        let handler = |e: &Option<Expr>| match e {
            Some(e) => quote_spanned!(e.span()=>
                ::core::option::Option::Some(#e as ::kegauth::requirements::FailureHandler)),
            None => quote!(::core::option::Option::None),
        };
        let authn = handler(&self.on_authentication_failure);
        let authz = handler(&self.on_authorization_failure);
        let methods = match &self.http_methods_excluded {
            Some(m) => quote!(::core::option::Option::Some(&[#(#m),*])),
            None => quote!(::core::option::Option::None),
        };
        let loaders = match &self.request_loaders {
            Some(paths) => {
                let ids = paths.iter().map(|p| {
                    quote_spanned!(p.span()=>
                        ::kegauth::loaders::loader_id::<#p> as ::kegauth::loaders::LoaderId)
                });
                quote!(::core::option::Option::Some(&[#(#ids),*]))
            }
            None => quote!(::core::option::Option::None),
        };
        quote! {
            fn options() -> ::kegauth::requirements::RequireOptions {
                ::kegauth::requirements::RequireOptions {
                    on_authentication_failure: #authn,
                    on_authorization_failure: #authz,
                    http_methods_excluded: #methods,
                    request_loaders: #loaders,
                }
            }
        }
    }
}

struct PermissionArgs {
    cond: Cond,
    options: Options,
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

struct UserArgs {
    options: Options,
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

const ROUTE_ATTRS: &[&str] = &[
    "get", "put", "post", "delete", "head", "patch", "options", "route",
];

fn has_route_attr(item: &ItemFn) -> bool {
    item.attrs.iter().any(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| ROUTE_ATTRS.contains(&s.ident.to_string().as_str()))
    })
}

/// The method and path of the handler's route attribute (`#[get("/p")]`,
/// `#[route(GET, uri = "/p")]`), for the route report and menus.
fn route_of(item: &ItemFn) -> Option<(String, String)> {
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

fn expand(
    item: ItemFn,
    requirement: TokenStream,
    options: &Options,
    macro_name: &str,
) -> syn::Result<TokenStream> {
    if !has_route_attr(&item) {
        return Err(syn::Error::new(
            item.sig.ident.span(),
            format!(
                "#[{macro_name}] goes above the route attribute: \
                 #[{macro_name}] #[get(\"/path\")] fn handler(..)"
            ),
        ));
    }
    let name = item.sig.ident.clone();
    let spec = format_ident!("__kegauth_requires_{}", name);
    let handler = name.to_string();
    let (method, path) = route_of(&item).unwrap_or_default();
    let vis = item.vis.clone();
    let options = options.expand();
    let mut item = item;
    let param: syn::FnArg = syn::parse_quote! {
        _kegauth_required: ::kegauth::requirements::Required<#spec>
    };
    item.sig.inputs.insert(0, param);
    Ok(quote! {
        #[allow(non_camel_case_types)]
        #[doc(hidden)]
        #vis struct #spec;

        impl ::kegauth::requirements::RequirementSpec for #spec {
            const HANDLER: &'static str = #handler;
            const ROUTE: (&'static str, &'static str) = (#method, #path);
            const MODULE: &'static str = ::core::module_path!();
            fn requirement() -> &'static ::kegauth::Requirement {
                static REQUIREMENT: ::std::sync::OnceLock<::kegauth::Requirement> =
                    ::std::sync::OnceLock::new();
                REQUIREMENT.get_or_init(|| #requirement)
            }
            #options
        }

        #item
    })
}

pub fn requires_user(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args: UserArgs = syn::parse2(args)?;
    let item: ItemFn = syn::parse2(item)?;
    expand(
        item,
        quote!(::kegauth::Requirement::User),
        &args.options,
        "requires_user",
    )
}

pub fn requires_permissions(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args: PermissionArgs = syn::parse2(args)?;
    let item: ItemFn = syn::parse2(item)?;
    let requirement = expand_cond(&args.cond);
    expand(item, requirement, &args.options, "requires_permissions")
}
