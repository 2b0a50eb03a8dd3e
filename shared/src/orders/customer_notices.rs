//! What an order's customer hears, decided inside the status change and written to the
//! outbox: a driver is assigned, the order is picked up and on its way, the driver is
//! arriving (at the drop-off), the order is delivered (with its proof of delivery); and,
//! outside those steps, that the delivery is running late ([`enqueue_delay`]) or that an
//! attempt failed and it will come again ([`enqueue_failed`]).
//!
//! Each notice is a `CUSTOMER_EMAIL` and, when the customer's account has a phone number
//! that can be texted and is not on the opt-out list, a shorter `CUSTOMER_SMS`. While the
//! order is under way both give the expected time (the delivery's drop-off ETA, when its
//! driver's reports keep one) and carry the order for the relay to add a tracking link.
//! Partner orders are left out: partners hear through their webhooks and tell their own
//! customers.

use chrono::{DateTime, Utc};
use chrono_tz::America::Los_Angeles;
use uuid::Uuid;

use super::{
    completion,
    status::{DriverStatus, FailureReason},
    StatusChanged,
};
use crate::{
    db::{p, RowExt, Transaction},
    error::ApiResult,
    outbox::{self, email::Email, opt_outs, sms, NewMessage, OutboxKind},
};

/// What the notices say of an order.
struct Facts<'a> {
    number: &'a str,
    customer: &'a str,
    driver: &'a str,
    pickup: &'a str,
    /// When the drop-off is expected (`11:40 AM`), if it is known and still ahead.
    expected: Option<&'a str>,
    proof: Option<&'a str>,
}

/// One notice in both forms.
#[derive(Debug, PartialEq)]
struct Notice {
    subject: String,
    email: String,
    text: String,
    /// Invites the customer to follow the order (it is under way).
    follows: bool,
}

/// The notice a driver status brings, if any.
fn notice(status: DriverStatus, facts: &Facts) -> Option<Notice> {
    let Facts {
        number,
        customer,
        driver,
        pickup,
        expected,
        proof,
    } = *facts;
    let greeting = format!("Hello {customer},");
    let expected_sentence = expected
        .map(|at| format!(" We expect it around {at}."))
        .unwrap_or_default();
    let expected_clause = expected
        .map(|at| format!(", expected around {at}"))
        .unwrap_or_default();
    Some(match status {
        DriverStatus::Assigned => Notice {
            subject: format!("Your Ready Set order {number} has a driver"),
            email: format!(
                "{greeting}\n\n{driver} will deliver your order {number}, picking it up at {pickup}.\
                 {expected_sentence}\n"
            ),
            text: format!("Ready Set: {driver} will deliver your order {number}{expected_clause}."),
            follows: true,
        },
        DriverStatus::PickedUp => Notice {
            subject: format!("Your Ready Set order {number} is on its way"),
            email: format!(
                "{greeting}\n\n{driver} has picked up your order {number} and is on the way.\
                 {expected_sentence}\n"
            ),
            text: format!("Ready Set: your order {number} is on its way{expected_clause}."),
            follows: true,
        },
        DriverStatus::ArrivedToClient => Notice {
            subject: format!("Your Ready Set order {number} is arriving"),
            email: format!("{greeting}\n\n{driver} is arriving with your order {number} now.\n"),
            text: format!("Ready Set: {driver} is arriving with your order {number} now."),
            follows: true,
        },
        DriverStatus::Completed => Notice {
            subject: format!("Your Ready Set order {number} was delivered"),
            email: match proof {
                Some(file) => format!(
                    "{greeting}\n\nYour order {number} was delivered by {driver}.\n\
                     The proof of delivery ({file}) is with the order's files in the Ready Set app.\n"
                ),
                None => format!("{greeting}\n\nYour order {number} was delivered by {driver}.\n"),
            },
            text: format!("Ready Set: your order {number} was delivered."),
            follows: false,
        },
        _ => return None,
    })
}

/// The delay notice: the order is now expected at `expected`.
fn delay_notice(number: &str, customer: &str, expected: &str) -> Notice {
    Notice {
        subject: format!("Your Ready Set order {number} is running late"),
        email: format!(
            "Hello {customer},\n\nYour order {number} is running late: we now expect it around \
             {expected}. We are sorry for the wait.\n"
        ),
        text: format!(
            "Ready Set: your order {number} is running late, now expected around {expected}. \
             Sorry for the wait."
        ),
        follows: true,
    }
}

