//! Where the machine's CPU went during a run: CPU time by process name (every
//! `postgres` backend counted together), read from `/proc`. On a two-core machine
//! shared by the API, its emulators, the database and the load tool, this says which of
//! them a saturation figure is really measuring.

use std::collections::BTreeMap;

/// Clock ticks per second of `/proc/<pid>/stat` times: `USER_HZ`, 100 on every Linux ABI.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used so far, by process name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuTimes(pub BTreeMap<String, f64>);

impl CpuTimes {
    /// Every process visible in `/proc` (empty where there is no `/proc`).
    pub fn now() -> Self {
        let mut by_name = BTreeMap::new();
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Self(by_name);
        };
        for entry in entries.flatten() {
            let is_pid = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
            if !is_pid {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            if let Some((name, seconds)) = parse_stat(&stat) {
                *by_name.entry(name).or_insert(0.0) += seconds;
            }
        }
        Self(by_name)
    }

    /// CPU seconds each process used since `earlier`, largest first, zeros left out
    /// (processes that ended in between are not counted).
    pub fn since(&self, earlier: &CpuTimes) -> Vec<(String, f64)> {
        let mut used: Vec<(String, f64)> = self
            .0
            .iter()
            .map(|(name, now)| {
                (
                    name.clone(),
                    now - earlier.0.get(name).copied().unwrap_or(0.0),
                )
            })
            .filter(|(_, seconds)| *seconds > 0.005)
            .collect();
        used.sort_by(|a, b| b.1.total_cmp(&a.1));
        used
    }
}

/// The name and user + system CPU seconds of one `/proc/<pid>/stat` line. The name is
/// in parentheses and may itself contain spaces and parentheses.
fn parse_stat(stat: &str) -> Option<(String, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    // After the name: state is field 3, utime field 14 and stime field 15.
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((name, (utime + stime) / TICKS_PER_SECOND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_give_name_and_cpu_seconds() {
        let line = "1234 (local-gateway) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 1000 10 0 0 0";
        assert_eq!(parse_stat(line), Some(("local-gateway".to_owned(), 3.0)));
        let odd = "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 1 1 1";
        assert_eq!(parse_stat(odd), Some(("a (b) c".to_owned(), 0.03)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn usage_is_the_difference_largest_first() {
        let before = CpuTimes(BTreeMap::from([("a".into(), 1.0), ("b".into(), 5.0)]));
        let after = CpuTimes(BTreeMap::from([
            ("a".into(), 4.0),
            ("b".into(), 5.0),
            ("c".into(), 0.5),
        ]));
        assert_eq!(
            after.since(&before),
            vec![("a".to_owned(), 3.0), ("c".to_owned(), 0.5)]
        );
    }

    #[test]
    fn this_process_is_seen() {
        // Burn a little CPU so that the reading is not zero.
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let times = CpuTimes::now();
        assert!(!times.0.is_empty());
    }
}
