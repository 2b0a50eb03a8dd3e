fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_http(&functions::admin_webhook_retry::FUNCTION)
}
