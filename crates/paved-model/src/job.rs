//! The states and log levels of durable jobs (run by `paved-jobs`).

use serde::{Deserialize, Serialize};

/// Where a job is in its life. `Queued` and `Running` are unfinished; the rest are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Accepted, waiting for a replica (and for earlier jobs of the same subject).
    Queued,
    /// A replica holds its lease and runs it; after a crash it stays here until another
    /// replica (or the restarted one) takes it over.
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The level of one line of a job's event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventLevel {
    Info,
    /// A step started.
    Step,
    /// A step finished.
    Done,
    Warning,
    Error,
}

impl EventLevel {
    pub const ALL: [EventLevel; 5] = [
        EventLevel::Info,
        EventLevel::Step,
        EventLevel::Done,
        EventLevel::Warning,
        EventLevel::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventLevel::Info => "info",
            EventLevel::Step => "step",
            EventLevel::Done => "done",
            EventLevel::Warning => "warning",
            EventLevel::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<EventLevel> {
        EventLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        for level in EventLevel::ALL {
            assert_eq!(EventLevel::parse(level.as_str()), Some(level));
        }
        assert_eq!(JobState::parse("pending"), None);
    }
}
