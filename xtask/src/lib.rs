//! The project's developer tasks (`cargo xtask <task>`, in the manner of rust-analyzer's
//! xtask). `codegen` writes what follows from the functions' declarations:
//!
//! - `stacks/<area>.yaml`, whole: every function of the area with its routes, alarms and
//!   log group ([`stacks`]);
//! - three marked regions of `template.yaml`: the authorizer function, the area stacks
//!   with the parameters each one uses, and the routes' throttling ([`parent`]);
//! - a sample event for a function that has none, and an OpenAPI skeleton for a route
//!   the document lacks ([`stubs`]), both for a person to complete.
//!
//! The generated files are committed, so SAM, CloudFormation and reviewers read plain
//! templates; a test fails when they differ from what the declarations produce.

pub mod alarms;
pub mod parameters;
pub mod parent;
pub mod resources;
pub mod stacks;
pub mod stubs;
pub mod yaml;

use std::path::{Path, PathBuf};

use functions::{deploy::Area, Function, REGISTRY};

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Whether to write the files or only tell which differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

/// The repository's root (this crate lives in `xtask/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn read(root: &Path, file: &str) -> Result<Option<String>, CodegenError> {
    match std::fs::read_to_string(root.join(file)) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CodegenError::Io {
            path: file.to_owned(),
            source,
        }),
    }
}

/// One file as the declarations make it.
pub struct Generated {
    /// Relative to the repository's root.
    pub file: String,
    pub text: String,
}

/// The functions of one area, in the registry's order.
pub fn functions_of(area: Area) -> Vec<&'static Function> {
    REGISTRY.iter().filter(|f| f.deploy.area == area).collect()
}

/// Every generated file, from the declarations and the files as they are now (the
/// parent's hand-written parts, the OpenAPI document, the sample events).
pub fn generate(root: &Path) -> Result<Vec<Generated>, CodegenError> {
    let mut files = Vec::new();
    let mut areas = Vec::new();
    for stack in stacks::AREA_STACKS {
        let area = stacks::area_stack(stack, &functions_of(stack.area))?;
        files.push(Generated {
            file: stack.file.to_owned(),
            text: area.text,
        });
        areas.push((stack, area.parameters));
    }
    let template = read(root, "template.yaml")?
        .ok_or_else(|| CodegenError::Invalid("template.yaml is missing".into()))?;
    files.push(Generated {
        file: "template.yaml".into(),
        text: parent::regenerate(&template, &areas)?,
    });
    files.extend(stubs::sample_events(root)?);
    let openapi = read(root, stubs::OPENAPI)?
        .ok_or_else(|| CodegenError::Invalid(format!("{} is missing", stubs::OPENAPI)))?;
    files.push(Generated {
        file: stubs::OPENAPI.into(),
        text: stubs::openapi_skeletons(&openapi)?,
    });
    Ok(files)
}

/// Writes (or, checking, only compares) every generated file; returns those that
/// differed from what is on disk.
pub fn codegen(root: &Path, mode: Mode) -> Result<Vec<String>, CodegenError> {
    let mut changed = Vec::new();
    for generated in generate(root)? {
        if read(root, &generated.file)?.as_deref() == Some(generated.text.as_str()) {
            continue;
        }
        if mode == Mode::Write {
            let path = root.join(&generated.file);
            std::fs::write(&path, &generated.text).map_err(|source| CodegenError::Io {
                path: generated.file.clone(),
                source,
            })?;
        }
        changed.push(generated.file);
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rust-analyzer's habit: the committed output is what the generator writes now.
    #[test]
    fn the_generated_files_are_current() {
        let stale = codegen(&repo_root(), Mode::Check).expect("the declarations generate");
        assert!(
            stale.is_empty(),
            "{} differ from the declarations: run `cargo xtask codegen` and commit the result",
            stale.join(", ")
        );
    }
}
