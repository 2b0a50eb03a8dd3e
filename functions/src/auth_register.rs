//! `POST /api/register`: the original's name for `POST /api/auth/signup`, served by the
//! same declaration (`auth_signup`): the same account rules (CLIENT, VENDOR or DRIVER
//! only; never a staff role) and the same limit of five sign-ups a minute per client IP.

use shared::runtime::HttpFunction;

use crate::deploy::{Area, Deploy, Route};

pub const FUNCTION: HttpFunction = crate::auth_signup::FUNCTION;

pub const DEPLOY: Deploy = Deploy::api(
    Area::Identity,
    "the original name of sign-up (CLIENT, VENDOR or DRIVER)",
    &[Route::post("/api/register").without_authorizer()],
);
