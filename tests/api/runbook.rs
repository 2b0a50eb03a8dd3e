//! `docs/runbook.md` cannot rot: every `bash local` block of it runs, in order, in one
//! shell (as an operator's session would), against a fresh stack loaded with the demo
//! data, and must succeed.

use std::process::Command;

use api_tests::{repo_root, TestApp};

/// The `bash local` blocks of the runbook, in order.
fn local_blocks(runbook: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in runbook.lines() {
        match &mut current {
            None if line.trim_end() == "```bash local" => current = Some(String::new()),
            Some(block) if line.trim_end() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed block in the runbook");
    blocks
}

#[test]
fn the_runbook_has_a_local_and_an_aws_command_for_every_section() {
    let runbook = std::fs::read_to_string(repo_root().join("docs/runbook.md")).expect("runbook");
    for section in [
        "## Morning health check",
        "## Reading errors and alerts",
        "## Deploying and rolling back",
        "## Manual backup and restore",
        "## Rotating keys",
        "## Load testing",
        "## Database emergency steps",
        "## Incident response",
    ] {
        assert!(runbook.contains(section), "{section}");
    }
    assert!(local_blocks(&runbook).len() >= 8);
    assert!(runbook.matches("```bash aws").count() >= 8);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_local_command_of_the_runbook_runs_against_the_local_stack() {
    let app = TestApp::spawn().await;
    app.seed().await;
    let runbook = std::fs::read_to_string(repo_root().join("docs/runbook.md")).expect("runbook");
    let mut script = String::from("set -euo pipefail\n");
    for (i, block) in local_blocks(&runbook).iter().enumerate() {
        script.push_str(&format!(
            "printf '\\n--- runbook block {}\\n' >&2\n{block}",
            i + 1
        ));
    }
    let env = app.deployment_env();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(repo_root())
            .envs(env)
            .output()
            .expect("run bash")
    })
    .await
    .expect("the runbook's shell");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the runbook failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    // What the steps printed: the health status, and the restore check's one database.
    assert!(stdout.lines().any(|l| l == "healthy"), "{stdout}");
    assert!(stdout.lines().any(|l| l == "1"), "{stdout}");
}
