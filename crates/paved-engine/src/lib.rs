//! Paved's engine interface: what runs workloads with Amazon ECS semantics, as a trait.
//!
//! - [`Engine`] is the typed interface to ECS's control plane: clusters, task definitions
//!   (`family:revision`), services with their deployment configuration, tasks, load balancer
//!   bindings, service events and tags, one method per ECS operation ([`Operation`]) on ECS's
//!   own shapes ([`api`], [`ecs`]) and errors, so `paved-server`'s `/ecs` adapter only
//!   decodes and encodes ECS's JSON.
//! - ECS's checks ([`validate`]: quotas and rules, with ECS's error types) and the rollout
//!   arithmetic ([`rollout`]) are here too, so every implementation shares them.
//!
//! `paved-engine-local` implements the trait over the store and runs tasks on this machine;
//! an Amazon ECS implementation will implement it without the store, runtime or balancer,
//! which is why this crate depends on none of them.
//!
//! Start reading at [`Engine`].

pub mod api;
pub mod ecs;
mod engine;
pub mod rollout;
pub mod validate;

pub use crate::ecs::{EcsError, ErrorType};
pub use crate::engine::{Engine, Operation};
pub use crate::validate::valid_family;
