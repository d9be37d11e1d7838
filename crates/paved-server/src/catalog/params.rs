//! Query-string parameters as Backstage's catalog sends them: repeated keys and
//! comma-separated lists.

use paved_catalog::filter::{Filter, parse_filter_params};
use paved_catalog::query::{FullTextFilter, OrderField};

use crate::error::ApiError;
use paved_api::ErrorCode;

pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<&str>) -> Params {
        Params(
            form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    }

    pub fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of a repeatable, comma-separated parameter.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.all(name)
            .iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn filter(&self) -> Result<Option<Filter>, ApiError> {
        Ok(parse_filter_params(&self.all("filter"))?)
    }

    pub fn number(&self, name: &str) -> Result<Option<usize>, ApiError> {
        self.first(name)
            .map(|value| {
                value.parse::<usize>().map_err(|_| {
                    ApiError::bad_request(
                        ErrorCode::InvalidParameter,
                        format!("`{name}` must be a non-negative integer, got `{value}`"),
                    )
                })
            })
            .transpose()
    }

    /// `orderField=metadata.name,asc` (repeatable).
    pub fn order(&self) -> Result<Vec<OrderField>, ApiError> {
        self.all("orderField")
            .iter()
            .map(|value| {
                let (field, direction) = value.split_once(',').unwrap_or((value.as_str(), "asc"));
                order_field(field, Some(direction))
            })
            .collect()
    }

    pub fn full_text(&self) -> Option<FullTextFilter> {
        let term = self.first("fullTextFilterTerm")?.trim().to_lowercase();
        (!term.is_empty()).then(|| FullTextFilter {
            term,
            fields: self
                .list("fullTextFilterFields")
                .into_iter()
                .map(|field| field.to_lowercase())
                .collect(),
        })
    }
}

pub fn order_field(field: &str, direction: Option<&str>) -> Result<OrderField, ApiError> {
    let descending = match direction.map(str::trim) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidParameter,
                format!("order `{other}` for `{field}` is not accepted: expected `asc` or `desc`"),
            ));
        }
    };
    Ok(OrderField {
        field: field.trim().to_owned(),
        descending,
    })
}
