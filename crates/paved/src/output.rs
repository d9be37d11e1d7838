//! Printing results as tables, JSON or YAML.

use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};
use paved_cli::OutputFormat;
use serde::Serialize;

/// Writes a line to stdout. A closed pipe (`paved ... | head`) ends the program quietly, as
/// it would end a Unix tool, instead of panicking as `println!` does.
pub fn emit(text: impl std::fmt::Display) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {error}");
        std::process::exit(3);
    }
}

/// Prints `value` as JSON or YAML; for tables the caller passes rows.
pub fn print<T: Serialize>(
    format: OutputFormat,
    value: &T,
    table: impl FnOnce() -> Table,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => emit(serde_json::to_string_pretty(value)?),
        OutputFormat::Yaml => emit(serde_saphyr::to_string(value)?.trim_end()),
        OutputFormat::Table => emit(table()),
    }
    Ok(())
}

/// The one shape of every listing under `-o json|yaml`: `{"items": [...]}`, as the API's own
/// listings are (`/api/templates`, `/api/jobs`, Backstage's `/entities/by-query`). Listings
/// whose API answer is a bare array (Backstage's `GET /locations`, a template's versions) are
/// wrapped in it, so scripts read `.items` whatever they list.
#[derive(Serialize)]
pub struct Items<'a, T> {
    pub items: &'a [T],
}

pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    // Without a terminal comfy-table knows no width and never wraps; long descriptions would
    // make lines hundreds of characters wide. Machines should read `-o json` anyway.
    if table.width().is_none() {
        table.set_width(150);
    }
    table
}
