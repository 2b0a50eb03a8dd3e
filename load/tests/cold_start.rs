//! The cold-start stand-in against real processes: the hello-world Lambda of this crate,
//! one that fails its invocation, and one that never starts.

use std::path::PathBuf;

use load_test::cold_start::{measure, measure_once, Subject};

fn hello(event: &[u8]) -> Subject {
    Subject {
        label: "hello".into(),
        binary: PathBuf::from(env!("CARGO_BIN_EXE_hello-lambda")),
        handler: "hello".into(),
        event: event.to_vec(),
    }
}

#[tokio::test]
async fn a_lambda_is_timed_from_process_start_to_its_first_answer() {
    let start = measure(&hello(br#"{"ping": 1}"#), &[], 3)
        .await
        .expect("the hello-world lambda starts and answers");
    assert!(!start.init.is_zero(), "{start:?}");
    assert!(!start.first_invoke.is_zero(), "{start:?}");
    assert_eq!(start.total(), start.init + start.first_invoke);
}

#[tokio::test]
async fn an_invocation_the_function_reports_as_failed_is_an_error() {
    // Not JSON: the runtime cannot decode the event and posts it as an invocation error.
    let err = measure_once(&hello(b"not json"), &[])
        .await
        .expect_err("a failed invocation is not a cold start");
    assert!(err.to_string().contains("reported an error"), "{err}");
}

#[tokio::test]
async fn a_process_that_exits_without_asking_for_an_event_is_an_error() {
    let subject = Subject {
        binary: PathBuf::from("/bin/false"),
        ..hello(b"{}")
    };
    let err = measure_once(&subject, &[])
        .await
        .expect_err("it never started");
    assert!(err.to_string().contains("exited"), "{err}");
}
