fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_http(&functions::calculator_calculate::FUNCTION)
}
