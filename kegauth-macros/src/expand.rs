//! Code generation for `#[derive(AuthEntity)]`, from a validated [`Plan`].

use crate::ast::{Field, Input};
use crate::attr::{Kind, Login};
use crate::valid::{self, Plan};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::{DeriveInput, Result};

pub fn derive(node: &DeriveInput) -> Result<TokenStream> {
    let input = Input::from_syn(node)?;
    let plan = valid::validate(&input)?;
    Ok(expand(&plan))
}

/// The library's name for the role of field `i`, as tokens.
fn role_tokens(plan: &Plan, i: usize, field: &Field) -> TokenStream {
    let role = if i == plan.id {
        quote!(Id)
    } else if Some(i) == plan.login_field {
        quote!(Login)
    } else if Some(i) == plan.name {
        quote!(Name)
    } else if Some(i) == plan.token {
        quote!(Token)
    } else if Some(i) == plan.description {
        quote!(Description)
    } else if Some(i) == plan.api_token {
        quote!(ApiToken)
    } else if field.ident == "created_utc" {
        quote!(Created)
    } else if field.ident == "updated_utc" {
        quote!(Updated)
    } else {
        quote!(Extra)
    };
    quote!(::kegauth::entity::Role::#role)
}

fn expand(plan: &Plan) -> TokenStream {
    let input: &Input = plan.input;
    let ident = input.ident;
    let kind = match plan.kind {
        Kind::User => quote!(User),
        Kind::Group => quote!(Group),
        Kind::Bundle => quote!(Bundle),
        Kind::Permission => quote!(Permission),
        Kind::Attempt => quote!(Attempt),
    };
    let login = match plan.login {
        Login::Email => quote!(Email),
        Login::Username => quote!(Username),
    };
    let verified = plan.kind == Kind::User && plan.login == Login::Email;
    let table = &plan.table;
    let timestamps = plan.timestamps;

    let mut columns = Vec::new();
    let mut setters = Vec::new();
    let mut to_values = Vec::new();
    let mut from_values = Vec::new();
    for (i, field) in input.fields.iter().enumerate() {
        let fident = field.ident;
        let ty = field.ty;
        let fname = fident.to_string();
        if field.attrs.skip.is_some() {
            from_values.push(quote!(#fident: ::core::default::Default::default()));
            continue;
        }
        if Some(i) == plan.core {
            let renames = field.attrs.core_renames.iter().map(|(f, col)| {
                let f = f.to_string();
                quote!((#f, #col))
            });
            columns.push(quote_spanned! {ty_span(ty)=>
                builder.core::<#ty>(#fname, &[#(#renames),*], FLAGS);
            });
            to_values.push(quote_spanned! {ty_span(ty)=>
                ::kegauth::entity::EmbeddedCore::push_values(&self.#fident, &mut out, FLAGS);
            });
            from_values.push(quote_spanned! {ty_span(ty)=>
                #fident: <#ty as ::kegauth::entity::EmbeddedCore>::read(reader, FLAGS)?
            });
            continue;
        }
        let column = field
            .attrs
            .column
            .as_ref()
            .map(|l| l.value())
            .unwrap_or_else(|| fname.clone());
        let role = role_tokens(plan, i, field);
        // Settable from text: the app's columns and the login/name/token/description,
        // not the id, timestamps, the hashed API token or read-only columns.
        let settable = i != plan.id
            && Some(i) != plan.api_token
            && field.attrs.read_only.is_none()
            && field.ident != "created_utc"
            && field.ident != "updated_utc";
        if settable {
            setters.push(quote_spanned! {ty_span(ty)=>
                #fname => {
                    self.#fident = <#ty as ::kegauth::entity::FieldValue>::parse_input(input)?;
                    ::core::result::Result::Ok(true)
                }
            });
        }
        let cli_arg = field.attrs.cli_arg.is_some();
        let unique = field.attrs.unique.is_some();
        let read_only = field.attrs.read_only.is_some();
        let max_len = match &field.attrs.max_len {
            Some(lit) => quote!(::core::option::Option::Some(#lit)),
            None => quote!(::core::option::Option::None),
        };
        columns.push(quote_spanned! {ty_span(ty)=>
            builder.field::<#ty>(#fname, #column, #role, ::kegauth::entity::FieldOpts {
                cli_arg: #cli_arg,
                unique: #unique,
                max_len: #max_len,
                read_only: #read_only,
            });
        });
        to_values.push(quote_spanned! {ty_span(ty)=>
            out.push(::kegauth::entity::FieldValue::to_value(&self.#fident));
        });
        from_values.push(quote_spanned! {ty_span(ty)=>
            #fident: reader.field::<#ty>()?
        });
    }

    let id_field = input.fields[plan.id].ident;
    let id_ty = input.fields[plan.id].ty;
    let id_span = ty_span(id_ty);
    let id_get = quote_spanned!(id_span=> self.#id_field);

    let kind_impl = match plan.kind {
        Kind::User => user_impl(plan),
        Kind::Group => named_impl(plan, quote!(GroupEntity)),
        Kind::Bundle => named_impl(plan, quote!(BundleEntity)),
        Kind::Permission => permission_impl(plan),
        Kind::Attempt => attempt_impl(plan),
    };

    quote! {
        #[automatically_derived]
        impl ::kegauth::entity::AuthEntity for #ident {
            const KIND: ::kegauth::entity::EntityKind = ::kegauth::entity::EntityKind::#kind;

            fn schema() -> &'static ::kegauth::entity::EntitySchema {
                static SCHEMA: ::std::sync::OnceLock<::kegauth::entity::EntitySchema> =
                    ::std::sync::OnceLock::new();
                SCHEMA.get_or_init(|| {
                    const FLAGS: ::kegauth::entity::CoreFlags =
                        ::kegauth::entity::CoreFlags { verified: #verified };
                    let mut builder = ::kegauth::entity::SchemaBuilder::new(
                        ::kegauth::entity::EntityKind::#kind,
                        #table,
                        ::kegauth::entity::LoginKind::#login,
                        #timestamps,
                    );
                    #(#columns)*
                    builder.build()
                })
            }

            fn to_values(&self) -> ::std::vec::Vec<::kegauth::entity::Value> {
                const FLAGS: ::kegauth::entity::CoreFlags =
                    ::kegauth::entity::CoreFlags { verified: #verified };
                let _ = FLAGS;
                let mut out = ::std::vec::Vec::new();
                #(#to_values)*
                out
            }

            fn from_values(
                reader: &mut ::kegauth::entity::ValueReader<'_>,
            ) -> ::core::result::Result<Self, ::kegauth::Error> {
                const FLAGS: ::kegauth::entity::CoreFlags =
                    ::kegauth::entity::CoreFlags { verified: #verified };
                let _ = FLAGS;
                ::core::result::Result::Ok(Self { #(#from_values),* })
            }

            fn id(&self) -> i64 {
                #id_get
            }

            fn set_id(&mut self, id: i64) {
                #id_get = id;
            }

            fn set_from_input(
                &mut self,
                field: &str,
                input: &str,
            ) -> ::core::result::Result<bool, ::kegauth::entity::ValueError> {
                match field {
                    #(#setters)*
                    _ => {
                        let _ = input;
                        ::core::result::Result::Ok(false)
                    }
                }
            }
        }

        #kind_impl
    }
}

fn ty_span(ty: &syn::Type) -> proc_macro2::Span {
    use syn::spanned::Spanned;
    ty.span()
}

fn field_of<'a>(plan: &Plan<'a>, i: Option<usize>) -> Option<(&'a syn::Ident, proc_macro2::Span)> {
    i.map(|i| {
        let f = &plan.input.fields[i];
        (f.ident, ty_span(f.ty))
    })
}

fn user_impl(plan: &Plan) -> TokenStream {
    let ident = plan.input.ident;
    let login = match plan.login {
        Login::Email => quote!(Email),
        Login::Username => quote!(Username),
    };
    let Some((login_field, login_span)) = field_of(plan, plan.login_field) else {
        return TokenStream::new(); // unreachable: valid.rs guarantees the field
    };
    let Some((core, core_span)) = field_of(plan, plan.core) else {
        return TokenStream::new(); // unreachable: valid.rs guarantees the field
    };
    let token = match field_of(plan, plan.api_token) {
        Some((f, span)) => quote_spanned! {span=>
            fn api_token_hash(&self) -> ::core::option::Option<&[u8]> {
                ::core::option::Option::as_deref(&self.#f)
            }
            fn set_api_token_hash(&mut self, hash: ::core::option::Option<::std::vec::Vec<u8>>) -> bool {
                self.#f = hash;
                true
            }
        },
        None => quote!(),
    };
    let login_get =
        quote_spanned!(login_span=> ::core::convert::AsRef::<str>::as_ref(&self.#login_field));
    let login_set = quote_spanned!(login_span=> self.#login_field = value);
    let core_get = quote_spanned!(core_span=> &self.#core);
    let core_mut = quote_spanned!(core_span=> &mut self.#core);
    quote! {
        #[automatically_derived]
        impl ::kegauth::entity::UserEntity for #ident {
            const LOGIN: ::kegauth::entity::LoginKind = ::kegauth::entity::LoginKind::#login;
            fn login_id(&self) -> &str { #login_get }
            fn set_login_id(&mut self, value: ::std::string::String) { #login_set; }
            fn core(&self) -> &::kegauth::entity::UserCore { #core_get }
            fn core_mut(&mut self) -> &mut ::kegauth::entity::UserCore { #core_mut }
            #token
        }
    }
}

fn named_impl(plan: &Plan, trait_name: TokenStream) -> TokenStream {
    let ident = plan.input.ident;
    let Some((name, span)) = field_of(plan, plan.name) else {
        return TokenStream::new(); // unreachable: valid.rs guarantees the field
    };
    let get = quote_spanned!(span=> ::core::convert::AsRef::<str>::as_ref(&self.#name));
    let set = quote_spanned!(span=> self.#name = value);
    quote! {
        #[automatically_derived]
        impl ::kegauth::entity::#trait_name for #ident {
            fn name(&self) -> &str { #get }
            fn set_name(&mut self, value: ::std::string::String) { #set; }
        }
    }
}

fn permission_impl(plan: &Plan) -> TokenStream {
    let ident = plan.input.ident;
    let Some((token, span)) = field_of(plan, plan.token) else {
        return TokenStream::new(); // unreachable: valid.rs guarantees the field
    };
    let get = quote_spanned!(span=> ::core::convert::AsRef::<str>::as_ref(&self.#token));
    let description = match field_of(plan, plan.description) {
        Some((f, span)) => quote_spanned! {span=>
            fn description(&self) -> ::core::option::Option<&str> {
                ::kegauth::entity::OptStr::opt_str(&self.#f)
            }
        },
        None => quote!(),
    };
    quote! {
        #[automatically_derived]
        impl ::kegauth::entity::PermissionEntity for #ident {
            fn token(&self) -> &str { #get }
            #description
        }
    }
}

fn attempt_impl(plan: &Plan) -> TokenStream {
    let ident = plan.input.ident;
    let Some((core, span)) = field_of(plan, plan.core) else {
        return TokenStream::new(); // unreachable: valid.rs guarantees the field
    };
    let core_get = quote_spanned!(span=> &self.#core);
    let core_mut = quote_spanned!(span=> &mut self.#core);
    quote! {
        #[automatically_derived]
        impl ::kegauth::entity::AttemptEntity for #ident {
            fn core(&self) -> &::kegauth::entity::AttemptCore { #core_get }
            fn core_mut(&mut self) -> &mut ::kegauth::entity::AttemptCore { #core_mut }
        }
    }
}
