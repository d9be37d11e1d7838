//! The local engine's container runtime: it runs the containers of ECS tasks as
//! supervised local process groups.
//!
//! An **image** ([`ImageStore::build`]) is a git repository's tree at one commit, stored
//! under `<root>/images/<name>/<commit>/` with what its Dockerfile says to run, and named
//! `local/<name>:<commit>`. A **task** ([`Runtime::start`]) gets a working copy of each
//! container's image under `<root>/tasks/<task_id>/containers/<container>/`; each
//! container is one process, leading its own process group, started in `dependsOn`
//! order and supervised by a Tokio task that reports a [`TaskState`] with ECS's statuses,
//! health, stop codes and reasons. Output goes to the [`LogStore`] as JSON lines, under
//! `<root>/tasks/<task_id>/logs/`. A process group's PID and start time
//! ([`ProcessRecord`]) let the next run clean up after a crash ([`kill_leftovers`]).
//!
//! # Where the local runtime differs from ECS and Docker
//!
//! - **No isolation.** Containers are host processes with the runtime's user: no
//!   filesystem, PID, user or network namespaces. A container sees the whole host
//!   filesystem; its working copy is only its working directory (and `HOME`).
//! - **Base images are ignored.** Of the Dockerfile, only `ENTRYPOINT`, `CMD`,
//!   `WORKDIR`, `ENV` (and `ARG` values for substitution) and `COPY`/`ADD .` of the last
//!   stage are read; `FROM`, `RUN` and the rest are not, so programs come from the host
//!   (`python3`, `node`… along the host's `PATH`). A container path under the `COPY .`
//!   destination maps to the matching directory of the working copy, any other path to
//!   the working copy's root; absolute paths in arguments are not rewritten. An image
//!   `ENV PATH` keeps only its directories under the copy destination, before the host's
//!   `PATH`. Files starting with `#!` are made executable (git modes are not read);
//!   symbolic links and submodules are left out.
//! - **Environment.** Built from nothing: the host's `PATH` and `LANG`, `HOME` (the
//!   working directory), the image's `ENV`, then the container definition's environment.
//!   The runtime's own environment never leaks into containers.
//! - **Ports are remapped, not forwarded.** Each container port gets a free host port on
//!   127.0.0.1; the program must listen on it: `PORT` holds the host port of the first
//!   mapping and `PAVED_PORT_<containerPort>` each one's (they override the task
//!   definition's values).
//! - **Limits.** With cgroup v2 and a writable parent of the runtime's own cgroup, each
//!   task gets a cgroup with `memory.max` and `cpu.max` (the task's values, else the sum
//!   of its containers'); container processes are moved in right after they start, so
//!   anything they fork before that is not limited. Without cgroup v2 delegation nothing
//!   is limited (logged once). Per-container limits, ulimits, GPUs and storage are never
//!   applied.
//! - **Exit.** When a container's main process exits, the rest of its process group is
//!   killed (as a container's PID namespace would be). Exit codes of processes ended by
//!   a signal are 128 + the signal, as in Docker.
//! - **Health checks** run on the host with the container's environment and working
//!   directory, with durations below a second allowed; the runtime reports health and
//!   never stops an unhealthy task.
//! - **Logs** are capped at 16 KiB per line (cut lines are marked `truncated`) and
//!   rotated at [`RuntimeConfig::log_max_bytes`], keeping
//!   [`RuntimeConfig::log_max_files`] rotated files.

mod cgroup;
mod dockerfile;
mod health;
pub mod image;
pub mod logs;
mod process;
mod runtime;
mod spec;
mod state;

pub use dockerfile::ImageConfig;
pub use image::{Image, ImageError, ImageRef, ImageStore, PullError};
pub use logs::{LogLine, LogStore, Stream};
pub use process::{kill_leftovers, kill_strays, process_record};
pub use runtime::{Runtime, RuntimeConfig, RuntimeError};
pub use spec::{Condition, ContainerSpec, Dependency, HealthCheckSpec, TaskSpec};
pub use state::{
    ContainerState, ContainerStatus, Health, PortBinding, ProcessRecord, Stop, StopCode, TaskState,
    TaskStatus,
};
