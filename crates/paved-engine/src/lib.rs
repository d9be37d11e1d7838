//! Paved's engine: what runs workloads with Amazon ECS semantics.
//!
//! Today this is the control plane of the local engine: ECS clusters and task definitions
//! (`family:revision`, ACTIVE or INACTIVE), kept in the store and answered in ECS's own
//! shapes and errors ([`ecs`]), so the AWS CLI and SDKs work against `paved-server`'s `/ecs`
//! endpoint. Services, tasks and the processes that run them come next.
//!
//! Start reading at [`Engine::handle`].

pub mod ecs;
mod engine;
mod validate;

pub use crate::ecs::{EcsError, ErrorType};
pub use crate::engine::{Engine, Operation};
pub use crate::validate::valid_family;
