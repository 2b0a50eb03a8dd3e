fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_event(functions::outbox_relay::handler)
}
