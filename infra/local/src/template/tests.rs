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
