//! Every Ready Set Lambda function.
//!
//! Each function is a module here whose `handler` is a plain function over
//! [`shared::AppState`], testable without a Lambda runtime. `src/bin/<name>.rs` is that
//! function's few-line Lambda `main`, built for deployment only. [`REGISTRY`] maps each
//! binary name (the `BuildProperties.Binary` of its `template.yaml` resource) to its
//! handler, for the local gateway and the structure tests.

use shared::runtime::{EventHandler, HttpHandler};

pub mod health;
pub mod migrate;

/// How a function is invoked.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Behind an HttpApi route (API Gateway payload v2).
    Http(HttpHandler),
    /// An ops job: schedule, SNS notification or direct invoke.
    Event(EventHandler),
}

#[derive(Clone, Copy)]
pub struct Function {
    /// The binary name, as in `template.yaml` and `src/bin/`.
    pub name: &'static str,
    pub handler: Handler,
}

pub const REGISTRY: &[Function] = &[
    Function {
        name: "health",
        handler: Handler::Http(health::handler),
    },
    Function {
        name: "migrate",
        handler: Handler::Event(migrate::handler),
    },
];

pub fn find(name: &str) -> Option<&'static Function> {
    REGISTRY.iter().find(|f| f.name == name)
}
