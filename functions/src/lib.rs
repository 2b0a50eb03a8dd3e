//! Every Ready Set Lambda function.
//!
//! Each function is a module here named like its binary (`auth-login` →
//! `src/auth_login.rs`). An HTTP function's module declares `pub const FUNCTION` (its
//! handler and rate-limit class); an ops job's module declares `pub fn handler`. Handlers
//! are plain functions over [`shared::AppState`], testable without a Lambda runtime.
//! `src/bin/<name>.rs` is the function's few-line Lambda `main`, built for deployment
//! only. [`REGISTRY`] maps each binary name (the `BuildProperties.Binary` of its
//! `template.yaml` resource) to its handler, for the local gateway and the tests.

use shared::runtime::{EventHandler, HttpFunction};

pub mod auth_current_user;
pub mod auth_login;
pub mod auth_logout;
pub mod auth_refresh;
pub mod auth_signup;
pub mod authorizer;
pub mod health;
pub mod migrate;
pub mod user_by_id;
pub mod user_change_role;
pub mod users;

/// How a function is invoked.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Behind an HttpApi route (API Gateway payload v2).
    Http(&'static HttpFunction),
    /// An ops job or the authorizer: schedule, SNS notification or direct invoke.
    Event(EventHandler),
}

#[derive(Clone, Copy)]
pub struct Function {
    /// The binary name, as in `template.yaml` and `src/bin/`.
    pub name: &'static str,
    pub handler: Handler,
}

const fn http(name: &'static str, function: &'static HttpFunction) -> Function {
    Function {
        name,
        handler: Handler::Http(function),
    }
}

const fn event(name: &'static str, handler: EventHandler) -> Function {
    Function {
        name,
        handler: Handler::Event(handler),
    }
}

pub const REGISTRY: &[Function] = &[
    http("auth-current-user", &auth_current_user::FUNCTION),
    http("auth-login", &auth_login::FUNCTION),
    http("auth-logout", &auth_logout::FUNCTION),
    http("auth-refresh", &auth_refresh::FUNCTION),
    http("auth-signup", &auth_signup::FUNCTION),
    event("authorizer", authorizer::handler),
    http("health", &health::FUNCTION),
    event("migrate", migrate::handler),
    http("user-by-id", &user_by_id::FUNCTION),
    http("user-change-role", &user_change_role::FUNCTION),
    http("users", &users::FUNCTION),
];

pub fn find(name: &str) -> Option<&'static Function> {
    REGISTRY.iter().find(|f| f.name == name)
}
