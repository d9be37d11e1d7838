//! Paved's local engine: the [`paved_engine::Engine`] that keeps ECS's desired state in the
//! store and runs it on this machine.
//!
//! - [`ControlPlane`] answers ECS's operations over the store (`control.rs`, `services.rs`;
//!   the trait's implementation is `local.rs`). Its calls write desired state only, each
//!   with the caller's audit record in the same transaction; any replica answers any call.
//! - [`LocalEngine`] runs that desired state on this machine: the scheduler
//!   (`scheduler.rs`, with ECS's rollout arithmetic in [`paved_engine::rollout`]) starts and
//!   stops tasks through `paved-runtime` (containers as supervised process groups) and routes
//!   traffic through `paved-balancer` (the local load balancer). One replica at a time runs
//!   it. What it offers beyond ECS's operations (images, secrets, logs, load balancers) is in
//!   `operations.rs`.
//!
//! Start reading at [`ControlPlane`] and [`LocalEngine::pass`].

mod control;
mod local;
mod operations;
mod scheduler;
mod services;
mod settings;

pub use crate::control::ControlPlane;
pub use crate::operations::{
    DEFAULT_REFERENCE, FieldProblem, FollowEvent, LoadBalancerStatus, LocalError, LogFollower,
    LogQuery, MAX_LOG_LINES, Missing, SecretInfo, ServiceDetail, ServiceOverview,
    TargetGroupStatus, valid_image_name, valid_secret_name,
};
pub use crate::scheduler::{LoadBalancerConfig, LocalEngine, LocalEngineConfig, secret_name};
pub use crate::services::{ServiceRecord, TaskRecord};
pub use crate::settings::{HealthCheckSettings, LoadBalancerSettings, TargetGroupSettings};
// The types of the load balancer configuration, images and log lines the API takes and gives.
pub use paved_balancer::{HttpHealthCheck, Rule, TargetGroupConfig, TargetHealth, TargetInfo};
pub use paved_runtime::{ImageRef, LogLine, Stream};
