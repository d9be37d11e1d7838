//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::catalog::{entities, locations};
use crate::{audit, engine, jobs, services, templates};

#[derive(OpenApi)]
#[openapi(
    info(title = "Paved API", description = "Paved's control-plane API. The catalog API under `/api/catalog` follows Backstage's catalog API."),
    paths(
        entities::list_entities,
        entities::query_entities,
        entities::query_entities_by_predicate,
        entities::entity_by_name,
        entities::entity_by_uid,
        entities::entities_by_refs,
        entities::entity_facets,
        entities::refresh,
        entities::validate_entity,
        locations::list_locations,
        locations::create_location,
        locations::get_location,
        locations::delete_location,
        locations::location_by_entity,
        templates::list_templates,
        templates::get_template,
        templates::get_version,
        templates::register_version,
        templates::publish_version,
        templates::withdraw_version,
        templates::render_template,
        templates::list_syncs,
        templates::add_sync,
        templates::run_sync,
        templates::remove_sync,
        services::create_service,
        services::list_services,
        services::get_service,
        jobs::list_jobs,
        jobs::get_job,
        jobs::job_events,
        jobs::cancel_job,
        audit::list_audit,
        engine::build_image,
        engine::list_images,
        engine::list_secrets,
        engine::put_secret,
        engine::delete_secret,
        engine::list_load_balancers,
        engine::put_load_balancer,
        engine::get_load_balancer,
        engine::delete_load_balancer,
        engine::list_services,
        engine::get_service,
        engine::service_logs,
    ),
    modifiers(&BearerAuth),
    tags((name = "catalog", description = "Backstage-compatible software catalog"),
        (name = "templates", description = "Golden-path templates: versions, dry-run renders, template sync"),
        (name = "services", description = "Services created from golden paths"),
        (name = "jobs", description = "Durable background jobs (creating services, deployments): state, logs, cancel"),
        (name = "audit", description = "The audit log: every mutation, who made it and how it ended (admins)"),
        (name = "engine", description = "The local engine: images built from service repositories, secrets, load balancers, services and their logs"))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
