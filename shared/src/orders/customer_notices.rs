//! What an order's customer hears, decided inside the status change and written to the
//! outbox as `CUSTOMER_EMAIL` messages: a driver is assigned, the driver is arriving (at
//! the drop-off), the order is delivered (with its proof of delivery); and, outside the
//! status changes, that the delivery is running late ([`enqueue_delay`]). Partner orders
//! are left out: partners hear through their webhooks and tell their own customers.

use chrono_tz::America::Los_Angeles;
use uuid::Uuid;

use super::{status::DriverStatus, StatusChanged};
use crate::{
    db::{p, RowExt, Transaction},
    error::ApiResult,
    outbox::{self, email::Email, NewMessage, OutboxKind},
};

/// The email a driver status brings, if any.
fn notice(
    status: DriverStatus,
    number: &str,
    customer: &str,
    driver: &str,
    pickup: &str,
    proof: Option<&str>,
) -> Option<(String, String)> {
    let greeting = format!("Hello {customer},");
    Some(match status {
        DriverStatus::Assigned => (
            format!("Your Ready Set order {number} has a driver"),
            format!(
                "{greeting}\n\n{driver} will deliver your order {number}, picking it up at {pickup}.\n\
                 You can follow the delivery in the Ready Set app.\n"
            ),
        ),
        DriverStatus::ArrivedToClient => (
            format!("Your Ready Set order {number} is arriving"),
            format!("{greeting}\n\n{driver} is arriving with your order {number} now.\n"),
        ),
        DriverStatus::Completed => (
            format!("Your Ready Set order {number} was delivered"),
            match proof {
                Some(file) => format!(
                    "{greeting}\n\nYour order {number} was delivered by {driver}.\n\
                     The proof of delivery ({file}) is with the order's files in the Ready Set app.\n"
                ),
                None => format!("{greeting}\n\nYour order {number} was delivered by {driver}.\n"),
            },
        ),
        _ => return None,
    })
}

/// Queues the customer's email for a driver status change, if it brings one.
pub async fn enqueue(tx: &Transaction<'_>, changed: &StatusChanged) -> ApiResult<usize> {
    let Some(status) = changed
        .to
        .driver
        .filter(|d| changed.from.driver != Some(*d))
    else {
        return Ok(0);
    };
    if !matches!(
        status,
        DriverStatus::Assigned | DriverStatus::ArrivedToClient | DriverStatus::Completed
    ) {
        return Ok(0);
    }
    let Some(row) = tx
        .query_typed_opt(
            "SELECT o.order_number, o.pickup_date_time, u.email, COALESCE(u.contact_name, u.name) AS customer,
                    du.name AS driver_name, f.file_name AS proof
               FROM orders o JOIN users u ON u.id = o.user_id
               LEFT JOIN dispatches ds ON ds.order_id = o.id AND ds.unassigned_at IS NULL
               LEFT JOIN drivers dr ON dr.id = ds.driver_id
               LEFT JOIN users du ON du.id = dr.user_id
               LEFT JOIN deliveries d ON d.dispatch_id = ds.id
               LEFT JOIN file_uploads f ON f.id = d.pod_upload_id
              WHERE o.id = $1 AND o.partner_id IS NULL",
            &[p(&changed.order_id)],
        )
        .await?
    else {
        return Ok(0);
    };
    let number: String = row.col("order_number")?;
    let customer: Option<String> = row.col("customer")?;
    let driver: Option<String> = row.col("driver_name")?;
    let driver_first = driver
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
        .unwrap_or("Your driver")
        .to_owned();
    let pickup: chrono::DateTime<chrono::Utc> = row.col("pickup_date_time")?;
    let pickup = pickup
        .with_timezone(&Los_Angeles)
        .format("%-I:%M %p on %b %-d")
        .to_string();
    let proof: Option<String> = row.col("proof")?;
    let Some((subject, text)) = notice(
        status,
        &number,
        customer.as_deref().unwrap_or("there"),
        &driver_first,
        &pickup,
        proof.as_deref(),
    ) else {
        return Ok(0);
    };
    let email = Email {
        to: row.col("email")?,
        subject,
        text,
    };
    outbox::enqueue(
        tx,
        &NewMessage {
            event_id: Uuid::new_v4(),
            kind: OutboxKind::CustomerEmail,
            order_id: changed.order_id,
            partner_id: None,
            history_id: Some(changed.history_id),
            payload: serde_json::to_value(&email)?,
            retry_until: None,
        },
    )
    .await?;
    Ok(1)
}

/// Queues the customer's email that the order is running late, now expected at
/// `predicted`, linked to the history row that recorded the delay.
pub async fn enqueue_delay(
    tx: &Transaction<'_>,
    order_id: Uuid,
    history_id: i64,
    predicted: chrono::DateTime<chrono::Utc>,
) -> ApiResult<usize> {
    let Some(row) = tx
        .query_typed_opt(
            "SELECT o.order_number, u.email, COALESCE(u.contact_name, u.name) AS customer
               FROM orders o JOIN users u ON u.id = o.user_id
              WHERE o.id = $1 AND o.partner_id IS NULL",
            &[p(&order_id)],
        )
        .await?
    else {
        return Ok(0);
    };
    let number: String = row.col("order_number")?;
    let customer: Option<String> = row.col("customer")?;
    let expected = predicted
        .with_timezone(&Los_Angeles)
        .format("%-I:%M %p")
        .to_string();
    let email = Email {
        to: row.col("email")?,
        subject: format!("Your Ready Set order {number} is running late"),
        text: format!(
            "Hello {},\n\nYour order {number} is running late: we now expect it around \
             {expected}. We are sorry for the wait.\n\
             You can follow the delivery in the Ready Set app.\n",
            customer.as_deref().unwrap_or("there")
        ),
    };
    outbox::enqueue(
        tx,
        &NewMessage {
            event_id: Uuid::new_v4(),
            kind: OutboxKind::CustomerEmail,
            order_id,
            partner_id: None,
            history_id: Some(history_id),
            payload: serde_json::to_value(&email)?,
            retry_until: None,
        },
    )
    .await?;
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_driver_statuses_bring_an_email_and_the_others_none() {
        let note = |s| {
            notice(
                s,
                "SF-1",
                "Casey",
                "Dana",
                "11:15 AM on Dec 3",
                Some("pod.jpg"),
            )
        };
        assert!(note(DriverStatus::Assigned)
            .expect("assigned")
            .1
            .contains("Dana will deliver"));
        assert!(note(DriverStatus::ArrivedToClient)
            .expect("arriving")
            .0
            .contains("arriving"));
        assert!(note(DriverStatus::Completed)
            .expect("delivered")
            .1
            .contains("pod.jpg"));
        for quiet in [
            DriverStatus::EnRouteToVendor,
            DriverStatus::ArrivedAtVendor,
            DriverStatus::PickedUp,
            DriverStatus::EnRouteToClient,
        ] {
            assert!(note(quiet).is_none(), "{quiet}");
        }
    }
}
