//! `paved catalog ...`

pub mod get;
pub mod locations;
pub mod query;
pub mod refresh;
pub mod validate;
