//! Creating a service: the gallery of service templates, a form generated from the chosen
//! version's JSON Schema (honouring `ui:` hints), a dry-run preview, and the creation itself,
//! all through `POST /api/services`'s handler (same checks, policy point and audit).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use minijinja::{Value, context};
use serde_json::{Map, Value as Json};

use crate::AppState;
use crate::error::ApiJson;
use crate::portal::render::{
    Refusal, api_error_page, error_page, page, page_with_status, see_other, to_value,
};
use crate::portal::session::Viewer;

/// Service templates with their recommended versions.
pub async fn gallery(State(state): State<AppState>, viewer: Viewer) -> Response {
    match crate::templates::list_templates(State(state)).await {
        Ok(axum::Json(list)) => {
            let services: Vec<&paved_api::TemplateSummary> = list
                .items
                .iter()
                .filter(|template| template.kind == "service")
                .collect();
            page(
                &viewer,
                "gallery.html",
                "Create a service",
                context! { templates => to_value(&services) },
            )
        }
        Err(error) => api_error_page(&viewer, error).await,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct VersionQuery {
    version: Option<String>,
}

/// What the form needs of the template: its summary and the chosen version.
struct Chosen {
    summary: paved_api::TemplateSummary,
    version: paved_api::TemplateVersion,
    /// The published versions one may create from, newest first.
    published: Vec<String>,
}

async fn choose(state: &AppState, name: &str, version: Option<&str>) -> Result<Chosen, Refusal> {
    let detail =
        match crate::templates::get_template(State(state.clone()), Path(name.to_owned())).await {
            Ok(axum::Json(detail)) => detail,
            Err(error) => return Err(Refusal::from_api(error).await),
        };
    let wanted = version
        .filter(|version| !version.is_empty())
        .map(str::to_owned)
        .or_else(|| detail.summary.recommended_version.clone());
    let chosen = detail
        .versions
        .iter()
        .find(|candidate| Some(&candidate.version) == wanted.as_ref())
        .cloned();
    let published = detail
        .versions
        .iter()
        .rev()
        .filter(|candidate| candidate.status == "published")
        .map(|candidate| candidate.version.clone())
        .collect();
    match chosen {
        Some(version) => Ok(Chosen {
            summary: detail.summary,
            version,
            published,
        }),
        None => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "template_not_found",
            format!("`{name}` has no published version to create a service from"),
        )),
    }
}

/// The submitted form: the service's own fields and the template's inputs (`input.NAME`).
#[derive(Debug, Default)]
struct Submitted {
    fields: BTreeMap<String, String>,
    inputs: BTreeMap<String, String>,
}

impl Submitted {
    fn parse(pairs: &[(String, String)]) -> Submitted {
        let mut submitted = Submitted::default();
        for (key, value) in pairs {
            match key.strip_prefix("input.") {
                Some(input) => {
                    submitted.inputs.insert(input.to_owned(), value.clone());
                }
                None => {
                    submitted.fields.insert(key.clone(), value.clone());
                }
            }
        }
        submitted
    }

