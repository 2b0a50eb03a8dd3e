//! One template file's resources: its functions, the routes that reach them, the API's
//! authorizer, and the area stacks it names.

use yaml_serde::Value;

use super::{
    alias_function, invalid, kind, resources, AuthorizerSpec, FunctionResource, RouteSpec,
    StackFile, TemplateError,
};

/// What one file declares, before the files are put together.
pub(super) struct Parsed {
    pub(super) functions: Vec<FunctionResource>,
    pub(super) authorizer: Option<AuthorizerSpec>,
    pub(super) api: Option<String>,
    /// Each area stack's Location and the parameters passed to it.
    pub(super) nested: Vec<(String, Value)>,
}

pub(super) fn parse_stack(stack: &StackFile) -> Result<Parsed, TemplateError> {
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
