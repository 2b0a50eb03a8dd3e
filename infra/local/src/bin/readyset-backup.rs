//! `readyset-backup`: the operators' backup and restore commands, built from the same
//! library as the `backup`, `backup-restore`, `backup-verify` and `backup-retention`
//! functions (`scripts/backup` and `scripts/restore` run it).
//!
//! ```text
//! readyset-backup backup [daily|weekly|monthly|manual]     take a backup (manual by default)
//! readyset-backup list                                     the complete backups, oldest first
//! readyset-backup restore MANIFEST [--dry-run] [--target-db NAME] [--force]
//!                 [--tables a,b] [--database-only | --files-only] [--files-bucket B]
//! readyset-backup verify                                   restore the newest into a scratch database and compare
//! readyset-backup retention                                apply the retention rules now
//! readyset-backup point-in-time --source-cluster ID --target-cluster ID [--to RFC3339]
//! ```
//!
//! Configuration comes from the same environment variables the functions read. Progress
//! (items and bytes done, rate, time left) goes to the terminal; the summary is printed as
//! JSON at the end.

use std::{
    io::Write,
    process::ExitCode,
    sync::Mutex,
    time::{Duration, Instant},
};

use shared::{
    backup::{
        rds,
        restore::{self, RestoreRequest, Scope},
        retention, snapshot, store, verify, BackupKind, Step,
    },
    error::BoxError,
    telemetry, AppState,
};

const USAGE: &str = "usage: readyset-backup backup [daily|weekly|monthly|manual] | list | restore MANIFEST [--dry-run] [--target-db NAME] [--force] [--tables a,b] [--database-only|--files-only] [--files-bucket B] | verify | retention | point-in-time --source-cluster ID --target-cluster ID [--to RFC3339]";

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("readyset-backup: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(std::env::args().skip(1).collect())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("readyset-backup: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Draws progress on one terminal line, at most a few times a second.
struct Terminal {
    started: Instant,
    last: Mutex<Option<Instant>>,
}

impl Terminal {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last: Mutex::new(None),
        }
    }

    fn show(&self, step: &Step<'_>) {
        let now = Instant::now();
        let finished_phase = step.items_done == step.items_total;
        if let Ok(mut last) = self.last.lock() {
            if !finished_phase && last.is_some_and(|l| now - l < Duration::from_millis(250)) {
                return;
            }
            *last = Some(now);
        }
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = step.bytes_done as f64 / seconds;
        let left = match step.bytes_total {
            Some(total) if rate > 0.0 => {
                format!(
                    ", {:.0} s left",
                    total.saturating_sub(step.bytes_done) as f64 / rate
                )
            }
            _ => String::new(),
        };
        let of_total = step
            .bytes_total
            .map_or(String::new(), |t| format!(" of {}", mib(t)));
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} {}/{} ({}): {}{of_total}, {}/s{left}",
            step.phase,
            step.items_done,
            step.items_total,
            step.item,
            mib(step.bytes_done),
            mib(rate as u64),
        );
        if finished_phase {
            let _ = writeln!(err);
        }
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
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
    let has = |name: &str| args.iter().any(|a| a == name);
    let state = AppState::from_env().await?;
    let terminal = Terminal::new();
    let progress = |step: &Step<'_>| terminal.show(step);
    let now = chrono::Utc::now();
    let summary = match command {
        "backup" => {
            let kind: BackupKind = args.get(1).map_or(Ok(BackupKind::Manual), |k| k.parse())?;
            eprintln!(
                "backing up ({kind}) to s3://{}",
                state.config.resources.backups_bucket
            );
            serde_json::to_value(snapshot::run(&state, kind, now, &progress).await?)?
        }
        "list" => {
            let s3 = store::client(&state);
            serde_json::to_value(
                retention::list(&s3, &state.config.resources.backups_bucket).await?,
            )?
        }
        "restore" => {
            let manifest_key = args
                .get(1)
                .filter(|a| !a.starts_with("--"))
                .ok_or(USAGE)?
                .clone();
            let scope = match (has("--database-only"), has("--files-only")) {
                (true, true) => {
                    return Err("--database-only and --files-only exclude each other".into())
                }
                (true, false) => Scope::DatabaseOnly,
                (false, true) => Scope::FilesOnly,
                (false, false) => Scope::Everything,
            };
            let known = [
                "--dry-run",
                "--target-db",
                "--force",
                "--tables",
                "--database-only",
                "--files-only",
                "--files-bucket",
            ];
            let valued = ["--target-db", "--tables", "--files-bucket"];
            let mut rest = args.iter().skip(2);
            while let Some(arg) = rest.next() {
                if !known.contains(&arg.as_str()) {
                    return Err(format!("unknown option {arg:?}\n{USAGE}").into());
                }
                if valued.contains(&arg.as_str()) && rest.next().is_none() {
                    return Err(format!("{arg} needs a value").into());
                }
            }
            let request = RestoreRequest {
                target_database: flag("--target-db"),
                files_bucket: flag("--files-bucket"),
                tables: flag("--tables")
                    .map(|t| t.split(',').map(|s| s.trim().to_owned()).collect()),
                scope,
                force: has("--force"),
                dry_run: has("--dry-run"),
                manifest_key,
            };
            if request.dry_run {
                eprintln!(
                    "dry run: checking {} (nothing is written)",
                    request.manifest_key
                );
            } else {
                eprintln!(
                    "restoring {} into database {}",
                    request.manifest_key,
                    request
                        .target_database
                        .as_deref()
                        .unwrap_or("restore_<backup id> (new)")
                );
            }
            serde_json::to_value(restore::run(&state, &request, &progress).await?)?
        }
        "verify" => serde_json::to_value(verify::run(&state, now, &progress).await?)?,
        "retention" => serde_json::to_value(retention::apply(&state, now).await?)?,
        "point-in-time" => {
            let request = rds::PointInTime {
                source_cluster: flag("--source-cluster").ok_or(USAGE)?,
                target_cluster: flag("--target-cluster").ok_or(USAGE)?,
                to: flag("--to")
                    .map(|t| chrono::DateTime::parse_from_rfc3339(&t).map(|t| t.to_utc()))
                    .transpose()?,
            };
            serde_json::to_value(rds::restore_to_point_in_time(&state, &request).await?)?
        }
        _ => return Err(USAGE.into()),
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
