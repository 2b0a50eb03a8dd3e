//! A circuit breaker for a dependency whose calls may hang: after one call times out or
//! cannot connect, calls fail at once for a few seconds instead of each waiting for its
//! deadline; then one call probes, and the first answer closes the circuit again.
//!
//! Why: every AWS call has a deadline (2 s per operation, see `aws`). With DynamoDB
//! paused, each request paid it on every read before failing: a rate-limit check that
//! then lets the request through, the session read, the error store. Open, the breaker
//! turns those into immediate failures, which each caller handles as before (fails open,
//! or answers 503); the request costs milliseconds instead of seconds.
//!
//! One breaker per container and dependency (the state holds it), so each Lambda
//! container finds out for itself; the local gateway's one state is one container.
//! The `aws` module puts the DynamoDB client's calls through one.
//!
//! Only a timeout or a connection failure opens it: an error the dependency answered (a
//! failed condition, throttling) shows it is there. Any answer closes it, a probe's or
//! that of a call that was already under way, so one slow call does not refuse the
//! dependency for long while others get through.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct Breaker {
    /// The dependency, as log lines and errors name it.
    name: &'static str,
    /// How long calls are refused after a failure before one probes.
    open_for: Duration,
    circuit: Mutex<Circuit>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Circuit {
    Closed,
    /// Refusing calls until `until`; the first call after it probes.
    Open {
        until: Instant,
    },
    /// One call is probing, the others are refused. A probe whose caller gave up (its
    /// request's deadline dropped it) never reports, so after `until` another may probe.
    Probing {
        until: Instant,
    },
}

/// How a call the breaker let through went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The dependency answered, even with an error of its own.
    Answered,
    /// It timed out or could not be reached.
    Unreachable,
}

/// A change of the circuit, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Calls are refused from now on.
    Opened,
    /// A probe failed: calls are refused for another period.
    StillOpen,
    /// Calls go through again.
    Closed,
}

/// A call refused while the circuit is open.
#[derive(Debug, thiserror::Error)]
#[error("{name} is not called: the circuit is open after a timeout or connection failure ({} ms left)", retry_in.as_millis())]
pub struct Refused {
    pub name: &'static str,
    /// Until the next probe.
    pub retry_in: Duration,
}

impl Breaker {
    pub fn new(name: &'static str, open_for: Duration) -> Self {
        Self {
            name,
            open_for,
            circuit: Mutex::new(Circuit::Closed),
        }
    }

    /// Whether a call may go out at `now`: always while closed; while open, only the first
    /// call after the period, which becomes the probe.
    pub fn admit(&self, now: Instant) -> Result<(), Refused> {
        let mut circuit = self.lock();
        match *circuit {
            Circuit::Closed => Ok(()),
            Circuit::Open { until } | Circuit::Probing { until } if now < until => Err(Refused {
                name: self.name,
                retry_in: until - now,
            }),
            Circuit::Open { .. } | Circuit::Probing { .. } => {
                *circuit = Circuit::Probing {
                    until: now + self.open_for,
                };
                Ok(())
            }
        }
    }

    /// Records how an admitted call went, and logs when that opens or closes the circuit
    /// (under the request or job the call served, so the line carries its id).
    pub fn settle(&self, outcome: Outcome, now: Instant) -> Option<Change> {
        let change = {
            let mut circuit = self.lock();
            let was = *circuit;
            let (next, change) = match (was, outcome) {
                (Circuit::Closed, Outcome::Answered) => (was, None),
                (_, Outcome::Answered) => (Circuit::Closed, Some(Change::Closed)),
                (Circuit::Closed, Outcome::Unreachable) => (self.open(now), Some(Change::Opened)),
                (Circuit::Probing { .. }, Outcome::Unreachable) => {
                    (self.open(now), Some(Change::StillOpen))
                }
                // A call that went out before the circuit opened: it is open already.
                (Circuit::Open { .. }, Outcome::Unreachable) => (was, None),
            };
            *circuit = next;
            change
        };
        let parent = crate::telemetry::request_span();
        let open_ms = u64::try_from(self.open_for.as_millis()).unwrap_or(u64::MAX);
        match change {
            Some(Change::Opened) => tracing::warn!(
                parent: parent,
                dependency = self.name,
                open_ms,
                "circuit opened: a call timed out or could not connect; calls fail at once until a probe answers"
            ),
            Some(Change::StillOpen) => tracing::warn!(
                parent: parent,
                dependency = self.name,
                open_ms,
                "circuit still open: the probe timed out or could not connect"
            ),
            Some(Change::Closed) => tracing::info!(
                parent: parent,
                dependency = self.name,
                "circuit closed: the dependency answers again"
            ),
            None => {}
        }
        change
    }

