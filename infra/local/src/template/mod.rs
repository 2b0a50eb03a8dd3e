//! Reading `template.yaml` and its area stacks: which functions exist, which handler each
//! one runs, and which routes reach it. The templates are the single route table; the
//! local gateway serves exactly what they declare.
//!
//! `template.yaml` holds the API, its authorizer and the shared resources, and names the
//! area stacks (`AWS::Serverless::Application` with a local `Location`, `stacks/*.yaml`).
//! A route is an `AWS::ApiGatewayV2::Route` whose `Target` is an integration of the same
//! stack, whose `IntegrationUri` is a function's live alias (`!Ref <Function>.Alias`).
//!
//! - `parse` reads one file: its functions, routes, authorizer and area stacks.
//! - `lint` checks what only the files together show: every route on the one API, with
//!   the one authorizer, and no route key twice.

mod lint;
mod parse;
#[cfg(test)]
mod tests;

use std::path::Path;

use yaml_serde::Value;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{file} is not valid YAML: {source}")]
    Yaml {
        file: String,
        source: yaml_serde::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// A serverless function resource of one of the templates.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionResource {
    pub logical_id: String,
    /// `Properties.Handler`: the function's name, whose module is
    /// `functions/src/<handler with _ for ->.rs`.
    pub handler: String,
    /// `Metadata.BuildProperties.Binary`: the Lambda binary that serves it.
    pub binary: String,
    /// `Properties.LoggingConfig.LogGroup`, when the function names its log group.
    pub log_group: Option<Value>,
    pub routes: Vec<RouteSpec>,
    /// Names of the function's non-HTTP events (schedules, SNS topics).
    pub other_events: Vec<String>,
    /// The template file that declares it (`template.yaml`, `stacks/orders.yaml`).
    pub file: String,
    /// The resource as written.
    pub resource: Value,
}

/// One route of the API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteSpec {
    /// Upper-case method, or `ANY`.
    pub method: String,
    pub path: String,
    /// True when the route takes no authorizer (`AuthorizationType: NONE`).
    pub public: bool,
}

impl RouteSpec {
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The Lambda authorizer of the API (`AWS::ApiGatewayV2::Authorizer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerSpec {
    /// Its logical id, which routes name in `AuthorizerId: !Ref <name>`.
    pub name: String,
    /// Logical id of the authorizer's function (from `!Ref <Function>.Alias` in its URI).
    pub function_logical_id: String,
    /// Headers that must all be present; their values are the cache key.
    pub identity_headers: Vec<String>,
    /// `AuthorizerResultTtlInSeconds`: seconds an answer is cached (0: not cached).
    pub ttl_seconds: u64,
}

/// One template file as parsed.
#[derive(Debug, Clone)]
pub struct StackFile {
    pub file: String,
    pub raw: Value,
}

impl StackFile {
    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.raw.get("Resources")?.get(logical_id)
    }
}

#[derive(Debug, Clone)]
pub struct Template {
    pub functions: Vec<FunctionResource>,
    /// The authorizer every route with `AuthorizationType: CUSTOM` uses.
    pub authorizer: Option<AuthorizerSpec>,
    /// `template.yaml` first, then the area stacks it names.
    pub stacks: Vec<StackFile>,
    /// Logical id of the API (`AWS::ApiGatewayV2::Api`) of `template.yaml`.
    api: Option<String>,
    /// What `template.yaml` passes each area stack (`Parameters`), by its file.
    passed: Vec<(String, Value)>,
}

impl Template {
    /// Reads `path` and every area stack it names (paths relative to it).
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let read = |relative: &str| {
            let file = dir.join(relative);
            std::fs::read_to_string(&file).map_err(|source| TemplateError::Read {
                path: file.display().to_string(),
                source,
            })
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::assemble(&name, &read(&name)?, read)
    }

    /// Parses one template that names no area stacks.
    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        Self::assemble("template.yaml", text, |location| {
            Err(TemplateError::Invalid {
                file: "template.yaml".into(),
                message: format!("area stack {location} needs Template::load"),
            })
        })
    }

    fn assemble(
        name: &str,
        text: &str,
        read: impl Fn(&str) -> Result<String, TemplateError>,
    ) -> Result<Self, TemplateError> {
        let mut stacks = vec![StackFile {
            file: name.to_owned(),
            raw: yaml(name, text)?,
        }];
        let parent = parse::parse_stack(&stacks[0])?;
        let mut functions = parent.functions;
        for (location, _) in &parent.nested {
            let file = StackFile {
                file: location.clone(),
                raw: yaml(location, &read(location)?)?,
            };
            let nested = parse::parse_stack(&file)?;
            if !nested.nested.is_empty() || nested.authorizer.is_some() || nested.api.is_some() {
                return Err(invalid(
                    location,
                    "an area stack declares no stacks, APIs or authorizers of its own",
                ));
            }
            functions.extend(nested.functions);
            stacks.push(file);
        }
        functions.sort_by(|a, b| a.handler.cmp(&b.handler));
        let template = Self {
            functions,
            authorizer: parent.authorizer,
            stacks,
            api: parent.api,
            passed: parent.nested,
        };
        template.check_route_wiring()?;
        template.check_unique_routes()?;
        Ok(template)
    }

    pub fn function(&self, logical_id: &str) -> Option<&FunctionResource> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    pub fn routes(&self) -> impl Iterator<Item = (&FunctionResource, &RouteSpec)> {
        self.functions
            .iter()
            .flat_map(|f| f.routes.iter().map(move |r| (f, r)))
    }

    /// Another resource of the file that declares `function` (its log group, its alarms).
    pub fn beside(&self, function: &FunctionResource, logical_id: &str) -> Option<&Value> {
        self.stacks
            .iter()
            .find(|s| s.file == function.file)?
            .resource(logical_id)
    }
}

fn yaml(file: &str, text: &str) -> Result<Value, TemplateError> {
    yaml_serde::from_str(text).map_err(|source| TemplateError::Yaml {
        file: file.to_owned(),
        source,
    })
}

fn invalid(file: &str, message: impl Into<String>) -> TemplateError {
    TemplateError::Invalid {
        file: file.to_owned(),
        message: message.into(),
    }
}

fn resources(stack: &StackFile) -> impl Iterator<Item = (&str, &Value)> {
    stack
        .raw
        .get("Resources")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .map(|(id, r)| (id.as_str().unwrap_or_default(), r))
}

fn kind(resource: &Value) -> Option<&str> {
    resource.get("Type").and_then(Value::as_str)
}

/// `X` of `!Ref X`.
fn ref_target(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        _ => None,
    }
}

/// The function of `!Ref <Function>.Alias`.
fn alias_function(value: &Value) -> Option<&str> {
    ref_target(value)?.strip_suffix(".Alias")
}
