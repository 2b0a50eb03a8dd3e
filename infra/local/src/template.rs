//! Reading `template.yaml`: which functions exist, which handler each one runs, and which
//! HttpApi routes reach it. The template is the single route table; the local gateway
//! serves exactly what it declares.

use std::path::Path;

use yaml_serde::Value;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] yaml_serde::Error),
    #[error("template.yaml: {0}")]
    Invalid(String),
}

/// A serverless function resource of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// One HttpApi event of a function.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteSpec {
    /// Upper-case method, or `ANY`.
    pub method: String,
    pub path: String,
    /// True when the route opts out of the default authorizer (`Auth.Authorizer: NONE`).
    pub public: bool,
}

impl RouteSpec {
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A Lambda authorizer of the HttpApi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerSpec {
    pub name: String,
    /// Logical id of the authorizer's function (from `FunctionArn: !GetAtt X.Arn`).
    pub function_logical_id: String,
    /// Headers that must all be present; their values are the cache key.
    pub identity_headers: Vec<String>,
    /// `ReauthorizeEvery`: seconds an answer is cached (0: not cached).
    pub ttl_seconds: u64,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub functions: Vec<FunctionResource>,
    /// The authorizer every route uses unless it says `Authorizer: NONE`.
    pub default_authorizer: Option<AuthorizerSpec>,
    pub raw: Value,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let raw: Value = yaml_serde::from_str(text)?;
        let resources = raw
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| TemplateError::Invalid("no Resources section".into()))?;
        let mut functions = Vec::new();
        for (id, resource) in resources {
            if resource.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
                continue;
            }
            let logical_id = id.as_str().unwrap_or_default().to_owned();
            functions.push(parse_function(&logical_id, resource)?);
        }
        functions.sort_by(|a, b| a.handler.cmp(&b.handler));
        let default_authorizer = resources
            .values()
            .find(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::HttpApi"))
            .and_then(|api| api.get("Properties")?.get("Auth"))
            .map(parse_default_authorizer)
            .transpose()?
            .flatten();
        Ok(Self {
            functions,
            default_authorizer,
            raw,
        })
    }

    pub fn function(&self, logical_id: &str) -> Option<&FunctionResource> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    pub fn routes(&self) -> impl Iterator<Item = (&FunctionResource, &RouteSpec)> {
        self.functions
            .iter()
            .flat_map(|f| f.routes.iter().map(move |r| (f, r)))
    }
}

fn parse_default_authorizer(auth: &Value) -> Result<Option<AuthorizerSpec>, TemplateError> {
    let Some(name) = auth.get("DefaultAuthorizer").and_then(Value::as_str) else {
        return Ok(None);
    };
    let spec = auth
        .get("Authorizers")
        .and_then(|a| a.get(name))
        .ok_or_else(|| {
            TemplateError::Invalid(format!("DefaultAuthorizer {name} is not defined"))
        })?;
    // `FunctionArn: !GetAtt AuthorizerFunction.Arn` names the function resource.
    let function_logical_id = match spec.get("FunctionArn") {
        Some(Value::Tagged(tagged)) if tagged.tag == "GetAtt" => tagged.value.as_str(),
        _ => None,
    }
    .and_then(|target| target.strip_suffix(".Arn"))
    .ok_or_else(|| {
        TemplateError::Invalid(format!(
            "authorizer {name} needs FunctionArn: !GetAtt <Function>.Arn"
        ))
    })?
    .to_owned();
    let identity = spec.get("Identity");
    let identity_headers = identity
        .and_then(|i| i.get("Headers"))
        .and_then(Value::as_sequence)
        .map(|headers| {
            headers
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let ttl_seconds = identity
        .and_then(|i| i.get("ReauthorizeEvery"))
        .and_then(Value::as_u64)
        .unwrap_or(300);
    Ok(Some(AuthorizerSpec {
        name: name.to_owned(),
        function_logical_id,
        identity_headers,
        ttl_seconds,
    }))
}

fn parse_function(logical_id: &str, resource: &Value) -> Result<FunctionResource, TemplateError> {
    let properties = resource.get("Properties");
    let handler = properties
        .and_then(|p| p.get("Handler"))
        .and_then(Value::as_str)
        .ok_or_else(|| TemplateError::Invalid(format!("{logical_id} has no Properties.Handler")))?
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
            TemplateError::Invalid(format!(
                "{logical_id} has no Metadata.BuildProperties.Binary"
            ))
        })?
        .to_owned();
    let mut routes = Vec::new();
    let mut other_events = Vec::new();
    if let Some(events) = properties
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping)
    {
        for (name, event) in events {
            let name = name.as_str().unwrap_or_default();
            if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                other_events.push(name.to_owned());
                continue;
            }
            let props = event.get("Properties");
            let field = |key: &str| {
                props
                    .and_then(|p| p.get(key))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        TemplateError::Invalid(format!("{logical_id}.{name} has no {key}"))
                    })
            };
            let method = field("Method")?.to_ascii_uppercase();
            let path = field("Path")?;
            let public = props
                .and_then(|p| p.get("Auth"))
                .and_then(|a| a.get("Authorizer"))
                .and_then(Value::as_str)
                == Some("NONE");
            routes.push(RouteSpec {
                method: if method == "ANY" || method == "X-AMAZON-APIGATEWAY-ANY-METHOD" {
                    "ANY".into()
                } else {
                    method
                },
                path,
                public,
            });
        }
    }
    routes.sort();
    Ok(FunctionResource {
        logical_id: logical_id.to_owned(),
        handler,
        binary,
        log_group,
        routes,
        other_events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_functions_routes_and_auth() {
        let template = Template::parse(
            r#"
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  HealthFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: readyset-lambda
    Properties:
      CodeUri: functions/
      Handler: health
      Environment:
        Variables:
          X: !Ref Table
      Events:
        Get:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /api/health
            Method: get
            Auth:
              Authorizer: NONE
        Nightly:
          Type: Schedule
"#,
        )
        .expect("parses");
        assert_eq!(template.functions.len(), 1);
        let f = &template.functions[0];
        assert_eq!(
            (f.handler.as_str(), f.binary.as_str()),
            ("health", "readyset-lambda")
        );
        assert_eq!(
            f.routes,
            vec![RouteSpec {
                method: "GET".into(),
                path: "/api/health".into(),
                public: true
            }]
        );
        assert_eq!(f.other_events, vec!["Nightly".to_owned()]);
    }

    #[test]
    fn reads_the_default_authorizer() {
        let template = Template::parse(
            r#"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Lambda
        Authorizers:
          Lambda:
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            Identity:
              Headers: [Authorization]
              ReauthorizeEvery: 60
"#,
        )
        .expect("parses");
        assert_eq!(
            template.default_authorizer,
            Some(AuthorizerSpec {
                name: "Lambda".into(),
                function_logical_id: "AuthorizerFunction".into(),
                identity_headers: vec!["authorization".into()],
                ttl_seconds: 60,
            })
        );
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
