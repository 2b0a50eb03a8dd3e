fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_http(&functions::order_by_number::FUNCTION)
}
