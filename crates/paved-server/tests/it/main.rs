//! Integration tests of the HTTP API against a real server, on SQLite and PostgreSQL.

mod audit_walk;
mod backstage_oracle;
mod bounded_reads;
mod catalog_smoke;
mod common;
mod ecs;
mod ecs_audit;
mod ecs_concurrency;
mod engine;
mod engine_api;
mod http;
mod locations;
mod portal;
mod portal_browser;
mod queries;
mod references;
mod registry;
mod services;
mod system;
mod templates;
mod url_locations;
