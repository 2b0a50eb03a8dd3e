fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_http(&functions::address_by_id::FUNCTION)
}