    fn open(&self, now: Instant) -> Circuit {
        Circuit::Open {
            until: now + self.open_for,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Circuit> {
        // The circuit is a plain value, valid whatever a panicking holder left.
        self.circuit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("name", &self.name)
            .field("circuit", &*self.lock())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_secs(5);

    fn breaker() -> Breaker {
        Breaker::new("store", PERIOD)
    }

    #[test]
    fn closed_it_lets_every_call_through_and_answers_keep_it_closed() {
        let breaker = breaker();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(breaker.admit(now).is_ok());
            assert_eq!(breaker.settle(Outcome::Answered, now), None);
        }
    }

    #[test]
    fn one_timeout_opens_it_and_calls_are_refused_for_the_period() {
        let breaker = breaker();
        let start = Instant::now();
        breaker.admit(start).expect("closed");
        assert_eq!(
            breaker.settle(Outcome::Unreachable, start),
            Some(Change::Opened)
        );
        let refused = breaker
            .admit(start + Duration::from_secs(1))
            .expect_err("open");
        assert_eq!(refused.retry_in, Duration::from_secs(4));
        assert!(refused.to_string().contains("store"), "{refused}");
        assert!(breaker
            .admit(start + PERIOD - Duration::from_millis(1))
            .is_err());
    }

    #[test]
    fn after_the_period_one_call_probes_and_its_answer_closes_it() {
        let breaker = breaker();
        let start = Instant::now();
        breaker.settle(Outcome::Unreachable, start);
        let later = start + PERIOD;
        assert!(breaker.admit(later).is_ok(), "the probe");
        assert!(breaker.admit(later).is_err(), "one probe at a time");
        assert_eq!(
            breaker.settle(Outcome::Answered, later),
            Some(Change::Closed)
        );
        assert!(breaker.admit(later).is_ok());
        assert!(breaker.admit(later).is_ok());
    }

    #[test]
    fn a_failed_probe_opens_it_for_another_period() {
        let breaker = breaker();
        let start = Instant::now();
        breaker.settle(Outcome::Unreachable, start);
        let probe_at = start + PERIOD;
        breaker.admit(probe_at).expect("probe");
        let failed_at = probe_at + Duration::from_secs(2);
        assert_eq!(
            breaker.settle(Outcome::Unreachable, failed_at),
            Some(Change::StillOpen)
        );
        assert!(breaker.admit(failed_at + PERIOD / 2).is_err());
        assert!(breaker.admit(failed_at + PERIOD).is_ok(), "the next probe");
    }

    #[test]
    fn a_probe_that_never_reports_does_not_hold_it_open_for_good() {
        let breaker = breaker();
        let start = Instant::now();
        breaker.settle(Outcome::Unreachable, start);
        breaker.admit(start + PERIOD).expect("probe, then dropped");
        assert!(breaker.admit(start + PERIOD + PERIOD / 2).is_err());
        assert!(breaker.admit(start + PERIOD * 2).is_ok(), "another probe");
    }

    #[test]
    fn opening_and_closing_are_logged_under_the_request_that_saw_them() {
        let lines = crate::telemetry::LineBuffer::default();
        let subscriber = crate::telemetry::json_subscriber(
            lines.clone(),
            tracing_subscriber::EnvFilter::new("info"),
            Duration::from_secs(60),
        );
        let breaker = breaker();
        let start = Instant::now();
        tracing::subscriber::with_default(subscriber, || {
            for (request_id, outcome) in [("r-1", Outcome::Unreachable), ("r-2", Outcome::Answered)]
            {
                // In Lambda, the runtime's invocation span encloses the request's.
                let _invocation = tracing::info_span!("Lambda runtime invoke").entered();
                let request = tracing::info_span!("request", request_id);
                let _request = request.enter();
                // Calls run inside spans of their own (a rate-limit check, a session read).
                let _call = tracing::info_span!("rate_limit").entered();
                breaker.settle(outcome, start);
            }
        });
        let text = lines.text();
        let logged: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("json line"))
            .collect();
        assert_eq!(logged.len(), 2, "{text}");
        assert!(logged[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("circuit opened")));
        assert_eq!(logged[0]["span"]["request_id"], "r-1", "{text}");
        assert_eq!(logged[0]["dependency"], "store");
        assert!(logged[1]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("circuit closed")));
        assert_eq!(logged[1]["span"]["request_id"], "r-2", "{text}");
    }

    #[test]
    fn calls_already_under_way_count_too() {
        let breaker = breaker();
        let start = Instant::now();
        // Two calls go out; the first times out, the second then answers.
        breaker.admit(start).expect("first");
        breaker.admit(start).expect("second");
        assert_eq!(
            breaker.settle(Outcome::Unreachable, start),
            Some(Change::Opened)
        );
        // A third that also went out before it opened fails: no change, still open.
        assert_eq!(breaker.settle(Outcome::Unreachable, start), None);
        assert!(breaker.admit(start).is_err());
        assert_eq!(
            breaker.settle(Outcome::Answered, start),
            Some(Change::Closed),
            "the store answered: no reason to refuse it"
        );
        assert!(breaker.admit(start).is_ok());
    }
}
