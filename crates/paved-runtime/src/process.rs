//! Process groups: signalling them and finding the ones a crashed run left behind.

use rustix::process::{Pid, Signal, kill_process_group};
use std::path::Path;

use crate::state::ProcessRecord;

/// The fields of `/proc/PID/stat` the runtime needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stat {
    process_group: u32,
    start_time: u64,
}

/// Parses `/proc/PID/stat`. The command name (field 2) is in parentheses and may hold
/// spaces and parentheses itself, so fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let after_name = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `fields[0]` is field 3 (state), so field N is `fields[N - 3]`.
    Some(Stat {
        process_group: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
    })
}

fn read_stat(pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The record of a live process: its PID and start time, or `None` when it is gone.
pub fn process_record(pid: u32) -> Option<ProcessRecord> {
    read_stat(pid).map(|stat| ProcessRecord {
        pid,
        start_time: stat.start_time,
    })
}

/// Sends `signal` to the process group led by `pid`; a group that is gone is not an error.
pub(crate) fn signal_group(pid: u32, signal: Signal) {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return;
    };
    if let Err(err) = kill_process_group(pid, signal)
        && err != rustix::io::Errno::SRCH
    {
        tracing::warn!(pid = pid.as_raw_nonzero().get(), %err, "cannot signal process group");
    }
}

/// Kills the process groups a previous run of Paved left behind (after a crash), and
/// returns how many it killed.
///
/// A group is killed only when its leader is still alive with the recorded start time,
/// or, when the leader has exited, when every process left in the group started no
/// earlier than the recorded leader did (a group keeps its number allocated while any
/// member lives, so such members are the leader's children). A reused PID is never killed.
/// The caller's own process group is never killed.
pub fn kill_leftovers(processes: &[ProcessRecord]) -> usize {
    let own_group = read_stat(std::process::id()).map(|stat| stat.process_group);
    let mut killed = 0;
    for record in processes {
        if Some(record.pid) == own_group || record.pid <= 1 {
            continue;
        }
        let verified = match read_stat(record.pid) {
            Some(stat) => stat.start_time == record.start_time && stat.process_group == record.pid,
            None => {
                let members = group_members(record.pid);
                !members.is_empty()
                    && members
                        .iter()
                        .all(|stat| stat.start_time >= record.start_time)
            }
        };
        if verified {
            tracing::info!(
                pid = record.pid,
                "killing a process group left by a previous run"
            );
            signal_group(record.pid, Signal::KILL);
            killed += 1;
        }
    }
    killed
}

/// Kills the process groups of processes working under `tasks_dir` (the runtime's
/// `<root>/tasks`) that belong to no task this process runs: a crashed run's containers that
/// were spawned after their [`ProcessRecord`] could be written. Only processes whose working
/// directory is inside the directory are touched, and never the caller's own group.
/// Returns how many groups were killed.
pub fn kill_strays(tasks_dir: &Path, running: &[String]) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let own_group = read_stat(std::process::id()).map(|stat| stat.process_group);
    let mut groups = std::collections::BTreeSet::new();
    for pid in entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd")) else {
            continue;
        };
        let Ok(inside) = cwd.strip_prefix(tasks_dir) else {
            continue;
        };
        let task = inside
            .components()
            .next()
            .and_then(|part| part.as_os_str().to_str());
        if task.is_some_and(|task| running.iter().any(|id| id == task)) {
            continue;
        }
        if let Some(stat) = read_stat(pid)
            && Some(stat.process_group) != own_group
            && stat.process_group > 1
        {
            groups.insert(stat.process_group);
        }
    }
    for group in &groups {
        tracing::info!(
            group,
            "killing a stray process group left by a previous run"
        );
        signal_group(*group, Signal::KILL);
    }
    groups.len()
}

/// The processes whose process group is `group`.
fn group_members(group: u32) -> Vec<Stat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(read_stat)
        .filter(|stat| stat.process_group == group)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_awkward_command_names() {
        let text = "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200 18446744073709551615";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                process_group: 1234,
                start_time: 987654
            })
        );
        assert_eq!(parse_stat("1234 (short) S 1"), None);
    }

    #[test]
    fn reads_its_own_record() {
        let record = process_record(std::process::id()).expect("own stat");
        assert!(record.start_time > 0);
    }
}
