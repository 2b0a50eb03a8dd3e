//! Cold starts, timed through a stand-in for the Lambda Runtime API on loopback.
//!
//! Each run starts the function's process, as Lambda does, with `AWS_LAMBDA_RUNTIME_API`
//! pointing here. The process initialises, then asks for its first event
//! (`GET /2018-06-01/runtime/invocation/next`): that moment ends **init**. It gets the
//! function's sample event and posts the answer: that ends the **first invoke**. The
//! process is then stopped. The same is done for a hello-world `lambda_runtime` binary
//! built the same way, so the ratio says what the function's own start costs.
//!
//! A function that answers its sample event with an error (a job whose event needs state
//! a fresh stack lacks, such as a restore of the latest backup) started all the same: its
//! cold start counts, marked as answered with an error. Only a process that exits or never
//! answers is a failed measurement.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::{sync::Notify, task::JoinHandle, time::Instant};

use crate::LoadError;

/// What one cold start measured.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ColdStart {
    /// Process start to its first `next` request.
    pub init: Duration,
    /// The event handed over to its answer posted.
    pub first_invoke: Duration,
    /// The answer was the function's error (a clear refusal of its sample event).
    pub answered_with_error: bool,
    /// Where the init went, as the function logged it.
    pub warm_up: Option<WarmUp>,
}

/// The function's own account of its cold start's warm-up (its `cold start warmed` log
/// line): each figure is the end of one step, in ms from the warm-up's start. The steps
/// overlap: the database connection opens while the AWS side loads.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Deserialize)]
pub struct WarmUp {
    /// The SDK configuration loaded (region, credentials provider, timeouts).
    pub sdk_ms: f64,
    /// Every client built.
    pub clients_ms: f64,
    /// The first DynamoDB read answered, if the function warms it.
    pub dynamodb_ms: Option<f64>,
    /// The signing key read from Secrets Manager, if the function warms it.
    pub signing_key_ms: Option<f64>,
    /// The first database connection open and PostGIS loaded into it.
    pub database_ms: f64,
    pub total_ms: f64,
}

impl WarmUp {
    /// The warm-up line among a process' log lines (JSON), if there is one.
    pub fn from_log(log: &str) -> Option<Self> {
        log.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|line| line["message"] == "cold start warmed")
            .and_then(|line| serde_json::from_value(line).ok())
    }
}

impl WarmUp {
    /// `1.6 / 2.2 / 4.3 / – / 3.1`: each step's end, in the order of the fields.
    pub fn steps(&self) -> String {
        let step = |ms: Option<f64>| ms.map_or("–".to_owned(), |ms| format!("{ms:.1}"));
        [
            step(Some(self.sdk_ms)),
            step(Some(self.clients_ms)),
            step(self.dynamodb_ms),
            step(self.signing_key_ms),
            step(Some(self.database_ms)),
        ]
        .join(" / ")
    }
}

impl std::fmt::Display for WarmUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let step = |ms: Option<f64>| ms.map_or("-".to_owned(), |ms| format!("{ms:.1}"));
        write!(
            f,
            "SDK config {:.1}, clients {:.1}, DynamoDB {}, signing key {}, database {}, all {:.1} ms",
            self.sdk_ms,
            self.clients_ms,
            step(self.dynamodb_ms),
            step(self.signing_key_ms),
            step(Some(self.database_ms)),
            self.total_ms
        )
    }
}

impl ColdStart {
    pub fn total(&self) -> Duration {
        self.init + self.first_invoke
    }
}

/// The function a run starts: its binary, the `_HANDLER` it is given, the first event.
#[derive(Debug, Clone)]
pub struct Subject {
    pub label: String,
    pub binary: PathBuf,
    pub handler: String,
    pub event: Vec<u8>,
}

impl Subject {
    /// Whether the function serves API routes: its sample event is an HTTP API request
    /// (jobs get their own events).
    pub fn serves_api(&self) -> bool {
        serde_json::from_slice::<serde_json::Value>(&self.event).is_ok_and(|event| {
            event.get("routeKey").is_some() && event.get("requestContext").is_some()
        })
    }
}

