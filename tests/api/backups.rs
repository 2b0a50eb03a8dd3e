//! Backups and restore (issue 20): a round trip proven equal by `pg_dump`, tampering
//! refused before a row is written, a backup without its manifest ignored, keys that must
//! work, incremental files, retention over a synthetic year, and the verification alert.

use std::collections::BTreeSet;

use api_tests::TestApp;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Duration, TimeZone, Utc};
use shared::{
    backup::{
        manifest::{Listed, Manifest},
        restore::{self, RestoreRequest, Scope},
        retention, snapshot, store, verify, BackupError, BackupKind, Step,
    },
    config::BackupRetention,
    monitoring::alerts::{self, AlertStatus},
    AppState,
};

const FIXTURE: &str = include_str!("backup_fixture.sql");

fn quiet(_: &Step<'_>) {}

async fn back_up(state: &AppState, kind: BackupKind) -> snapshot::BackupReport {
    snapshot::run(state, kind, Utc::now(), &quiet)
        .await
        .unwrap_or_else(|e| panic!("backup: {e}"))
}

fn request(manifest_key: &str, target: &str) -> RestoreRequest {
    RestoreRequest {
        manifest_key: manifest_key.to_owned(),
        target_database: Some(target.to_owned()),
        files_bucket: None,
        tables: None,
        scope: Scope::DatabaseOnly,
        force: false,
        dry_run: false,
    }
}

fn fresh_name(what: &str) -> String {
    format!(
        "{what}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

async fn manifest_of(app: &TestApp, key: &str) -> Manifest {
    store::get_json(
        &app.state.s3,
        &app.state.config.resources.backups_bucket,
        key,
    )
    .await
    .expect("read manifest")
    .expect("manifest exists")
}

async fn database_exists(app: &TestApp, name: &str) -> bool {
    app.count(&format!(
        "SELECT count(*) FROM pg_database WHERE datname = '{name}'"
    ))
    .await
        == 1
}

/// `pg_dump --data-only` of one database on the test cluster, comments and empty tables
/// left out (a database migrated on another day holds other, empty, day partitions).
fn data_dump(database: &str) -> String {
    let admin = TestApp::admin_url();
    let url = format!(
        "{}/{database}",
        admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b)
    );
    let out = std::process::Command::new("pg_dump")
        .args(["--data-only", "--no-owner", "--no-privileges"])
        .args(["--exclude-table", "refinery_schema_history"])
        .arg(&url)
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 dump");
    // Comments, and the random key of pg_dump's `\restrict` guard, differ run to run.
    // Blank lines only separate sections: an empty table's section is dropped below, and
    // a restore across midnight UTC makes one more (empty) day partition of the location
    // track than its original had, which left its separators behind.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with("--")
                && !l.starts_with("\\restrict")
                && !l.starts_with("\\unrestrict")
        })
        .collect();
    let mut kept = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let empty_copy = lines[i].starts_with("COPY ") && lines.get(i + 1) == Some(&"\\.");
        if empty_copy {
            i += 2;
        } else {
            kept.push(lines[i]);
            i += 1;
        }
    }
    kept.join("\n")
}

/// Panics with the first line where two dumps differ.
fn assert_same_data(restored: &str, original: &str) {
    if restored == original {
        return;
    }
    let (r, o): (Vec<&str>, Vec<&str>) = (restored.lines().collect(), original.lines().collect());
    let at = r
        .iter()
        .zip(&o)
        .position(|(a, b)| a != b)
        .unwrap_or(r.len().min(o.len()));
    let show = |lines: &[&str]| {
        lines
            .get(at)
            .map(|l| l.chars().take(300).collect::<String>())
    };
    panic!(
        "the restored data differs from the original at line {at} of {} / {}:\n restored: {:?}\n original: {:?}\n table: {:?}",
        r.len(),
        o.len(),
        show(&r),
        show(&o),
        o[..at.min(o.len())].iter().rev().find(|l| l.starts_with("COPY "))
    );
}

