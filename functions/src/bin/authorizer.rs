fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_event(functions::authorizer::handler)
}
