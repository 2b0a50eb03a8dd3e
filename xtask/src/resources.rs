//! Every AWS resource of one function, from its declaration: the function, its routes
//! with their integration and invoke permission, its rollback alarms ([`crate::alarms`]),
//! its log group and any log metric.

use functions::{
    deploy::{Cfn, Deploy, Policy, Route, Statement, Trigger},
    Function,
};

use crate::{
    alarms::{alarm_ids, errors_alarm, latency_alarm, server_errors_alarm},
    yaml::{self, flow_list, reference, scalar, sub, Entry, Node},
    CodegenError,
};

/// The one Lambda binary every function is built from (`functions/src/main.rs`).
pub const LAMBDA_BINARY: &str = "readyset-lambda";

/// Lambda's limit on a function's description.
const DESCRIPTION_LIMIT: usize = 256;

/// Timeout of a function that declares none: the stacks' `Globals`.
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 15;

/// `order-by-number` → `OrderByNumber`: the prefix of each of its resources' names.
pub fn pascal(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The resource name of one of a function's routes.
pub fn route_id(prefix: &str, route: &Route) -> String {
    format!(
        "{prefix}{}Route",
        route.name.unwrap_or(route.method.title())
    )
}

/// The function's description: its routes, then what it does.
pub fn description(deploy: &Deploy) -> String {
    if deploy.routes.is_empty() {
        return deploy.summary.to_owned();
    }
    // One entry per path, its methods together: `GET|PATCH /api/users/{userId}`.
    let mut paths: Vec<(&str, Vec<&str>)> = Vec::new();
    for route in deploy.routes {
        match paths.iter_mut().find(|(path, _)| *path == route.path) {
            Some((_, methods)) => methods.push(route.method.as_str()),
            None => paths.push((route.path, vec![route.method.as_str()])),
        }
    }
    let routes: Vec<String> = paths
        .iter()
        .map(|(path, methods)| format!("{} {path}", methods.join("|")))
        .collect();
    format!("{} - {}", routes.join(", "), deploy.summary)
}

fn cfn(value: &Cfn) -> Node {
    match value {
        Cfn::Ref(name) => reference(name),
        Cfn::Sub(text) => sub(text),
        Cfn::Text(text) => Node::Inline(scalar(text)),
    }
}

fn statement(statement: &Statement) -> Node {
    let action = match statement.actions {
        [one] => Node::Inline(scalar(one)),
        many => flow_list(many.iter().map(|a| scalar(a))),
    };
    let resource = match statement.resources {
        [one] => cfn(one),
        many => Node::Seq(many.iter().map(cfn).collect()),
    };
    Node::map()
        .with_comment(statement.why, "Effect", "Allow")
        .with("Action", action)
        .with("Resource", resource)
}

fn policies(deploy: &Deploy) -> Node {
    Node::Seq(
        deploy
            .all_policies()
            .map(|policy| match (policy.managed(), policy) {
                (Some(name), _) => reference(name),
                (None, Policy::Allow(statements)) => Node::map().with(
                    "Statement",
                    Node::Seq(statements.iter().map(statement).collect()),
                ),
                (None, _) => unreachable!("only Allow is unmanaged"),
            })
            .chain(deploy.triggers.iter().filter_map(queue_statement))
            .collect(),
    )
}

/// What receiving a queue's messages needs, on that queue alone.
fn queue_statement(trigger: &Trigger) -> Option<Node> {
    let Trigger::Sqs { queue_arn, .. } = trigger else {
        return None;
    };
    Some(
        Node::map().with(
            "Statement",
            Node::Seq(vec![Node::map()
                .with_comment(
                    Some("The event source mapping receives and deletes the queue's messages as this role."),
                    "Effect",
                    "Allow",
                )
                .with(
                    "Action",
                    flow_list(
                        ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
                            .map(str::to_owned),
                    ),
                )
                .with("Resource", reference(queue_arn))]),
        ),
    )
}

/// A queue trigger's event source mapping, delivering to the live alias in batches; the
/// function answers which records failed, and only those are delivered again.
fn queue_resources(prefix: &str, deploy: &Deploy) -> Vec<Entry> {
    deploy
        .triggers
        .iter()
        .filter_map(|trigger| match trigger {
            Trigger::Sqs { name, queue_arn } => Some(entry(
                format!("{prefix}{name}Mapping"),
                Node::map()
                    .with("Type", "AWS::Lambda::EventSourceMapping")
                    .with(
                        "Properties",
                        Node::map()
                            .with("EventSourceArn", reference(queue_arn))
                            .with(
                                "FunctionName",
                                reference(&format!("{prefix}Function.Alias")),
                            )
                            .with("BatchSize", 10u32)
                            .with(
                                "FunctionResponseTypes",
                                flow_list(["ReportBatchItemFailures".to_owned()]),
                            ),
                    ),
            )),
            _ => None,
        })
        .collect()
}

fn triggers(deploy: &Deploy) -> Option<Node> {
    if deploy
        .triggers
        .iter()
        .all(|t| matches!(t, Trigger::Sqs { .. }))
    {
        return None;
    }
    let mut events = Node::map();
    for trigger in deploy.triggers {
        match trigger {
            Trigger::Schedule {
                name,
                expression,
                description,
                input,
            } => {
                let mut properties = Node::map().with("Schedule", *expression);
                if let Some(input) = input {
                    properties = properties.with("Input", yaml::single_quoted(input));
                }
                events = events.with(
                    name,
                    Node::map()
                        .with("Type", "Schedule")
                        .with("Properties", properties.with("Description", *description)),
                );
            }
            Trigger::Sns { name, topic } => {
                events = events.with(
                    name,
                    Node::map()
                        .with("Type", "SNS")
                        .with("Properties", Node::map().with("Topic", reference(topic))),
                );
            }
            // Not a SAM event, which would grant the role receiving from any queue: an
            // event source mapping of its own (see `queue_resources`).
            Trigger::Sqs { .. } => {}
        }
    }
    Some(events)
}

fn function_resource(function: &Function, code_uri: &str) -> Result<Node, CodegenError> {
    let deploy = function.deploy;
    let name = function.name();
    let prefix = pascal(&name);
    let description = description(deploy);
    if description.len() > DESCRIPTION_LIMIT {
        return Err(CodegenError::Invalid(format!(
            "{name}: its description passes Lambda's {DESCRIPTION_LIMIT} characters: {description}"
        )));
    }
    let alarms = flow_list(
        alarm_ids(&prefix, deploy)
            .iter()
            .map(|id| format!("!Ref {id}")),
    );
    let environment = (!deploy.environment.is_empty()).then(|| {
        let mut variables = Node::map();
        for (variable, value) in deploy.environment {
            variables = variables.with(variable, cfn(value));
        }
        Node::map().with("Variables", variables)
    });
    let properties = Node::map()
        .with("CodeUri", code_uri)
        .with("Handler", name.as_str())
        .with_some("FunctionName", deploy.name.as_ref().map(cfn))
        .with_some("ReservedConcurrentExecutions", deploy.reserved_concurrency)
        .with(
            "LoggingConfig",
            Node::map().with("LogGroup", reference(&format!("{prefix}Logs"))),
        )
        .with("DeploymentPreference", Node::map().with("Alarms", alarms))
        .with("Description", description.as_str())
        .with_some("Timeout", deploy.timeout)
        .with_some("MemorySize", deploy.memory)
        .with_some(
            "EventInvokeConfig",
            deploy
                .retries
                .map(|retries| Node::map().with("MaximumRetryAttempts", retries)),
        )
        .with_some("Environment", environment)
        .with("Policies", policies(deploy))
        .with_some("Events", triggers(deploy));
    Ok(Node::map()
        .with("Type", "AWS::Serverless::Function")
        .with(
            "Metadata",
            Node::map()
                .with("BuildMethod", "rust-cargolambda")
                .with("BuildProperties", Node::map().with("Binary", LAMBDA_BINARY)),
        )
        .with("Properties", properties))
}

pub fn entry(key: String, value: Node) -> Entry {
    Entry {
        comment: None,
        key,
        value,
    }
}

/// An API function's integration, invoke permission and routes (none for a job).
fn route_resources(prefix: &str, deploy: &Deploy) -> Vec<Entry> {
    let mut resources = Vec::new();
    if deploy.routes.is_empty() {
        return resources;
    }
    resources.push(entry(
        format!("{prefix}Integration"),
        Node::map()
            .with("Type", "AWS::ApiGatewayV2::Integration")
            .with(
                "Properties",
                Node::map()
                    .with("ApiId", reference("HttpApi"))
                    .with("IntegrationType", "AWS_PROXY")
                    .with(
                        "IntegrationUri",
                        reference(&format!("{prefix}Function.Alias")),
                    )
                    .with("PayloadFormatVersion", "2.0"),
            ),
    ));
    resources.push(entry(
        format!("{prefix}Permission"),
        Node::map().with("Type", "AWS::Lambda::Permission").with(
            "Properties",
            Node::map()
                .with("Action", "lambda:InvokeFunction")
                .with("FunctionName", reference(&format!("{prefix}Function.Alias")))
                .with("Principal", "apigateway.amazonaws.com")
                .with(
                    "SourceArn",
                    sub("arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*"),
                ),
        ),
    ));
    for route in deploy.routes {
        let mut properties = Node::map()
            .with("ApiId", reference("HttpApi"))
            .with("RouteKey", route.key().as_str());
        properties = if route.authorizer {
            properties
                .with("AuthorizationType", "CUSTOM")
                .with("AuthorizerId", reference("SessionAuthorizer"))
        } else {
            properties.with("AuthorizationType", "NONE")
        };
        resources.push(entry(
            route_id(prefix, route),
            Node::map().with("Type", "AWS::ApiGatewayV2::Route").with(
                "Properties",
                properties.with(
                    "Target",
                    sub(&format!("integrations/${{{prefix}Integration}}")),
                ),
            ),
        ));
    }
    resources
}

/// Every resource of one function, in reading order.
pub fn function_resources(function: &Function, code_uri: &str) -> Result<Vec<Entry>, CodegenError> {
    let deploy = function.deploy;
    let prefix = pascal(&function.name());
    let mut resources = vec![entry(
        format!("{prefix}Function"),
        function_resource(function, code_uri)?,
    )];
    resources.extend(route_resources(&prefix, deploy));
    resources.extend(queue_resources(&prefix, deploy));
    resources.push(entry(format!("{prefix}ErrorsAlarm"), errors_alarm(&prefix)));
    resources.push(entry(
        format!("{prefix}LatencyAlarm"),
        latency_alarm(&prefix, deploy),
    ));
    if !deploy.routes.is_empty() {
        resources.push(entry(
            format!("{prefix}ServerErrorsAlarm"),
            server_errors_alarm(&prefix, deploy),
        ));
    }
    resources.push(entry(
        format!("{prefix}Logs"),
        Node::map().with("Type", "AWS::Logs::LogGroup").with(
            "Properties",
            Node::map().with("RetentionInDays", reference("LogRetentionDays")),
        ),
    ));
    for metric in deploy.log_metrics {
        resources.push(entry(
            metric.logical_id.to_owned(),
            Node::map().with("Type", "AWS::Logs::MetricFilter").with(
                "Properties",
                Node::map()
                    .with("LogGroupName", reference(&format!("{prefix}Logs")))
                    .with("FilterPattern", yaml::single_quoted(metric.pattern))
                    .with(
                        "MetricTransformations",
                        Node::Seq(vec![Node::map()
                            .with("MetricNamespace", sub("ReadySet/${Stage}"))
                            .with("MetricName", metric.metric)
                            .with("MetricValue", "1")
                            .with("DefaultValue", 0)]),
                    ),
            ),
        ));
    }
    Ok(resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use functions::deploy::Area;

    #[test]
    fn names_follow_the_handler() {
        assert_eq!(pascal("order-by-number"), "OrderByNumber");
        assert_eq!(
            route_id(
                "UsersBulk",
                &Route::post("/api/users/bulk/role").named("PostRole")
            ),
            "UsersBulkPostRoleRoute"
        );
        assert_eq!(
            route_id("Profile", &Route::put("/api/profile")),
            "ProfilePutRoute"
        );
    }

    #[test]
    fn a_description_lists_each_path_with_its_methods() {
        const ROUTES: &[Route] = &[
            Route::get("/api/users/{userId}"),
            Route::patch("/api/users/{userId}"),
            Route::get("/api/users"),
        ];
        let deploy = Deploy::api(Area::Identity, "accounts", ROUTES);
        assert_eq!(
            description(&deploy),
            "GET|PATCH /api/users/{userId}, GET /api/users - accounts"
        );
    }

    #[test]
    fn a_description_past_lambda_s_limit_is_refused() {
        const LONG: &str = "a very long summary of what this function does, repeated to pass the limit; a very long summary of what this function does, repeated to pass the limit; a very long summary of what this function does, repeated to pass the limit";
        const DEPLOY: Deploy = Deploy::api(
            Area::Orders,
            LONG,
            &[Route::get("/api/some/long/path/{id}")],
        );
        let function = Function {
            module: "some_function",
            lambda: functions::REGISTRY[0].lambda,
            deploy: &DEPLOY,
        };
        let error = function_resources(&function, "../functions/").expect_err("refused");
        assert!(error.to_string().contains("256"), "{error}");
    }
}