async fn put_upload(app: &TestApp, key: &str, body: &[u8]) {
    app.state
        .s3
        .put_object()
        .bucket(&app.state.config.resources.uploads_bucket)
        .key(key)
        .content_type("image/jpeg")
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .expect("put upload");
}

async fn object_bytes(app: &TestApp, bucket: &str, key: &str) -> Vec<u8> {
    app.state
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get object")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

/// Flips one bit of the byte at the middle of a backup object.
async fn flip_byte(app: &TestApp, key: &str) {
    let bucket = &app.state.config.resources.backups_bucket;
    let mut bytes = object_bytes(app, bucket, key).await;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    app.state
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .expect("put tampered object");
}

#[tokio::test]
async fn a_backup_restores_into_a_new_database_equal_to_the_original_by_pg_dump() {
    let app = TestApp::spawn().await;
    app.seed().await;
    app.db()
        .await
        .batch_execute(FIXTURE)
        .await
        .expect("fixture");
    put_upload(
        &app,
        "uploads/orders/a/photo.jpg",
        b"\xff\xd8\xff first photo",
    )
    .await;
    put_upload(&app, "uploads/users/b/licence.pdf", &vec![7u8; 300_000]).await;

    let shapes = snapshot::tables(app.db().await.uncached())
        .await
        .expect("tables");
    for shape in &shapes {
        let rows = app
            .count(&format!("SELECT count(*) FROM \"{}\"", shape.name))
            .await;
        assert!(rows > 0, "the fixture leaves {} empty", shape.name);
    }
    let report = back_up(&app.state, BackupKind::Manual).await;
    assert_eq!(report.totals.tables, shapes.len());
    assert_eq!(report.totals.files, 2);
    let manifest = manifest_of(&app, &report.manifest_key).await;
    assert!(manifest.keys.contains_key(&manifest.backup_id));
    let locations = manifest
        .tables
        .iter()
        .find(|t| t.name == "driver_locations")
        .expect("listed");
    assert!(
        !locations.partitions.is_empty(),
        "the partitions are recorded"
    );

    let target = fresh_name("restored");
    let files_bucket = format!("{}-restored", app.state.config.resources.uploads_bucket);
    app.state
        .s3
        .create_bucket()
        .bucket(&files_bucket)
        .send()
        .await
        .expect("bucket");
    let mut everything = request(&report.manifest_key, &target);
    everything.scope = Scope::Everything;
    everything.files_bucket = Some(files_bucket.clone());
    let restored = restore::run(&app.state, &everything, &quiet)
        .await
        .expect("restore");
    assert_eq!(restored.files.as_ref().map(|f| f.restored), Some(2));

    let original = data_dump(&app.database);
    assert!(
        original.contains("Zoë") && original.len() > 1_000_000,
        "the fixture's values are in the dump"
    );
    assert_eq!(
        data_dump(&target),
        original,
        "the restored data differs from the original"
    );
    let (_, problems) = verify::compare(&app.state, &target, &manifest)
        .await
        .expect("compare");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        object_bytes(&app, &files_bucket, "uploads/users/b/licence.pdf").await,
        vec![7u8; 300_000]
    );

    // Restoring again into the same database is refused without force, and replaces
    // the rows with it.
    let again = restore::run(&app.state, &request(&report.manifest_key, &target), &quiet).await;
    assert!(
        matches!(again, Err(BackupError::TargetNotEmpty(_))),
        "{again:?}"
    );
    let mut forced = request(&report.manifest_key, &target);
    forced.force = true;
    forced.tables = Some(vec!["users".into(), "user_audits".into()]);
    let forced = restore::run(&app.state, &forced, &quiet).await;
    assert!(forced.is_ok(), "{forced:?}");
    assert_same_data(&data_dump(&target), &original);
}

