fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_http(&functions::user_orders::FUNCTION)
}
