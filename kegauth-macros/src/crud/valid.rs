//! The checks of a `#[derive(Crud)]` input, each error at the span it is
//! about; several problems are reported together.

use super::ast::{Field, Input};
use syn::{Result, Type};

/// Whether `ty` is written as `i64`.
fn is_i64(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none() && p.path.is_ident("i64"))
}

impl Input<'_> {
    /// The id field: `#[crud(id)]`, else the field named `id`.
    pub fn id_field(&self) -> Option<&Field<'_>> {
        self.fields
            .iter()
            .find(|f| f.attrs.id.is_some())
            .or_else(|| self.fields.iter().find(|f| f.ident == "id"))
    }

    /// The mapped fields: not the id, not skipped.
    pub fn columns(&self) -> impl Iterator<Item = &Field<'_>> {
        let id = self.id_field().map(|f| f.ident);
        self.fields
            .iter()
            .filter(move |f| Some(f.ident) != id && f.attrs.skip.is_none())
    }

    pub fn validate(&self) -> Result<()> {
        let mut errors: Option<syn::Error> = None;
        let mut push = |e: syn::Error| match &mut errors {
            Some(all) => all.combine(e),
            None => errors = Some(e),
        };
        let a = &self.attrs;
        if a.table.is_none() {
            push(syn::Error::new_spanned(
                self.ident,
                "Crud needs its table: #[crud(table = \"widgets\")]",
            ));
        }
        if let Some(path) = &a.path {
            let p = &path.value;
            if !p.starts_with('/')
                || (p.len() > 1 && p.ends_with('/'))
                || p.contains(['<', '>', '?', '#'])
            {
                push(syn::Error::new(
                    path.span,
                    "the path is where the pages are mounted, like \"/widgets\" (a leading `/`, no trailing one)",
                ));
            }
        }
        for ids in self.fields.iter().filter(|f| f.attrs.id.is_some()).skip(1) {
            push(syn::Error::new_spanned(
                ids.ident,
                "only one field is the id",
            ));
        }
        match self.id_field() {
            None => push(syn::Error::new_spanned(
                self.ident,
                "Crud needs an `id: i64` field (or one marked #[crud(id)]): the primary key the database assigns",
            )),
            Some(id) => {
                if !is_i64(id.ty) {
                    push(syn::Error::new_spanned(id.ty, "the id is an `i64` the database assigns"));
                }
                let f = &id.attrs;
                let other = [f.list, f.sort, f.filter, f.label, f.form, f.required, f.readonly, f.select, f.skip];
                if let Some(span) = other.into_iter().flatten().next() {
                    push(syn::Error::new(span, "the id takes no other flag (it is never shown or edited)"));
                }
            }
        }
        let labels: Vec<_> = self.columns().filter(|f| f.attrs.label.is_some()).collect();
        if labels.is_empty() {
            push(syn::Error::new_spanned(
                self.ident,
                "mark the field that names a record with #[crud(label)] (the delete page shows it)",
            ));
        }
        for extra in labels.iter().skip(1) {
            if let Some(span) = extra.attrs.label {
                push(syn::Error::new(span, "only one field is the label"));
            }
        }
        for field in &self.fields {
            let f = &field.attrs;
            if f.skip.is_some() {
                let other = [
                    f.id, f.list, f.sort, f.filter, f.label, f.form, f.required, f.readonly,
                    f.select,
                ];
                let valued = f
                    .max_len
                    .map(|m| m.1)
                    .or(f.column.as_ref().map(|c| c.span))
                    .or(f.title.as_ref().map(|t| t.span));
                if let Some(span) = other.into_iter().flatten().next().or(valued) {
                    push(syn::Error::new(span, "a skipped field takes no other flag"));
                }
                continue;
            }
            if let (Some(span), None) = (f.sort, f.list) {
                push(syn::Error::new(
                    span,
                    "`sort` needs `list`: the grid's heading sorts",
                ));
            }
            if f.form.is_none() {
                let form_only = [
                    (f.required, "required"),
                    (f.readonly, "readonly"),
                    (f.select, "select"),
                    (f.max_len.map(|m| m.1), "max_len"),
                ];
                for (span, what) in form_only {
                    if let Some(span) = span {
                        push(syn::Error::new(
                            span,
                            format!("`{what}` is about the form: add `form`"),
                        ));
                    }
                }
            }
            if let (Some(span), Some(_)) = (f.required, f.readonly) {
                push(syn::Error::new(span, "a readonly field cannot be required"));
            }
        }
        match errors {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
