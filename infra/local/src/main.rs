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

use clap::{Parser, Subcommand};
use local_stack::{provision, seed, Gateway};
use shared::{
    error::BoxError,
    runtime::{handle_event, EventFunction, JobLog, Lambda},
    telemetry, AppState,
};

/// Runs the API locally.
///
/// Configuration comes from the same environment variables the Lambda functions read.
#[derive(Parser)]
#[command(name = "local-gateway", args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every route of the template on 127.0.0.1.
    Serve {
        /// The port on 127.0.0.1.
        #[arg(long, value_name = "N", default_value_t = 3000)]
        port: u16,
        /// The parent template; the area stacks it names are read beside it.
        #[arg(long, value_name = "PATH", default_value = "template.yaml")]
        template: PathBuf,
    },
    /// Create the template's table and buckets in the AWS emulator.
    Provision,
    /// Run an ops job (an event function) once and print its answer.
    Invoke {
        function: String,
        /// The event, as JSON (`{}` when not given).
        #[arg(long, value_name = "FILE")]
        event: Option<PathBuf>,
    },
    /// Load the demo data.
    Seed,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help goes to stdout and succeeds; a bad command line fails with 1, as every
            // other failure of this tool does.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
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
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("local-gateway: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), BoxError> {
    telemetry::init_tracing();
    let state = AppState::from_env().await?;
    match command {
        Command::Serve { port, template } => {
            let gateway = Arc::new(Gateway::from_template(&template, state)?);
            // Every route runs here, those that read places too.
            gateway.state().db.warm_up(true).await;
            let _relay = local_stack::schedule::relay(
                gateway.state().clone(),
                std::time::Duration::from_secs(1),
            );
            let _alerts = local_stack::schedule::alert_evaluator(gateway.state().clone());
            let _sweep = local_stack::schedule::offer_sweep(gateway.state().clone());
            let _expiries = local_stack::queue::offer_expiries(gateway.state().clone());
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
        Command::Provision => provision::ensure_aws_resources(&state).await,
        Command::Seed => seed::seed(&state).await,
        Command::Invoke { function, event } => {
            let name = function.as_str();
            let function =
                functions::find(name).ok_or_else(|| format!("no function named {name}"))?;
            let Lambda::Event(EventFunction { handler, .. }) = function.lambda else {
                return Err(format!("{name} is an HTTP function: call it through `serve`").into());
            };
            let event = match event {
                Some(path) => serde_json::from_str(&std::fs::read_to_string(path)?)?,
                None => serde_json::json!({}),
            };
            let request_id = uuid::Uuid::new_v4().to_string();
            let result =
                handle_event(&state, name, &request_id, *handler, event, JobLog::Every).await?;
            println!("{result}");
            Ok(())
        }
    }
}
