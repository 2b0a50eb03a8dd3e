//! `POST /api/dispatch/plans {date | from, to, orderIds?, driverIds?, timeLimitSeconds?}`
//! → 202 `{plan}`: staff who dispatch ask for a plan of the days' unassigned orders for
//! the drivers available; the planner job solves it within the budget (30 s by default,
//! at most 840) and `GET /api/dispatch/plans/{planId}` follows it. 404 names unknown
//! orders or drivers; 422 names orders of other days or with a driver, and refuses days
//! without availability, over 2,000 orders or 200 drivers; 409 names a plan already
//! solving any of the days.

use lambda_http::{Body, Request, Response};
use shared::{
    auth::{caller, Permission},
    http::accepted,
    input::parse_json,
    planning::plans::{create, NewPlan},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    ApiResult, AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Route, Statement};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Api);

pub const DEPLOY: Deploy = Deploy::api(
    Area::Drivers,
    "asking for a dispatch plan, which the planner job solves",
    &[Route::post("/api/dispatch/plans").requires(Permission::DispatchDrivers)],
)
    .policies(&[
        Policy::Allow(&[
            Statement::allow(
                &["lambda:InvokeFunction"],
                &[
                    Cfn::Sub(
                        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:readyset-${Stage}-planner:live",
                    ),
                ],
            )
                .because("A new plan is handed to the planner job by an asynchronous Invoke."),
        ]),
    ])
    .environment(&[("PLANNER_FUNCTION", Cfn::Sub("readyset-${Stage}-planner:live"))]);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(dispatch_plans(state, req))
}

async fn dispatch_plans(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let caller = caller(&req)?;
    caller.require(Permission::DispatchDrivers)?;
    let request: NewPlan = parse_json(&req)?;
    accepted(&serde_json::json!({ "plan": create(state, &caller, &request).await? }))
}
