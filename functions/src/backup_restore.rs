//! `backup-restore` ops function, invoked by an operator (never scheduled):
//! `{"manifest": KEY, "dryRun": false, "targetDatabase"?, "tables"?, "scope"?, "force"?,
//! "filesBucket"?}`. A dry run unless `dryRun` is `false`: it checks the whole backup and
//! answers the plan. A restore goes into a fresh database by default; see
//! `shared::backup::restore` for what it checks and in what order.

use serde_json::Value;
use shared::{
    backup::{self, restore},
    error::BoxError,
    runtime::{EventFunction, EventFuture},
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Statement};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Checks a backup whole (dry run by default) and restores it into a database and the uploads bucket",
)
    .policies(&[
        Policy::DatabaseConnect,
        Policy::BackupKeyUse,
        Policy::Allow(&[
            Statement::allow(&["s3:GetObject"], &[Cfn::Sub("${BackupsBucketArn}/*")]),
            Statement::allow(
                &["s3:ListBucket"],
                &[Cfn::Ref("BackupsBucketArn"), Cfn::Ref("UploadsBucketArn")],
            ),
            Statement::allow(&["s3:PutObject"], &[Cfn::Sub("${UploadsBucketArn}/*")]),
        ]),
    ])
    .timeout(900)
    .memory(256)
    .no_retries();

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let request = restore::RestoreRequest::from_event(&event)?;
    let report = restore::run(state, &request, &backup::log_progress).await?;
    tracing::info!(
        manifest = %report.manifest_key,
        dry_run = report.dry_run,
        target = report.target_database.as_deref().unwrap_or("-"),
        tables = report.tables.len(),
        objects_checked = report.objects_checked,
        seconds = report.seconds,
        "restore finished"
    );
    Ok(serde_json::to_value(report)?)
}
