//! Lambda's Invoke API (`POST /2015-03-31/functions/{name}/invocations`) for the ops jobs
//! the functions themselves invoke, so the SDK call that runs in AWS runs here unchanged:
//! after a committed status change the runtime wakes the outbox relay with an
//! asynchronous Invoke, and the gateway runs the relay in-process; a new dispatch plan is
//! handed to the planner the same way. Only the relay named by `OUTBOX_RELAY_FUNCTION`
//! and the planner named by `PLANNER_FUNCTION` can be invoked; anything else is Lambda's
//! 404.

use http_body_util::Full;
use hyper::body::Bytes;
use lambda_http::http::StatusCode;
use serde_json::{json, Value};
use shared::{
    runtime::{handle_event, EventFunction, JobLog, Lambda},
    AppState,
};

const INVOKE_PREFIX: &str = "/2015-03-31/functions/";
const INVOKE_SUFFIX: &str = "/invocations";

/// The function an Invoke request names, if the path is one.
pub fn invoked_function(method: &hyper::Method, path: &str) -> Option<String> {
    if method != hyper::Method::POST {
        return None;
    }
    let name = path
        .strip_prefix(INVOKE_PREFIX)?
        .strip_suffix(INVOKE_SUFFIX)?;
    let name = percent_encoding::percent_decode_str(name)
        .decode_utf8()
        .ok()?;
    (!name.is_empty() && !name.contains('/')).then(|| name.into_owned())
}

fn lambda_error(status: StatusCode, kind: &str, message: &str) -> hyper::Response<Full<Bytes>> {
    let body = json!({ "Type": "User", "message": message }).to_string();
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(kind) {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

/// Runs the invoked job: in the background for `Event` invocations (202, as Lambda
/// queues them), else to completion with its result (200).
pub async fn invoke(
    state: &AppState,
    name: &str,
    headers: &hyper::HeaderMap,
    body: Bytes,
) -> hyper::Response<Full<Bytes>> {
    let not_found = || {
        lambda_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {name}"),
        )
    };
    let invocable = [
        &state.config.outbox.relay_function,
        &state.config.drivers.planner_function,
    ];
    if !invocable.iter().any(|f| f.as_deref() == Some(name)) {
        return not_found();
    }
    let Some(Lambda::Event(EventFunction { handler, .. })) =
        functions::find(name).map(|f| f.lambda)
    else {
        return not_found();
    };
    let event: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(event) => event,
            Err(_) => {
                return lambda_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContentException",
                    "Could not parse request body into json",
                )
            }
        }
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let asynchronous = headers
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("Event"));
    let (handler, job) = (*handler, name.to_owned());
    if asynchronous {
        let state = state.clone();
        tokio::spawn(async move {
            let _ = handle_event(&state, &job, &request_id, handler, event, JobLog::Every).await;
        });
        let mut response = hyper::Response::new(Full::new(Bytes::new()));
        *response.status_mut() = StatusCode::ACCEPTED;
        return response;
    }
    let result = handle_event(state, &job, &request_id, handler, event, JobLog::Every).await;
    let failed = result.is_err();
    let body = match result {
        Ok(value) => value,
        Err(err) => json!({ "errorMessage": err.to_string(), "errorType": "Error" }),
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    // As Lambda does: the call succeeded, the function did not.
    if failed {
        headers.insert(
            "x-amz-function-error",
            hyper::header::HeaderValue::from_static("Unhandled"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_invoke_paths_name_a_function() {
        let post = hyper::Method::POST;
        assert_eq!(
            invoked_function(&post, "/2015-03-31/functions/outbox-relay/invocations").as_deref(),
            Some("outbox-relay")
        );
        assert_eq!(
            invoked_function(
                &hyper::Method::GET,
                "/2015-03-31/functions/outbox-relay/invocations"
            ),
            None
        );
        assert_eq!(
            invoked_function(&post, "/2015-03-31/functions//invocations"),
            None
        );
        assert_eq!(
            invoked_function(&post, "/2015-03-31/functions/a/b/invocations"),
            None
        );
        assert_eq!(invoked_function(&post, "/api/orders"), None);
    }
}