#[tokio::test]
async fn a_flipped_byte_in_any_object_makes_restore_refuse_before_writing_naming_the_object() {
    let app = TestApp::spawn().await;
    app.seed().await;
    put_upload(&app, "uploads/orders/a/photo.jpg", &vec![9u8; 20_000]).await;
    let report = back_up(&app.state, BackupKind::Daily).await;
    let manifest = manifest_of(&app, &report.manifest_key).await;
    let dry = restore::run(
        &app.state,
        &RestoreRequest {
            dry_run: true,
            scope: Scope::Everything,
            ..request(&report.manifest_key, "unused")
        },
        &quiet,
    )
    .await
    .expect("an untouched backup checks");
    assert_eq!(
        dry.objects_checked,
        manifest.tables.len() + 3,
        "config, schema, tables, the file"
    );
    assert!(
        !database_exists(&app, "unused").await,
        "a dry run creates nothing"
    );

    let orders = manifest
        .tables
        .iter()
        .find(|t| t.name == "orders")
        .expect("orders")
        .object
        .key
        .clone();
    let file = manifest.files[0].object.key.clone();
    for key in [
        manifest.config.key.clone(),
        manifest.schema.object.key.clone(),
        orders,
        file,
    ] {
        let backup = back_up(&app.state, BackupKind::Daily).await;
        let manifest = manifest_of(&app, &backup.manifest_key).await;
        let key = manifest
            .objects()
            .map(|o| o.key.clone())
            .find(|k| k.ends_with(key.rsplit('/').next().unwrap_or_default()))
            .expect("the same object in the new backup");
        flip_byte(&app, &key).await;
        for dry_run in [true, false] {
            let target = fresh_name("tampered");
            let attempt = RestoreRequest {
                dry_run,
                scope: Scope::Everything,
                ..request(&backup.manifest_key, &target)
            };
            match restore::run(&app.state, &attempt, &quiet).await {
                Err(BackupError::Damaged { object, .. }) => assert_eq!(object, key),
                other => panic!("restore of a tampered {key} answered {other:?}"),
            }
            assert!(
                !database_exists(&app, &target).await,
                "nothing was written for {key}"
            );
        }
    }

    // An edited manifest (a row count) fails its MAC.
    let mut edited = manifest_of(&app, &report.manifest_key).await;
    edited.tables[0].rows += 1;
    store::put_json(
        &app.state.s3,
        &app.state.config.resources.backups_bucket,
        &report.manifest_key,
        &edited,
    )
    .await
    .expect("put edited manifest");
    let attempt = restore::run(
        &app.state,
        &request(&report.manifest_key, &fresh_name("edited")),
        &quiet,
    )
    .await;
    assert!(
        matches!(attempt, Err(BackupError::Damaged { ref object, .. }) if *object == report.manifest_key),
        "{attempt:?}"
    );
}

#[tokio::test]
async fn a_backup_without_its_manifest_does_not_exist_for_restore_retention_or_verification() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let older = back_up(&app.state, BackupKind::Manual).await;
    let newer = back_up(&app.state, BackupKind::Manual).await;
    let bucket = app.state.config.resources.backups_bucket.clone();
    store::delete(
        &app.state.s3,
        &bucket,
        std::slice::from_ref(&newer.manifest_key),
    )
    .await
    .expect("delete manifest");

    let listed = retention::list(&app.state.s3, &bucket).await.expect("list");
    assert_eq!(
        listed
            .iter()
            .map(|l| l.manifest_key.as_str())
            .collect::<Vec<_>>(),
        vec![older.manifest_key.as_str()]
    );
    let attempt = restore::run(
        &app.state,
        &request(&newer.manifest_key, &fresh_name("gone")),
        &quiet,
    )
    .await;
    assert!(
        matches!(attempt, Err(BackupError::NotFound(_))),
        "{attempt:?}"
    );
    let verified = verify::run(&app.state, Utc::now(), &quiet)
        .await
        .expect("verify");
    assert!(verified.ok, "{:?}", verified.problems);
    assert_eq!(
        verified.backup_id.as_deref(),
        Some(older.backup_id.as_str())
    );

    // Retention removes the unfinished folder once it is two days old, and keeps the
    // older backup: the newest complete one of its kind.
    let early = retention::apply(&app.state, Utc::now())
        .await
        .expect("retention now");
    assert!(early.unfinished_removed.is_empty());
    let later = retention::apply(&app.state, Utc::now() + Duration::days(40))
        .await
        .expect("retention later");
    assert_eq!(later.unfinished_removed.len(), 1, "{later:?}");
    assert!(later.removed.is_empty(), "{later:?}");
    let left = store::list(&app.state.s3, &bucket, "manual/")
        .await
        .expect("list");
    let newer_prefix = newer.manifest_key.trim_end_matches("manifest.json");
    assert!(left
        .iter()
        .all(|o| !o.key().unwrap_or_default().starts_with(newer_prefix)));
    assert!(left
        .iter()
        .any(|o| o.key() == Some(older.manifest_key.as_str())));
}

