//! Demo data for local runs: a few accounts, addresses and orders. Idempotent.

use shared::{error::BoxError, AppState};

const SEED_SQL: &str = include_str!("../seed.sql");

pub async fn seed(state: &AppState) -> Result<(), BoxError> {
    let client = state.db.get().await?;
    client.batch_execute(SEED_SQL).await?;
    Ok(())
}