/// The notice that an attempt failed and the order will be delivered again.
fn failed_notice(number: &str, customer: &str, reason: FailureReason) -> Notice {
    let why = reason.phrase();
    Notice {
        subject: format!("We could not deliver your Ready Set order {number}"),
        email: format!(
            "Hello {customer},\n\nWe tried to deliver your order {number}, but {why}. \
             Our dispatchers are arranging another delivery and will contact you.\n"
        ),
        text: format!(
            "Ready Set: we could not deliver your order {number}: {why}. We will arrange \
             another delivery."
        ),
        follows: false,
    }
}

/// A time as customers read it, on the Pacific clock.
fn clock(at: DateTime<Utc>) -> String {
    at.with_timezone(&Los_Angeles)
        .format("%-I:%M %p")
        .to_string()
}

/// Queues the customer's notice for a driver status change, if it brings one.
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
        DriverStatus::Assigned
            | DriverStatus::PickedUp
            | DriverStatus::ArrivedToClient
            | DriverStatus::Completed
    ) {
        return Ok(0);
    }
    let Some(row) = tx
        .query_typed_opt(
            "SELECT o.order_number, o.pickup_date_time, u.email, u.phone, COALESCE(u.contact_name, u.name) AS customer,
                    du.name AS driver_name, f.file_name AS proof,
                    CASE WHEN d.eta_dropoff > now() THEN d.eta_dropoff END AS expected
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
        .unwrap_or("Your driver");
    let pickup: DateTime<Utc> = row.col("pickup_date_time")?;
    let pickup = pickup
        .with_timezone(&Los_Angeles)
        .format("%-I:%M %p on %b %-d")
        .to_string();
    let expected: Option<DateTime<Utc>> = row.col("expected")?;
    let expected = expected.map(clock);
    let proof: Option<String> = row.col("proof")?;
    let Some(notice) = notice(
        status,
        &Facts {
            number: &number,
            customer: customer.as_deref().unwrap_or("there"),
            driver: driver_first,
            pickup: &pickup,
            expected: expected.as_deref(),
            proof: proof.as_deref(),
        },
    ) else {
        return Ok(0);
    };
    let to = Recipient {
        email: row.col("email")?,
        phone: row.col("phone")?,
    };
    // As the driver arrives the recipient gets the hand-off code, if completing needs it.
    let handoff = if status == DriverStatus::ArrivedToClient
        && completion::required(tx, changed.order_id).await?.pin
    {
        completion::draw_handoff_pin(tx, changed.order_id).await?
    } else {
        None
    };
    send(
        tx,
        changed.order_id,
        changed.history_id,
        &to,
        notice,
        handoff,
    )
    .await
}

/// Queues the customer's notice that the order is running late, now expected at
/// `predicted`, linked to the history row that recorded the delay.
pub async fn enqueue_delay(
    tx: &Transaction<'_>,
    order_id: Uuid,
    history_id: i64,
    predicted: DateTime<Utc>,
) -> ApiResult<usize> {
    let Some((number, customer, to)) = recipient(tx, order_id).await? else {
        return Ok(0);
    };
    let notice = delay_notice(&number, &customer, &clock(predicted));
    send(tx, order_id, history_id, &to, notice, None).await
}

/// Queues the customer's notice that a delivery attempt failed for `reason`, linked to
/// the history row that recorded it.
pub async fn enqueue_failed(
    tx: &Transaction<'_>,
    order_id: Uuid,
    history_id: i64,
    reason: FailureReason,
) -> ApiResult<usize> {
    let Some((number, customer, to)) = recipient(tx, order_id).await? else {
        return Ok(0);
    };
    let notice = failed_notice(&number, &customer, reason);
    send(tx, order_id, history_id, &to, notice, None).await
}