#[tokio::test]
async fn backups_refuse_to_run_without_a_usable_key_and_write_nothing() {
    let missing_secret = format!("readyset/backup-master-{}", uuid::Uuid::new_v4().simple());
    let unknown_kms = uuid::Uuid::new_v4().to_string();
    for (overrides, expect_no_key) in [
        (vec![("BACKUP_KMS_KEY_ID", "")], true),
        (vec![("BACKUP_KMS_KEY_ID", unknown_kms.as_str())], false),
        (
            vec![
                ("BACKUP_KMS_KEY_ID", ""),
                ("BACKUP_KEY_SECRET_ID", missing_secret.as_str()),
            ],
            false,
        ),
    ] {
        let app = TestApp::spawn_with(&overrides).await;
        let attempt = snapshot::run(&app.state, BackupKind::Manual, Utc::now(), &quiet).await;
        match attempt {
            Err(BackupError::NoKey) if expect_no_key => {}
            Err(BackupError::KeyUnusable { .. }) if !expect_no_key => {}
            other => panic!("{overrides:?}: {other:?}"),
        }
        let written = store::list(
            &app.state.s3,
            &app.state.config.resources.backups_bucket,
            "",
        )
        .await
        .expect("list");
        assert!(written.is_empty(), "{overrides:?} wrote {written:?}");
    }

    // A master key in a secret that is not 32 bytes is unusable too; a good one works.
    let secret = format!("readyset/backup-master-{}", uuid::Uuid::new_v4().simple());
    let app =
        TestApp::spawn_with(&[("BACKUP_KMS_KEY_ID", ""), ("BACKUP_KEY_SECRET_ID", &secret)]).await;
    app.state
        .secrets
        .create_secret()
        .name(&secret)
        .secret_string("c2hvcnQ=")
        .send()
        .await
        .expect("secret");
    let short = snapshot::run(&app.state, BackupKind::Manual, Utc::now(), &quiet).await;
    assert!(
        matches!(short, Err(BackupError::KeyUnusable { .. })),
        "{short:?}"
    );
    use base64::Engine as _;
    let good = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    app.state
        .secrets
        .put_secret_value()
        .secret_id(&secret)
        .secret_string(good)
        .send()
        .await
        .expect("rotate");
    app.seed().await;
    let report = back_up(&app.state, BackupKind::Manual).await;
    let manifest = manifest_of(&app, &report.manifest_key).await;
    let wrapped = serde_json::to_value(&manifest.keys[&manifest.backup_id]).expect("json");
    assert_eq!(wrapped["kind"], "secret");
    let target = fresh_name("secret");
    restore::run(&app.state, &request(&report.manifest_key, &target), &quiet)
        .await
        .expect("restore");
    assert_same_data(&data_dump(&target), &data_dump(&app.database));
}

