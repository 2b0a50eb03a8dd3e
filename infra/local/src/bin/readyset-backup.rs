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

use clap::{Args, Parser, Subcommand};
use shared::{
    backup::{
        rds,
        restore::{self, RestoreRequest, Scope},
        retention, snapshot, store, verify, BackupKind, Step,
    },
    error::BoxError,
    telemetry, AppState,
};

/// The operators' backup and restore commands.
///
/// Configuration comes from the same environment variables the functions read. Progress
/// goes to the terminal; the summary is printed as JSON at the end.
#[derive(Parser)]
#[command(name = "readyset-backup", args_override_self = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Take a backup now: every table from one snapshot, the schema, the configuration
    /// and the uploaded files, encrypted.
    Backup {
        /// daily, weekly, monthly or manual.
        #[arg(default_value_t = BackupKind::Manual)]
        kind: BackupKind,
    },
    /// The complete backups, oldest first.
    List,
    /// Check a backup whole, then restore it (nothing is written until the check passes).
    Restore(RestoreArgs),
    /// Restore the newest backup into a scratch database and compare.
    Verify,
    /// Apply the retention rules now.
    Retention,
    /// Restore an RDS cluster as it was at a moment into a new cluster.
    PointInTime {
        #[arg(long, value_name = "ID")]
        source_cluster: String,
        #[arg(long, value_name = "ID")]
        target_cluster: String,
        /// The moment (the latest restorable one when not given).
        #[arg(long, value_name = "RFC3339", value_parser = rfc3339)]
        to: Option<chrono::DateTime<chrono::Utc>>,
    },
}

#[derive(Args)]
struct RestoreArgs {
    /// The backup's manifest key (daily/2026/12/02/<id>/manifest.json), or `latest`.
    manifest: String,
    /// Check and print the plan; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The database to load into (a new restore_<backup id> when not given).
    #[arg(long, value_name = "NAME")]
    target_db: Option<String>,
    /// Load into a database that already holds tables, replacing the restored tables'
    /// rows, and put back files whose content changed since the backup.
    #[arg(long)]
    force: bool,
    /// Only these tables, comma-separated.
    #[arg(long, value_name = "a,b")]
    tables: Option<String>,
    /// The database only, not the files.
    #[arg(long, conflicts_with = "files_only")]
    database_only: bool,
    /// The files only, not the database.
    #[arg(long)]
    files_only: bool,
    /// The bucket files go back into (the uploads bucket when not given).
    #[arg(long, value_name = "B")]
    files_bucket: Option<String>,
}

impl RestoreArgs {
    fn into_request(self) -> RestoreRequest {
        let scope = match (self.database_only, self.files_only) {
            (true, _) => Scope::DatabaseOnly,
            (false, true) => Scope::FilesOnly,
            (false, false) => Scope::Everything,
        };
        RestoreRequest {
            target_database: self.target_db,
            files_bucket: self.files_bucket,
            tables: self
                .tables
                .map(|t| t.split(',').map(|s| s.trim().to_owned()).collect()),
            scope,
            force: self.force,
            dry_run: self.dry_run,
            manifest_key: self.manifest,
        }
    }
}

fn rfc3339(text: &str) -> Result<chrono::DateTime<chrono::Utc>, chrono::ParseError> {
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.to_utc())
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
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("readyset-backup: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
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

async fn run(command: Command) -> Result<(), BoxError> {
    telemetry::init_tracing();
    let state = AppState::from_env().await?;
    let terminal = Terminal::new();
    let progress = |step: &Step<'_>| terminal.show(step);
    let now = chrono::Utc::now();
    let summary = match command {
        Command::Backup { kind } => {
            eprintln!(
                "backing up ({kind}) to s3://{}",
                state.config.resources.backups_bucket
            );
            serde_json::to_value(Box::pin(snapshot::run(&state, kind, now, &progress)).await?)?
        }
        Command::List => {
            let s3 = store::client(&state);
            serde_json::to_value(
                retention::list(&s3, &state.config.resources.backups_bucket).await?,
            )?
        }
        Command::Restore(args) => {
            let request = args.into_request();
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
        Command::Verify => serde_json::to_value(verify::run(&state, now, &progress).await?)?,
        Command::Retention => serde_json::to_value(retention::apply(&state, now).await?)?,
        Command::PointInTime {
            source_cluster,
            target_cluster,
            to,
        } => {
            let request = rds::PointInTime {
                source_cluster,
                target_cluster,
                to,
            };
            serde_json::to_value(rds::restore_to_point_in_time(&state, &request).await?)?
        }
    };
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
