//! Where and when a report was measured, and from which commit: its first line says so,
//! since the figures mean little on another machine or another version.

use crate::durability::Durability;

/// When, where and from which commit the report was measured: its first line.
pub(super) struct Provenance {
    pub measured_at: String,
    pub machine: String,
    pub commit: String,
    /// The database's commit settings, `None` when they could not be read.
    pub durability: Option<Durability>,
}

impl Provenance {
    /// Now, this machine and the checkout's commit.
    pub fn of_this_run(durability: Option<Durability>) -> Self {
        Self {
            measured_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            machine: machine(),
            commit: commit(),
            durability,
        }
    }
}

/// The machine in a line: cores, CPU model, memory and kernel, as `/proc` gives them.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_gb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({cpu}), {memory_gb:.1} GB memory, Linux {}",
        kernel.trim()
    )
}

/// The checkout's short commit, or `unknown` outside one.
fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}
