//! Every statement the handlers run is served by an index once the tables are large.
//!
//! The test database is filled to production-like sizes (tens of thousands of users,
//! addresses, orders, status changes and outbox messages) and analysed; then every
//! function runs its sample event, as in the structure tests, plus the list routes'
//! other shapes (filters, next pages). `auto_explain` writes the plan PostgreSQL actually
//! executed for each statement, with its real parameters, to the server's JSON log, and
//! the test fails on any sequential scan of a large table, naming the statement.

use std::collections::BTreeSet;

use api_tests::{json_body, samples::run_sample_events, TestApp};
use serde_json::Value;
use shared::auth::Role;

/// A table with at least this many rows is large: scanning it whole is a defect.
const LARGE: f64 = 10_000.0;

/// Rows of the bulk data: enough that the planner prefers an index whenever one serves.
const FILL: &str = r"
INSERT INTO users (id, email, role, status, name, created_at)
SELECT gen_random_uuid(), 'bulk-' || n || '@example.com',
       (ARRAY['CLIENT', 'VENDOR', 'DRIVER', 'CLIENT'])[1 + n % 4], 'ACTIVE', 'Bulk ' || n,
       now() - n * interval '1 minute'
FROM generate_series(1, 20000) AS n;

INSERT INTO addresses (id, name, street1, city, state, zip, location, created_by, created_at)
SELECT gen_random_uuid(), 'Bulk ' || n, n || ' Market St', 'San Jose', 'CA', '95113',
       ST_GeogFromText('POINT(' || (-121.9 + (n % 100) / 1000.0) || ' ' || (37.3 + (n % 97) / 1000.0) || ')'),
       u.id, now() - n * interval '1 minute'
FROM generate_series(1, 20000) AS n
JOIN LATERAL (SELECT id FROM users WHERE email = 'bulk-' || (1 + n % 20000) || '@example.com') u ON true;

INSERT INTO user_addresses (user_id, address_id)
SELECT created_by, id FROM addresses WHERE name LIKE 'Bulk %';

INSERT INTO orders (order_number, order_type, user_id, pickup_address_id, delivery_address_id,
                    status, pickup_date_time, arrival_date_time, headcount, need_host,
                    order_total_cents, created_at)
SELECT 'BULK-' || n, 'CATERING', a.created_by, a.id, a.id,
       (ARRAY['ACTIVE', 'ASSIGNED', 'COMPLETED', 'CANCELLED', 'COMPLETED'])[1 + n % 5],
       now() + (n % 60) * interval '1 day', now() + (n % 60) * interval '1 day' + interval '1 hour',
       10 + n % 90, 'NO', 10000 + n, now() - n * interval '30 seconds'
FROM generate_series(1, 50000) AS n
JOIN LATERAL (SELECT id, created_by FROM addresses WHERE name = 'Bulk ' || (1 + n % 20000)) a ON true;

INSERT INTO order_status_history (order_id, from_status, to_status, actor_type, created_at)
SELECT id, NULL, status, 'USER', created_at FROM orders WHERE order_number LIKE 'BULK-%';

INSERT INTO outbox (kind, order_id, partner_id, payload, status, next_attempt_at, created_at, delivered_at)
SELECT 'PARTNER_WEBHOOK', o.id, (SELECT id FROM api_partners WHERE slug = 'catervalley'), '{}'::jsonb,
       'DELIVERED', o.created_at, o.created_at, o.created_at
FROM (SELECT id, created_at FROM orders WHERE order_number LIKE 'BULK-%' LIMIT 20000) o;
";

/// A sequential scan of a large table, found in an executed plan.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct SeqScan {
    table: String,
    statement: String,
    /// The plan's nodes, one a line, indented: what the planner chose instead.
    plan: String,
}

/// The nodes of `plan`, one a line (`Index Scan orders_created_idx on orders rows=20`).
fn outline(plan: &Value, depth: usize, out: &mut String) {
    let field = |name: &str| {
        plan[name]
            .as_str()
            .map(|v| format!(" {v}"))
            .unwrap_or_default()
    };
    out.push_str(&format!(
        "{}{}{}{} rows={}{}\n",
        "  ".repeat(depth + 2),
        plan["Node Type"].as_str().unwrap_or("?"),
        field("Index Name"),
        plan["Relation Name"]
            .as_str()
            .map(|t| format!(" on {t}"))
            .unwrap_or_default(),
        plan["Plan Rows"],
        plan["Filter"]
            .as_str()
            .map(|f| format!(" filter {}", f.chars().take(120).collect::<String>()))
            .unwrap_or_default(),
    ));
    for child in plan["Plans"].as_array().into_iter().flatten() {
        outline(child, depth + 1, out);
    }
}

/// The tables of `large` that `node` (part of `plan`) or its children scan sequentially.
fn seq_scanned(node: &Value, large: &BTreeSet<String>, tables: &mut BTreeSet<String>) {
    if node["Node Type"] == "Seq Scan" {
        if let Some(table) = node["Relation Name"]
            .as_str()
            .filter(|t| large.contains(*t))
        {
            tables.insert(table.to_owned());
        }
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        seq_scanned(child, large, tables);
    }
}

fn seq_scans(plan: &Value, large: &BTreeSet<String>, statement: &str, found: &mut Vec<SeqScan>) {
    let mut tables = BTreeSet::new();
    seq_scanned(plan, large, &mut tables);
    for table in tables {
        let mut rendered = String::new();
        outline(plan, 0, &mut rendered);
        found.push(SeqScan {
            table,
            statement: statement.split_whitespace().collect::<Vec<_>>().join(" "),
            plan: rendered,
        });
    }
}

async fn admin_connection(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
}

