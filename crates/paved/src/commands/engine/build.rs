//! `paved build SERVICE [--ref REF]`: builds `local/SERVICE:COMMIT` on the server and prints it.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use paved_api::{BuildImageBody, Image};
use paved_cli::{BuildArgs, TextOutputFormat};

use crate::Failure;
use crate::client::Client;
use crate::commands::engine::to_json;
use crate::commands::template::report_problems;
use crate::output::emit;

pub async fn run(args: BuildArgs) -> Result<(), Failure> {
    let BuildArgs {
        service,
        reference,
        output,
        server,
    } = args;
    let spinner = std::io::stderr().is_terminal().then(|| {
        let spinner = ProgressBar::new_spinner();
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .expect("a valid template")
                .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
        );
        spinner.set_message(format!("building {service} at {reference}"));
        spinner.enable_steady_tick(Duration::from_millis(100));
        spinner
    });
    let body = BuildImageBody {
        service: service.clone(),
        reference: Some(reference),
    };
    let built: anyhow::Result<Image> = Client::new(&server)?
        .post("/api/engine/images", &body)
        .await;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    let image = built.map_err(|error| {
        report_problems(error, &format!("no image of `{service}` was built"), None)
    })?;
    match output {
        TextOutputFormat::Json => emit(to_json(&image)?),
        TextOutputFormat::Text => emit(&image.image),
    }
    Ok(())
}
