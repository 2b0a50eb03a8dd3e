fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_http(&functions::on_demand_create::FUNCTION)
}
