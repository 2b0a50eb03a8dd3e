fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_http(&functions::partner_order_by_id::FUNCTION)
}
