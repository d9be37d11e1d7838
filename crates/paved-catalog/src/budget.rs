//! Bounds on one read of a location: files visited, bytes read, time, and cancellation.
//!
//! Every read of a location (a registration, a dry run, a refresh, `paved catalog validate`)
//! carries one [`ReadBudget`]. The readers ask it before each directory entry, each file and
//! each network request; once a limit is reached every later question fails the same way,
//! so a read stops wherever it is, and the location reports one problem naming the limit.
//! A read that stopped is never taken as complete: nothing it did not see is orphaned.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use paved_model::problem::Problem;

/// The limits of one read. The defaults fit catalogs of tens of thousands of entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Directory entries a glob examines plus files and URLs read, in all.
    pub max_files_visited: usize,
    /// Bytes read from files and responses, in all.
    pub max_bytes_read: u64,
    /// Wall-clock time from the start of the read.
    pub max_read_time: Duration,
}

impl Default for ReadLimits {
    fn default() -> ReadLimits {
        ReadLimits {
            max_files_visited: 100_000,
            max_bytes_read: 256 * 1024 * 1024,
            max_read_time: Duration::from_secs(60),
        }
    }
}

/// Why a read stopped before it was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStop {
    FilesVisited,
    BytesRead,
    ReadTime,
    /// The request that asked for the read went away, or Paved is stopping.
    Cancelled,
}

/// The rule of the problem a limit produces.
pub const READ_LIMIT_RULE: &str = "read-limit";
/// The rule of the problem a cancelled read produces.
pub const CANCELLED_RULE: &str = "cancelled";

impl ReadStop {
    /// The one problem a stopped read reports, naming the limit and its value.
    pub fn problem(self, limits: &ReadLimits) -> Problem {
        match self {
            ReadStop::FilesVisited => Problem::whole(
                READ_LIMIT_RULE,
                format!(
                    "the read was stopped after visiting {} files and directories, the limit `files visited` of one read; narrow the glob or split the location",
                    limits.max_files_visited
                ),
            ),
            ReadStop::BytesRead => Problem::whole(
                READ_LIMIT_RULE,
                format!(
                    "the read was stopped after {} bytes, the limit `bytes read` of one read; split the location",
                    limits.max_bytes_read
                ),
            ),
            ReadStop::ReadTime => Problem::whole(
                READ_LIMIT_RULE,
                format!(
                    "the read was stopped after {} s, the limit `read time` of one read; narrow the glob or split the location",
                    limits.max_read_time.as_secs_f64()
                ),
            ),
            ReadStop::Cancelled => Problem::whole(
                CANCELLED_RULE,
                "the read was cancelled: the request was abandoned or Paved is stopping",
            ),
        }
    }
}

/// A flag that cancels every read holding it once raised.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Raises its flag when dropped: a read started for a request stops when the request's
/// future is dropped (the client disconnected).
#[derive(Debug)]
pub struct CancelOnDrop(pub CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// The account of one read, shared by the threads that do it.
#[derive(Debug)]
pub struct ReadBudget {
    limits: ReadLimits,
    deadline: Instant,
    files_visited: AtomicUsize,
    bytes_read: AtomicU64,
    cancel_flags: Vec<CancelFlag>,
    stopped: OnceLock<ReadStop>,
}

impl ReadBudget {
    /// Starts the clock. The read is cancelled when any of `cancel_flags` is raised.
    pub fn new(limits: ReadLimits, cancel_flags: Vec<CancelFlag>) -> ReadBudget {
        ReadBudget {
            limits,
            deadline: Instant::now() + limits.max_read_time,
            files_visited: AtomicUsize::new(0),
            bytes_read: AtomicU64::new(0),
            cancel_flags,
            stopped: OnceLock::new(),
        }
    }

    pub fn limits(&self) -> &ReadLimits {
        &self.limits
    }

    /// Why the read stopped, if it did.
    pub fn stopped(&self) -> Option<ReadStop> {
        self.stopped.get().copied()
    }

    /// Fails once the read must stop: a limit reached before, the time spent, or a
    /// cancellation.
    pub fn check(&self) -> Result<(), ReadStop> {
        if let Some(stop) = self.stopped() {
            return Err(stop);
        }
        if self.cancel_flags.iter().any(CancelFlag::is_cancelled) {
            return Err(self.stop(ReadStop::Cancelled));
        }
        if Instant::now() >= self.deadline {
            return Err(self.stop(ReadStop::ReadTime));
        }
        Ok(())
    }

    /// Counts one directory entry, file or URL.
    pub fn visit(&self) -> Result<(), ReadStop> {
        self.check()?;
        if self.files_visited.fetch_add(1, Ordering::Relaxed) >= self.limits.max_files_visited {
            return Err(self.stop(ReadStop::FilesVisited));
        }
        Ok(())
    }

    /// The time left before the read's deadline.
    pub fn time_left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The bytes still allowed, for readers that cap what they read.
    pub fn bytes_left(&self) -> u64 {
        self.limits
            .max_bytes_read
            .saturating_sub(self.bytes_read.load(Ordering::Relaxed))
    }

    /// Counts `bytes` read.
    pub fn read_bytes(&self, bytes: u64) -> Result<(), ReadStop> {
        let total = self.bytes_read.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total > self.limits.max_bytes_read {
            return Err(self.stop(ReadStop::BytesRead));
        }
        self.check()
    }

    fn stop(&self, stop: ReadStop) -> ReadStop {
        *self.stopped.get_or_init(|| stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_stops_the_read_for_good() {
        let limits = ReadLimits {
            max_files_visited: 2,
            max_bytes_read: 10,
            max_read_time: Duration::from_secs(3600),
        };
        let budget = ReadBudget::new(limits, Vec::new());
        assert_eq!(budget.visit(), Ok(()));
        assert_eq!(budget.visit(), Ok(()));
        assert_eq!(budget.visit(), Err(ReadStop::FilesVisited));
        // The first limit reached is the one reported, whatever comes after.
        assert_eq!(budget.read_bytes(1), Err(ReadStop::FilesVisited));

        let budget = ReadBudget::new(limits, Vec::new());
        assert_eq!(budget.read_bytes(10), Ok(()));
        assert_eq!(budget.bytes_left(), 0);
        assert_eq!(budget.read_bytes(1), Err(ReadStop::BytesRead));

        let budget = ReadBudget::new(
            ReadLimits {
                max_read_time: Duration::ZERO,
                ..limits
            },
            Vec::new(),
        );
        assert_eq!(budget.check(), Err(ReadStop::ReadTime));

        let flag = CancelFlag::default();
        let budget = ReadBudget::new(limits, vec![flag.clone()]);
        assert_eq!(budget.check(), Ok(()));
        drop(CancelOnDrop(flag));
        assert_eq!(budget.visit(), Err(ReadStop::Cancelled));
    }

    #[test]
    fn problems_name_the_limit() {
        let limits = ReadLimits::default();
        let messages: Vec<String> = [
            ReadStop::FilesVisited,
            ReadStop::BytesRead,
            ReadStop::ReadTime,
            ReadStop::Cancelled,
        ]
        .into_iter()
        .map(|stop| stop.problem(&limits).to_string())
        .collect();
        insta::assert_debug_snapshot!(messages);
    }
}
