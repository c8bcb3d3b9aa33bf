#![doc = include_str!("../README.md")]
//!
//! ## Layout
//!
//! The layout follows dtolnay's `thiserror-impl`: the input is parsed into a
//! small AST (`ast`) with its attributes (`attr`), validated with spanned
//! errors (`valid`), and only then expanded (`expand`). The attribute macros
//! keep the same split in `requires/`, and `#[derive(Crud)]` in `crud/` (ast,
//! valid, expand). `requires/` has: `ast` (their arguments, parsed and
//! checked with spans), `route` (the handler's route attribute), `expand`.

mod ast;
mod attr;
mod crud;
mod expand;
mod requires;
mod valid;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Glue an app's struct to one of kegauth's five entity kinds.
///
/// See the `kegauth::entity` module documentation for the attributes.
#[proc_macro_derive(AuthEntity, attributes(auth))]
pub fn derive_auth_entity(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(|err| err.to_compile_error())
        .into()
}

/// CRUD pages for one of the app's own tables: a grid (sort, filter, pages,
/// CSV and Excel export), add, edit and delete forms, a requirement per
/// action, audit events, on every backend.
///
/// See `kegauth::crud::Record` for the attributes and an example; the
/// README's "CRUD pages for your own tables" walks through one.
#[proc_macro_derive(Crud, attributes(crud))]
pub fn derive_crud(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    crud::derive(&input)
        .unwrap_or_else(|err| err.to_compile_error())
        .into()
}

/// Require a logged-in, active user before a Rocket handler runs.
///
/// Put it above the route attribute. Anonymous browsers are redirected to the
/// login page (with `next`), API clients get 401.
///
/// ```ignore
/// #[requires_user]
/// #[get("/secret1")]
/// fn secret1() -> &'static str { "secret" }
/// ```
#[proc_macro_attribute]
pub fn requires_user(args: TokenStream, item: TokenStream) -> TokenStream {
    requires::requires_user(args.into(), item.into())
        .unwrap_or_else(|err| err.to_compile_error())
        .into()
}

/// Require permissions before a Rocket handler runs (403 without them).
///
/// The condition: a token string or declared permission constant, a tuple of
/// conditions (all of them), `has_all(..)`, `has_any(..)`, nested freely, or a
/// function or closure taking `&User`. A token that was not declared to the
/// `AuthManager` stops the launch, naming the handler and the token.
///
/// ```ignore
/// #[requires_permissions(has_any(PERMISSION1, has_all("permission2", |u: &User| u.name.is_some())))]
/// #[get("/secret2")]
/// fn secret2() -> &'static str { "secret" }
/// ```
#[proc_macro_attribute]
pub fn requires_permissions(args: TokenStream, item: TokenStream) -> TokenStream {
    requires::requires_permissions(args.into(), item.into())
        .unwrap_or_else(|err| err.to_compile_error())
        .into()
}
