//! The template registry: template versions in the store, read from directories, archives and
//! git, kept in sync with a git repository, and the built-in golden paths.

pub mod source;
