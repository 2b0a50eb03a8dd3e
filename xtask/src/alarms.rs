//! A function's rollback alarms: failed invocations and p99 duration of its live alias,
//! and for an API function its routes' 5xx answers. Each rolls a deployment back.

use functions::deploy::{Deploy, LatencyBound, Route};

use crate::{
    resources::DEFAULT_TIMEOUT_SECONDS,
    yaml::{quoted, reference, sub, Node},
};

/// The rollback alarms of a function, by resource name.
pub fn alarm_ids(prefix: &str, deploy: &Deploy) -> Vec<String> {
    let mut ids = vec![
        format!("{prefix}ErrorsAlarm"),
        format!("{prefix}LatencyAlarm"),
    ];
    if !deploy.routes.is_empty() {
        ids.push(format!("{prefix}ServerErrorsAlarm"));
    }
    ids
}

fn lambda_dimensions(prefix: &str) -> Node {
    Node::Seq(vec![
        Node::Inline(format!(
            "{{Name: FunctionName, Value: !Ref {prefix}Function}}"
        )),
        Node::Inline(format!(
            "{{Name: Resource, Value: !Sub {}}}",
            quoted(&format!("${{{prefix}Function}}:live"))
        )),
    ])
}

pub fn errors_alarm(prefix: &str) -> Node {
    alarm(
        Node::map()
            .with(
                "AlarmDescription",
                sub(&format!(
                    "${{{prefix}Function}}: failed invocations of the live alias; a deployment rolls back"
                )),
            )
            .with("Namespace", "AWS/Lambda")
            .with("MetricName", "Errors")
            .with("Dimensions", lambda_dimensions(prefix))
            .with("Statistic", "Sum")
            .with("Period", 60)
            .with("EvaluationPeriods", 1)
            .with("Threshold", reference("RollbackErrorThreshold"))
            .with("ComparisonOperator", "GreaterThanOrEqualToThreshold")
            .with("TreatMissingData", "notBreaching"),
    )
}

pub fn latency_alarm(prefix: &str, deploy: &Deploy) -> Node {
    let properties = Node::map()
        .with(
            "AlarmDescription",
            sub(&format!(
                "${{{prefix}Function}}: p99 duration of the live alias; a deployment rolls back"
            )),
        )
        .with("Namespace", "AWS/Lambda")
        .with("MetricName", "Duration")
        .with("Dimensions", lambda_dimensions(prefix))
        .with("ExtendedStatistic", "p99")
        .with("Period", 60)
        .with("EvaluationPeriods", 2);
    let properties = match deploy.latency {
        LatencyBound::Api if deploy.routes.is_empty() => properties.with_comment(
            Some("It runs before every authorized request: held to the API functions' bound."),
            "Threshold",
            reference("RollbackLatencyP99Ms"),
        ),
        LatencyBound::Api => properties.with("Threshold", reference("RollbackLatencyP99Ms")),
        LatencyBound::NearTimeout => {
            let timeout = deploy.timeout.unwrap_or(DEFAULT_TIMEOUT_SECONDS);
            properties.with_comment(
                Some(&format!(
                    "Four fifths of its {timeout} s timeout: a job this slow is about to fail."
                )),
                "Threshold",
                timeout * 800,
            )
        }
    };
    alarm(
        properties
            .with("ComparisonOperator", "GreaterThanThreshold")
            .with("TreatMissingData", "notBreaching"),
    )
}

/// The function's 5xx answers (the `ServerErrors` metric the runtime writes per route):
/// Lambda counts a 500 response as a success, so its own error alarm never sees them.
pub fn server_errors_alarm(prefix: &str, deploy: &Deploy) -> Node {
    let mut keys: Vec<String> = deploy.routes.iter().map(Route::key).collect();
    keys.sort();
    let properties = Node::map().with(
        "AlarmDescription",
        sub(&format!(
            "${{{prefix}Function}}: 5xx answers on its routes; a deployment rolls back"
        )),
    );
    let properties = if let [key] = keys.as_slice() {
        properties
            .with("Namespace", sub("ReadySet/${Stage}"))
            .with("MetricName", "ServerErrors")
            .with(
                "Dimensions",
                Node::Seq(vec![Node::Inline(format!(
                    "{{Name: Route, Value: {}}}",
                    quoted(key)
                ))]),
            )
            .with("Statistic", "Sum")
            .with("Period", 60)
    } else {
        let mut metrics: Vec<Node> = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                Node::map()
                    .with("Id", format!("route{i}").as_str())
                    .with("ReturnData", Node::Inline("false".into()))
                    .with(
                        "MetricStat",
                        Node::map()
                            .with(
                                "Metric",
                                Node::map()
                                    .with("Namespace", sub("ReadySet/${Stage}"))
                                    .with("MetricName", "ServerErrors")
                                    .with(
                                        "Dimensions",
                                        Node::Inline(format!(
                                            "[{{Name: Route, Value: {}}}]",
                                            quoted(key)
                                        )),
                                    ),
                            )
                            .with("Period", 60)
                            .with("Stat", "Sum"),
                    )
            })
            .collect();
        let ids: Vec<String> = (0..keys.len()).map(|i| format!("route{i}")).collect();
        metrics.push(
            Node::map()
                .with("Id", "answered5xx")
                .with("Label", "5xx answers")
                .with("Expression", format!("SUM([{}])", ids.join(", ")).as_str())
                .with("ReturnData", Node::Inline("true".into())),
        );
        properties.with("Metrics", Node::Seq(metrics))
    };
    alarm(
        properties
            .with("EvaluationPeriods", 1)
            .with("Threshold", reference("RollbackErrorThreshold"))
            .with("ComparisonOperator", "GreaterThanOrEqualToThreshold")
            .with("TreatMissingData", "notBreaching"),
    )
}

fn alarm(properties: Node) -> Node {
    Node::map()
        .with("Type", "AWS::CloudWatch::Alarm")
        .with("Properties", properties)
}
