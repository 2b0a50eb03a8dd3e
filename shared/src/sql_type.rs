//! Each value's PostgreSQL type, so a query's parameters are sent typed, in one round
//! trip and without a prepared statement (RDS Proxy friendly). Below every other module:
//! `text_enum!` types name it too.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use tokio_postgres::types::{Json, Type};
use uuid::Uuid;

/// A value's PostgreSQL type, so it can be sent without a prepare round trip.
pub trait SqlType {
    const PG_TYPE: Type;
}

macro_rules! sql_types {
    ($($rust:ty => $pg:ident),* $(,)?) => {
        $(impl SqlType for $rust { const PG_TYPE: Type = Type::$pg; })*
    };
}

sql_types! {
    bool => BOOL,
    i16 => INT2,
    i32 => INT4,
    i64 => INT8,
    f64 => FLOAT8,
    String => TEXT,
    str => TEXT,
    Uuid => UUID,
    DateTime<Utc> => TIMESTAMPTZ,
    NaiveDate => DATE,
    NaiveTime => TIME,
    serde_json::Value => JSONB,
    Vec<String> => TEXT_ARRAY,
    Vec<Uuid> => UUID_ARRAY,
    Vec<i64> => INT8_ARRAY,
    Vec<f64> => FLOAT8_ARRAY,
    Vec<Option<f64>> => FLOAT8_ARRAY,
    Vec<Option<i16>> => INT2_ARRAY,
    Vec<bool> => BOOL_ARRAY,
    Vec<Option<bool>> => BOOL_ARRAY,
    Vec<Option<String>> => TEXT_ARRAY,
    Vec<DateTime<Utc>> => TIMESTAMPTZ_ARRAY,
    Vec<Option<DateTime<Utc>>> => TIMESTAMPTZ_ARRAY,
}

impl<T: SqlType + ?Sized> SqlType for &T {
    const PG_TYPE: Type = T::PG_TYPE;
}

impl<T: SqlType> SqlType for Option<T> {
    const PG_TYPE: Type = T::PG_TYPE;
}

impl<T> SqlType for Json<T> {
    const PG_TYPE: Type = Type::JSONB;
}
