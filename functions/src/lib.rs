//! Every Ready Set Lambda function.
//!
//! Each function is a module here (`order-by-number` → `src/order_by_number.rs`) that
//! declares `pub const FUNCTION`: a `shared::runtime::HttpFunction` (its handler,
//! rate-limit class and error style) for a route, a `shared::runtime::EventFunction` for
//! an ops job or the authorizer.
//! Handlers are plain functions over [`shared::AppState`], testable without a Lambda
//! runtime.
//!
//! Adding a function on the Rust side is its module plus its name in [`functions!`]
//! below. One binary serves them all (`src/main.rs`): Lambda sets `_HANDLER` from the
//! function's `Handler` in its template (`stacks/*.yaml`), and [`run_from_env`] runs that handler.
//! [`REGISTRY`] is also what the local gateway and the tests look functions up in.

// Layout queries over the handlers' futures (a handler awaiting an address edit awaits
// the geocoder, the database and the store inside it) pass the default depth of 128 when
// type-checking alone (`cargo check`, clippy).
#![recursion_limit = "256"]

use shared::{error::BoxError, runtime::Lambda};

pub mod deploy;

/// One Lambda function: its name (the module, which the templates write with hyphens
/// as the function's `Handler`), how it runs and how it is deployed.
#[derive(Clone, Copy)]
pub struct Function {
    pub module: &'static str,
    pub lambda: &'static Lambda,
    pub deploy: &'static deploy::Deploy,
}

impl Function {
    /// The name its template gives it as `Handler` (`order-by-number`).
    pub fn name(&self) -> String {
        self.module.replace('_', "-")
    }
}

/// Declares each function's module and its entry in [`REGISTRY`], grouped by kind (a
/// module in the wrong group does not compile).
macro_rules! functions {
    (http: [$($http:ident),* $(,)?], event: [$($event:ident),* $(,)?] $(,)?) => {
        $(pub mod $http;)*
        $(pub mod $event;)*

        /// Every function, HTTP routes first.
        pub const REGISTRY: &[Function] = &[
            $(Function {
                module: stringify!($http),
                lambda: &Lambda::Http(
                    $http::FUNCTION
                        .serving($http::DEPLOY.routes)
                        .warming_postgis($http::DEPLOY.area.reads_places()),
                ),
                deploy: &$http::DEPLOY,
            },)*
            $(Function {
                module: stringify!($event),
                lambda: &Lambda::Event(
                    $event::FUNCTION.warming_postgis($event::DEPLOY.area.reads_places()),
                ),
                deploy: &$event::DEPLOY,
            },)*
        ];
    };
}

functions! {
    http: [
        address_by_id,
        addresses,
        admin_job_application,
        admin_job_applications,
        admin_logs,
        admin_partner_webhook_events,
        admin_webhook_attempts,
        admin_webhook_retry,
        admin_webhook_test,
        admin_webhooks,
        analytics_deliveries,
        auth_current_user,
        auth_login,
        auth_logout,
        auth_refresh,
        auth_register,
        auth_session,
        auth_set_password,
        auth_signup,
        calculator_calculate,
        catering_request_status,
        catering_requests,
        completion_requirements,
        dashboard_metrics,
        dispatch_assignments,
        dispatch_auto_settings,
        dispatch_auto_settings_by_type,
        dispatch_offer_stats,
        dispatch_offers,
        dispatch_plan_apply,
        dispatch_plan_by_id,
        dispatch_plans,
        driver_availability,
        driver_availability_by_id,
        driver_deliveries,
        driver_history,
        driver_offer_accept,
        driver_offer_decline,
        driver_offers,
        driver_route,
        driver_stats,
        drivers,
        errors_report,
        file_upload_by_id,
        file_upload_complete,
        file_upload_signed_url,
        file_uploads,
        health,
        health_alerts,
        health_database,
        health_errors,
        job_application_document_complete,
        job_application_documents,
        job_applications,
        on_demand_create,
        ops_page,
        order_assign_driver,
        order_by_number,
        order_driver_location,
        order_failed_attempt,
        order_files,
        order_proof,
        order_series,
        order_tracking_link,
        order_unassign_driver,
        orders,
        partner_order_by_id,
        partner_order_confirm,
        partner_order_draft,
        partner_order_update,
        pricing_calculate,
        pricing_tiers,
        profile,
        track,
        tracking_deliveries,
        tracking_delivery_by_id,
        tracking_drivers,
        tracking_locations,
        tracking_shift_by_id,
        tracking_shifts,
        user_audit,
        user_audit_export,
        user_by_id,
        user_change_role,
        user_files,
        user_order_by_number,
        user_orders,
        user_purge,
        user_restore,
        users,
        users_bulk,
        users_bulk_export,
        users_deleted,
        vendor_metrics,
        vendor_order_by_number,
        vendor_orders,
    ],
    event: [
        alarm_notifier,
        alert_evaluator,
        authorizer,
        backup,
        backup_restore,
        backup_retention,
        backup_verify,
        dispatch_offer_expire,
        dispatch_offer_sweep,
        dispatch_plan_solve,
        location_retention,
        migrate,
        outbox_relay,
        order_series_run,
        outbox_retention,
        partner_key_rotate,
        sms_inbound,
        upload_cleanup,
    ],
}

/// The function named `name`, written with hyphens (`order-by-number`) as
/// the templates do, or as its module.
pub fn find(name: &str) -> Option<&'static Function> {
    let module = name.replace('-', "_");
    REGISTRY.iter().find(|f| f.module == module)
}

/// The whole `main` of the Lambda binary: serves the function Lambda names in `_HANDLER`.
pub fn run_from_env() -> Result<(), BoxError> {
    let name = std::env::var("_HANDLER")
        .map_err(|_| "_HANDLER is not set: Lambda sets it from the function's Handler")?;
    let function = find(&name).ok_or_else(|| {
        let known: Vec<String> = REGISTRY.iter().map(Function::name).collect();
        format!("no function named {name:?}; known: {}", known.join(", "))
    })?;
    shared::runtime::run(function.module, function.lambda)
}
