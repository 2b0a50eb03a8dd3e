//! The stacks as CloudFormation receives them: `template.yaml` and its area stacks expanded
//! by the SAM translator (`infra/check_template.py`), then, for every function: a version
//! and a `live` alias; a CodeDeploy deployment group that shifts the alias and rolls back
//! on the function's own alarms (errors and latency of the alias, and for an API function
//! its routes' 5xx answers); routes, permissions and schedules pointing at the alias; a log
//! group with the retention setting; and a role that grants no wildcard action on a data
//! service.

use std::{collections::BTreeMap, path::Path, process::Command, sync::OnceLock};

use api_tests::repo_root;
use serde_json::{json, Value};

/// Services that hold data: no `*` action on them, no `*` resource.
const DATA_SERVICES: [&str; 8] = [
    "dynamodb",
    "s3",
    "rds-db",
    "rds",
    "secretsmanager",
    "kms",
    "ses",
    "lambda",
];

/// The strategy the stacks are expanded with, as a canary release would deploy them.
const STRATEGY: &str = "Canary10Percent5Minutes";

struct Expanded {
    /// `template` and one per area stack.
    stacks: BTreeMap<String, Value>,
}

fn expanded() -> &'static Expanded {
    static EXPANDED: OnceLock<Expanded> = OnceLock::new();
    EXPANDED.get_or_init(|| {
        let out = std::env::temp_dir().join(format!("readyset-expanded-{}", std::process::id()));
        let python = repo_root().join(".local/venv/bin/python");
        let status = Command::new(&python)
            .arg(repo_root().join("infra/check_template.py"))
            .arg(repo_root().join("template.yaml"))
            .arg(&out)
            .arg(format!("DeploymentType={STRATEGY}"))
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .current_dir(repo_root())
            .status()
            .unwrap_or_else(|e| panic!("{} (the test command installs it): {e}", python.display()));
        assert!(status.success(), "the SAM expansion failed");
        let stacks = std::fs::read_dir(&out)
            .expect("expanded stacks")
            .map(|entry| {
                let path = entry.expect("entry").path();
                let name = stem(&path);
                let text = std::fs::read_to_string(&path).expect("expanded json");
                (name, serde_json::from_str(&text).expect("json"))
            })
            .collect();
        let _ = std::fs::remove_dir_all(&out);
        Expanded { stacks }
    })
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned()
}

fn of_type<'a>(stack: &'a Value, kind: &'a str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    stack["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(move |(_, r)| r["Type"] == kind)
}

/// The logical id a `{"Ref": id}` or `{"Fn::GetAtt": [id, ...]}` points at.
fn target(value: &Value) -> Option<&str> {
    value["Ref"]
        .as_str()
        .or_else(|| value["Fn::GetAtt"][0].as_str())
}

#[test]
fn every_stack_stays_under_the_resource_limit_and_every_function_is_in_one() {
    let stacks = &expanded().stacks;
    assert_eq!(
        stacks.keys().cloned().collect::<Vec<_>>(),
        ["drivers", "identity", "operations", "orders", "template"]
    );
    let mut functions = 0;
    for (name, stack) in stacks {
        let count = stack["Resources"].as_object().expect("resources").len();
        assert!(
            count <= 450,
            "{name}: {count} resources leave no room under 500"
        );
        functions += of_type(stack, "AWS::Lambda::Function").count();
    }
    assert_eq!(functions, functions::REGISTRY.len());
}