#[tokio::test]
async fn files_are_backed_up_by_etag_and_a_files_only_restore_puts_back_what_is_missing() {
    let app = TestApp::spawn().await;
    for name in ["a", "b", "c"] {
        put_upload(
            &app,
            &format!("uploads/x/{name}.jpg"),
            name.repeat(1000).as_bytes(),
        )
        .await;
    }
    let first = back_up(&app.state, BackupKind::Daily).await;
    assert_eq!((first.totals.files, first.totals.files_copied), (3, 3));
    put_upload(&app, "uploads/x/b.jpg", b"b changed").await;
    put_upload(&app, "uploads/x/d.jpg", b"d new").await;
    let second = back_up(&app.state, BackupKind::Daily).await;
    assert_eq!((second.totals.files, second.totals.files_copied), (4, 2));
    let third = back_up(&app.state, BackupKind::Weekly).await;
    assert_eq!((third.totals.files, third.totals.files_copied), (4, 0));

    // a.jpg is lost and c.jpg changed since: a restore puts a back and leaves the live c,
    // unless forced.
    let uploads = app.state.config.resources.uploads_bucket.clone();
    store::delete(&app.state.s3, &uploads, &["uploads/x/a.jpg".to_owned()])
        .await
        .expect("delete");
    put_upload(&app, "uploads/x/c.jpg", b"c edited after the backup").await;
    let mut files_only = request(&third.manifest_key, "not_used");
    files_only.scope = Scope::FilesOnly;
    let restored = restore::run(&app.state, &files_only, &quiet)
        .await
        .expect("files restore");
    assert_eq!(
        restored
            .files
            .map(|f| (f.restored, f.unchanged, f.kept_newer)),
        Some((1, 2, 1))
    );
    assert_eq!(
        object_bytes(&app, &uploads, "uploads/x/c.jpg").await,
        b"c edited after the backup".to_vec()
    );
    let forced = restore::run(
        &app.state,
        &RestoreRequest {
            force: true,
            ..files_only.clone()
        },
        &quiet,
    )
    .await
    .expect("forced files restore");
    assert_eq!(
        forced.files.map(|f| (f.restored, f.unchanged)),
        Some((1, 3))
    );
    assert_eq!(
        object_bytes(&app, &uploads, "uploads/x/c.jpg").await,
        "c".repeat(1000).into_bytes()
    );
    assert_eq!(
        object_bytes(&app, &uploads, "uploads/x/a.jpg").await,
        "a".repeat(1000).into_bytes()
    );
    assert_eq!(
        object_bytes(&app, &uploads, "uploads/x/b.jpg").await,
        b"b changed".to_vec()
    );
    assert!(!database_exists(&app, "not_used").await);

    // A file that goes and comes back with the same bytes (the same ETag) is copied anew
    // beside the old copy, which earlier backups still list and still restore from.
    store::delete(&app.state.s3, &uploads, &["uploads/x/d.jpg".to_owned()])
        .await
        .expect("delete d");
    let without_d = back_up(&app.state, BackupKind::Manual).await;
    assert_eq!(without_d.totals.files, 3);
    put_upload(&app, "uploads/x/d.jpg", b"d new").await;
    let with_d_again = back_up(&app.state, BackupKind::Manual).await;
    assert_eq!(with_d_again.totals.files_copied, 1);
    for manifest_key in [&second.manifest_key, &with_d_again.manifest_key] {
        let check = RestoreRequest {
            dry_run: true,
            ..request(manifest_key, "not_used")
        };
        let checked = restore::run(
            &app.state,
            &RestoreRequest {
                scope: Scope::FilesOnly,
                ..check
            },
            &quiet,
        )
        .await;
        assert!(checked.is_ok(), "{manifest_key}: {checked:?}");
    }

    // Retention keeps copies that a remaining manifest lists and drops the first backup's
    // copy of the old b.jpg once the first backup is gone.
    let removed = retention::apply(&app.state, Utc::now() + Duration::days(45))
        .await
        .expect("retention");
    assert_eq!(
        removed.removed,
        vec![first.manifest_key.clone(), without_d.manifest_key.clone()],
        "the older daily and the older manual go: {removed:?}"
    );
    assert_eq!(removed.file_copies_removed, 1);
    let again = restore::run(
        &app.state,
        &RestoreRequest {
            dry_run: true,
            ..files_only
        },
        &quiet,
    )
    .await;
    assert!(
        again.is_ok(),
        "the kept backup still has every file: {again:?}"
    );
}

