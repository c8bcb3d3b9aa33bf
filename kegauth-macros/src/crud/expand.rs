//! The output of `#[derive(Crud)]`: `impl kegauth::crud::Record` and the
//! inherent `crud()` that returns the record's `CrudView`.

use super::ast::Input;
use proc_macro2::TokenStream;
use quote::quote;

pub fn expand(input: &Input<'_>) -> TokenStream {
    let ident = input.ident;
    let a = &input.attrs;
    let table = a
        .table
        .as_ref()
        .map(|t| t.value.clone())
        .unwrap_or_default();
    let name = a
        .name
        .as_ref()
        .map_or_else(|| ident.to_string(), |n| n.value.clone());
    let plural = a
        .plural
        .as_ref()
        .map_or_else(|| format!("{name}s"), |p| p.value.clone());
    let path = a
        .path
        .as_ref()
        .map_or_else(|| format!("/{table}"), |p| p.value.clone());
    let Some(id_field) = input.id_field() else {
        return TokenStream::new(); // validation refused it
    };
    let id = id_field.ident;
    let id_column = id.to_string();
    let columns: Vec<_> = input.columns().collect();
    let label = columns
        .iter()
        .find(|f| f.attrs.label.is_some())
        .map(|f| f.ident.to_string())
        .unwrap_or_default();
    let requirements = a.require.iter().map(|(action, token)| {
        let (action, token) = (action.to_string(), &token.value);
        quote!((#action, #token))
    });
    let descriptions = columns.iter().map(|f| {
        let ty = f.ty;
        let field = f.ident.to_string();
        let column = f
            .attrs
            .column
            .as_ref()
            .map_or_else(|| field.clone(), |c| c.value.clone());
        let heading = match &f.attrs.title {
            Some(t) => {
                let t = &t.value;
                quote!(::core::option::Option::Some(#t))
            }
            None => quote!(::core::option::Option::None),
        };
        let [list, sort, filter, form, required, readonly] = [
            f.attrs.list,
            f.attrs.sort,
            f.attrs.filter,
            f.attrs.form,
            f.attrs.required,
            f.attrs.readonly,
        ]
        .map(|flag| flag.is_some());
        let max_len = match f.attrs.max_len {
            Some((n, _)) => quote!(::core::option::Option::Some(#n)),
            None => quote!(::core::option::Option::None),
        };
        let choices = if f.attrs.select.is_some() {
            quote!(::core::option::Option::Some(<#ty as ::kegauth::crud::Choices>::choices))
        } else {
            quote!(::core::option::Option::None)
        };
        quote! {
            ::kegauth::crud::RecordColumn {
                field: #field,
                name: #column,
                title: #heading,
                kind: <#ty as ::kegauth::entity::FieldValue>::KIND,
                nullable: <#ty as ::kegauth::entity::FieldValue>::NULLABLE,
                list: #list,
                sort: #sort,
                filter: #filter,
                form: #form,
                required: #required,
                readonly: #readonly,
                max_len: #max_len,
                choices: #choices,
            }
        }
    });
    let to_values = columns.iter().map(|f| {
        let (field, ty) = (f.ident, f.ty);
        quote!(<#ty as ::kegauth::entity::FieldValue>::to_value(&self.#field))
    });
    let from_values = columns.iter().enumerate().map(|(i, f)| {
        let (field, ty) = (f.ident, f.ty);
        quote! {
            #field: <#ty as ::kegauth::entity::FieldValue>::from_value(next(#i)?)
                .map_err(|e| ::kegauth::crud::decode_error(schema, #i, e))?
        }
    });
    let skipped = input
        .fields
        .iter()
        .filter(|f| f.attrs.skip.is_some() && f.ident != id)
        .map(|f| {
            let field = f.ident;
            quote!(#field: ::core::default::Default::default())
        });
    let set_arms = columns.iter().map(|f| {
        let (field, ty) = (f.ident, f.ty);
        let name = field.to_string();
        quote! {
            #name => {
                self.#field = <#ty as ::kegauth::entity::FieldValue>::parse_input(input)?;
                ::core::result::Result::Ok(true)
            }
        }
    });
    let (blank, validate) = if a.rules {
        (
            quote!(<Self as ::kegauth::crud::CrudRules>::blank()),
            quote! {
                fn validate(&self, errors: &mut ::kegauth::crud::FieldErrors) {
                    <Self as ::kegauth::crud::CrudRules>::validate(self, errors)
                }
            },
        )
    } else {
        (
            quote!(<Self as ::core::default::Default>::default()),
            quote!(),
        )
    };
    quote! {
        impl ::kegauth::crud::Record for #ident {
            fn schema() -> &'static ::kegauth::crud::RecordSchema {
                static SCHEMA: ::std::sync::OnceLock<::kegauth::crud::RecordSchema> =
                    ::std::sync::OnceLock::new();
                SCHEMA.get_or_init(|| ::kegauth::crud::RecordSchema {
                    table: #table,
                    id: #id_column,
                    path: #path,
                    name: #name,
                    plural: #plural,
                    label: #label,
                    columns: ::std::vec![#(#descriptions),*],
                    requirements: ::std::vec![#(#requirements),*],
                })
            }

            fn id(&self) -> i64 {
                self.#id
            }

            fn set_id(&mut self, id: i64) {
                self.#id = id;
            }

            fn to_values(&self) -> ::std::vec::Vec<::kegauth::entity::Value> {
                ::std::vec![#(#to_values),*]
            }

            fn from_values(
                id: i64,
                values: ::std::vec::Vec<::kegauth::entity::Value>,
            ) -> ::kegauth::Result<Self> {
                let schema = <Self as ::kegauth::crud::Record>::schema();
                let mut values = values.into_iter();
                #[allow(unused_mut, unused_variables)]
                let mut next = |i: usize| {
                    values.next().ok_or_else(|| {
                        ::kegauth::crud::decode_error(
                            schema,
                            i,
                            ::kegauth::entity::ValueError("the row has too few columns".into()),
                        )
                    })
                };
                ::core::result::Result::Ok(#ident {
                    #id: id,
                    #(#from_values,)*
                    #(#skipped,)*
                })
            }

            fn blank() -> Self {
                #blank
            }

            fn set_from_input(
                &mut self,
                field: &str,
                input: &str,
            ) -> ::core::result::Result<bool, ::kegauth::entity::ValueError> {
                match field {
                    #(#set_arms)*
                    _ => ::core::result::Result::Ok(false),
                }
            }

            #validate
        }

        impl #ident {
            /// The CRUD pages of this table (`#[derive(Crud)]`): adjust the
            /// view if need be and mount its `routes()`.
            pub fn crud() -> ::kegauth::crud::CrudView {
                ::kegauth::crud::record_view::<Self>()
            }
        }
    }
}
