//! `local-gateway`: runs the API locally.
//!
//! ```text
//! local-gateway serve [--port 3000] [--template template.yaml]   serve every route
//! local-gateway provision                                         create table and buckets
//! local-gateway invoke <function> [--event events/<file>.json]    run an ops job once
//! local-gateway seed                                              load demo data
//! ```
//!
//! Configuration comes from the same environment variables the Lambda functions read.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use local_stack::{provision, seed, Gateway};
use shared::{
    error::BoxError,
    runtime::{handle_event, EventFunction, JobLog, Lambda},
    telemetry, AppState,
};

const USAGE: &str = "usage: local-gateway serve [--port N] [--template PATH] | provision | invoke <function> [--event FILE] | seed";

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(shared::runtime::THREAD_STACK_BYTES)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("local-gateway: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(std::env::args().skip(1).collect())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("local-gateway: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Vec<String>) -> Result<(), BoxError> {
    telemetry::init_tracing();
    let command = args.first().map(String::as_str).ok_or(USAGE)?;
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let state = AppState::from_env().await?;
    match command {
        "serve" => {
            let port: u16 = flag("--port").unwrap_or_else(|| "3000".into()).parse()?;
            let template =
                PathBuf::from(flag("--template").unwrap_or_else(|| "template.yaml".into()));
            let gateway = Arc::new(Gateway::from_template(&template, state)?);
            gateway.state().db.warm_up().await;
            let _relay = local_stack::schedule::relay(
                gateway.state().clone(),
                std::time::Duration::from_secs(1),
            );
            let _alerts = local_stack::schedule::alert_evaluator(gateway.state().clone());
            let _cleanup = local_stack::schedule::upload_cleanup(gateway.state().clone());
            let _retention = local_stack::schedule::location_retention(gateway.state().clone());
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
            tracing::info!(
                address = %listener.local_addr()?,
                routes = gateway.route_keys().len(),
                "local gateway listening"
            );
            tokio::select! {
                served = gateway.serve(listener) => served?,
                _ = tokio::signal::ctrl_c() => tracing::info!("local gateway stopping"),
            }
            Ok(())
        }
        "provision" => provision::ensure_aws_resources(&state).await,
        "seed" => seed::seed(&state).await,
        "invoke" => {
            let name = args.get(1).ok_or(USAGE)?;
            let function =
                functions::find(name).ok_or_else(|| format!("no function named {name}"))?;
            let Lambda::Event(EventFunction { handler, .. }) = function.lambda else {
                return Err(format!("{name} is an HTTP function: call it through `serve`").into());
            };
            let event = match flag("--event") {
                Some(path) => serde_json::from_str(&std::fs::read_to_string(path)?)?,
                None => serde_json::json!({}),
            };
            let request_id = uuid::Uuid::new_v4().to_string();
            let result =
                handle_event(&state, name, &request_id, *handler, event, JobLog::Every).await?;
            println!("{result}");
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}