fn listed(kind: BackupKind, at: DateTime<Utc>) -> Listed {
    let id = shared::backup::manifest::new_backup_id(kind, at);
    Listed::from_key(&format!(
        "{}manifest.json",
        shared::backup::manifest::prefix(kind, at, &id)
    ))
    .expect("a manifest key")
}

#[test]
fn retention_over_a_synthetic_year_keeps_exactly_the_expected_backups() {
    let day = |m: u32, d: u32, h: u32| {
        Utc.with_ymd_and_hms(2026, m, d, h, 0, 0)
            .single()
            .expect("date")
    };
    let mut year = Vec::new();
    let mut at = day(1, 1, 5);
    while at < day(12, 31, 12) {
        year.push(listed(BackupKind::Daily, at));
        if at.format("%a").to_string() == "Sun" {
            year.push(listed(BackupKind::Weekly, at + Duration::hours(1)));
        }
        if at.format("%d").to_string() == "01" {
            year.push(listed(BackupKind::Monthly, at + Duration::hours(2)));
        }
        at += Duration::days(1);
    }
    // A manual backup 40 days old with a newer one, and a lone one from the year before.
    year.push(listed(BackupKind::Manual, day(11, 21, 9)));
    year.push(listed(BackupKind::Manual, day(12, 20, 9)));
    let keep = BackupRetention {
        daily_days: 30,
        weekly_weeks: 12,
        monthly_months: 12,
    };
    let now = day(12, 31, 12);
    let removed: BTreeSet<String> = retention::expired(&year, &keep, now)
        .into_iter()
        .map(|l| l.backup_id.clone())
        .collect();
    let kept: Vec<String> = year
        .iter()
        .filter(|l| !removed.contains(&l.backup_id))
        .map(|l| format!("{} {}", l.kind, l.started_at.format("%m-%d")))
        .collect();
    let mut expected: Vec<String> = (2..=31).map(|d| format!("daily 12-{d:02}")).collect();
    for (m, d) in [
        (10, 11),
        (10, 18),
        (10, 25),
        (11, 1),
        (11, 8),
        (11, 15),
        (11, 22),
        (11, 29),
        (12, 6),
        (12, 13),
        (12, 20),
        (12, 27),
    ] {
        expected.push(format!("weekly {m:02}-{d:02}"));
    }
    expected.extend((1..=12).map(|m| format!("monthly {m:02}-01")));
    expected.push("manual 12-20".into());
    let mut kept_sorted = kept.clone();
    kept_sorted.sort();
    expected.sort();
    assert_eq!(kept_sorted, expected);

    // The newest of a kind stays however old.
    let lone = vec![listed(
        BackupKind::Monthly,
        Utc.with_ymd_and_hms(2024, 3, 1, 7, 0, 0)
            .single()
            .expect("date"),
    )];
    assert!(retention::expired(&lone, &keep, now).is_empty());
}

#[tokio::test]
async fn verification_records_its_result_and_alerts_on_a_backup_that_does_not_restore() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let empty = verify::run(&app.state, Utc::now(), &quiet)
        .await
        .expect("verify with no backup");
    assert!(!empty.ok);
    let good = back_up(&app.state, BackupKind::Monthly).await;
    let report = verify::run(&app.state, Utc::now(), &quiet)
        .await
        .expect("verify");
    assert!(report.ok, "{:?}", report.problems);
    assert!(report.rows_checked > 0);
    assert!(
        !database_exists(&app, &report.scratch_database).await,
        "the scratch database is dropped"
    );
    let firing = |alerts: &[alerts::Alert]| {
        alerts
            .iter()
            .any(|a| a.rule == verify::ALERT_RULE && a.status == AlertStatus::Firing)
    };
    assert!(!firing(&alerts::all(&app.state).await.expect("alerts")));

    let manifest = manifest_of(&app, &good.manifest_key).await;
    let users = manifest
        .tables
        .iter()
        .find(|t| t.name == "users")
        .expect("users");
    flip_byte(&app, &users.object.key).await;
    let bad = verify::run(&app.state, Utc::now(), &quiet)
        .await
        .expect("verify");
    assert!(!bad.ok);
    assert!(
        bad.problems.iter().any(|p| p.contains(&users.object.key)),
        "{:?}",
        bad.problems
    );
    assert!(firing(&alerts::all(&app.state).await.expect("alerts")));
    let records = store::list(
        &app.state.s3,
        &app.state.config.resources.backups_bucket,
        "verifications/",
    )
    .await
    .expect("list");
    assert!(!records.is_empty());

    back_up(&app.state, BackupKind::Monthly).await;
    let fixed = verify::run(&app.state, Utc::now(), &quiet)
        .await
        .expect("verify");
    assert!(fixed.ok, "{:?}", fixed.problems);
    assert!(!firing(&alerts::all(&app.state).await.expect("alerts")));
}

