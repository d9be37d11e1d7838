//! Best-effort resource limits with cgroup v2: one child cgroup per task, next to the
//! runtime's own cgroup, with `memory.max` and `cpu.max`.

use std::path::{Path, PathBuf};

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// `cpu.max` period, in microseconds.
const CPU_PERIOD_US: u64 = 100_000;

/// Where task cgroups can be created, or why they cannot.
#[derive(Clone, Debug)]
pub(crate) enum Cgroups {
    Available { parent: PathBuf },
    Unavailable { why: String },
}

impl Cgroups {
    pub(crate) fn detect() -> Cgroups {
        let root = Path::new(CGROUP_ROOT);
        if !root.join("cgroup.controllers").exists() {
            return Cgroups::Unavailable {
                why: "cgroup v2 is not mounted at /sys/fs/cgroup".into(),
            };
        }
        let own = std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|line| line.strip_prefix("0::").map(str::to_owned))
            });
        let Some(own) = own else {
            return Cgroups::Unavailable {
                why: "the process's own cgroup v2 path is unknown".into(),
            };
        };
        let own = root.join(own.trim_start_matches('/'));
        let Some(parent) = own.parent().filter(|parent| parent.starts_with(root)) else {
            return Cgroups::Unavailable {
                why: "the process runs in the root cgroup".into(),
            };
        };
        let writable = |path: &Path| rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok();
        if !writable(parent) || !writable(&parent.join("cgroup.procs")) {
            return Cgroups::Unavailable {
                why: format!(
                    "`{}` is not writable (no delegated subtree)",
                    parent.display()
                ),
            };
        }
        let enabled =
            std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
        if !enabled
            .split_whitespace()
            .any(|controller| controller == "memory" || controller == "cpu")
        {
            return Cgroups::Unavailable {
                why: format!(
                    "neither the memory nor the cpu controller is enabled in `{}`",
                    parent.display()
                ),
            };
        }
        Cgroups::Available {
            parent: parent.to_owned(),
        }
    }

    /// Creates the cgroup of a task, or returns `None` when limits cannot apply.
    pub(crate) fn create(
        &self,
        task_id: &str,
        cpu_units: Option<u32>,
        memory_mib: Option<u64>,
    ) -> Option<PathBuf> {
        let Cgroups::Available { parent } = self else {
            return None;
        };
        if cpu_units.is_none() && memory_mib.is_none() {
            return None;
        }
        let dir = parent.join(format!("paved-{task_id}"));
        let result = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            if let Some(memory_mib) = memory_mib {
                std::fs::write(
                    dir.join("memory.max"),
                    (memory_mib * 1024 * 1024).to_string(),
                )?;
            }
            if let Some(cpu_units) = cpu_units {
                let quota = (u64::from(cpu_units) * CPU_PERIOD_US / 1024).max(1000);
                std::fs::write(dir.join("cpu.max"), format!("{quota} {CPU_PERIOD_US}"))?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => Some(dir),
            Err(err) => {
                tracing::warn!(task = task_id, cgroup = %dir.display(), %err, "cannot set resource limits");
                let _ = std::fs::remove_dir(&dir);
                None
            }
        }
    }
}

/// Moves a process into a task's cgroup. Children it forked before the move stay behind.
pub(crate) fn add_process(cgroup: &Path, pid: u32) {
    if let Err(err) = std::fs::write(cgroup.join("cgroup.procs"), pid.to_string()) {
        tracing::warn!(cgroup = %cgroup.display(), pid, %err, "cannot move a process into its cgroup");
    }
}

/// Removes a task's cgroup once its processes are gone.
pub(crate) fn remove(cgroup: &Path) {
    if let Err(err) = std::fs::remove_dir(cgroup) {
        tracing::debug!(cgroup = %cgroup.display(), %err, "cannot remove cgroup");
    }
}
