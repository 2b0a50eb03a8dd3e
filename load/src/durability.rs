//! Whether the measured PostgreSQL commits durably, read from the server itself: a
//! cluster without fsync flatters every write's latency, so each report says which one
//! its figures come from.

use crate::{fleet, LoadError};

/// The settings that decide what a commit waits for, as the server reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Durability {
    pub fsync: String,
    pub synchronous_commit: String,
    pub full_page_writes: String,
}

impl Durability {
    /// Reads the settings of the database at `database_url`.
    pub async fn of(database_url: &str) -> Result<Self, LoadError> {
        let db = fleet::connect(database_url).await?;
        let row = db
            .query_one(
                "SELECT current_setting('fsync'), current_setting('synchronous_commit'),
                        current_setting('full_page_writes')",
                &[],
            )
            .await
            .map_err(|e| LoadError::Setup(format!("reading the durability settings: {e}")))?;
        Ok(Self {
            fsync: row.get(0),
            synchronous_commit: row.get(1),
            full_page_writes: row.get(2),
        })
    }

    /// As a deployment runs: every commit reaches the disk before it is acknowledged.
    pub fn as_deployed(&self) -> bool {
        self.fsync == "on" && self.synchronous_commit == "on" && self.full_page_writes == "on"
    }

    /// The report's sentence on it.
    pub fn sentence(&self) -> String {
        let Self {
            fsync,
            synchronous_commit,
            full_page_writes,
        } = self;
        let settings = format!(
            "`fsync={fsync}`, `synchronous_commit={synchronous_commit}`, `full_page_writes={full_page_writes}`"
        );
        if self.as_deployed() {
            format!("PostgreSQL commits durably, as a deployment does: {settings}.")
        } else {
            format!(
                "**PostgreSQL did not commit durably** ({settings}): writes are faster here than a deployment's."
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Durability;

    fn settings(fsync: &str, synchronous_commit: &str, full_page_writes: &str) -> Durability {
        Durability {
            fsync: fsync.into(),
            synchronous_commit: synchronous_commit.into(),
            full_page_writes: full_page_writes.into(),
        }
    }

    #[test]
    fn only_all_three_on_is_as_deployed() {
        assert!(settings("on", "on", "on").as_deployed());
        for shortcut in [
            settings("off", "on", "on"),
            settings("on", "off", "on"),
            settings("on", "local", "on"),
            settings("on", "on", "off"),
        ] {
            assert!(!shortcut.as_deployed(), "{shortcut:?}");
            assert!(
                shortcut.sentence().contains("did not commit durably"),
                "{}",
                shortcut.sentence()
            );
        }
    }
}
