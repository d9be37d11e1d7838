//! Printing results as tables, JSON or YAML.

use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};
use paved_cli::OutputFormat;
use serde::Serialize;

/// Prints `value` as JSON or YAML; for tables the caller passes rows.
pub fn print<T: Serialize>(
    format: OutputFormat,
    value: &T,
    table: impl FnOnce() -> Table,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(value)?),
        OutputFormat::Yaml => print!("{}", serde_saphyr::to_string(value)?),
        OutputFormat::Table => println!("{}", table()),
    }
    Ok(())
}

pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    table
}
