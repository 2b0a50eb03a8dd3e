//! `POST /api/register`: the original's name for `POST /api/auth/signup`, served by the
//! same declaration (`auth_signup`): the same account rules (CLIENT, VENDOR or DRIVER
//! only; never a staff role) and the same limit of five sign-ups a minute per client IP.

use shared::runtime::HttpFunction;

pub const FUNCTION: HttpFunction = crate::auth_signup::FUNCTION;
