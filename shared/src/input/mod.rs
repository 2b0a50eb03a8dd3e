//! Strict input parsing at the edge: ids, text, JSON bodies and pagination.
//!
//! Everything a client sends is parsed here into a typed value or rejected with a 400 that
//! names the field. Ids are accepted only in canonical form: the original platform trusted
//! anything *shaped* like a UUID, and that let crafted strings through an access check.
//!
//! - [`request`]: path and query parameters, bodies, JSON parsing.
//! - [`validation`]: ids, bounded text and the [`Validator`].
//! - [`page`]: keyset pagination ([`PageRequest`], [`Cursor`], [`Page`]).

mod page;
mod request;
mod validation;

pub(crate) use self::validation::is_bidi_control;
pub use self::{
    page::{Cursor, Page, PageRequest},
    request::{
        body_bytes, parse_bool, parse_json, path_param, path_uuid, query_param, required_date,
        Query, MAX_BODY_BYTES,
    },
    validation::{bounded_text, escape_like, parse_date, parse_uuid, Lines, Validator},
};
