//! The parsed form of a `#[derive(AuthEntity)]` input.

use crate::attr::{self, FieldAttrs, StructAttrs};
use syn::{Data, DeriveInput, Fields, Ident, Result, Type};

pub struct Input<'a> {
    pub original: &'a DeriveInput,
    pub ident: &'a Ident,
    pub attrs: StructAttrs,
    pub fields: Vec<Field<'a>>,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
}

impl<'a> Input<'a> {
    pub fn from_syn(node: &'a DeriveInput) -> Result<Self> {
        let fields = match &node.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => &named.named,
                _ => {
                    return Err(syn::Error::new_spanned(
                        &node.ident,
                        "AuthEntity needs a struct with named fields",
                    ))
                }
            },
            _ => {
                return Err(syn::Error::new_spanned(
                    &node.ident,
                    "AuthEntity can only be derived for a struct",
                ))
            }
        };
        let mut errors: Option<syn::Error> = None;
        let mut push = |e: syn::Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        let attrs = attr::struct_attrs(&node.attrs).unwrap_or_else(|e| {
            push(e);
            StructAttrs::default()
        });
        let mut out = Vec::new();
        for field in fields {
            let Some(ident) = field.ident.as_ref() else {
                continue;
            };
            let attrs = attr::field_attrs(&field.attrs).unwrap_or_else(|e| {
                push(e);
                FieldAttrs::default()
            });
            out.push(Field {
                ident,
                ty: &field.ty,
                attrs,
            });
        }
        if let Some(e) = errors {
            return Err(e);
        }
        Ok(Input {
            original: node,
            ident: &node.ident,
            attrs,
            fields: out,
        })
    }
}