    fn field(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// The schema's top-level inputs in `ui:order`, then the rest in the schema's order.
fn ordered_inputs(schema: &Json) -> Vec<(String, Json)> {
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    let mut names: Vec<String> = schema["ui:order"]
        .as_array()
        .map(|order| {
            order
                .iter()
                .filter_map(|name| name.as_str())
                .filter(|name| properties.contains_key(*name))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for name in properties.keys() {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
        .into_iter()
        .filter(|name| properties[name]["ui:widget"] != "hidden")
        .map(|name| {
            let property = properties[&name].clone();
            (name, property)
        })
        .collect()
}

fn schema_type(property: &Json) -> &str {
    match &property["type"] {
        Json::String(kind) => kind.as_str(),
        Json::Array(kinds) => kinds
            .iter()
            .filter_map(Json::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("string"),
        _ if property["enum"].is_array() => "string",
        _ => "json",
    }
}

/// A JSON value as the form shows it.
fn shown(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(text) => text.clone(),
        Json::Number(_) | Json::Bool(_) => value.to_string(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

/// The form's fields for the schema, with submitted values (or defaults) and errors.
fn input_fields(
    schema: &Json,
    submitted: Option<&Submitted>,
    errors: &BTreeMap<String, String>,
) -> Vec<Value> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    ordered_inputs(schema)
        .into_iter()
        .map(|(name, property)| {
            let kind = schema_type(&property);
            let widget = match (kind, property["ui:widget"].as_str()) {
                (_, Some("textarea")) => "textarea",
                _ if property["enum"].is_array() => "select",
                ("integer" | "number", _) => "number",
                ("boolean", _) => "checkbox",
                ("string", _) => "text",
                _ => "json",
            };
            let value = match submitted {
                Some(submitted) => submitted.inputs.get(&name).cloned().unwrap_or_default(),
                None => shown(&property["default"]),
            };
            let checked = match submitted {
                Some(submitted) => submitted.inputs.contains_key(&name),
                None => property["default"] == Json::Bool(true),
            };
            let options: Vec<String> = property["enum"]
                .as_array()
                .map(|values| values.iter().map(shown).collect())
                .unwrap_or_default();
            let step = match kind {
                "integer" => property["multipleOf"]
                    .as_u64()
                    .map(|step| step.to_string())
                    .or(Some("1".to_owned())),
                _ => property["multipleOf"].as_f64().map(|step| step.to_string()),
            };
            context! {
                id => format!("input-{name}"),
                name => name.clone(),
                label => property["title"].as_str().map(str::to_owned).unwrap_or_else(|| name.clone()),
                description => property["description"].as_str(),
                help => property["ui:help"].as_str(),
                placeholder => property["ui:placeholder"].as_str(),
                widget => widget,
                required => required.contains(&name.as_str()),
                value => value,
                checked => checked,
                options => options,
                min => to_value(&property["minimum"]),
                max => to_value(&property["maximum"]),
                step => step,
                minlength => property["minLength"].as_u64(),
                maxlength => property["maxLength"].as_u64(),
                pattern => property["pattern"].as_str().map(html_pattern),
                error => errors.get(&name),
            }
        })
        .collect()
}

/// A JSON Schema pattern (ECMA-262, `u` flag) as an HTML `pattern` attribute, which browsers
/// compile with the `v` flag: there, inside a class, `/`, `-` outside a range and doubled
/// punctuation must be escaped. Escaping them changes no match.
fn html_pattern(pattern: &str) -> String {
    const ESCAPE_IN_CLASS: &str = "^$\\.*+?()[]{}|/&-!#%,:;<=>@`~";
    let chars: Vec<char> = pattern.chars().collect();
    let mut html = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c == '\\' {
            html.push(c);
            if let Some(next) = chars.get(index + 1) {
                html.push(*next);
            }
            index += 2;
            continue;
        }
        if !in_class {
            if c == '[' {
                in_class = true;
                html.push(c);
                if chars.get(index + 1) == Some(&'^') {
                    html.push('^');
                    index += 1;
                }
            } else {
                html.push(c);
            }
        } else if c == ']' {
            in_class = false;
            html.push(c);
        } else if c == '-'
            && index > 0
            && chars[index - 1].is_ascii_alphanumeric()
            && chars
                .get(index + 1)
                .is_some_and(char::is_ascii_alphanumeric)
        {
            html.push(c);
        } else if ESCAPE_IN_CLASS.contains(c) {
            html.push('\\');
            html.push(c);
        } else {
            html.push(c);
        }
        index += 1;
    }
    html
}

/// Reads the inputs as the schema types them; what does not parse is an error by its field.
fn typed_inputs(schema: &Json, submitted: &Submitted) -> (Json, BTreeMap<String, String>) {
    let mut inputs = Map::new();
    let mut errors = BTreeMap::new();
    for (name, property) in ordered_inputs(schema) {
        let kind = schema_type(&property);
        if kind == "boolean" {
            inputs.insert(
                name.clone(),
                Json::Bool(submitted.inputs.contains_key(&name)),
            );
            continue;
        }
        let Some(text) = submitted.inputs.get(&name).map(|text| text.trim()) else {
            continue;
        };
        if text.is_empty() {
            continue;
        }
        let parsed = match kind {
            "integer" => text
                .parse::<i64>()
                .map(Json::from)
                .map_err(|_| format!("`{text}` is not a whole number")),
            "number" => text
                .parse::<f64>()
                .map(Json::from)
                .map_err(|_| format!("`{text}` is not a number")),
            "string" => Ok(Json::String(text.to_owned())),
            _ => serde_json::from_str(text).map_err(|error| format!("not valid JSON: {error}")),
        };
        match parsed {
            Ok(value) => {
                inputs.insert(name, value);
            }
            Err(message) => {
                errors.insert(name, message);
            }
        }
    }
    (Json::Object(inputs), errors)
}

/// The Groups of the catalog, the owners a service may have.
async fn groups(state: &AppState) -> Vec<String> {
    let query = "filter=kind=group&orderField=metadata.name,asc&limit=500&fields=metadata.name,metadata.namespace";
    let Ok(response) = crate::catalog::entities::query_entities(
        State(state.clone()),
        RawQuery(Some(query.to_owned())),
    )
    .await
    else {
        return Vec::new();
    };
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let found: Json = serde_json::from_slice(&body).unwrap_or_default();
    found["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|entity| {
            let name = entity["metadata"]["name"].as_str()?;
            Some(match entity["metadata"]["namespace"].as_str() {
                Some(namespace) if namespace != "default" => format!("{namespace}/{name}"),
                _ => name.to_owned(),
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn render_form(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    chosen: &Chosen,
    submitted: Option<&Submitted>,
    errors: &BTreeMap<String, String>,
    message: Option<String>,
    preview: Option<Value>,
) -> Response {
    let fields = input_fields(&chosen.version.schema, submitted, errors);
    let empty = Submitted::default();
    let given = submitted.unwrap_or(&empty);
    page_with_status(
        viewer,
        status,
        "create.html",
        &format!("Create from {}", chosen.summary.name),
        context! {
            template => to_value(&chosen.summary),
            version => chosen.version.version.clone(),
            published => chosen.published.clone(),
            recommended => chosen.summary.recommended_version.clone(),
            readme => chosen.version.readme.clone(),
            fields => fields,
            groups => groups(state).await,
            service => context! {
                name => given.field("name"),
                owner => given.field("owner"),
                description => given.field("description"),
                system => given.field("system"),
                lifecycle => if given.field("lifecycle").is_empty() { "experimental" } else { given.field("lifecycle") },
            },
            errors => to_value(errors),
            message => message,
            preview => preview,
        },
    )
}

pub async fn form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(template): Path<String>,
    Query(query): Query<VersionQuery>,
) -> Response {
    match choose(&state, &template, query.version.as_deref()).await {
        Ok(chosen) => {
            render_form(
                &state,
                &viewer,
                StatusCode::OK,
                &chosen,
                None,
                &BTreeMap::new(),
                None,
                None,
            )
            .await
        }
        Err(refusal) => error_page(&viewer, &refusal),
    }
}

/// The form field an API error belongs to, when it names one.
fn field_of(refusal: &Refusal, problem: Option<&paved_api::ApiProblem>) -> Option<String> {
    if let Some(field) = problem.and_then(|problem| problem.field.as_deref()) {
        // Input problems point into the inputs (`/port`, `/autoscaling/max_count`).
        let top = field.trim_start_matches('/').split('/').next()?;
        return Some(top.to_owned()).filter(|top| !top.is_empty());
    }
    match refusal.code.as_str() {
        "service_exists" => Some("name".to_owned()),
        "unknown_owner" => Some("owner".to_owned()),
        "invalid_request" if refusal.message.contains("service name") => Some("name".to_owned()),
        "invalid_request" if refusal.message.starts_with("owner") => Some("owner".to_owned()),
        "invalid_request" if refusal.message.contains("system name") => Some("system".to_owned()),
        _ => None,
    }
}

/// Previews (a dry run) or creates, as `POST /api/services` does; a created service's job
/// page follows its log.
pub async fn submit(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(template): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let submitted = Submitted::parse(&pairs);
    if let Err(refusal) = viewer.check_form(&headers, Some(submitted.field("csrf"))) {
        return error_page(&viewer, &refusal);
    }
    let chosen = match choose(&state, &template, Some(submitted.field("version"))).await {
        Ok(chosen) => chosen,
        Err(refusal) => return error_page(&viewer, &refusal),
    };
    let dry_run = submitted.field("action") == "preview";
    let (inputs, errors) = typed_inputs(&chosen.version.schema, &submitted);
    if !errors.is_empty() {
        return render_form(
            &state,
            &viewer,
            StatusCode::BAD_REQUEST,
            &chosen,
            Some(&submitted),
            &errors,
            Some("Some inputs are not valid; see the fields marked below.".to_owned()),
            None,
        )
        .await;
    }
    let optional = |name: &str| {
        Some(submitted.field(name).trim().to_owned()).filter(|value| !value.is_empty())
    };
    let body = paved_api::CreateServiceBody {
        name: submitted.field("name").trim().to_owned(),
        template: format!("{}@{}", chosen.summary.name, chosen.version.version),
        owner: submitted.field("owner").trim().to_owned(),
        system: optional("system"),
        lifecycle: optional("lifecycle"),
        description: optional("description"),
        environment: None,
        inputs,
        pipeline_inputs: None,
        repository_url: None,
        dry_run,
    };
    match crate::services::create_service(
        State(state.clone()),
        viewer.caller.clone(),
        ApiJson(body),
    )
    .await
    {
        Ok((_, axum::Json(created))) => match created.job_id {
            Some(job) if !dry_run => see_other(&format!("/jobs/{job}")),
            _ => {
                let preview = context! {
                    clone_url => created.clone_url,
                    template_version => created.template_version,
                    files => to_value(&created.files),
                };
                render_form(
                    &state,
                    &viewer,
                    StatusCode::OK,
                    &chosen,
                    Some(&submitted),
                    &BTreeMap::new(),
                    None,
                    Some(preview),
                )
                .await
            }
        },
        Err(error) => {
            let refusal = Refusal::from_api(error).await;
            let mut errors = BTreeMap::new();
            let mut unplaced = Vec::new();
            if refusal.problems.is_empty() {
                match field_of(&refusal, None) {
                    Some(field) => {
                        errors.insert(field, refusal.message.clone());
                    }
                    None => unplaced.push(refusal.message.clone()),
                }
            }
            for problem in &refusal.problems {
                match field_of(&refusal, Some(problem)) {
                    Some(field) => {
                        errors
                            .entry(field)
                            .and_modify(|message: &mut String| {
                                message.push_str("; ");
                                message.push_str(&problem.message);
                            })
                            .or_insert_with(|| problem.message.clone());
                    }
                    None => unplaced.push(problem.message.clone()),
                }
            }
            let message = if unplaced.is_empty() {
                format!("{} See the fields marked below.", refusal.message)
            } else {
                format!("{} {}", refusal.message, unplaced.join("; "))
            };
            render_form(
                &state,
                &viewer,
                refusal.status(),
                &chosen,
                Some(&submitted),
                &errors,
                Some(message),
                None,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_are_escaped_for_the_v_flag() {
        assert_eq!(
            html_pattern("^[A-Za-z0-9][A-Za-z0-9._/:@#-]*$"),
            r"^[A-Za-z0-9][A-Za-z0-9\._\/\:\@\#\-]*$"
        );
        assert_eq!(
            html_pattern(r"^/[a-z]+(\.[a-z]+)?$"),
            r"^/[a-z]+(\.[a-z]+)?$"
        );
        assert_eq!(html_pattern("[^-a]"), r"[^\-a]");
    }

    #[test]
    fn inputs_follow_ui_order_then_the_schema() {
        let schema = json!({
            "ui:order": ["b"],
            "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": "string", "ui:widget": "hidden"}},
        });
        let names: Vec<String> = ordered_inputs(&schema)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["b", "a"]);
    }

    #[test]
    fn inputs_are_typed_by_the_schema_and_bad_ones_named() {
        let schema = json!({"properties": {
            "port": {"type": "integer"},
            "ok": {"type": "boolean"},
            "env": {"type": "object"},
            "image": {"type": "string"},
            "blank": {"type": "string"},
        }});
        let pairs = vec![
            ("input.port".to_owned(), "80".to_owned()),
            ("input.env".to_owned(), "{\"A\": \"1\"}".to_owned()),
            ("input.image".to_owned(), "nginx".to_owned()),
            ("input.blank".to_owned(), "  ".to_owned()),
        ];
        let (inputs, errors) = typed_inputs(&schema, &Submitted::parse(&pairs));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            inputs,
            json!({"port": 80, "ok": false, "env": {"A": "1"}, "image": "nginx"})
        );
        let pairs = vec![("input.port".to_owned(), "eighty".to_owned())];
        let (_, errors) = typed_inputs(&schema, &Submitted::parse(&pairs));
        assert_eq!(errors["port"], "`eighty` is not a whole number");
    }
}
