//! The catalog: search with facets (the API's `by-query` and `entity-facets` handlers), and an
//! entity's page with its relations drawn.

use axum::extract::{Path, Query, RawQuery, State};
use axum::response::Response;
use minijinja::{Value, context};
use serde_json::Value as Json;

use crate::AppState;
use crate::catalog::entities::{entity_by_name, entity_facets, query_entities};
use crate::portal::graph::{Edge, MAX_DRAWN, relation_graph};
use crate::portal::render::{Refusal, api_error_page, error_page, page, to_value};
use crate::portal::session::Viewer;

const PAGE_SIZE: usize = 25;

/// The facets shown, as (query parameter, entity field, label).
const FACETS: &[(&str, &str, &str)] = &[
    ("kind", "kind", "Kind"),
    ("type", "spec.type", "Type"),
    ("owner", "spec.owner", "Owner"),
    ("lifecycle", "spec.lifecycle", "Lifecycle"),
    ("tag", "metadata.tags", "Tag"),
];

/// The columns one may sort by: (query value, entity field, label).
const SORTS: &[(&str, &str, &str)] = &[
    ("name", "metadata.name", "Name"),
    ("kind", "kind", "Kind"),
    ("type", "spec.type", "Type"),
    ("owner", "spec.owner", "Owner"),
    ("lifecycle", "spec.lifecycle", "Lifecycle"),
];

#[derive(Debug, Default, serde::Deserialize)]
pub struct CatalogQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default, rename = "type")]
    entity_type: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    lifecycle: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    dir: String,
    #[serde(default)]
    page: usize,
}

impl CatalogQuery {
    fn selected(&self, parameter: &str) -> &str {
        match parameter {
            "kind" => &self.kind,
            "type" => &self.entity_type,
            "owner" => &self.owner,
            "lifecycle" => &self.lifecycle,
            "tag" => &self.tag,
            _ => "",
        }
    }

    /// The catalog API's `filter`: every chosen facet (a comma would split a value, so a
    /// value with one is not offered as a filter).
    fn filter(&self) -> String {
        FACETS
            .iter()
            .filter(|(parameter, _, _)| !self.selected(parameter).is_empty())
            .map(|(parameter, field, _)| format!("{field}={}", self.selected(parameter)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// This page's URL with `changes` applied (an empty value removes a parameter); a new
    /// filter or sort starts at the first page.
    fn link(&self, changes: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("q", self.q.clone()),
            ("kind", self.kind.clone()),
            ("type", self.entity_type.clone()),
            ("owner", self.owner.clone()),
            ("lifecycle", self.lifecycle.clone()),
            ("tag", self.tag.clone()),
            ("sort", self.sort.clone()),
            ("dir", self.dir.clone()),
            ("page", String::new()),
        ];
        for (name, value) in changes {
            if let Some(pair) = pairs.iter_mut().find(|(key, _)| key == name) {
                pair.1 = (*value).to_owned();
            }
        }
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter().filter(|(_, value)| !value.is_empty()))
            .finish();
        if encoded.is_empty() {
            "/catalog".to_owned()
        } else {
            format!("/catalog?{encoded}")
        }
    }
}

/// A path segment, percent-encoded.
pub(crate) fn segment(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// The portal page of an entity reference (`kind:namespace/name`).
pub(crate) fn entity_href(reference: &str) -> String {
    let (kind, rest) = reference
        .split_once(':')
        .unwrap_or(("component", reference));
    let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
    format!(
        "/catalog/{}/{}/{}",
        segment(&kind.to_lowercase()),
        segment(namespace),
        segment(name)
    )
}

async fn json_body(response: Response) -> Json {
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    serde_json::from_slice(&body).unwrap_or(Json::Null)
}

pub async fn catalog(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<CatalogQuery>,
) -> Response {
    let filter = query.filter();
    let (sort_parameter, sort_field) = SORTS
        .iter()
        .find(|(parameter, _, _)| *parameter == query.sort)
        .map(|(parameter, field, _)| (*parameter, *field))
        .unwrap_or(("name", "metadata.name"));
    let direction = if query.dir == "desc" { "desc" } else { "asc" };
    let offset = (query.page * PAGE_SIZE).to_string();
    let order = format!("{sort_field},{direction}");
    let limit = PAGE_SIZE.to_string();
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            [
                ("filter", filter.as_str()),
                ("orderField", order.as_str()),
                ("fullTextFilterTerm", query.q.trim()),
                ("limit", limit.as_str()),
                ("offset", offset.as_str()),
            ]
            .iter()
            .filter(|(_, value)| !value.is_empty()),
        )
        .finish();
    let found = match query_entities(State(state.clone()), RawQuery(Some(encoded))).await {
        Ok(response) => json_body(response).await,
        Err(error) => return api_error_page(&viewer, error).await,
    };
    // The serializer is not `Send`: it must not live across an await.
    let facet_query = {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (_, field, _) in FACETS {
            serializer.append_pair("facet", field);
        }
        if !filter.is_empty() {
            serializer.append_pair("filter", &filter);
        }
        serializer.finish()
    };
    let facets = match entity_facets(State(state), RawQuery(Some(facet_query))).await {
        Ok(axum::Json(facets)) => facets.facets,
        Err(error) => return api_error_page(&viewer, error).await,
    };
    let facet_views: Vec<Value> = FACETS
        .iter()
        .map(|(parameter, field, label)| {
            let selected = query.selected(parameter);
            let mut counts = facets.get(*field).cloned().unwrap_or_default();
            counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
            let values: Vec<Value> = counts
                .iter()
                .filter(|count| !count.value.contains(','))
                .take(12)
                .map(|count| {
                    let chosen = count.value == selected;
                    context! {
                        value => count.value.clone(),
                        count => count.count,
                        chosen => chosen,
                        href => query.link(&[(parameter, if chosen { "" } else { count.value.as_str() })]),
                    }
                })
                .collect();
            context! { label => *label, parameter => *parameter, values => values, selected => selected }
        })
        .collect();
    let total = found["totalItems"].as_u64().unwrap_or(0) as usize;
    let items: Vec<Value> = found["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|entity| {
            let kind = entity["kind"].as_str().unwrap_or_default();
            let namespace = entity["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default");
            let name = entity["metadata"]["name"].as_str().unwrap_or_default();
            context! {
                entity => to_value(entity),
                href => entity_href(&format!("{kind}:{namespace}/{name}")),
            }
        })
        .collect();
    let sorts: Vec<Value> = SORTS
        .iter()
        .map(|(parameter, _, label)| {
            let active = *parameter == sort_parameter;
            let next = if active && direction == "asc" {
                "desc"
            } else {
                "asc"
            };
            context! {
                label => *label,
                active => active,
                direction => if active { direction } else { "" },
                href => query.link(&[("sort", parameter), ("dir", next)]),
            }
        })
        .collect();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page_number = query.page.min(pages - 1);
    let previous = (page_number > 0).then(|| {
        query.link(&[
            ("sort", &query.sort),
            ("page", &(page_number - 1).to_string()),
        ])
    });
    let next = (page_number + 1 < pages).then(|| {
        query.link(&[
            ("sort", &query.sort),
            ("page", &(page_number + 1).to_string()),
        ])
    });
    page(
        &viewer,
        "catalog.html",
        "Catalog",
        context! {
            q => query.q.clone(),
            total => total,
            items => items,
            facets => facet_views,
            sorts => sorts,
            page_number => page_number + 1,
            pages => pages,
            previous => previous,
            next => next,
            hidden => FACETS.iter().map(|(parameter, _, _)| context! { name => *parameter, value => query.selected(parameter) }).collect::<Vec<_>>(),
            clear => query.link(&[("q", ""), ("kind", ""), ("type", ""), ("owner", ""), ("lifecycle", ""), ("tag", "")]),
        },
    )
}

