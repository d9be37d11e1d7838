//! One module per command; one file per verb.

pub mod audit;
pub mod catalog;
pub mod config;
pub mod engine;
pub mod job;
pub mod service;
pub mod template;
pub mod up;
