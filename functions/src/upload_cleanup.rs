//! `upload-cleanup` ops job, daily on an EventBridge schedule: removes uploads left
//! `PENDING` for more than a day and the objects and rows of files deleted longer ago
//! than `DELETED_FILE_RETENTION_DAYS`, logging each. Invoked by hand it is a dry run that
//! lists what it would remove, unless the event is `{"dryRun": false}`.

use serde_json::Value;
use shared::{
    error::BoxError,
    runtime::{event_of, EventFunction, EventFuture},
    uploads::cleanup,
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Statement, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Removes uploads never completed and the objects of files deleted past retention; a dry run when invoked by hand",
)
    .policies(&[
        Policy::DatabaseConnect,
        Policy::Allow(&[
            Statement::allow(&["s3:DeleteObject"], &[Cfn::Sub("${UploadsBucketArn}/*")]),
        ]),
    ])
    .timeout(300)
    .no_retries()
    .environment(&[("DELETED_FILE_RETENTION_DAYS", Cfn::Ref("DeletedFileRetentionDays"))])
    .triggers(&[
        Trigger::schedule(
            "Daily",
            "cron(30 4 * * ? *)",
            "Remove stale uploads and deleted files past retention",
        ),
    ]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let dry_run = event_of::<cleanup::CleanupEvent>(event)?.dry_run();
    let report = cleanup::run(state, chrono::Utc::now(), dry_run).await?;
    Ok(serde_json::to_value(report)?)
}