#[derive(Default)]
struct Timeline {
    spawned: Option<Instant>,
    first_next: Option<Instant>,
    answered: Option<Instant>,
    answered_with_error: bool,
    failure: Option<String>,
}

struct RuntimeApi {
    timeline: Mutex<Timeline>,
    event: Vec<u8>,
    done: Notify,
}

type Answer = Response<Full<Bytes>>;

fn answer(status: u16, body: impl Into<Bytes>) -> Answer {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or_default();
    response
}

impl RuntimeApi {
    async fn handle(self: Arc<Self>, request: Request<hyper::body::Incoming>) -> Answer {
        let (method, path) = (request.method().clone(), request.uri().path().to_owned());
        let _ = request.into_body().collect().await;
        let now = Instant::now();
        if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
            let first = self
                .timeline
                .lock()
                .map(|mut t| t.first_next.get_or_insert(now) == &now)
                .unwrap_or(false);
            if !first {
                // One invocation per process: the second `next` waits until it is stopped.
                std::future::pending::<()>().await;
            }
            let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
            let mut response = answer(200, self.event.clone());
            let headers = response.headers_mut();
            for (name, value) in [
                ("lambda-runtime-aws-request-id", "cold-start-1".to_owned()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:000000000000:function:cold-start".to_owned(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000".to_owned(),
                ),
                ("content-type", "application/json".to_owned()),
            ] {
                if let Ok(value) = value.parse() {
                    headers.insert(name, value);
                }
            }
            return response;
        }
        if method == Method::POST && path.starts_with("/2018-06-01/runtime/") {
            if let Ok(mut timeline) = self.timeline.lock() {
                if path.starts_with("/2018-06-01/runtime/invocation/") {
                    // Its answer to the event, a result or its error: the invoke is over.
                    timeline.answered.get_or_insert(now);
                    timeline.answered_with_error = path.ends_with("/error");
                } else {
                    timeline.failure = Some(format!("the function failed to start ({path})"));
                }
            }
            self.done.notify_one();
            return answer(202, "{}");
        }
        answer(404, "{}")
    }
}

/// Starts `subject` once and times its init and first invoke. `env` is added to the
/// process' environment (the function's configuration).
pub async fn measure_once(
    subject: &Subject,
    env: &[(String, String)],
) -> Result<ColdStart, LoadError> {
    let (api, address, server) = RuntimeApi::serve(subject.event.clone()).await?;
    let mut command = lambda_process(subject, env, address);
    if let Ok(mut timeline) = api.timeline.lock() {
        timeline.spawned = Some(Instant::now());
    }
    let mut child = command
        .spawn()
        .map_err(|e| LoadError::Setup(format!("starting {}: {e}", subject.binary.display())))?;
    let finished = api.first_answer_of(&mut child).await;
    let _ = child.kill().await;
    server.abort();
    let mut log = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use tokio::io::AsyncReadExt;
        let _ = stdout.read_to_string(&mut log).await;
    }
    let mut start = api.cold_start(&subject.label, finished)?;
    start.warm_up = WarmUp::from_log(&log);
    Ok(start)
}

