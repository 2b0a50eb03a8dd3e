fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_http(&functions::vendor_orders::FUNCTION)
}
