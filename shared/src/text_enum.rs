//! Closed sets of values that travel as text: roles, statuses, order types, vehicle types.
//!
//! [`text_enum!`] gives each one its spelling, strict parsing with an error that lists the
//! accepted values, its JSON form, and its PostgreSQL form (a `text` column with a `CHECK`
//! constraint), so no code compares or builds the strings by hand.

/// Declares an enumeration whose every variant has one spelling:
///
/// ```ignore
/// text_enum! {
///     /// Whether a catering order needs staff on site.
///     pub enum NeedHost("need-host value") { Yes = "YES", No = "NO" }
/// }
/// ```
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; <[&str]>::len(&[$($text),+])] = [$($name::$variant),+];

            /// The value as clients and the database spell it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} {other:?}; expected one of {}",
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }

        impl ::tokio_postgres::types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &::tokio_postgres::types::Type,
                out: &mut ::bytes::BytesMut,
            ) -> Result<::tokio_postgres::types::IsNull, Box<dyn ::std::error::Error + Sync + Send>> {
                self.as_str().to_sql(ty, out)
            }

            fn accepts(ty: &::tokio_postgres::types::Type) -> bool {
                <&str as ::tokio_postgres::types::ToSql>::accepts(ty)
            }

            ::tokio_postgres::types::to_sql_checked!();
        }

        impl<'a> ::tokio_postgres::types::FromSql<'a> for $name {
            fn from_sql(
                ty: &::tokio_postgres::types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn ::std::error::Error + Sync + Send>> {
                let text = <&str as ::tokio_postgres::types::FromSql>::from_sql(ty, raw)?;
                Ok(text.parse()?)
            }

            fn accepts(ty: &::tokio_postgres::types::Type) -> bool {
                <&str as ::tokio_postgres::types::FromSql>::accepts(ty)
            }
        }

        impl $crate::sql_type::SqlType for $name {
            const PG_TYPE: ::tokio_postgres::types::Type = ::tokio_postgres::types::Type::TEXT;
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use tokio_postgres::types::{FromSql, ToSql, Type};

    text_enum! {
        enum Colour("colour") { Red = "RED", DarkBlue = "DARK_BLUE" }
    }

    #[test]
    fn spellings_round_trip_everywhere() {
        for colour in &Colour::ALL {
            assert_eq!(colour.as_str().parse::<Colour>(), Ok(*colour));
            let json = serde_json::to_value(colour).expect("json");
            assert_eq!(json, colour.as_str());
            assert_eq!(
                serde_json::from_value::<Colour>(json).expect("from json"),
                *colour
            );
            let mut bytes = bytes::BytesMut::new();
            colour.to_sql(&Type::TEXT, &mut bytes).expect("to sql");
            assert_eq!(
                Colour::from_sql(&Type::TEXT, &bytes).expect("from sql"),
                *colour
            );
        }
    }

    #[test]
    fn unknown_values_list_the_accepted_ones() {
        let err = "red".parse::<Colour>().expect_err("case matters");
        assert_eq!(
            err,
            "unknown colour \"red\"; expected one of RED, DARK_BLUE"
        );
        assert!(serde_json::from_str::<Colour>("\"GREEN\"").is_err());
    }
}
