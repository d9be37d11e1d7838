//! `paved catalog locations add|list|remove`

use paved_api::{AddLocationResponse, Location, LocationItem, LocationSpec};
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::output;

/// The location type a target implies when `--type` is not given.
fn guess_type(target: &str) -> &'static str {
    let is_repository = target.ends_with(".git") || target.contains(".git#");
    if (target.starts_with("https://") || target.starts_with("http://")) && !is_repository {
        "url"
    } else if is_repository {
        "git"
    } else {
        "file"
    }
}

pub async fn add(
    server: &ServerArgs,
    target: &str,
    location_type: Option<&str>,
    dry_run: bool,
    format: OutputFormat,
) -> Result<(), Failure> {
    let location_type = location_type.unwrap_or_else(|| guess_type(target));
    // Relative file paths are the caller's, not the server's: send them absolute.
    let target = if location_type == "file" && !target.starts_with('/') {
        std::env::current_dir()
            .map_err(anyhow::Error::from)?
            .join(target)
            .display()
            .to_string()
    } else {
        target.to_owned()
    };
    let spec = LocationSpec {
        location_type: location_type.to_owned(),
        target,
    };
    let path = if dry_run {
        "/api/catalog/locations?dryRun=true"
    } else {
        "/api/catalog/locations"
    };
    let response: AddLocationResponse = Client::new(server)?.post(path, &spec).await?;
    output::print(format, &response, || {
        for problem in &response.problems {
            eprintln!(
                "problem: {}",
                paved_model::problem::Problem::from(problem.clone())
            );
        }
        let mut table = output::table(&["id", "type", "target", "entities", "problems"]);
        table.add_row(vec![
            if dry_run {
                "(dry run)".to_owned()
            } else {
                response.location.id.clone()
            },
            response.location.location_type.clone(),
            response.location.target.clone(),
            response.entity_refs.len().to_string(),
            response.problems.len().to_string(),
        ]);
        table
    })?;
    Ok(())
}

pub async fn list(server: &ServerArgs, format: OutputFormat) -> Result<(), Failure> {
    let locations: Vec<LocationItem> = Client::new(server)?.get("/api/catalog/locations").await?;
    // Backstage wraps each location as `{"data": ...}`; the CLI lists the locations themselves.
    let locations: Vec<Location> = locations.into_iter().map(|item| item.data).collect();
    let items = output::Items { items: &locations };
    output::print(format, &items, || {
        let mut table = output::table(&["id", "type", "target", "refreshed", "problems"]);
        for location in &locations {
            table.add_row(vec![
                location.id.clone(),
                location.location_type.clone(),
                location.target.clone(),
                location
                    .refreshed_at
                    .clone()
                    .unwrap_or_else(|| "never".to_owned()),
                location.problems.len().to_string(),
            ]);
        }
        table
    })?;
    Ok(())
}

pub async fn remove(server: &ServerArgs, id: &str) -> Result<(), Failure> {
    Client::new(server)?
        .delete(&format!("/api/catalog/locations/{id}"))
        .await?;
    eprintln!("removed location {id} and its entities");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::guess_type;

    #[test]
    fn guesses_the_type_from_the_target() {
        for (target, expect) in [
            ("./catalog-info.yaml", "file"),
            ("/srv/*/catalog-info.yaml", "file"),
            ("/srv/git/shop.git#ref=main", "git"),
            ("https://github.com/acme/shop.git", "git"),
            (
                "https://github.com/acme/shop/blob/main/catalog-info.yaml",
                "url",
            ),
            (
                "https://bitbucket.org/acme/shop/src/main/catalog-info.yaml",
                "url",
            ),
            (
                "https://dev.azure.com/acme/shop/_git/web?path=/catalog-info.yaml",
                "url",
            ),
            ("https://docs.example.com/catalog-info.yaml", "url"),
        ] {
            assert_eq!(guess_type(target), expect, "{target}");
        }
    }
}
