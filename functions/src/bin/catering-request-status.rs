fn main() -> Result<(), shared::error::BoxError> {
    shared::runtime::run_http(&functions::catering_request_status::FUNCTION)
}
