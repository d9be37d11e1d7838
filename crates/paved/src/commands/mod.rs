//! One module per command; one file per verb.

pub mod catalog;
pub mod service;
pub mod template;
pub mod up;
