//! The checks that need every file at once: each route is on the API of `template.yaml`
//! and names its authorizer as the files' parameters are wired, and each route key is
//! declared once.

use yaml_serde::Value;

use super::{invalid, kind, ref_target, resources, Template, TemplateError};

impl Template {
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
    pub(super) fn check_route_wiring(&self) -> Result<(), TemplateError> {
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
    pub(super) fn check_unique_routes(&self) -> Result<(), TemplateError> {
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
