//! `POST /api/auth/signup`: creates a CLIENT, VENDOR or DRIVER account.
//!
//! Clients and vendors can sign in at once; drivers start PENDING until staff approve them.

use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::{
    auth::{passwords, Role, UserStatus},
    db::p,
    http::created,
    input::{bounded_text, parse_json, Validator},
    ratelimit::RateClass,
    runtime::{HandlerFuture, HttpFunction},
    users::{normalize_email, User, USER_COLUMNS},
    ApiError, ApiResult, AppState,
};

pub const FUNCTION: HttpFunction = HttpFunction::new(handler, RateClass::Auth);

fn handler(state: &AppState, req: Request) -> HandlerFuture<'_> {
    Box::pin(signup(state, req))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignupRequest {
    email: String,
    password: String,
    /// `type` in the original API.
    #[serde(alias = "type")]
    role: Role,
    name: String,
    contact_name: Option<String>,
    company_name: Option<String>,
    phone: Option<String>,
}

async fn signup(state: &AppState, req: Request) -> ApiResult<Response<Body>> {
    let body: SignupRequest = parse_json(&req)?;
    let mut v = Validator::new();
    let email = v.take(normalize_email(&body.email));
    if let Some(email) = &email {
        if let Err(e) = passwords::check_policy(&body.password, email) {
            v.push(e);
        }
    }
    v.check(
        body.role.is_self_service(),
        "role",
        "must be CLIENT, VENDOR or DRIVER",
    );
    let name = v.take(bounded_text("name", &body.name, 1, 120, false));
    let optional = |v: &mut Validator, field: &str, value: &Option<String>, max: usize| {
        value
            .as_deref()
            .and_then(|value| v.take(bounded_text(field, value, 1, max, false)))
    };
    let contact_name = optional(&mut v, "contactName", &body.contact_name, 120);
    let company_name = optional(&mut v, "companyName", &body.company_name, 200);
    let phone = optional(&mut v, "phone", &body.phone, 32);
    v.finish()?;
    let (Some(email), Some(name)) = (email, name) else {
        return Err(ApiError::internal("validated fields missing"));
    };

    let password_hash = passwords::hash(&body.password)?;
    let status = if body.role == Role::Driver {
        UserStatus::Pending
    } else {
        UserStatus::Active
    };
    let mut client = state.db.get().await?;
    let tx = client.transaction().await?;
    let sql = format!(
        "INSERT INTO users (email, password_hash, role, status, name, contact_name, company_name, phone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING {USER_COLUMNS}"
    );
    let row = tx
        .query_typed_one(
            &sql,
            &[
                p(&email),
                p(&password_hash),
                p(&body.role.as_str()),
                p(&status.as_str()),
                p(&name),
                p(&contact_name),
                p(&company_name),
                p(&phone),
            ],
        )
        .await
        .map_err(|err| match ApiError::from(err) {
            e if e.code == "already_exists" => {
                ApiError::conflict("email_taken", "an account with this email already exists")
            }
            e => e,
        })?;
    let user = User::from_row(&row)?;
    if user.role == Role::Driver {
        tx.execute_typed(
            "INSERT INTO drivers (user_id, phone, is_active, is_on_duty) VALUES ($1, $2, true, false)",
            &[p(&user.id), p(&user.phone)],
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(user_id = %user.id, role = %user.role, "account created");
    created(&serde_json::json!({ "user": user }))
}
