//! `#[derive(Crud)]`: the same split as the entity derive (`ast`: the
//! parsed input and its attributes, `valid`: checks with spanned errors,
//! `expand`: the output).

mod ast;
mod expand;
mod valid;

use proc_macro2::TokenStream;
use syn::DeriveInput;

pub fn derive(node: &DeriveInput) -> syn::Result<TokenStream> {
    let input = ast::Input::from_syn(node)?;
    input.validate()?;
    Ok(expand::expand(&input))
}