/// The order's number, its customer's name and where they are reached; none for a
/// partner's order.
async fn recipient(
    tx: &Transaction<'_>,
    order_id: Uuid,
) -> ApiResult<Option<(String, String, Recipient)>> {
    let Some(row) = tx
        .query_typed_opt(
            "SELECT o.order_number, u.email, u.phone, COALESCE(u.contact_name, u.name) AS customer
               FROM orders o JOIN users u ON u.id = o.user_id
              WHERE o.id = $1 AND o.partner_id IS NULL",
            &[p(&order_id)],
        )
        .await?
    else {
        return Ok(None);
    };
    let customer: Option<String> = row.col("customer")?;
    Ok(Some((
        row.col("order_number")?,
        customer.unwrap_or_else(|| "there".to_owned()),
        Recipient {
            email: row.col("email")?,
            phone: row.col("phone")?,
        },
    )))
}

/// Where the order's customer is reached.
struct Recipient {
    email: String,
    /// As the account gives it; texted only in E.164 form and off the opt-out list.
    phone: Option<String>,
}

/// Queues the notice's email, and its text when the customer can be texted; how many.
/// With `handoff_pin` (a delivery), both carry its hand-off code, which the relay derives
/// as it sends: no queued message holds the code.
async fn send(
    tx: &Transaction<'_>,
    order_id: Uuid,
    history_id: i64,
    to: &Recipient,
    notice: Notice,
    handoff_pin: Option<Uuid>,
) -> ApiResult<usize> {
    let track_order_id = notice.follows.then_some(order_id);
    let message = |kind, payload| NewMessage {
        event_id: Uuid::new_v4(),
        kind,
        order_id: Some(order_id),
        partner_id: None,
        history_id: Some(history_id),
        payload,
        retry_until: None,
    };
    let email = Email {
        to: to.email.clone(),
        subject: notice.subject,
        text: notice.email,
        track_order_id,
        handoff_pin,
        series_id: None,
    };
    outbox::enqueue(
        tx,
        &message(OutboxKind::CustomerEmail, serde_json::to_value(&email)?),
    )
    .await?;
    let Some(phone) = to.phone.as_deref().and_then(sms::e164) else {
        return Ok(1);
    };
    if opt_outs::is_opted_out(tx, &phone).await? {
        return Ok(1);
    }
    let text = sms::Sms {
        to: phone,
        text: notice.text,
        track_order_id,
        handoff_pin,
    };
    outbox::enqueue(
        tx,
        &message(OutboxKind::CustomerSms, serde_json::to_value(&text)?),
    )
    .await?;
    Ok(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(expected: Option<&str>) -> Facts<'_> {
        Facts {
            number: "SF-1",
            customer: "Casey",
            driver: "Dana",
            pickup: "11:15 AM on Dec 3",
            expected,
            proof: Some("pod.jpg"),
        }
    }

    #[test]
    fn four_driver_statuses_bring_a_notice_and_the_others_none() {
        let note = |s| notice(s, &facts(Some("12:05 PM")));
        let assigned = note(DriverStatus::Assigned).expect("assigned");
        assert!(assigned.email.contains("Dana will deliver"));
        assert!(assigned.email.contains("We expect it around 12:05 PM."));
        assert!(assigned.text.contains("expected around 12:05 PM"));
        assert!(assigned.follows);
        let on_its_way = note(DriverStatus::PickedUp).expect("picked up");
        assert!(on_its_way.subject.contains("on its way"));
        assert!(on_its_way
            .text
            .contains("on its way, expected around 12:05 PM"));
        assert!(note(DriverStatus::ArrivedToClient)
            .expect("arriving")
            .subject
            .contains("arriving"));
        let delivered = note(DriverStatus::Completed).expect("delivered");
        assert!(delivered.email.contains("pod.jpg"));
        assert!(
            !delivered.follows,
            "a delivered order has nothing to follow"
        );
        for quiet in [
            DriverStatus::EnRouteToVendor,
            DriverStatus::ArrivedAtVendor,
            DriverStatus::EnRouteToClient,
        ] {
            assert!(note(quiet).is_none(), "{quiet}");
        }
    }

    #[test]
    fn without_an_eta_no_time_is_promised() {
        let assigned = notice(DriverStatus::Assigned, &facts(None)).expect("assigned");
        assert!(!assigned.email.contains("expect"));
        assert_eq!(
            assigned.text,
            "Ready Set: Dana will deliver your order SF-1."
        );
        let late = delay_notice("SF-1", "Casey", "12:40 PM");
        assert!(late.text.contains("now expected around 12:40 PM"));
        assert!(late.follows);
    }
}
