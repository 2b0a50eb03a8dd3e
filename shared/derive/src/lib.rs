//! `#[derive(FromRow)]`: reads a struct from a `tokio_postgres::Row` by column name, one
//! column per field, through `shared::db::RowExt::col` (a missing column or a type
//! mismatch is a 500 naming the column).
//!
//! Field attributes, `#[row(...)]`:
//! - `rename = "column"`: the column's name when it is not the field's;
//! - `with = path::to::function`: the column is read as the function's argument and the
//!   field is what it returns (`with = crate::money::dollars` for cents shown as dollars);
//! - `read = path::to::function`: the field is what `function(row, column)` returns
//!   (`ApiResult<T>`), for a value made of several columns named after `column`
//!   (`read = point_of, rename = "end"` reads `end_lat` and `end_lng`);
//! - `flatten`: the field is itself `FromRow`, read from the same row;
//! - `prefix = "pickup_"`: with `flatten`, its columns carry this prefix;
//! - `skip`: not read; the field's `Default`.
//!
//! A struct read with a prefix (`FromRow::from_row_prefixed`) reads every column of its
//! own under that prefix.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Fields, LitStr, Path};

#[proc_macro_derive(FromRow, attributes(row))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// What `#[row(...)]` says of one field.
#[derive(Default)]
struct FieldOptions {
    rename: Option<LitStr>,
    with: Option<Path>,
    read: Option<Path>,
    flatten: bool,
    prefix: Option<LitStr>,
    skip: bool,
}

fn options(field: &syn::Field) -> syn::Result<FieldOptions> {
    let mut options = FieldOptions::default();
    for attribute in field.attrs.iter().filter(|a| a.path().is_ident("row")) {
        attribute.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                options.rename = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("with") {
                options.with = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("read") {
                options.read = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("prefix") {
                options.prefix = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("flatten") {
                options.flatten = true;
            } else if meta.path.is_ident("skip") {
                options.skip = true;
            } else {
                return Err(meta.error("expected rename, with, read, flatten, prefix or skip"));
            }
            Ok(())
        })?;
    }
    if options.prefix.is_some() && !options.flatten {
        return Err(syn::Error::new_spanned(
            field,
            "`prefix` applies to a `flatten` field",
        ));
    }
    Ok(options)
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(input, "FromRow reads structs"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            input,
            "FromRow reads structs with named fields",
        ));
    };
    let mut reads = Vec::new();
    for field in &fields.named {
        let name = field.ident.as_ref().ok_or_else(|| {
            syn::Error::new_spanned(field, "FromRow reads structs with named fields")
        })?;
        let options = options(field)?;
        let column = options
            .rename
            .as_ref()
            .map(LitStr::value)
            .unwrap_or_else(|| name.to_string());
        let read = if options.skip {
            quote! { ::std::default::Default::default() }
        } else if let Some(reader) = &options.read {
            quote! { #reader(row, &::shared::db::column(prefix, #column))? }
        } else if options.flatten {
            let ty = &field.ty;
            let prefix = options
                .prefix
                .as_ref()
                .map(LitStr::value)
                .unwrap_or_default();
            quote! {
                <#ty as ::shared::db::FromRow>::from_row_prefixed(
                    row,
                    &::std::format!("{prefix}{}", #prefix),
                )?
            }
        } else {
            let value = quote! {
                ::shared::db::RowExt::col(row, &::shared::db::column(prefix, #column))?
            };
            match &options.with {
                Some(function) => quote! { #function(#value) },
                None => value,
            }
        };
        reads.push(quote! { #name: #read });
    }
    let ty = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::shared::db::FromRow for #ty #type_generics #where_clause {
            fn from_row_prefixed(
                row: &::tokio_postgres::Row,
                prefix: &str,
            ) -> ::std::result::Result<Self, ::shared::error::ApiError> {
                ::std::result::Result::Ok(Self { #(#reads,)* })
            }
        }
    })
}