pub async fn entity(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Response {
    let found = match entity_by_name(
        State(state.clone()),
        Path((kind.clone(), namespace.clone(), name.clone())),
    )
    .await
    {
        Ok(response) => json_body(response).await,
        Err(error) => return api_error_page(&viewer, error).await,
    };
    if found.is_null() {
        return error_page(
            &viewer,
            &Refusal::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the entity could not be read",
            ),
        );
    }
    let display_kind = found["kind"].as_str().unwrap_or(&kind).to_owned();
    let reference = format!("{}:{namespace}/{name}", display_kind.to_lowercase());
    let mut edges: Vec<Edge> = found["relations"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|relation| {
            let target = relation["targetRef"].as_str()?;
            Some(Edge {
                relation: relation["type"].as_str().unwrap_or_default().to_owned(),
                target: target.to_owned(),
                href: entity_href(target),
            })
        })
        .collect();
    edges.sort_by(|a, b| a.relation.cmp(&b.relation).then(a.target.cmp(&b.target)));
    let graph = relation_graph(&reference, &edges);
    let relations: Vec<Value> = edges
        .iter()
        .map(|edge| context! { relation => edge.relation.clone(), target => edge.target.clone(), href => edge.href.clone() })
        .collect();
    let owner = found["spec"]["owner"].as_str().map(|owner| {
        let reference = if owner.contains(':') {
            owner.to_owned()
        } else {
            format!("group:default/{owner}")
        };
        context! { name => owner, href => entity_href(&reference) }
    });
    // A service created here has a repository to clone.
    let repository = if display_kind.eq_ignore_ascii_case("component") {
        crate::services::get_service(State(state), Path(name.clone()))
            .await
            .ok()
            .map(|axum::Json(service)| service.repository_url)
    } else {
        None
    };
    page(
        &viewer,
        "entity.html",
        &name,
        context! {
            entity => to_value(&found),
            reference => reference,
            kind => display_kind,
            owner => owner,
            relations => relations,
            graph => Value::from_safe_string(graph),
            drawn_all => edges.len() <= MAX_DRAWN,
            repository => repository,
            yaml => serde_json::to_string_pretty(&found).unwrap_or_default(),
        },
    )
}
