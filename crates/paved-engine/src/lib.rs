//! Paved's engine: what runs workloads with Amazon ECS semantics.
//!
//! - [`Engine`] is the typed interface to ECS's control plane: clusters, task definitions
//!   (`family:revision`), services with their deployments, and tasks, one method per ECS
//!   operation ([`Operation`]) on ECS's own shapes ([`api`], [`ecs`]) and errors, so
//!   `paved-server`'s `/ecs` adapter only decodes and encodes ECS's JSON.
//! - [`ControlPlane`] implements it over the store. Its calls write desired state only; any
//!   replica answers any call.
//! - [`LocalEngine`] runs that desired state on this machine: the scheduler
//!   (`scheduler.rs`, with ECS's rollout arithmetic in [`rollout`]) starts and stops tasks
//!   through `paved-runtime` (containers as supervised process groups) and routes traffic
//!   through `paved-balancer` (the local load balancer). One replica at a time runs it.
//!
//! Start reading at [`Engine`] and [`LocalEngine::pass`].

pub mod api;
mod control;
pub mod ecs;
mod engine;
mod local;
mod operations;
pub mod rollout;
mod scheduler;
mod services;
pub mod validate;

pub use crate::control::ControlPlane;
pub use crate::ecs::{EcsError, ErrorType};
pub use crate::engine::{Engine, Operation};
pub use crate::operations::{
    DEFAULT_REFERENCE, FieldProblem, FollowEvent, LoadBalancerStatus, LocalError, LogFollower,
    LogQuery, MAX_LOG_LINES, Missing, SecretInfo, ServiceDetail, ServiceOverview,
    TargetGroupStatus, valid_image_name, valid_secret_name,
};
pub use crate::scheduler::{LoadBalancerConfig, LocalEngine, LocalEngineConfig, secret_name};
pub use crate::services::{ServiceRecord, TaskRecord};
pub use crate::validate::valid_family;
// The types of the load balancer configuration, images and log lines the API takes and gives.
pub use paved_balancer::{HttpHealthCheck, Rule, TargetGroupConfig, TargetHealth, TargetInfo};
pub use paved_runtime::{ImageRef, LogLine, Stream};
