//! `#[requires_user]` and `#[requires_permissions(cond)]` on Rocket handlers.
//!
//! The condition is parsed into a small tree (tokens, tuples, `has_all`,
//! `has_any`, anything else as a user check), validated with spans, and
//! expanded into a [`RequirementSpec`] type plus a guard parameter that Rocket
//! checks before the handler (and, as a sentinel, at launch).
//!
//! Laid out like the derive: `ast` (the arguments, parsed and checked with
//! spans), `route` (the handler's route attribute), `expand` (the output).

mod ast;
mod expand;
mod route;

use ast::{PermissionArgs, UserArgs};
use expand::{expand, expand_cond};
use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

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