#[test]
fn every_function_ships_through_a_live_alias_with_a_deployment_group_and_rollback_alarms() {
    for (name, stack) in &expanded().stacks {
        let resources = &stack["Resources"];
        for (function, _) in of_type(stack, "AWS::Lambda::Function") {
            let alias_id = format!("{function}Aliaslive");
            let alias = &resources[&alias_id];
            assert_eq!(alias["Type"], "AWS::Lambda::Alias", "{name}/{function}");
            assert_eq!(alias["Properties"]["Name"], "live");
            assert_eq!(
                target(&alias["Properties"]["FunctionName"]),
                Some(function.as_str())
            );
            let version = target(&alias["Properties"]["FunctionVersion"]).expect("version");
            assert_eq!(resources[version]["Type"], "AWS::Lambda::Version");

            let update = &alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"];
            let group_id = target(&update["DeploymentGroupName"]).unwrap_or_else(|| {
                panic!("{name}/{function}: the alias shifts through CodeDeploy")
            });
            let group = &resources[group_id]["Properties"];
            assert_eq!(group["AlarmConfiguration"]["Enabled"], true, "{function}");
            let rollback = group["AutoRollbackConfiguration"]["Events"].to_string();
            assert!(
                rollback.contains("DEPLOYMENT_STOP_ON_ALARM"),
                "{function}: {rollback}"
            );
            let alarms: Vec<&str> = group["AlarmConfiguration"]["Alarms"]
                .as_array()
                .expect("alarms")
                .iter()
                .map(|a| target(&a["Name"]).expect("an alarm of the stack"))
                .collect();
            let mut metrics: Vec<&str> = Vec::new();
            let mut answered_5xx = Vec::new();
            for alarm_id in alarms {
                let alarm = &resources[alarm_id]["Properties"];
                if alarm["Namespace"] != "AWS/Lambda" {
                    answered_5xx.push(alarm);
                    continue;
                }
                assert_eq!(
                    alarm["Dimensions"],
                    json!([
                        {"Name": "FunctionName", "Value": {"Ref": function}},
                        {"Name": "Resource", "Value": {"Fn::Sub": format!("${{{function}}}:live")}}
                    ]),
                    "{alarm_id} watches the function's live alias"
                );
                metrics.push(alarm["MetricName"].as_str().expect("metric"));
            }
            metrics.sort();
            assert_eq!(metrics, ["Duration", "Errors"], "{name}/{function}");
            // An API function answers its errors as 5xx responses, which Lambda counts as
            // successes: its routes' 5xx count is the third alarm.
            let routes = routes_of(stack, function);
            match answered_5xx.as_slice() {
                [] => assert!(
                    routes.is_empty(),
                    "{name}/{function}: no 5xx alarm for {routes:?}"
                ),
                [alarm] => assert_eq!(route_dimensions(alarm), routes, "{name}/{function}"),
                more => panic!("{name}/{function}: {} alarms besides Lambda's", more.len()),
            }
        }
    }
}

/// The route keys whose integration reaches `function`'s alias.
fn routes_of(stack: &Value, function: &str) -> Vec<String> {
    let alias = format!("{function}Aliaslive");
    let mut keys: Vec<String> = of_type(stack, "AWS::ApiGatewayV2::Route")
        .filter(|(_, route)| {
            let integration = route["Properties"]["Target"]["Fn::Sub"]
                .as_str()
                .and_then(|t| t.strip_prefix("integrations/${"))
                .and_then(|t| t.strip_suffix('}'))
                .unwrap_or_default();
            target(&stack["Resources"][integration]["Properties"]["IntegrationUri"])
                == Some(alias.as_str())
        })
        .map(|(_, route)| {
            route["Properties"]["RouteKey"]
                .as_str()
                .expect("key")
                .to_owned()
        })
        .collect();
    keys.sort();
    keys
}

