//! Each pooled connection prepares a statement once and keeps it (`db::StatementCache`):
//! a busy read is then planned once per connection, not on every request.

use api_tests::TestApp;
use shared::{
    auth::Role,
    db::{p, Connection},
};

/// The statements prepared on this connection, with how often each was planned generically
/// and per call (PostgreSQL's own account, `pg_prepared_statements`), but this query's own.
async fn prepared(conn: &Connection) -> Vec<(String, i64, i64)> {
    conn.uncached()
        .query(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
              WHERE statement NOT LIKE '%pg_prepared_statements%'",
            &[],
        )
        .await
        .expect("prepared statements")
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

/// Orders enough that a plan reading every order costs more than one using an index, so
/// PostgreSQL only keeps a generic plan that uses it: 200 clients with 30 orders each.
const ORDERS: &str = r"
INSERT INTO users (id, email, role, status, name)
SELECT gen_random_uuid(), 'bulk-' || n || '@example.com', 'CLIENT', 'ACTIVE', 'Bulk ' || n
FROM generate_series(1, 200) AS n;

INSERT INTO addresses (id, name, street1, city, state, zip, location, created_by)
SELECT gen_random_uuid(), u.name, '1 Market St', 'San Jose', 'CA', '95113',
       ST_GeogFromText('POINT(-121.9 37.3)'), u.id
FROM users u WHERE u.email LIKE 'bulk-%';

INSERT INTO orders (order_number, order_type, user_id, pickup_address_id, delivery_address_id,
                    status, pickup_date_time, arrival_date_time, headcount, need_host,
                    order_total_cents, created_at)
SELECT 'BULK-' || a.name || '-' || n, 'CATERING', a.created_by, a.id, a.id, 'ACTIVE',
       now() + interval '1 day', now() + interval '1 day 1 hour', 10, 'NO', 10000,
       now() - n * interval '1 minute'
FROM addresses a, generate_series(1, 30) AS n WHERE a.name LIKE 'Bulk %';

ANALYZE;
";

/// The plan of the prepared statement whose text holds `marker`, run with every boolean
/// false, every id `user`, every number 21 and the rest NULL. Once PostgreSQL has chosen
/// a generic plan for the statement, this is it.
async fn generic_plan(conn: &Connection, marker: &str, user: uuid::Uuid) -> String {
    let row = conn
        .uncached()
        .query_one(
            "SELECT name, parameter_types::text[] FROM pg_prepared_statements
              WHERE strpos(statement, $1) > 0",
            &[&marker],
        )
        .await
        .expect("the statement");
    let (name, types): (String, Vec<String>) = (row.get(0), row.get(1));
    let arguments: Vec<String> = types
        .iter()
        .map(|t| match t.as_str() {
            "boolean" => "false".to_owned(),
            "uuid" => format!("'{user}'"),
            "bigint" | "integer" => "21".to_owned(),
            other => format!("NULL::{other}"),
        })
        .collect();
    let explain = format!("EXPLAIN EXECUTE {name}({})", arguments.join(", "));
    conn.uncached()
        .simple_query(&explain)
        .await
        .expect("explain")
        .into_iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_clients_order_list_is_planned_once_for_every_later_request() {
    // One connection serves every request, so its statements are the ones to read.
    let app = TestApp::spawn_with(&[("DATABASE_POOL_SIZE", "1")]).await;
    app.direct_db()
        .await
        .batch_execute(ORDERS)
        .await
        .expect("orders");
    let client = app.user(Role::Client).await;
    for _ in 0..8 {
        let response = app
            .call("GET", "/api/user-orders", Some(&client.token), None)
            .await;
        assert_eq!(response.status(), 200);
    }
    let conn = app.db().await;
    let lists: Vec<_> = prepared(&conn)
        .await
        .into_iter()
        .filter(|(sql, ..)| sql.contains("ORDER BY o.created_at DESC"))
        .collect();
    assert_eq!(lists.len(), 1, "prepared once: {lists:?}");
    let (_, generic, custom) = &lists[0];
    assert_eq!(generic + custom, 8, "every request used it: {lists:?}");
    assert!(
        *generic >= 1,
        "later requests reuse one generic plan rather than planning again: {lists:?}"
    );
    assert_eq!(conn.statements().len(), prepared(&conn).await.len());

    // That one plan reads the caller's orders by index, as a plan for its id would. (A
    // condition for every kind of caller, `$1 OR o.user_id = $3 OR ...`, can earn a generic
    // plan that walks every order newest first, filtering.)
    let plan = generic_plan(&conn, "ORDER BY o.created_at DESC", client.id).await;
    assert!(plan.contains("orders_user_created_idx"), "{plan}");
}

#[tokio::test]
async fn the_least_recently_used_statement_is_closed_when_the_cache_is_full() {
    let app = TestApp::spawn().await;
    let conn = Connection::new(app.direct_db().await, 2);
    for n in [1i64, 2, 3, 2] {
        let row = conn
            .query_typed_one(&format!("SELECT $1::int8 + {n} AS sum"), &[p(&n)])
            .await
            .expect("sum");
        assert_eq!(row.get::<_, i64>("sum"), 2 * n);
    }
    let mut open: Vec<String> = prepared(&conn).await.into_iter().map(|s| s.0).collect();
    open.sort();
    assert_eq!(
        open,
        ["SELECT $1::int8 + 2 AS sum", "SELECT $1::int8 + 3 AS sum"],
        "the first was evicted and closed on the server"
    );
    assert_eq!(conn.statements().len(), 2);
}

#[tokio::test]
async fn a_cache_of_zero_prepares_nothing() {
    let app = TestApp::spawn().await;
    let conn = Connection::new(app.direct_db().await, 0);
    let count = conn
        .query_typed_one(
            "SELECT count(*) AS n FROM users WHERE role = $1",
            &[p(&"ADMIN")],
        )
        .await
        .expect("count");
    assert!(count.get::<_, i64>("n") >= 0);
    assert!(prepared(&conn).await.is_empty());
    assert!(conn.statements().is_empty());
}

#[tokio::test]
async fn a_statement_the_schema_changed_under_is_prepared_again() {
    let app = TestApp::spawn().await;
    let mut conn = Connection::new(app.direct_db().await, 16);
    conn.batch_execute("CREATE TABLE probe (a int); INSERT INTO probe VALUES (1)")
        .await
        .expect("table");
    let read = "SELECT * FROM probe WHERE a = $1";
    let columns = |rows: Vec<shared::db::Row>| rows[0].columns().len();
    let rows = conn
        .query_typed(read, &[p(&1i32)])
        .await
        .expect("first read");
    assert_eq!(columns(rows), 1);

    // A migration while the connection is open: outside a transaction the read is
    // prepared again and retried, and the caller never sees the change.
    app.direct_db()
        .await
        .batch_execute("ALTER TABLE probe ADD COLUMN b int")
        .await
        .expect("alter");
    let rows = conn
        .query_typed(read, &[p(&1i32)])
        .await
        .expect("read after the change");
    assert_eq!(columns(rows), 2);

    // Inside a transaction the error aborts it, so it reaches the caller; the statement is
    // forgotten, and the next attempt succeeds.
    app.direct_db()
        .await
        .batch_execute("ALTER TABLE probe ADD COLUMN c int")
        .await
        .expect("alter");
    let tx = conn.transaction().await.expect("begin");
    let err = tx
        .query_typed(read, &[p(&1i32)])
        .await
        .expect_err("the old statement's result type changed");
    let message = err.as_db_error().map(|e| e.message().to_owned());
    assert_eq!(
        message.as_deref(),
        Some("cached plan must not change result type")
    );
    tx.rollback().await.expect("rollback");
    let rows = conn
        .query_typed(read, &[p(&1i32)])
        .await
        .expect("read again");
    assert_eq!(columns(rows), 3);
}
