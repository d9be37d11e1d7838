//! `paved images`: the images the local engine can run.

use paved_api::ImageList;
use paved_cli::{OutputFormat, ServerArgs};

use crate::Failure;
use crate::client::Client;
use crate::output;

pub async fn run(server: &ServerArgs, format: OutputFormat) -> Result<(), Failure> {
    let list: ImageList = Client::new(server)?.get("/api/engine/images").await?;
    output::print(format, &list, || {
        let mut table = output::table(&["name", "commit", "image"]);
        for image in &list.items {
            table.add_row(vec![
                image.name.clone(),
                image.commit.chars().take(12).collect(),
                image.image.clone(),
            ]);
        }
        table
    })?;
    Ok(())
}
