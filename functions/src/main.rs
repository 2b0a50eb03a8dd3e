//! The one Lambda binary of every function: the function's `Handler` in its template
//! (which Lambda passes as `_HANDLER`) chooses the handler it serves.

fn main() -> Result<(), shared::error::BoxError> {
    functions::run_from_env()
}
