//! The parsed form of a `#[derive(Crud)]` input: the struct's `#[crud(..)]`
//! settings and each field's flags, with the spans errors point at.

use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::{Attribute, Data, DeriveInput, Fields, Ident, LitInt, LitStr, Result, Token, Type};

/// A string setting and where it was written.
pub struct Setting {
    pub value: String,
    pub span: Span,
}

#[derive(Default)]
pub struct StructAttrs {
    pub table: Option<Setting>,
    pub path: Option<Setting>,
    pub name: Option<Setting>,
    pub plural: Option<Setting>,
    pub rules: bool,
    /// `(action, token)` of `require(..)`.
    pub require: Vec<(Ident, Setting)>,
}

/// A field's flags, each with where it was written.
#[derive(Default)]
pub struct FieldAttrs {
    pub id: Option<Span>,
    pub list: Option<Span>,
    pub sort: Option<Span>,
    pub filter: Option<Span>,
    pub label: Option<Span>,
    pub form: Option<Span>,
    pub required: Option<Span>,
    pub readonly: Option<Span>,
    pub select: Option<Span>,
    pub skip: Option<Span>,
    pub max_len: Option<(u32, Span)>,
    pub column: Option<Setting>,
    pub title: Option<Setting>,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    pub ty: &'a Type,
    pub attrs: FieldAttrs,
}

pub struct Input<'a> {
    pub ident: &'a Ident,
    pub attrs: StructAttrs,
    pub fields: Vec<Field<'a>>,
}

const STRUCT_KEYS: &str = "table, path, name, plural, rules, require(..)";
const FIELD_KEYS: &str =
    "id, list, sort, filter, label, form, required, readonly, select, skip, max_len, column, title";
const ACTIONS: [&str; 4] = ["list", "add", "edit", "delete"];

fn set<T>(slot: &mut Option<T>, value: T, key: &Ident) -> Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new_spanned(
            key,
            format!("`{key}` is given twice"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn string(input: ParseStream<'_>) -> Result<Setting> {
    input.parse::<Token![=]>()?;
    let lit: LitStr = input.parse()?;
    if lit.value().trim().is_empty() {
        return Err(syn::Error::new_spanned(&lit, "this may not be empty"));
    }
    Ok(Setting {
        value: lit.value(),
        span: lit.span(),
    })
}

fn struct_attr(attr: &Attribute, out: &mut StructAttrs) -> Result<()> {
    attr.parse_nested_meta(|meta| {
        let Some(key) = meta.path.get_ident().cloned() else {
            return Err(meta.error(format!("unknown setting; #[crud(..)] on a struct takes {STRUCT_KEYS}")));
        };
        match key.to_string().as_str() {
            "table" => set(&mut out.table, string(meta.input)?, &key),
            "path" => set(&mut out.path, string(meta.input)?, &key),
            "name" => set(&mut out.name, string(meta.input)?, &key),
            "plural" => set(&mut out.plural, string(meta.input)?, &key),
            "rules" => {
                if out.rules {
                    return Err(syn::Error::new_spanned(&key, "`rules` is given twice"));
                }
                out.rules = true;
                Ok(())
            }
            "require" => meta.parse_nested_meta(|action| {
                let Some(name) = action.path.get_ident().cloned() else {
                    return Err(action.error("an action: list, add, edit or delete"));
                };
                if !ACTIONS.contains(&name.to_string().as_str()) {
                    return Err(syn::Error::new_spanned(
                        &name,
                        format!("`{name}` is not an action; require(..) takes list, add, edit and delete"),
                    ));
                }
                if out.require.iter().any(|(a, _)| *a == name) {
                    return Err(syn::Error::new_spanned(&name, format!("`{name}` is required twice")));
                }
                let token = string(action.input)?;
                out.require.push((name, token));
                Ok(())
            }),
            _ => Err(syn::Error::new_spanned(
                &key,
                format!("unknown setting `{key}`; #[crud(..)] on a struct takes {STRUCT_KEYS}"),
            )),
        }
    })
}

fn flag(slot: &mut Option<Span>, key: &Ident) -> Result<()> {
    set(slot, key.span(), key)
}

fn field_attr(attr: &Attribute, out: &mut FieldAttrs) -> Result<()> {
    attr.parse_nested_meta(|meta| {
        let Some(key) = meta.path.get_ident().cloned() else {
            return Err(meta.error(format!(
                "unknown flag; #[crud(..)] on a field takes {FIELD_KEYS}"
            )));
        };
        match key.to_string().as_str() {
            "id" => flag(&mut out.id, &key),
            "list" => flag(&mut out.list, &key),
            "sort" => flag(&mut out.sort, &key),
            "filter" => flag(&mut out.filter, &key),
            "label" => flag(&mut out.label, &key),
            "form" => flag(&mut out.form, &key),
            "required" => flag(&mut out.required, &key),
            "readonly" => flag(&mut out.readonly, &key),
            "select" => flag(&mut out.select, &key),
            "skip" => flag(&mut out.skip, &key),
            "column" => set(&mut out.column, string(meta.input)?, &key),
            "title" => set(&mut out.title, string(meta.input)?, &key),
            "max_len" => {
                meta.input.parse::<Token![=]>()?;
                let lit: LitInt = meta.input.parse()?;
                let n: u32 = lit.base10_parse()?;
                if n == 0 {
                    return Err(syn::Error::new_spanned(&lit, "max_len is at least 1"));
                }
                set(&mut out.max_len, (n, lit.span()), &key)
            }
            _ => Err(syn::Error::new_spanned(
                &key,
                format!("unknown flag `{key}`; #[crud(..)] on a field takes {FIELD_KEYS}"),
            )),
        }
    })
}

impl<'a> Input<'a> {
    pub fn from_syn(node: &'a DeriveInput) -> Result<Self> {
        let Data::Struct(data) = &node.data else {
            return Err(syn::Error::new_spanned(
                &node.ident,
                "Crud can only be derived for a struct",
            ));
        };
        let Fields::Named(named) = &data.fields else {
            return Err(syn::Error::new_spanned(
                &node.ident,
                "Crud needs a struct with named fields",
            ));
        };
        if !node.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &node.generics,
                "Crud cannot be derived for a generic struct",
            ));
        }
        let mut errors: Option<syn::Error> = None;
        let mut push = |e: syn::Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        let mut attrs = StructAttrs::default();
        for attr in node.attrs.iter().filter(|a| a.path().is_ident("crud")) {
            if let Err(e) = struct_attr(attr, &mut attrs) {
                push(e);
            }
        }
        let mut fields = Vec::new();
        for field in &named.named {
            let Some(ident) = field.ident.as_ref() else {
                continue;
            };
            let mut fattrs = FieldAttrs::default();
            for attr in field.attrs.iter().filter(|a| a.path().is_ident("crud")) {
                if let Err(e) = field_attr(attr, &mut fattrs) {
                    push(e);
                }
            }
            fields.push(Field {
                ident,
                ty: &field.ty,
                attrs: fattrs,
            });
        }
        if let Some(e) = errors {
            return Err(e);
        }
        Ok(Input {
            ident: &node.ident,
            attrs,
            fields,
        })
    }
}