/// The JSON log's path and current size.
async fn log_position(admin: &tokio_postgres::Client) -> (String, i64) {
    let row = admin
        .query_one(
            "SELECT f, (pg_stat_file(f)).size FROM (SELECT pg_current_logfile('jsonlog') AS f) l",
            &[],
        )
        .await
        .expect("the server writes a JSON log (scripts/test starts it so)");
    (row.get(0), row.get(1))
}

/// The other shapes of the list routes: filters and next pages.
async fn list_variants(app: &TestApp) {
    let client = app.user(Role::Client).await;
    let admin = app.user(Role::Admin).await;
    let vendor = app.user(Role::Vendor).await;
    for (user, path) in [
        (&client, "/api/user-orders?limit=5"),
        (&client, "/api/user-orders?status=ACTIVE&limit=5"),
        (&client, "/api/addresses?limit=5"),
        (&admin, "/api/orders?limit=5"),
        (&admin, "/api/orders?status=COMPLETED&limit=5"),
        (
            &admin,
            "/api/orders?type=catering&startDate=2026-01-01&endDate=2099-01-01&limit=5",
        ),
        (&admin, "/api/orders?search=BULK-123&limit=5"),
        (&admin, "/api/users?limit=5"),
        (&admin, "/api/users?role=DRIVER&limit=5"),
        (&admin, "/api/users?search=bulk-1234&limit=5"),
        (&admin, "/api/admin/webhooks?limit=5"),
        (&vendor, "/api/vendor/orders?limit=5"),
    ] {
        let first = app.call("GET", path, Some(&user.token), None).await;
        assert_eq!(first.status(), 200, "{path}");
        let body = json_body(first).await;
        // The next page, when the route has one.
        if let Some(cursor) = body["nextCursor"].as_str() {
            let next = format!("{path}&cursor={cursor}");
            let response = app.call("GET", &next, Some(&user.token), None).await;
            assert_eq!(response.status(), 200, "{next}");
        }
    }
}

#[tokio::test]
async fn every_statement_on_a_large_table_uses_an_index() {
    let app = TestApp::spawn().await;
    let admin = admin_connection(&app.database_url()).await;
    // For this database only: every statement's executed plan, as JSON, into the log.
    // Set before the pool opens its first connection, so every session has it.
    admin
        .batch_execute(&format!(
            "ALTER DATABASE {db} SET session_preload_libraries = 'auto_explain';
             ALTER DATABASE {db} SET auto_explain.log_min_duration = 0;
             ALTER DATABASE {db} SET auto_explain.log_format = 'json';
             ALTER DATABASE {db} SET auto_explain.log_nested_statements = on;",
            db = app.database
        ))
        .await
        .expect("enable auto_explain");
    app.seed().await;
    admin.batch_execute(FILL).await.expect("bulk data");
    // As autovacuum would have by then: statistics, and GIN pending lists merged (the
    // planner rightly avoids a trigram index whose new entries are still unsorted).
    admin.batch_execute("VACUUM ANALYZE").await.expect("vacuum");
    let large: BTreeSet<String> = admin
        .query(
            "SELECT relname::text FROM pg_class WHERE relkind = 'r' AND reltuples >= $1",
            &[&(LARGE as f32)],
        )
        .await
        .expect("table sizes")
        .iter()
        .map(|row| row.get(0))
        .collect();
    for table in [
        "users",
        "addresses",
        "orders",
        "order_status_history",
        "outbox",
    ] {
        assert!(large.contains(table), "{table} is filled: {large:?}");
    }

    let (log, start) = log_position(&admin).await;
    run_sample_events(&app).await;
    list_variants(&app).await;
    // A marker through the pool: once its plan is in the log, everything before it is.
    let marker = format!("index-test-done-{}", uuid::Uuid::new_v4().simple());
    app.db()
        .await
        .simple_query(&format!("SELECT '{marker}'"))
        .await
        .expect("marker");

    let mut entries = String::new();
    for _ in 0..50 {
        let (_, end) = log_position(&admin).await;
        entries = admin
            .query_one(
                "SELECT pg_read_file($1, $2, $3)",
                &[&log, &start, &(end - start)],
            )
            .await
            .expect("read the log")
            .get(0);
        if entries.contains(&marker) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(entries.contains(&marker), "the plans reached the log");

    let mut plans = 0;
    let mut index_scans_of_large_tables = 0;
    let mut found = Vec::new();
    for line in entries.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if entry["dbname"] != app.database.as_str() {
            continue;
        }
        let Some(message) = entry["message"].as_str() else {
            continue;
        };
        let Some((_, plan)) = message.split_once("plan:\n") else {
            continue;
        };
        let plan: Value = serde_json::from_str(plan).expect("auto_explain writes JSON plans");
        plans += 1;
        let text = plan["Query Text"].as_str().unwrap_or_default();
        // A backup copies every row of every table: reading it all is the point.
        if text.starts_with("COPY (SELECT ") && text.ends_with(") TO STDOUT") {
            continue;
        }
        let rendered = plan["Plan"].to_string();
        if large
            .iter()
            .any(|t| rendered.contains(&format!("\"Relation Name\":\"{t}\"")))
        {
            index_scans_of_large_tables += usize::from(rendered.contains("Index"));
        }
        seq_scans(&plan["Plan"], &large, text, &mut found);
    }
    found.sort();
    found.dedup();
    // The workload ran and its plans were read: an empty log would pass vacuously.
    assert!(plans > 50, "only {plans} plans in the log");
    assert!(
        index_scans_of_large_tables > 20,
        "{index_scans_of_large_tables}"
    );
    assert!(
        found.is_empty(),
        "sequential scans of large tables ({} statements):\n{}",
        found.len(),
        found
            .iter()
            .map(|s| format!("- {}: {}\n{}", s.table, s.statement, s.plan))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
