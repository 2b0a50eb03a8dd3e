//! Reading secrets from Secrets Manager (the local emulator in local runs and tests).

use crate::{error::ApiError, AppState};

/// The secret's string value. Failure to read it is a 503: the dependency is down or the
/// deployment is misconfigured, and the log says which.
pub async fn secret_string(state: &AppState, secret_id: &str) -> Result<String, ApiError> {
    let output = state
        .secrets
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|err| {
            ApiError::service_unavailable("a required secret is unavailable")
                .in_category(crate::error::Category::ExternalService)
                .with_source(format!(
                    "reading secret {secret_id}: {}",
                    crate::error::chain(&err)
                ))
        })?;
    output.secret_string().map(str::to_owned).ok_or_else(|| {
        ApiError::service_unavailable("a required secret is unavailable")
            .in_category(crate::error::Category::ExternalService)
            .with_source(format!("secret {secret_id} has no string value"))
    })
}
