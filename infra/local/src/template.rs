//! Reading `template.yaml` and its area stacks: which functions exist, which handler each
//! one runs, and which routes reach it. The templates are the single route table; the
//! local gateway serves exactly what they declare.
//!
//! `template.yaml` holds the API, its authorizer and the shared resources, and names the
//! area stacks (`AWS::Serverless::Application` with a local `Location`, `stacks/*.yaml`).
//! A route is an `AWS::ApiGatewayV2::Route` whose `Target` is an integration of the same
//! stack, whose `IntegrationUri` is a function's live alias (`!Ref <Function>.Alias`).

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
}

/// What one file declares, before the files are put together.
struct Parsed {
    functions: Vec<FunctionResource>,
    authorizer: Option<AuthorizerSpec>,
    nested: Vec<String>,
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
        let parent = parse_stack(&stacks[0])?;
        let mut functions = parent.functions;
        for location in &parent.nested {
            let file = StackFile {
                file: location.clone(),
                raw: yaml(location, &read(location)?)?,
            };
            let nested = parse_stack(&file)?;
            if !nested.nested.is_empty() || nested.authorizer.is_some() {
                return Err(invalid(
                    location,
                    "an area stack declares no stacks or authorizers of its own",
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
        };
        template.check_authorizer_references()?;
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

    /// A CUSTOM route must name the API's authorizer, and one must exist.
    fn check_authorizer_references(&self) -> Result<(), TemplateError> {
        for stack in &self.stacks {
            for (id, resource) in resources(stack) {
                if kind(resource) != Some("AWS::ApiGatewayV2::Route") {
                    continue;
                }
                let props = resource.get("Properties");
                if props
                    .and_then(|p| p.get("AuthorizationType"))
                    .and_then(Value::as_str)
                    != Some("CUSTOM")
                {
                    continue;
                }
                let named = props
                    .and_then(|p| p.get("AuthorizerId"))
                    .and_then(ref_target);
                match (&self.authorizer, named) {
                    (Some(a), Some(n)) if a.name == n => {}
                    _ => {
                        return Err(invalid(
                            &stack.file,
                            format!(
                                "route {id} is CUSTOM: it needs AuthorizerId: !Ref <the API's authorizer>"
                            ),
                        ))
                    }
                }
            }
        }
        Ok(())
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

fn parse_stack(stack: &StackFile) -> Result<Parsed, TemplateError> {
    let file = stack.file.as_str();
    if stack
        .raw
        .get("Resources")
        .and_then(Value::as_mapping)
        .is_none()
    {
        return Err(invalid(file, "no Resources section"));
    }
    let mut functions = Vec::new();
    let mut authorizer = None;
    let mut nested = Vec::new();
    for (id, resource) in resources(stack) {
        match kind(resource) {
            Some("AWS::Serverless::Function") => {
                functions.push(parse_function(file, id, resource)?)
            }
            Some("AWS::Serverless::Application") => {
                let location = resource
                    .get("Properties")
                    .and_then(|p| p.get("Location"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(file, format!("{id} needs a local Location")))?;
                nested.push(location.to_owned());
            }
            Some("AWS::ApiGatewayV2::Authorizer") => {
                if authorizer.is_some() {
                    return Err(invalid(file, "the API has one authorizer"));
                }
                authorizer = Some(parse_authorizer(file, id, resource)?);
            }
            _ => {}
        }
    }
    for (id, resource) in resources(stack) {
        if kind(resource) != Some("AWS::ApiGatewayV2::Route") {
            continue;
        }
        let (function, route) = parse_route(stack, id, resource)?;
        functions
            .iter_mut()
            .find(|f| f.logical_id == function)
            .ok_or_else(|| {
                invalid(
                    file,
                    format!("route {id} reaches {function}, which this file does not declare"),
                )
            })?
            .routes
            .push(route);
    }
    for function in &mut functions {
        function.routes.sort();
    }
    Ok(Parsed {
        functions,
        authorizer,
        nested,
    })
}

/// The function a route reaches, and the route.
fn parse_route(
    stack: &StackFile,
    id: &str,
    resource: &Value,
) -> Result<(String, RouteSpec), TemplateError> {
    let file = stack.file.as_str();
    let props = resource.get("Properties");
    let field = |key: &str| {
        props
            .and_then(|p| p.get(key))
            .ok_or_else(|| invalid(file, format!("route {id} has no {key}")))
    };
    let key = field("RouteKey")?
        .as_str()
        .ok_or_else(|| invalid(file, format!("route {id}: RouteKey is METHOD /path")))?;
    let (method, path) = key
        .split_once(' ')
        .filter(|(_, path)| path.starts_with('/'))
        .ok_or_else(|| invalid(file, format!("route {id}: RouteKey is METHOD /path")))?;
    let public = match field("AuthorizationType")?.as_str() {
        Some("NONE") => true,
        Some("CUSTOM") => false,
        other => {
            return Err(invalid(
                file,
                format!("route {id}: AuthorizationType NONE or CUSTOM, not {other:?}"),
            ))
        }
    };
    // `Target: !Sub "integrations/${<Integration>}"`.
    let integration = match field("Target")? {
        Value::Tagged(tagged) if tagged.tag == "Sub" => tagged
            .value
            .as_str()
            .and_then(|t| t.strip_prefix("integrations/${"))
            .and_then(|t| t.strip_suffix('}')),
        _ => None,
    }
    .ok_or_else(|| {
        invalid(
            file,
            format!("route {id}: Target is !Sub \"integrations/${{<Integration>}}\""),
        )
    })?;
    let function = stack
        .resource(integration)
        .filter(|r| kind(r) == Some("AWS::ApiGatewayV2::Integration"))
        .and_then(|r| r.get("Properties")?.get("IntegrationUri"))
        .and_then(alias_function)
        .ok_or_else(|| {
            invalid(
                file,
                format!(
                    "route {id}: {integration} must be an integration of this file with IntegrationUri: !Ref <Function>.Alias"
                ),
            )
        })?;
    let method = method.to_ascii_uppercase();
    Ok((
        function.to_owned(),
        RouteSpec {
            method,
            path: path.to_owned(),
            public,
        },
    ))
}

fn parse_authorizer(
    file: &str,
    id: &str,
    resource: &Value,
) -> Result<AuthorizerSpec, TemplateError> {
    let props = resource.get("Properties");
    // `AuthorizerUri: !Sub ["...${Alias}/invocations", {Alias: !Ref <Function>.Alias}]`.
    let function_logical_id = match props.and_then(|p| p.get("AuthorizerUri")) {
        Some(Value::Tagged(tagged)) if tagged.tag == "Sub" => tagged
            .value
            .as_sequence()
            .and_then(|parts| parts.get(1))
            .and_then(Value::as_mapping)
            .and_then(|vars| vars.values().find_map(alias_function)),
        _ => None,
    }
    .ok_or_else(|| {
        invalid(
            file,
            format!("authorizer {id}: AuthorizerUri names the function as !Ref <Function>.Alias"),
        )
    })?
    .to_owned();
    let identity_headers = props
        .and_then(|p| p.get("IdentitySource"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|source| source.strip_prefix("$request.header."))
        .map(str::to_ascii_lowercase)
        .collect();
    let ttl_seconds = props
        .and_then(|p| p.get("AuthorizerResultTtlInSeconds"))
        .and_then(Value::as_u64)
        .unwrap_or(300);
    Ok(AuthorizerSpec {
        name: id.to_owned(),
        function_logical_id,
        identity_headers,
        ttl_seconds,
    })
}

fn parse_function(
    file: &str,
    logical_id: &str,
    resource: &Value,
) -> Result<FunctionResource, TemplateError> {
    let properties = resource.get("Properties");
    let handler = properties
        .and_then(|p| p.get("Handler"))
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(file, format!("{logical_id} has no Properties.Handler")))?
        .to_owned();
    let log_group = properties
        .and_then(|p| p.get("LoggingConfig"))
        .and_then(|l| l.get("LogGroup"))
        .cloned();
    let binary = resource
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid(
                file,
                format!("{logical_id} has no Metadata.BuildProperties.Binary"),
            )
        })?
        .to_owned();
    let mut other_events = Vec::new();
    if let Some(events) = properties
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping)
    {
        for (name, event) in events {
            let name = name.as_str().unwrap_or_default();
            if matches!(kind(event), Some("HttpApi" | "Api")) {
                // SAM would put such a route on an API of this file alone.
                return Err(invalid(
                    file,
                    format!(
                        "{logical_id}.{name}: declare routes as AWS::ApiGatewayV2::Route resources"
                    ),
                ));
            }
            other_events.push(name.to_owned());
        }
    }
    Ok(FunctionResource {
        logical_id: logical_id.to_owned(),
        handler,
        binary,
        log_group,
        routes: Vec::new(),
        other_events,
        file: file.to_owned(),
        resource: resource.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
  Sessions:
    Type: AWS::ApiGatewayV2::Authorizer
    Properties:
      AuthorizerUri: !Sub
        - "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${Alias}/invocations"
        - Alias: !Ref AuthorizerFunction.Alias
      IdentitySource: [$request.header.Authorization]
      AuthorizerResultTtlInSeconds: 60
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: readyset-lambda
    Properties:
      Handler: authorizer
  HealthFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: readyset-lambda
    Properties:
      CodeUri: functions/
      Handler: health
      Events:
        Nightly:
          Type: Schedule
  HealthIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      IntegrationUri: !Ref HealthFunction.Alias
  HealthGetRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      RouteKey: GET /api/health
      AuthorizationType: NONE
      Target: !Sub "integrations/${HealthIntegration}"
  HealthPostRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      RouteKey: post /api/health
      AuthorizationType: CUSTOM
      AuthorizerId: !Ref Sessions
      Target: !Sub "integrations/${HealthIntegration}"
"#;

    #[test]
    fn reads_functions_routes_and_the_authorizer() {
        let template = Template::parse(TEMPLATE).expect("parses");
        assert_eq!(template.functions.len(), 2);
        let f = template.function("HealthFunction").expect("health");
        assert_eq!(
            (f.handler.as_str(), f.binary.as_str()),
            ("health", "readyset-lambda")
        );
        assert_eq!(
            f.routes,
            vec![
                RouteSpec {
                    method: "GET".into(),
                    path: "/api/health".into(),
                    public: true
                },
                RouteSpec {
                    method: "POST".into(),
                    path: "/api/health".into(),
                    public: false
                },
            ]
        );
        assert_eq!(f.other_events, vec!["Nightly".to_owned()]);
        assert_eq!(
            template.authorizer,
            Some(AuthorizerSpec {
                name: "Sessions".into(),
                function_logical_id: "AuthorizerFunction".into(),
                identity_headers: vec!["authorization".into()],
                ttl_seconds: 60,
            })
        );
    }

    #[test]
    fn a_route_must_reach_an_alias_through_an_integration_of_its_file() {
        let broken = TEMPLATE.replace("!Ref HealthFunction.Alias", "!GetAtt HealthFunction.Arn");
        let err = Template::parse(&broken).expect_err("no alias");
        assert!(
            err.to_string()
                .contains("IntegrationUri: !Ref <Function>.Alias"),
            "{err}"
        );
        let broken = TEMPLATE.replace("AuthorizerId: !Ref Sessions", "AuthorizerId: !Ref Other");
        let err = Template::parse(&broken).expect_err("unknown authorizer");
        assert!(
            err.to_string().contains("HealthPostRoute is CUSTOM"),
            "{err}"
        );
        let broken = TEMPLATE.replace("AuthorizationType: NONE", "AuthorizationType: JWT");
        assert!(Template::parse(&broken).is_err());
    }

    #[test]
    fn sam_api_events_are_refused() {
        let broken = TEMPLATE.replace("Type: Schedule", "Type: HttpApi");
        let err = Template::parse(&broken).expect_err("HttpApi event");
        assert!(err.to_string().contains("HealthFunction.Nightly"), "{err}");
    }

    #[test]
    fn a_function_without_handler_or_binary_is_an_error() {
        let err = Template::parse(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {}\n",
        )
        .expect_err("no handler");
        assert!(err.to_string().contains("Properties.Handler"));
        let err = Template::parse(
            "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {Handler: health}\n",
        )
        .expect_err("no binary");
        assert!(err.to_string().contains("BuildProperties.Binary"));
    }
}