/// The `Route` values a 5xx alarm counts (one metric, or the metrics of its expression).
fn route_dimensions(alarm: &Value) -> Vec<String> {
    let mut dimensions: Vec<&Value> = alarm["Dimensions"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    for metric in alarm["Metrics"].as_array().into_iter().flatten() {
        if let Some(expression) = metric["Expression"].as_str() {
            assert!(expression.starts_with("SUM(["), "{expression}");
            continue;
        }
        assert_eq!(metric["MetricStat"]["Stat"], "Sum");
        dimensions.extend(
            metric["MetricStat"]["Metric"]["Dimensions"]
                .as_array()
                .into_iter()
                .flatten(),
        );
    }
    let mut routes: Vec<String> = dimensions
        .into_iter()
        .map(|d| {
            assert_eq!(d["Name"], "Route");
            d["Value"].as_str().expect("route").to_owned()
        })
        .collect();
    routes.sort();
    routes
}

#[test]
fn the_deployment_strategy_is_the_stacks_parameter() {
    // Written once per file, in Globals; no function picks its own.
    let written = local_stack::template::Template::load(&repo_root().join("template.yaml"))
        .expect("templates");
    for stack in &written.stacks {
        assert_eq!(
            stack.raw["Globals"]["Function"]["DeploymentPreference"]["Type"],
            yaml_serde::from_str::<yaml_serde::Value>("!Ref DeploymentType").expect("yaml"),
            "{}",
            stack.file
        );
    }
    for function in &written.functions {
        let preference = &function.resource["Properties"]["DeploymentPreference"];
        assert!(
            preference.get("Type").is_none() && preference.get("Enabled").is_none(),
            "{}: the strategy and its use come from Globals",
            function.logical_id
        );
    }
    let template = &expanded().stacks["template"];
    assert_eq!(
        template["Parameters"]["DeploymentType"]["AllowedValues"],
        json!([
            "AllAtOnce",
            "Canary10Percent5Minutes",
            "Linear10PercentEvery1Minute"
        ])
    );
    for (area, stack) in of_type(template, "AWS::CloudFormation::Stack") {
        assert_eq!(
            stack["Properties"]["Parameters"]["DeploymentType"],
            json!({"Ref": "DeploymentType"}),
            "{area} gets the strategy"
        );
    }
    // CloudFormation's transform resolves the parameter in each stack; so does the
    // translator here, with the value the expansion was given.
    for (name, stack) in &expanded().stacks {
        for (group, resource) in of_type(stack, "AWS::CodeDeploy::DeploymentGroup") {
            assert_eq!(
                resource["Properties"]["DeploymentConfigName"],
                json!({"Fn::Sub": ["CodeDeployDefault.Lambda${ConfigName}", {"ConfigName": STRATEGY}]}),
                "{name}/{group}"
            );
        }
    }
}

#[test]
fn routes_permissions_and_schedules_reach_the_alias_not_the_latest_code() {
    for (name, stack) in &expanded().stacks {
        let resources = &stack["Resources"];
        let is_alias =
            |id: Option<&str>| id.is_some_and(|id| resources[id]["Type"] == "AWS::Lambda::Alias");
        for (id, integration) in of_type(stack, "AWS::ApiGatewayV2::Integration") {
            assert!(
                is_alias(target(&integration["Properties"]["IntegrationUri"])),
                "{name}/{id}"
            );
        }
        for (id, permission) in of_type(stack, "AWS::Lambda::Permission") {
            assert!(
                is_alias(target(&permission["Properties"]["FunctionName"])),
                "{name}/{id}"
            );
        }
        for (id, rule) in of_type(stack, "AWS::Events::Rule") {
            for t in rule["Properties"]["Targets"].as_array().expect("targets") {
                assert!(is_alias(target(&t["Arn"])), "{name}/{id}");
            }
        }
        for (id, subscription) in of_type(stack, "AWS::SNS::Subscription") {
            assert!(
                is_alias(target(&subscription["Properties"]["Endpoint"])),
                "{name}/{id}"
            );
        }
    }
}

#[test]
fn every_function_logs_to_a_group_with_the_retention_setting() {
    for (name, stack) in &expanded().stacks {
        let resources = &stack["Resources"];
        for (function, resource) in of_type(stack, "AWS::Lambda::Function") {
            let group = target(&resource["Properties"]["LoggingConfig"]["LogGroup"])
                .unwrap_or_else(|| panic!("{name}/{function}: no log group"));
            assert_eq!(resources[group]["Type"], "AWS::Logs::LogGroup");
            assert_eq!(
                resources[group]["Properties"]["RetentionInDays"],
                json!({"Ref": "LogRetentionDays"}),
                "{name}/{group}"
            );
        }
    }
}

/// Every statement a function's role gets: inline, and the template's managed policies
/// (passed to the area stacks as parameters of the same name).
fn statements<'a>(template: &'a Value, stack: &'a Value, role: &'a Value) -> Vec<&'a Value> {
    let mut all: Vec<&Value> = Vec::new();
    for policy in role["Properties"]["Policies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        all.extend(
            policy["PolicyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten(),
        );
    }
    for arn in role["Properties"]["ManagedPolicyArns"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(name) = arn["Ref"].as_str() else {
            // An AWS managed policy by ARN: only the basic, VPC and X-Ray execution ones.
            let text = arn.to_string();
            assert!(
                [
                    "AWSLambdaBasicExecutionRole",
                    "AWSLambdaVPCAccessExecutionRole",
                    "AWSXrayWriteOnlyAccess"
                ]
                .iter()
                .any(|allowed| text.contains(allowed)),
                "unexpected managed policy {text}"
            );
            continue;
        };
        assert!(
            stack["Parameters"][name].is_object() || stack["Resources"][name].is_object(),
            "{name} is declared"
        );
        let policy = &template["Resources"][name];
        assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy", "{name}");
        all.extend(
            policy["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten(),
        );
    }
    all
}

