//! The generated regions of `template.yaml`, between `# BEGIN GENERATED <name>` and
//! `# END GENERATED <name>` lines; the rest of the file is written by hand (the API, the
//! data resources, the shared policies and alarms).
//!
//! - `authorizer`: the functions of [`Area::Parent`], which the API's authorizer
//!   resource must reference within the same stack;
//! - `area stacks`: each area stack with the parameters it takes;
//! - `route throttling`: the stage's budgets for the routes that declare one.

use functions::{deploy::Area, REGISTRY};

use crate::{
    functions_of,
    parameters::Parameter,
    resources,
    stacks::AreaStack,
    yaml::{self, Entry, Node},
    CodegenError,
};

/// `text` with every region written anew.
pub fn regenerate(
    text: &str,
    areas: &[(&AreaStack, Vec<&'static Parameter>)],
) -> Result<String, CodegenError> {
    let text = replace_region(text, "authorizer", &authorizer()?)?;
    let text = replace_region(&text, "area stacks", &area_stacks(areas))?;
    replace_region(&text, "route throttling", &route_throttling())
}

fn authorizer() -> Result<String, CodegenError> {
    let mut resources = Vec::new();
    for function in functions_of(Area::Parent) {
        resources.extend(resources::function_resources(function, "functions/")?);
    }
    let mut out = String::new();
    yaml::write_section(&mut out, &resources, 2);
    Ok(out)
}

fn area_stacks(areas: &[(&AreaStack, Vec<&'static Parameter>)]) -> String {
    let entries: Vec<Entry> = areas
        .iter()
        .map(|(stack, parameters)| {
            let mut passed = Node::map();
            for parameter in parameters {
                passed = passed.with(parameter.name, parameter.passed());
            }
            let about = stack.about;
            Entry {
                comment: Some(format!("{}{}.", about[..1].to_uppercase(), &about[1..])),
                key: stack.logical_id.to_owned(),
                value: Node::map()
                    .with("Type", "AWS::Serverless::Application")
                    .with(
                        "Properties",
                        Node::map()
                            .with("Location", stack.file)
                            .with("Parameters", passed),
                    ),
            }
        })
        .collect();
    let mut out = String::new();
    yaml::write_section(&mut out, &entries, 2);
    out
}

fn route_throttling() -> String {
    let mut settings = Node::map();
    let mut any = false;
    for function in REGISTRY {
        for route in function.deploy.routes {
            if let Some(throttle) = route.throttle {
                any = true;
                settings = settings.with(
                    &yaml::quoted(&route.key()),
                    Node::map()
                        .with("ThrottlingBurstLimit", throttle.burst)
                        .with("ThrottlingRateLimit", throttle.rate),
                );
            }
        }
    }
    if !any {
        return String::new();
    }
    yaml::render(
        &[Entry {
            comment: Some(
                "Routes whose declaration asks for a smaller budget than the default's.".into(),
            ),
            key: "RouteSettings".into(),
            value: settings,
        }],
        6,
    )
}

/// `text` with the lines between the region's markers replaced by `body`.
fn replace_region(text: &str, name: &str, body: &str) -> Result<String, CodegenError> {
    let begin = format!("# BEGIN GENERATED {name}");
    let end = format!("# END GENERATED {name}");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let find = |marker: &str| {
        lines
            .iter()
            .position(|line| line.trim_start().starts_with(marker))
            .ok_or_else(|| {
                CodegenError::Invalid(format!(
                    "template.yaml has no line starting with `{marker}`"
                ))
            })
    };
    let (first, last) = (find(&begin)?, find(&end)?);
    if last < first {
        return Err(CodegenError::Invalid(format!(
            "template.yaml: `{end}` comes before `{begin}`"
        )));
    }
    let mut out: String = lines[..=first].concat();
    out.push_str(body);
    out.push_str(&lines[last..].concat());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_is_replaced_between_its_markers_and_nowhere_else() {
        let text = "a\n  # BEGIN GENERATED x (note)\n  old\n  # END GENERATED x\nb\n";
        assert_eq!(
            replace_region(text, "x", "  new\n").expect("replaced"),
            "a\n  # BEGIN GENERATED x (note)\n  new\n  # END GENERATED x\nb\n"
        );
        assert!(replace_region(text, "y", "").is_err());
    }
}
