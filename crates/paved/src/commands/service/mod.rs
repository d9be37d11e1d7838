//! `paved service ...`: thin clients of `/api/services`; creating one runs a job, followed
//! with `commands::job`.

pub mod create;
pub mod list;
pub mod show;
