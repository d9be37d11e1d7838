//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::catalog::{entities, locations};
use crate::{engine, services, templates};

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
        services::get_task,
        services::task_events,
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
        (name = "services", description = "Services created from golden paths, and the durable tasks that create them"),
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

/// The methods the route of `path` takes (`GET, POST`), from the OpenAPI document, which
/// names every route: for the `Allow` header of a 405.
pub(crate) fn allowed_methods(path: &str) -> Option<String> {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    let document = DOCUMENT.get_or_init(document);
    let item = document
        .paths
        .paths
        .iter()
        .find(|(template, _)| matches_template(template, path))
        .map(|(_, item)| item)?;
    let methods: Vec<&str> = [
        ("GET", item.get.is_some()),
        ("PUT", item.put.is_some()),
        ("POST", item.post.is_some()),
        ("DELETE", item.delete.is_some()),
        ("PATCH", item.patch.is_some()),
        ("HEAD", item.head.is_some()),
    ]
    .into_iter()
    .filter_map(|(method, present)| present.then_some(method))
    .collect();
    (!methods.is_empty()).then(|| methods.join(", "))
}

/// Whether `path` is an instance of `template` (`/api/templates/{name}`): the same
/// segments, a `{parameter}` standing for any one.
fn matches_template(template: &str, path: &str) -> bool {
    let mut path_segments = path.split('/');
    template.split('/').all(|segment| {
        path_segments.next().is_some_and(|actual| {
            (segment.starts_with('{') && segment.ends_with('}') && !actual.is_empty())
                || segment == actual
        })
    }) && path_segments.next().is_none()
}
