//! The expansion: a [`RequirementSpec`] type for the handler (its requirement,
//! options and route) and a `Required<..>` guard parameter that Rocket checks
//! before the handler runs (and, as a sentinel, at launch).

use super::ast::{Cond, Options};
use super::route::{has_route_attr, route_of};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ItemFn};

pub fn expand_cond(cond: &Cond) -> TokenStream {
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

impl Options {
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

pub fn expand(
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
