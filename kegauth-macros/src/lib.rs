//! Procedural macros for [kegauth](https://docs.rs/kegauth).
//!
//! This crate is re-exported by `kegauth`; depend on `kegauth` and write
//! `#[derive(kegauth::AuthEntity)]` rather than using this crate directly.
//!
//! The layout follows dtolnay's `thiserror-impl`: the input is parsed into a
//! small AST (`ast`) with its attributes (`attr`), validated with spanned
//! errors (`valid`), and only then expanded (`expand`).

mod ast;
mod attr;
mod expand;
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
