//! The load tool against the real gateway: the smoke profile is the CI gate on latency
//! and errors, and the baseline server and emulator measurement it compares with work
//! on the same stack.

use std::{sync::Arc, time::Duration};

use api_tests::{PartnerSpec, TestApp};
use load_test::{
    baseline::{self, Baseline},
    emulator, execute, report, run_plan,
    traffic::{PartnerKey, Route},
    Plan, Profile, Thresholds,
};

#[tokio::test]
async fn the_smoke_profile_meets_the_thresholds_on_every_route() {
    let app = TestApp::spawn().await;
    app.partner(PartnerSpec::new("loadpartner", "LD-", "load-partner-key"))
        .await;
    let partner = PartnerKey {
        slug: "loadpartner".into(),
        key: "load-partner-key".into(),
    };
    let thresholds = Thresholds::default();
    let outcome = execute(
        &app.url(""),
        Plan::of(Profile::Smoke),
        partner,
        thresholds,
        true,
    )
    .await
    .expect("the smoke run signs up its identities and runs");
    let printed = report::render(&outcome, &thresholds);
    // Shown by `--no-capture`: the figures behind the verdict.
    eprintln!("{printed}");
    let verdict = report::verdict(&outcome, &thresholds);
    assert!(verdict.passed(), "{printed}");
    let routes = load_test::run::combine(&outcome.phases);
    for route in Route::ALL {
        let stats = routes.get(&route);
        assert!(
            stats.is_some_and(|s| s.requests() > 0),
            "{route:?} was never sent:\n{printed}"
        );
    }
    // Every request of the smoke run succeeds: a single 4xx means the tool or the API
    // is wrong, not slow.
    let total: u64 = routes.values().map(|s| s.error_count()).sum();
    assert_eq!(total, 0, "{printed}");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email LIKE 'load-%@example.com'")
            .await,
        10
    );
}

#[tokio::test]
async fn a_run_against_a_server_that_refuses_everything_fails_its_thresholds() {
    let app = TestApp::spawn().await;
    // The partner's key is wrong: its drafts are refused, which the verdict must see.
    let outcome = execute(
        &app.url(""),
        Plan::of(Profile::Smoke)
            .steady(20.0, Duration::from_secs(5))
            .only(Route::PartnerDraft),
        PartnerKey {
            slug: "nobody".into(),
            key: "wrong".into(),
        },
        Thresholds::default(),
        true,
    )
    .await
    .expect("the run itself completes");
    let verdict = report::verdict(&outcome, &Thresholds::default());
    assert!(!verdict.passed());
    assert!(
        verdict.breaches.iter().any(|b| b.contains("errors")),
        "{:?}",
        verdict.breaches
    );
}

#[tokio::test]
async fn the_baseline_serves_one_query_per_request() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let database_url = app.database_url();
    let server = tokio::spawn(async move { baseline::serve(&database_url, listener).await });
    let target = Arc::new(Baseline::new(&url).expect("client"));
    let plan = Plan {
        only: Some(Route::Baseline),
        ..Plan::of(Profile::Smoke).steady(50.0, Duration::from_secs(2))
    };
    let outcome = run_plan(&target, plan, &Thresholds::default(), true).await;
    server.abort();
    let stats = outcome.phases[0].total();
    assert_eq!(stats.requests(), 100);
    assert_eq!(stats.error_count(), 0, "{:?}", stats.errors);
}

#[tokio::test]
async fn the_baseline_refuses_to_start_on_an_empty_database() {
    let app = TestApp::spawn().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let err = baseline::serve(&app.database_url(), listener)
        .await
        .expect_err("no users to look up");
    assert!(err.to_string().contains("seed it first"), "{err}");
}

#[tokio::test]
async fn the_local_dynamodb_applies_conditional_writes_atomically() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .expect("scripts/test points DynamoDB at the local emulator");
    let result = emulator::measure(&endpoint, 4, Duration::from_secs(1))
        .await
        .expect("the emulator answers");
    assert!(result.writes > 0, "{}", result.summary());
    assert!(result.atomic(), "{}", result.summary());
    assert_eq!(result.race_succeeded, 100, "{}", result.summary());
}