impl RuntimeApi {
    /// A Runtime API on a free loopback port that hands out `event`, serving until the
    /// returned task is aborted.
    async fn serve(event: Vec<u8>) -> Result<(Arc<Self>, SocketAddr, JoinHandle<()>), LoadError> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let api = Arc::new(RuntimeApi {
            timeline: Mutex::new(Timeline::default()),
            event,
            done: Notify::new(),
        });
        let server = {
            let api = Arc::clone(&api);
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let api = Arc::clone(&api);
                    tokio::spawn(async move {
                        let service = service_fn(move |request| {
                            let api = Arc::clone(&api);
                            async move { Ok::<_, std::convert::Infallible>(api.handle(request).await) }
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            })
        };
        Ok((api, address, server))
    }

    /// Waits until `child` posts the answer to its first event (or an error), exits
    /// first, or 15 s pass; the error says which went wrong.
    async fn first_answer_of(&self, child: &mut tokio::process::Child) -> Result<(), String> {
        tokio::select! {
            () = self.done.notified() => Ok(()),
            status = child.wait() => Err(match status {
                Ok(status) => format!("exited ({status}) before answering its first event"),
                Err(e) => format!("could not be watched: {e}"),
            }),
            () = tokio::time::sleep(Duration::from_secs(15)) => {
                Err("did not answer its first event within 15 s".to_owned())
            }
        }
    }

    /// The cold start the timeline recorded for `label`, once the process is stopped:
    /// an error if it did not answer (`finished`), answered with an error, or answered
    /// without asking for an event.
    fn cold_start(
        &self,
        label: &str,
        finished: Result<(), String>,
    ) -> Result<ColdStart, LoadError> {
        let timeline = self
            .timeline
            .lock()
            .map_err(|_| LoadError::Setup("timeline lock poisoned".into()))?;
        if let Err(why) = finished {
            return Err(LoadError::Setup(format!("{label} {why}")));
        }
        if let Some(failure) = &timeline.failure {
            return Err(LoadError::Setup(format!("{label}: {failure}")));
        }
        match (timeline.spawned, timeline.first_next, timeline.answered) {
            (Some(spawned), Some(first_next), Some(answered)) => Ok(ColdStart {
                init: first_next - spawned,
                first_invoke: answered - first_next,
                answered_with_error: timeline.answered_with_error,
                warm_up: None,
            }),
            _ => Err(LoadError::Setup(format!(
                "{label} answered without asking for an event"
            ))),
        }
    }
}

/// The function's process as Lambda starts it: the Runtime API at `address`, its handler
/// and the variables Lambda sets (its default log level among them), `env` added; its
/// log (standard output) is kept for the warm-up line, standard error dropped.
fn lambda_process(
    subject: &Subject,
    env: &[(String, String)],
    address: SocketAddr,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(&subject.binary);
    command
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("_HANDLER", &subject.handler)
        .env("AWS_LAMBDA_FUNCTION_NAME", &subject.handler)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/cold-start")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "cold-start")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// The median of `runs` cold starts of `subject` (by total time).
pub async fn measure(
    subject: &Subject,
    env: &[(String, String)],
    runs: usize,
) -> Result<ColdStart, LoadError> {
    let mut starts = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        starts.push(measure_once(subject, env).await?);
    }
    starts.sort_by_key(ColdStart::total);
    Ok(starts[starts.len() / 2])
}

/// The subjects of a cold-start run: one per sample event in `events` (named after the
/// function, as `events/health.json` is), or only those named in `only`.
pub fn subjects(binary: &Path, events: &Path, only: &[String]) -> Result<Vec<Subject>, LoadError> {
    let mut subjects = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(events)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    entries.sort();
    for path in entries {
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        subjects.push(Subject {
            label: name.clone(),
            binary: binary.to_owned(),
            handler: name,
            event: std::fs::read(&path)?,
        });
    }
    if subjects.is_empty() {
        return Err(LoadError::Usage(format!(
            "no sample events to start functions with in {}",
            events.display()
        )));
    }
    Ok(subjects)
}

#[cfg(test)]
mod warm_up_tests {
    use super::WarmUp;

    #[test]
    fn the_warm_up_line_is_found_among_the_others() {
        let log = concat!(
            "not json\n",
            r#"{"level":"INFO","message":"something else","sdk_ms":1.0}"#,
            "\n",
            r#"{"level":"INFO","message":"cold start warmed","sdk_ms":1.5,"clients_ms":2.0,"dynamodb_ms":4.0,"database_ms":9.5,"total_ms":9.6}"#,
            "\n"
        );
        let warm_up = WarmUp::from_log(log).expect("the line");
        assert_eq!(warm_up.dynamodb_ms, Some(4.0));
        assert_eq!(warm_up.signing_key_ms, None);
        assert_eq!(warm_up.database_ms, 9.5);
        assert_eq!(
            warm_up.to_string(),
            "SDK config 1.5, clients 2.0, DynamoDB 4.0, signing key -, database 9.5, all 9.6 ms"
        );
        assert_eq!(WarmUp::from_log("{\"message\":\"ready\"}\n"), None);
    }
}
