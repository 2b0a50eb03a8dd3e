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

pub mod address_by_id;
pub mod addresses;
pub mod admin_webhook_retry;
pub mod admin_webhooks;
pub mod auth_current_user;
pub mod auth_login;
pub mod auth_logout;
pub mod auth_refresh;
pub mod auth_signup;
pub mod authorizer;
pub mod calculator_calculate;
pub mod catering_request_status;
pub mod catering_requests;
pub mod health;
pub mod migrate;
pub mod on_demand_create;
pub mod order_by_number;
pub mod orders;
pub mod outbox_relay;
pub mod partner_order_by_id;
pub mod partner_order_confirm;
pub mod partner_order_draft;
pub mod partner_order_update;
pub mod pricing_calculate;
pub mod pricing_tiers;
pub mod user_by_id;
pub mod user_change_role;
pub mod user_orders;
pub mod users;
pub mod vendor_orders;

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
    http("address-by-id", &address_by_id::FUNCTION),
    http("admin-webhook-retry", &admin_webhook_retry::FUNCTION),
    http("admin-webhooks", &admin_webhooks::FUNCTION),
    http("addresses", &addresses::FUNCTION),
    http("auth-current-user", &auth_current_user::FUNCTION),
    http("auth-login", &auth_login::FUNCTION),
    http("auth-logout", &auth_logout::FUNCTION),
    http("auth-refresh", &auth_refresh::FUNCTION),
    http("auth-signup", &auth_signup::FUNCTION),
    event("authorizer", authorizer::handler),
    http("calculator-calculate", &calculator_calculate::FUNCTION),
    http(
        "catering-request-status",
        &catering_request_status::FUNCTION,
    ),
    http("catering-requests", &catering_requests::FUNCTION),
    http("health", &health::FUNCTION),
    event("migrate", migrate::handler),
    http("on-demand-create", &on_demand_create::FUNCTION),
    http("order-by-number", &order_by_number::FUNCTION),
    http("orders", &orders::FUNCTION),
    event("outbox-relay", outbox_relay::handler),
    http("partner-order-by-id", &partner_order_by_id::FUNCTION),
    http("partner-order-confirm", &partner_order_confirm::FUNCTION),
    http("partner-order-draft", &partner_order_draft::FUNCTION),
    http("partner-order-update", &partner_order_update::FUNCTION),
    http("pricing-calculate", &pricing_calculate::FUNCTION),
    http("pricing-tiers", &pricing_tiers::FUNCTION),
    http("user-by-id", &user_by_id::FUNCTION),
    http("user-change-role", &user_change_role::FUNCTION),
    http("user-orders", &user_orders::FUNCTION),
    http("users", &users::FUNCTION),
    http("vendor-orders", &vendor_orders::FUNCTION),
];

pub fn find(name: &str) -> Option<&'static Function> {
    REGISTRY.iter().find(|f| f.name == name)
}
