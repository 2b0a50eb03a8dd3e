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
    /// Logical id of the API (`AWS::ApiGatewayV2::Api`) of `template.yaml`.
    api: Option<String>,
    /// What `template.yaml` passes each area stack (`Parameters`), by its file.
    passed: Vec<(String, Value)>,
}

/// What one file declares, before the files are put together.
struct Parsed {
    functions: Vec<FunctionResource>,
    authorizer: Option<AuthorizerSpec>,
    api: Option<String>,
    /// Each area stack's Location and the parameters passed to it.
    nested: Vec<(String, Value)>,
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
        for (location, _) in &parent.nested {
            let file = StackFile {
                file: location.clone(),
                raw: yaml(location, &read(location)?)?,
            };
            let nested = parse_stack(&file)?;
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

    /// What `!Ref name` in `file` stands for in `template.yaml`: the name itself there, the
    /// resource `template.yaml` passes as that parameter in an area stack.
    fn resolve<'a>(&'a self, file: &str, name: &'a str) -> Option<&'a str> {
        if file == self.stacks[0].file {
            return Some(name);
        }
        let (_, params) = self.passed.iter().find(|(location, _)| location == file)?;
        ref_target(params.get(name)?)
    }

    /// Every route is on the API of `template.yaml`, and a CUSTOM one names its
    /// authorizer, as the file's parameters are wired.
    fn check_route_wiring(&self) -> Result<(), TemplateError> {
        for stack in &self.stacks {
            for (id, resource) in resources(stack) {
                if kind(resource) != Some("AWS::ApiGatewayV2::Route") {
                    continue;
                }
                let props = resource.get("Properties");
                let named = |key: &str| {
                    props
                        .and_then(|p| p.get(key))
                        .and_then(ref_target)
                        .and_then(|name| self.resolve(&stack.file, name))
                };
                if self.api.is_none() || named("ApiId") != self.api.as_deref() {
                    return Err(invalid(
                        &stack.file,
                        format!("route {id} needs ApiId: !Ref <the API of template.yaml>"),
                    ));
                }
                if props
                    .and_then(|p| p.get("AuthorizationType"))
                    .and_then(Value::as_str)
                    != Some("CUSTOM")
                {
                    continue;
                }
                match (&self.authorizer, named("AuthorizerId")) {
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

    /// One function per route key, across all the files (CloudFormation would refuse the
    /// second only while deploying).
    fn check_unique_routes(&self) -> Result<(), TemplateError> {
        let mut seen = std::collections::BTreeMap::new();
        for (function, route) in self.routes() {
            if let Some(first) = seen.insert(route.key(), function) {
                return Err(invalid(
                    &function.file,
                    format!(
                        "{} is declared twice: for {} ({}) and {} ({})",
                        route.key(),
                        first.logical_id,
                        first.file,
                        function.logical_id,
                        function.file
                    ),
                ));
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
    let mut api = None;
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
                let params = resource
                    .get("Properties")
                    .and_then(|p| p.get("Parameters"))
                    .cloned()
                    .unwrap_or(Value::Null);
                nested.push((location.to_owned(), params));
            }
            Some("AWS::ApiGatewayV2::Api") if api.is_some() => {
                return Err(invalid(file, "the routes have one API"));
            }
            Some("AWS::ApiGatewayV2::Api") => api = Some(id.to_owned()),
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
        api,
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
    // The local gateway keys its cache on headers only; any other source would be ignored.
    let identity_headers = props
        .and_then(|p| p.get("IdentitySource"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|source| {
            source
                .as_str()
                .and_then(|s| s.strip_prefix("$request.header."))
                .map(str::to_ascii_lowercase)
                .ok_or_else(|| {
                    invalid(
                        file,
                        format!("authorizer {id}: identity sources are $request.header.<Name>"),
                    )
                })
        })
        .collect::<Result<_, _>>()?;
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
      ApiId: !Ref Api
      RouteKey: GET /api/health
      AuthorizationType: NONE
      Target: !Sub "integrations/${HealthIntegration}"
  HealthPostRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
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
        let broken = TEMPLATE.replacen("ApiId: !Ref Api", "ApiId: !Ref OtherApi", 1);
        let err = Template::parse(&broken).expect_err("another API");
        assert!(
            err.to_string().contains("HealthGetRoute needs ApiId"),
            "{err}"
        );
        let broken = TEMPLATE.replace("post /api/health", "GET /api/health");
        let err = Template::parse(&broken).expect_err("twice");
        assert!(
            err.to_string()
                .contains("GET /api/health is declared twice"),
            "{err}"
        );
        let broken = TEMPLATE.replace(
            "[$request.header.Authorization]",
            "[$request.querystring.token]",
        );
        let err = Template::parse(&broken).expect_err("query identity");
        assert!(err.to_string().contains("identity sources"), "{err}");
    }

    #[test]
    fn area_stacks_are_read_with_the_parameters_they_are_passed() {
        let dir = std::env::temp_dir().join(format!("template-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("stacks")).expect("dir");
        let (parent, area) = TEMPLATE.split_at(TEMPLATE.find("  HealthFunction:").expect("split"));
        let wiring =
            "      Parameters:\n        TheApi: !Ref Api\n        TheAuthorizer: !Ref Sessions\n";
        let parent = format!(
            "{parent}  Area:\n    Type: AWS::Serverless::Application\n    Properties:\n      Location: stacks/area.yaml\n{wiring}"
        );
        let area = format!(
            "Resources:\n{}",
            area.replace("!Ref Api", "!Ref TheApi")
                .replace("!Ref Sessions", "!Ref TheAuthorizer")
        );
        std::fs::write(dir.join("template.yaml"), &parent).expect("parent");
        std::fs::write(dir.join("stacks/area.yaml"), &area).expect("area");
        let template = Template::load(&dir.join("template.yaml")).expect("loads");
        let health = template.function("HealthFunction").expect("health");
        assert_eq!(
            (health.file.as_str(), health.routes.len()),
            ("stacks/area.yaml", 2)
        );
        // Passed something else as the authorizer, the CUSTOM route is refused.
        std::fs::write(
            dir.join("template.yaml"),
            parent.replace("TheAuthorizer: !Ref Sessions", "TheAuthorizer: !Ref Api"),
        )
        .expect("parent");
        let err = Template::load(&dir.join("template.yaml")).expect_err("miswired");
        assert!(
            err.to_string().contains("HealthPostRoute is CUSTOM"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
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
