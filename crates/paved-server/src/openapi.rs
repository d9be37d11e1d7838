//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::catalog::{entities, locations};
use crate::{audit, engine, jobs, services, system, templates};

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
        system::healthz,
        system::metrics,
        system::openapi,
    ),
    modifiers(&BearerAuth, &HttpLayerErrors),
    tags((name = "catalog", description = "Backstage-compatible software catalog"),
        (name = "templates", description = "Golden-path templates: versions, dry-run renders, template sync"),
        (name = "services", description = "Services created from golden paths"),
        (name = "jobs", description = "Durable background jobs (creating services, deployments): state, logs, cancel"),
        (name = "audit", description = "The audit log: every mutation, who made it and how it ended (admins)"),
        (name = "engine", description = "The local engine: images built from service repositories, secrets, load balancers, services and their logs"),
        (name = "system", description = "Health, metrics and this document"))
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

/// The error answers the HTTP layer can give any route, declared on every operation they
/// apply to, so the document lists every status a route can answer
/// (`crate::http::harden` puts each in the API's envelope): 400 for a malformed parameter or
/// body, 401 where a token is needed, 408 when an answer takes too long, 413 for a body over
/// the route's limit, 500 when the store fails. Path parameters are never empty (an empty
/// segment matches no route), which the document says with `minLength: 1`.
struct HttpLayerErrors;

impl utoipa::Modify for HttpLayerErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                declare_http_layer_errors(operation);
            }
        }
    }
}

fn declare_http_layer_errors(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::path::ParameterIn;
    let mut statuses = vec![
        ("408", "The answer took too long and was given up"),
        ("500", "Internal error (details in the server log)"),
    ];
    let parameters = operation.parameters.get_or_insert_with(Vec::new);
    for parameter in parameters.iter_mut() {
        if let RefOr::T(parameter) = parameter
            && parameter.parameter_in == ParameterIn::Path
            && let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(schema))) =
                &mut parameter.schema
        {
            schema.min_length.get_or_insert(1);
        }
    }
    if !parameters.is_empty() || operation.request_body.is_some() {
        statuses.push(("400", "The request is not valid"));
    }
    if operation.request_body.is_some() {
        statuses.push(("413", "The request body is over the route's limit"));
    }
    if operation.security.is_some() {
        statuses.push(("401", "A valid token is needed"));
    }
    for (status, description) in statuses {
        add_error_response(&mut operation.responses, status, description);
    }
}

/// Declares the error envelope for `status`; a route that already answers something else with
/// it (Backstage's own shape) may answer either.
fn add_error_response(responses: &mut utoipa::openapi::Responses, status: &str, description: &str) {
    use utoipa::openapi::schema::{OneOfBuilder, Schema};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let envelope: RefOr<Schema> = Ref::from_schema_name("ErrorResponse").into();
    let Some(RefOr::T(response)) = responses.responses.get_mut(status) else {
        responses.responses.insert(
            status.to_owned(),
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(envelope)).build(),
                )
                .build()
                .into(),
        );
        return;
    };
    let content = response
        .content
        .entry("application/json".to_owned())
        .or_insert_with(|| RefOr::T(ContentBuilder::new().build()));
    let RefOr::T(content) = content else {
        return;
    };
    match content.schema.take() {
        Some(RefOr::Ref(existing)) if existing.ref_location.ends_with("/ErrorResponse") => {
            content.schema = Some(RefOr::Ref(existing));
        }
        Some(existing) => {
            content.schema = Some(
                Schema::OneOf(OneOfBuilder::new().item(existing).item(envelope).build()).into(),
            );
        }
        None => content.schema = Some(envelope),
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
