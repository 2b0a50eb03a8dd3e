//! Demo data for local runs: a few accounts, addresses and orders. Idempotent.

use shared::{auth::passwords, db::p, error::BoxError, AppState};

const SEED_SQL: &str = include_str!("../seed.sql");

/// The password of every seeded demo account (local runs only).
pub const DEMO_PASSWORD: &str = "readyset-demo-1";

pub async fn seed(state: &AppState) -> Result<(), BoxError> {
    let client = state.db.get().await?;
    client.batch_execute(SEED_SQL).await?;
    let hash = passwords::hash(DEMO_PASSWORD).await?;
    client
        .execute_typed(
            "UPDATE users SET password_hash = $1 WHERE email LIKE '%@readyset.local' AND email NOT LIKE '%@partners.readyset.local' AND password_hash IS NULL",
            &[p(&hash)],
        )
        .await?;
    Ok(())
}