#[tokio::test]
async fn with_a_cluster_configured_each_backup_requests_an_rds_snapshot_and_point_in_time_restore_starts_a_new_cluster(
) {
    let cluster = format!(
        "readyset-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let app = TestApp::spawn_with(&[("BACKUP_RDS_CLUSTER_ID", &cluster)]).await;
    let rds = aws_sdk_rds::Client::new(&app.state.sdk);

    // The cluster does not exist yet: the logical backup is kept, and the job fails
    // naming the snapshot it could not request.
    let missing = snapshot::run(&app.state, BackupKind::Daily, Utc::now(), &quiet).await;
    assert!(
        matches!(missing, Err(BackupError::Storage { ref doing, .. }) if doing.contains(&cluster)),
        "{missing:?}"
    );
    let listed = retention::list(&app.state.s3, &app.state.config.resources.backups_bucket)
        .await
        .expect("list");
    assert_eq!(
        listed.len(),
        1,
        "the logical backup is complete without its snapshot"
    );

    rds.create_db_cluster()
        .db_cluster_identifier(&cluster)
        .engine("aurora-postgresql")
        .master_username("postgres")
        .master_user_password("not-used-locally")
        .send()
        .await
        .expect("cluster in the emulator");
    let report = back_up(&app.state, BackupKind::Daily).await;
    let name = report
        .rds_snapshot
        .clone()
        .expect("a snapshot was requested");
    assert_eq!(
        manifest_of(&app, &report.manifest_key).await.rds_snapshot,
        Some(name.clone())
    );
    let snapshots = rds
        .describe_db_cluster_snapshots()
        .db_cluster_identifier(&cluster)
        .send()
        .await
        .expect("snapshots");
    assert!(snapshots
        .db_cluster_snapshots()
        .iter()
        .any(|s| s.db_cluster_snapshot_identifier() == Some(name.as_str())));

    // Retention removes the snapshot with its backup once a newer daily one exists.
    let newest = back_up(&app.state, BackupKind::Daily).await;
    let removed = retention::apply(&app.state, Utc::now() + Duration::days(40))
        .await
        .expect("retention");
    assert_eq!(
        removed.rds_snapshots_removed,
        vec![name.clone()],
        "{removed:?}"
    );
    let left: Vec<String> = rds
        .describe_db_cluster_snapshots()
        .db_cluster_identifier(&cluster)
        .snapshot_type("manual")
        .send()
        .await
        .expect("snapshots")
        .db_cluster_snapshots()
        .iter()
        .filter_map(|s| s.db_cluster_snapshot_identifier().map(str::to_owned))
        .collect();
    assert_eq!(
        left,
        vec![newest.rds_snapshot.clone().expect("newest snapshot")]
    );

    let target = format!("{cluster}-pitr");
    let started = shared::backup::rds::restore_to_point_in_time(
        &app.state,
        &shared::backup::rds::PointInTime {
            source_cluster: cluster.clone(),
            target_cluster: target.clone(),
            to: Some(Utc::now() - Duration::minutes(5)),
        },
    )
    .await
    .expect("point-in-time restore");
    assert_eq!(started.target_cluster, target);
    let clusters = rds
        .describe_db_clusters()
        .db_cluster_identifier(&target)
        .send()
        .await
        .expect("the new cluster");
    assert_eq!(clusters.db_clusters().len(), 1);
}
