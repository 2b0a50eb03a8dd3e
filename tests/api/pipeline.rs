//! The deploy pipeline (issue 22): the workflows the operators' commands name, their
//! inputs agreeing with the release script, every step of a deploy present, and the
//! release script's local commands. zizmor and the workflow schema run in the test
//! command's lint step.

use std::process::Command;

use api_tests::repo_root;
use yaml_serde::Value;

fn workflow(file: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join(".github/workflows").join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn release(args: &[&str]) -> std::process::Output {
    Command::new(repo_root().join("scripts/release"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run scripts/release")
}

/// Every `run:` of a workflow's jobs, joined.
fn runs(workflow: &Value) -> String {
    let mut all = String::new();
    for job in workflow["jobs"].as_mapping().expect("jobs").values() {
        for step in job["steps"].as_sequence().into_iter().flatten() {
            if let Some(run) = step["run"].as_str() {
                all.push_str(run);
                all.push('\n');
            }
        }
    }
    all
}

#[test]
fn the_workflows_are_named_as_the_operators_commands_call_them() {
    assert_eq!(workflow("ci.yml")["name"].as_str(), Some("CI"));
    assert_eq!(
        workflow("deploy-staging.yml")["name"].as_str(),
        Some("Deploy to Staging")
    );
    let production = workflow("deploy-production.yml");
    assert_eq!(production["name"].as_str(), Some("Deploy to Production"));
    // `gh workflow run "Deploy to Production" --field deployment_type=rolling
    //  --field rollback_version=v20240101-120000-abc123`
    let inputs = &production["on"]["workflow_dispatch"]["inputs"];
    let options: Vec<&str> = inputs["deployment_type"]["options"]
        .as_sequence()
        .expect("deployment types")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(options, ["rolling", "blue-green", "canary"]);
    for option in options {
        assert!(
            release(&["strategy", option]).status.success(),
            "the release script knows {option}"
        );
    }
    assert!(inputs["rollback_version"].is_mapping());
    assert!(release(&["check-version", "v20240101-120000-abc123"])
        .status
        .success());
}

#[test]
fn each_deploy_builds_migrates_checks_and_rolls_back_and_production_backs_up_behind_approval() {
    for file in ["deploy-staging.yml", "deploy-production.yml"] {
        let run = runs(&workflow(file));
        for step in [
            "scripts/release deploy",
            "scripts/release migrate",
            "scripts/release verify",
            "load -- smoke",
            "scripts/release prune",
        ] {
            assert!(run.contains(step), "{file} runs {step}");
        }
        assert!(
            run.contains("git checkout --detach \"${PREVIOUS##*-}\""),
            "{file} rolls back to the release that was running"
        );
    }
    let production = workflow("deploy-production.yml");
    let deploy = &production["jobs"]["deploy"];
    assert_eq!(deploy["environment"].as_str(), Some("production"));
    assert_eq!(deploy["needs"].as_str(), Some("validate"));
    let steps: Vec<String> = deploy["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .filter_map(|s| s["run"].as_str().map(str::to_owned))
        .collect();
    let at = |needle: &str| {
        steps
            .iter()
            .position(|s| s.contains(needle))
            .unwrap_or_else(|| panic!("no step runs {needle}"))
    };
    assert!(at("scripts/release backup") < at("scripts/release deploy"));
    // Old versions go only once the new release has passed its checks.
    assert!(at("scripts/release prune") > at("load -- smoke"));
    // Deploys reach AWS through GitHub's OIDC token, never stored keys.
    for file in ["deploy-staging.yml", "deploy-production.yml"] {
        let text = std::fs::read_to_string(repo_root().join(".github/workflows").join(file))
            .expect("read");
        assert!(text.contains("id-token: write"), "{file}");
        assert!(!text.contains("aws-access-key-id"), "{file}");
    }
}

#[test]
fn release_names_are_checked_and_made_from_the_commit() {
    let made = release(&["version"]);
    assert!(made.status.success());
    let name = String::from_utf8(made.stdout).expect("utf8");
    let name = name.trim();
    assert!(release(&["check-version", name]).status.success(), "{name}");
    let sha = String::from_utf8(
        Command::new("git")
            .args(["rev-parse", "--short=7", "HEAD"])
            .current_dir(repo_root())
            .output()
            .expect("git")
            .stdout,
    )
    .expect("utf8");
    assert!(name.ends_with(sha.trim()), "{name} names the commit");
    for bad in [
        "",
        "20240101-120000-abc123",
        "v2024-01-01",
        "v20240101-120000-ABC123",
        "v20240101-120000-abc123; rm -rf /",
    ] {
        let out = release(&["check-version", bad]);
        assert!(!out.status.success(), "{bad:?} is refused");
    }
    assert!(!release(&["strategy", "yolo"]).status.success());
    assert!(!release(&["deploy", "qa", "v20240101-120000-abc123"])
        .status
        .success());
}
