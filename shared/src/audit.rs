//! Staff changes to orders, pricing, driver applications, drivers' planned availability, auto-dispatch settings and partners' webhook subscriptions, recorded in `staff_audits` in the transaction of
//! the change (account changes have their own table, see `users::audit`). A change is
//! recorded as the fields that differ, each `{from, to}`.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    db::{p, GenericClient},
    error::ApiResult,
    text_enum::text_enum,
};

text_enum! {
    /// What a staff audit row is about.
    pub enum Entity("audited entity") {
        Order = "ORDER",
        PricingConfiguration = "PRICING_CONFIGURATION",
        JobApplication = "JOB_APPLICATION",
        DriverAvailability = "DRIVER_AVAILABILITY",
        AutoDispatchSettings = "AUTO_DISPATCH_SETTINGS",
        ApiPartner = "API_PARTNER",
        CompletionRequirements = "COMPLETION_REQUIREMENTS",
    }
}

/// The top-level fields of two JSON objects that differ, as `{field: {from, to}}`.
pub fn diff(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let (before, after) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let mut changes = Map::new();
    for key in before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)))
    {
        let (from, to) = (
            before.get(key).unwrap_or(&Value::Null),
            after.get(key).unwrap_or(&Value::Null),
        );
        if from != to {
            changes.insert(key.clone(), serde_json::json!({ "from": from, "to": to }));
        }
    }
    Value::Object(changes)
}

/// Records one staff change.
pub async fn record(
    client: &impl GenericClient,
    entity: Entity,
    entity_id: Uuid,
    action: &str,
    performed_by: Uuid,
    changes: Value,
    reason: Option<&str>,
) -> ApiResult<()> {
    client
        .execute_typed(
            "INSERT INTO staff_audits (entity_type, entity_id, action, performed_by, changes, reason)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[p(&entity), p(&entity_id), p(&action), p(&performed_by), p(&changes), p(&reason)],
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_only_the_changed_fields() {
        let before = json!({ "a": 1, "b": "x", "c": null });
        let after = json!({ "a": 1, "b": "y", "d": true });
        assert_eq!(
            diff(&before, &after),
            json!({ "b": { "from": "x", "to": "y" }, "d": { "from": null, "to": true } })
        );
    }
}
