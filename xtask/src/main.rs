//! `cargo xtask <task>`: the project's developer tasks.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::{codegen, repo_root, Mode};

#[derive(Parser)]
#[command(about = "Ready Set developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Writes the area stacks, the generated regions of template.yaml, missing sample
    /// events and OpenAPI skeletons from the functions' declarations.
    Codegen {
        /// Only report the files that differ; exit 1 when any does.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    match Cli::parse().task {
        Task::Codegen { check } => {
            let mode = if check { Mode::Check } else { Mode::Write };
            match codegen(&repo_root(), mode) {
                Ok(changed) if changed.is_empty() => {
                    println!("codegen: every generated file is current");
                    ExitCode::SUCCESS
                }
                Ok(changed) => {
                    let verb = if check { "differs" } else { "written" };
                    for file in &changed {
                        println!("codegen: {file} {verb}");
                    }
                    if check {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    eprintln!("codegen: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