#[test]
fn no_function_role_grants_a_wildcard_on_a_data_service() {
    let stacks = &expanded().stacks;
    let template = &stacks["template"];
    for (name, stack) in stacks {
        let resources = &stack["Resources"];
        for (function, resource) in of_type(stack, "AWS::Lambda::Function") {
            let role_id = target(&resource["Properties"]["Role"]).expect("role");
            let role = &resources[role_id];
            assert_eq!(role["Type"], "AWS::IAM::Role", "{name}/{function}");
            for statement in statements(template, stack, role) {
                if statement["Effect"] != "Allow" {
                    continue;
                }
                let actions: Vec<&str> = match &statement["Action"] {
                    Value::String(a) => vec![a.as_str()],
                    Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
                    other => panic!("{function}: Action {other}"),
                };
                assert!(
                    statement.get("NotAction").is_none() && statement.get("NotResource").is_none(),
                    "{name}/{function}: an Allow with NotAction or NotResource"
                );
                let wildcard_resource = match &statement["Resource"] {
                    Value::Array(list) => list.iter().any(|r| r == "*"),
                    one => one == "*",
                };
                for action in actions {
                    assert_ne!(action, "*", "{name}/{function}");
                    let (service, verb) = action.split_once(':').expect("service:action");
                    if DATA_SERVICES.contains(&service) {
                        assert!(!verb.contains('*'), "{name}/{function}: {action}");
                        assert!(!wildcard_resource, "{name}/{function}: {action} on *");
                    }
                }
            }
        }
    }
}

#[test]
fn the_stage_throttles_only_routes_that_exist() {
    let written = local_stack::template::Template::load(&repo_root().join("template.yaml"))
        .expect("templates");
    let routes: Vec<String> = written.routes().map(|(_, r)| r.key()).collect();
    let stage = written.stacks[0]
        .resource("HttpApiStage")
        .expect("the stage");
    let throttled = stage["Properties"]["RouteSettings"]
        .as_mapping()
        .expect("route settings");
    assert!(!throttled.is_empty());
    for key in throttled.keys() {
        let key = key.as_str().expect("route key");
        // CloudFormation refuses settings for a route the API does not have.
        assert!(
            routes.iter().any(|r| r == key),
            "{key} is throttled but not routed"
        );
    }
}
