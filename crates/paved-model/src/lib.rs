//! Domain types of Paved's software catalog, with no IO.
//!
//! An [`entity::Entity`] is a catalog record in Backstage's envelope (`apiVersion`, `kind`,
//! `metadata`, `spec`, computed `relations`). [`yaml`] splits and parses `catalog-info.yaml`
//! files keeping line numbers, [`validation`] applies Backstage's rules and reports every
//! [`problem::Problem`] with its field and rule, and [`relations`] derives the relations an
//! entity emits from its spec.
//!
//! [`access`] names who acts on what ([`access::Principal`], [`access::Action`],
//! [`access::Resource`]) and the audit record of each mutation; [`ids`] holds the id newtypes.
//!
//! This crate deliberately knows nothing about storage, HTTP or the file system: it takes text
//! and values and returns values. Start reading at [`entity_ref::EntityRef`].

pub mod access;
pub mod entity;
pub mod entity_ref;
pub mod ids;
pub mod job;
pub mod problem;
pub mod relations;
pub mod validation;
pub mod yaml;
