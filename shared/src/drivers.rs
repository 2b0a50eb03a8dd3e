//! Drivers: the driver record every DRIVER account has, whichever way the account became
//! one (sign-up, a role change).

use uuid::Uuid;

use crate::{
    db::{p, GenericClient, RowExt},
    error::ApiResult,
};

/// Gives an account its driver record (active, off duty), or keeps the one it has; a
/// phone number fills a record without one. Returns the driver id.
pub async fn enrol(
    client: &impl GenericClient,
    user_id: Uuid,
    phone: Option<&str>,
) -> ApiResult<Uuid> {
    client
        .query_typed_one(
            "INSERT INTO drivers (user_id, phone, is_active, is_on_duty) VALUES ($1, $2, true, false)
             ON CONFLICT (user_id) DO UPDATE SET phone = COALESCE(drivers.phone, EXCLUDED.phone)
             RETURNING id",
            &[p(&user_id), p(&phone)],
        )
        .await?
        .col("id")
}
