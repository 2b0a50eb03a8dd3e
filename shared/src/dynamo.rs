//! DynamoDB items as typed values. Each kind of item the app table holds is a struct with
//! serde's derives (the attribute names are its camelCase field names), written with
//! [`to_item`] and read with [`from_item`] through `serde_dynamo`, so no code builds or
//! reads an item attribute by attribute. Expression values are [`text`] and [`number`].
//!
//! Instants that sort keys or conditions compare are written as the store always has:
//! RFC 3339 UTC with milliseconds ([`millis`]) or epoch seconds (TTL attributes).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{de::DeserializeOwned, Serialize};

use crate::error::ApiError;

/// One item, as the SDK takes and gives it.
pub type Item = HashMap<String, AttributeValue>;

/// `value` as an item: a struct whose fields are its attributes.
pub fn to_item<T: Serialize>(value: &T) -> Result<Item, ApiError> {
    serde_dynamo::to_item(value)
        .map_err(|e| ApiError::internal(format!("writing a DynamoDB item: {e}")))
}

/// An item read back as `T`; an item of another shape is an error naming the attribute.
pub fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, ApiError> {
    serde_dynamo::from_item(item.clone())
        .map_err(|e| ApiError::internal(format!("reading a DynamoDB item: {e}")))
}

/// A string expression value.
pub fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number expression value.
pub fn number(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// `#[serde(with = "crate::dynamo::millis")]`: an instant as RFC 3339 UTC with
/// milliseconds, the spelling sort keys order by (also in JSON views).
pub mod millis {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }

    /// The same for an optional instant (`#[serde(default, with = "...::millis::option")]`).
    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            at: &Option<DateTime<Utc>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => super::serialize(at, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<String>::deserialize(deserializer)?
                .map(|text| {
                    DateTime::parse_from_rfc3339(&text)
                        .map(|at| at.with_timezone(&Utc))
                        .map_err(serde::de::Error::custom)
                })
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Example {
        pk: String,
        expires_at: i64,
        revoked: bool,
        #[serde(with = "millis")]
        starts_at: DateTime<Utc>,
        #[serde(
            default,
            with = "millis::option",
            skip_serializing_if = "Option::is_none"
        )]
        resolved_at: Option<DateTime<Utc>>,
    }

    #[test]
    fn an_item_round_trips_with_the_attribute_types_the_store_has_always_used() {
        let example = Example {
            pk: "SESSION#1".into(),
            expires_at: 1_800_000_000,
            revoked: false,
            starts_at: Utc
                .with_ymd_and_hms(2026, 12, 6, 4, 40, 27)
                .single()
                .expect("instant"),
            resolved_at: None,
        };
        let item = to_item(&example).expect("item");
        assert_eq!(item["pk"], AttributeValue::S("SESSION#1".into()));
        assert_eq!(item["expiresAt"], AttributeValue::N("1800000000".into()));
        assert_eq!(item["revoked"], AttributeValue::Bool(false));
        assert_eq!(
            item["startsAt"],
            AttributeValue::S("2026-12-06T04:40:27.000Z".into())
        );
        assert!(!item.contains_key("resolvedAt"));
        assert_eq!(from_item::<Example>(&item).expect("read"), example);
    }

    #[test]
    fn an_item_of_another_shape_is_an_error_not_a_default() {
        let item = Item::from([("pk".to_owned(), AttributeValue::N("1".into()))]);
        assert!(from_item::<Example>(&item).is_err());
    }
}
