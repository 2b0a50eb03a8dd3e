//! `backup` ops job, on the daily, weekly and monthly EventBridge schedules (the event's
//! `kind`) and by hand (`{"kind": "manual"}`): every table from one snapshot, the schema,
//! the configuration and the uploaded files, sealed and uploaded, then the manifest.
//! Refuses to run without a usable backup key.

use serde_json::Value;
use shared::{
    backup::{self, snapshot},
    error::BoxError,
    runtime::{event_of, EventFunction, EventFuture},
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Statement, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Backs up every table (one snapshot), the schema, the configuration and the uploaded files, encrypted, then the manifest",
)
    .policies(&[
        Policy::DatabaseConnect,
        Policy::BackupKeyUse,
        Policy::BackupsBucketWrite,
        Policy::Allow(&[
            Statement::allow(&["s3:GetObject"], &[Cfn::Sub("${UploadsBucketArn}/*")]),
            Statement::allow(&["s3:ListBucket"], &[Cfn::Ref("UploadsBucketArn")]),
            Statement::allow(
                &["rds:CreateDBClusterSnapshot"],
                &[
                    Cfn::Sub(
                        "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster:*",
                    ),
                    Cfn::Sub(
                        "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster-snapshot:readyset-*",
                    ),
                ],
            ),
        ]),
    ])
    .timeout(900)
    .memory(256)
    .no_retries()
    .environment(&[
        ("BACKUP_KMS_KEY_ID", Cfn::Ref("BackupKeyArn")),
        ("BACKUP_RDS_CLUSTER_ID", Cfn::Ref("BackupRdsClusterId")),
    ])
    .triggers(&[
        Trigger::schedule("Daily", "cron(0 5 * * ? *)", "Daily backup")
            .with_input(r#"{"kind": "daily"}"#),
        Trigger::schedule("Weekly", "cron(0 6 ? * SUN *)", "Weekly backup")
            .with_input(r#"{"kind": "weekly"}"#),
        Trigger::schedule("Monthly", "cron(0 7 1 * ? *)", "Monthly backup")
            .with_input(r#"{"kind": "monthly"}"#),
    ])
    .output(
        "The backup function's live alias (the production pipeline backs up before each release)",
    );

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, event: Value) -> Result<Value, BoxError> {
    let kind = event_of::<snapshot::BackupEvent>(event)?.kind();
    let report =
        Box::pin(snapshot::run(state, kind, chrono::Utc::now(), &backup::log_progress)).await?;
    tracing::info!(
        manifest = %report.manifest_key,
        tables = report.totals.tables,
        rows = report.totals.rows,
        stored_bytes = report.totals.stored_bytes,
        files = report.totals.files,
        files_copied = report.totals.files_copied,
        seconds = report.seconds,
        "backup finished"
    );
    Ok(serde_json::to_value(report)?)
}
