//! `backup-retention` ops job, daily on an EventBridge schedule: removes backups past
//! their kind's retention (never the newest of a kind), unfinished backups and file copies
//! no manifest lists, logging each.

use serde_json::Value;
use shared::{
    backup::retention,
    error::BoxError,
    runtime::{EventFunction, EventFuture},
    AppState,
};

use crate::deploy::{Area, Cfn, Deploy, Policy, Statement, Trigger};

pub const FUNCTION: EventFunction = EventFunction::new(handler);

pub const DEPLOY: Deploy = Deploy::job(
    Area::Operations,
    "Removes backups past their kind's retention (never the newest of a kind), unfinished backups and unlisted file copies",
)
    .policies(&[
        Policy::Allow(&[
            Statement::allow(
                &["s3:GetObject", "s3:DeleteObject"],
                &[Cfn::Sub("${BackupsBucketArn}/*")],
            ),
            Statement::allow(&["s3:ListBucket"], &[Cfn::Ref("BackupsBucketArn")]),
            Statement::allow(
                &["rds:DeleteDBClusterSnapshot"],
                &[
                    Cfn::Sub(
                        "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster-snapshot:readyset-*",
                    ),
                ],
            ),
        ]),
    ])
    .timeout(300)
    .no_retries()
    .environment(&[
        ("BACKUP_KEEP_DAILY_DAYS", Cfn::Ref("BackupKeepDailyDays")),
        ("BACKUP_KEEP_WEEKLY_WEEKS", Cfn::Ref("BackupKeepWeeklyWeeks")),
        ("BACKUP_KEEP_MONTHLY_MONTHS", Cfn::Ref("BackupKeepMonthlyMonths")),
    ])
    .triggers(&[Trigger::schedule("Daily", "cron(0 8 * * ? *)", "Apply backup retention")]);

fn handler(state: &AppState, event: Value) -> EventFuture<'_> {
    Box::pin(run(state, event))
}

async fn run(state: &AppState, _event: Value) -> Result<Value, BoxError> {
    let report = retention::apply(state, chrono::Utc::now()).await?;
    tracing::info!(
        kept = report.kept,
        removed = report.removed.len(),
        unfinished_removed = report.unfinished_removed.len(),
        file_copies_removed = report.file_copies_removed,
        "backup retention finished"
    );
    Ok(serde_json::to_value(report)?)
}
