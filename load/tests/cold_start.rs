//! The cold-start stand-in against real processes: the hello-world Lambda of this crate,
//! one that answers its event with an error (a cold start all the same), and one that
//! never starts.

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
async fn an_invocation_the_function_answers_with_an_error_is_a_cold_start_marked_so() {
    // Not JSON: the runtime cannot decode the event and posts it as an invocation error,
    // as a job does that refuses its sample event: it started and answered all the same.
    let start = measure_once(&hello(b"not json"), &[])
        .await
        .expect("a clear error answer is a cold start");
    assert!(start.answered_with_error, "{start:?}");
    assert!(
        !start.init.is_zero() && !start.first_invoke.is_zero(),
        "{start:?}"
    );
    let fine = measure_once(&hello(br#"{"ping": 1}"#), &[])
        .await
        .expect("starts");
    assert!(!fine.answered_with_error, "{fine:?}");
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
