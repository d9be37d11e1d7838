//! `paved template render NAME[@VERSION]`: a dry run of a version over inputs, printed or
//! written to a new directory.

use std::path::{Path, PathBuf};

use paved_api::{RenderTemplateRequest, RenderTemplateResponse};
use paved_cli::{RenderOutputFormat, ServerArgs};
use paved_template::bundle::RenderContext;
use paved_template::spec::ProtonSpec;
use serde_json::{Map, Value, json};

use crate::Failure;
use crate::client::Client;
use crate::commands::template::write::write_new_directory;
use crate::commands::template::{
    parse_yaml, plural, read_mapping, refuse, report_problems, split_selector, usage_error,
};
use crate::output::emit;

/// What `paved template render` reads and writes, as given.
pub struct RenderOptions {
    pub inputs: Option<PathBuf>,
    /// `KEY=VALUE` each.
    pub input: Vec<String>,
    pub pipeline_inputs: Option<PathBuf>,
    pub context: Option<PathBuf>,
    /// Which instance of a Proton `ServiceSpec` given as the inputs to render.
    pub instance: Option<String>,
    pub out: Option<PathBuf>,
}

/// The line before each file when files are printed.
const HEADER: &str = "# ---- ";

pub async fn run(
    server: &ServerArgs,
    template: &str,
    options: RenderOptions,
    format: RenderOutputFormat,
) -> Result<(), Failure> {
    let (name, version) = split_selector(template);
    if name.is_empty() || version.is_some_and(str::is_empty) {
        usage_error(format_args!(
            "`{template}` is not a template: give NAME, NAME@MAJOR or NAME@MAJOR.MINOR"
        ));
    }
    let document = match &options.inputs {
        Some(path) => read_mapping(path, "inputs")?,
        None => Map::new(),
    };
    let context = match &options.context {
        Some(path) => Some(read_context(path)?),
        None => None,
    };
    let pipeline_inputs = match &options.pipeline_inputs {
        Some(path) => Some(Value::Object(read_mapping(path, "pipeline inputs")?)),
        None => None,
    };
    let spec = ProtonSpec::from_document(&Value::Object(document.clone())).map_err(|problems| {
        let path = options.inputs.as_deref().unwrap_or(Path::new("-"));
        for problem in &problems {
            eprintln!("{}: {problem}", path.display());
        }
        refuse(format_args!(
            "the inputs file `{}` is not a valid Proton spec: {}",
            path.display(),
            plural(problems.len(), "problem", "problems")
        ))
    })?;
    let (inputs, pipeline_inputs, context) = match spec {
        Some(spec) => {
            let base: RenderContext = match &context {
                Some(context) => serde_json::from_value(context.clone())
                    .map_err(|error| Failure::Other(anyhow::Error::from(error)))?,
                None => RenderContext::default(),
            };
            let render = spec
                .render_inputs(options.instance.as_deref(), &base)
                .map_err(|problem| {
                    refuse(format_args!(
                        "the Proton spec `{}` cannot be rendered: {problem}",
                        options
                            .inputs
                            .as_deref()
                            .unwrap_or(Path::new("-"))
                            .display()
                    ))
                })?;
            let inputs = apply_input_pairs(render.inputs, &options.input, "--input port=8080")?;
            let context = serde_json::to_value(&render.context)
                .map_err(|error| Failure::Other(anyhow::Error::from(error)))?;
            (
                inputs,
                pipeline_inputs.or(render.pipeline_inputs.map(Value::Object)),
                Some(context),
            )
        }
        None => {
            if let Some(instance) = &options.instance {
                usage_error(format_args!(
                    "`--instance {instance}` picks an instance of a Proton ServiceSpec given as \
                     --inputs; the inputs file is not one"
                ));
            }
            let inputs = apply_input_pairs(document, &options.input, "--input port=8080")?;
            (inputs, pipeline_inputs, context)
        }
    };
    let request = RenderTemplateRequest {
        version: version.map(str::to_owned),
        inputs: Value::Object(inputs),
        pipeline_inputs,
        context,
    };
    let response: RenderTemplateResponse = Client::new(server)?
        .post(&format!("/api/templates/{name}/render"), &request)
        .await
        .map_err(|error| report_problems(error, &format!("`{template}` was not rendered"), None))?;
    match &options.out {
        None => print_files(&response, format),
        Some(out) => write_files(&response, out, format),
    }
}

/// Inputs as the commands that take them read them: the mapping in `file` (YAML or JSON),
/// then each `KEY=VALUE` of `pairs` on top, its value read as YAML. `example` is the flag
/// with a value, such as `--input port=8080`, for the usage error of a pair without `=`.
pub(crate) fn read_inputs(
    file: Option<&Path>,
    pairs: &[String],
    example: &str,
) -> Result<Map<String, Value>, Failure> {
    let inputs = match file {
        Some(path) => read_mapping(path, "inputs")?,
        None => Map::new(),
    };
    apply_input_pairs(inputs, pairs, example)
}

/// `inputs` with each `KEY=VALUE` of `pairs` on top, its value read as YAML.
fn apply_input_pairs(
    mut inputs: Map<String, Value>,
    pairs: &[String],
    example: &str,
) -> Result<Map<String, Value>, Failure> {
    let flag = example.split_once(' ').map_or(example, |(flag, _)| flag);
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=').filter(|(key, _)| !key.is_empty()) else {
            usage_error(format_args!(
                "`{flag} {pair}`: give KEY=VALUE, such as `{example}`"
            ));
        };
        inputs.insert(key.to_owned(), input_value(value));
    }
    Ok(inputs)
}

/// A `--input` value read as YAML, so `8080` is a number and `[a, b]` a list; an empty value
/// or one that is not valid YAML is the text as it is.
fn input_value(text: &str) -> Value {
    if text.trim().is_empty() {
        return Value::String(text.to_owned());
    }
    match parse_yaml(text) {
        Ok(Value::Null) if !matches!(text.trim(), "null" | "~") => Value::String(text.to_owned()),
        Ok(value) => value,
        Err(_) => Value::String(text.to_owned()),
    }
}

/// The context file, checked here against what the server accepts so a misspelt key is
/// reported with the file's name.
fn read_context(path: &Path) -> Result<Value, Failure> {
    let context = Value::Object(read_mapping(path, "context")?);
    if let Err(error) = serde_json::from_value::<RenderContext>(context.clone()) {
        return Err(refuse(format_args!(
            "the context file `{}` is not valid: {error}\nhint: the context holds \
             `environment: {{name, account_id, outputs}}`, `service: {{name, branch_name, \
             repository_id, repository_connection_arn}}`, `service_instance: {{name}}`, \
             `component_outputs` and `service_instances: [{{name, inputs, outputs, \
             environment}}]`",
            path.display()
        )));
    }
    Ok(context)
}

fn print_files(
    response: &RenderTemplateResponse,
    format: RenderOutputFormat,
) -> Result<(), Failure> {
    match format {
        RenderOutputFormat::Json => {
            emit(serde_json::to_string_pretty(response).map_err(anyhow::Error::from)?);
        }
        RenderOutputFormat::Text => {
            for file in &response.files {
                if file.encoding.is_some() {
                    // Not text: say so rather than print bytes to a terminal.
                    emit(format_args!(
                        "{HEADER}{} (not text: {} bytes, written with --out)",
                        file.path,
                        file_bytes(file)?.len()
                    ));
                    continue;
                }
                emit(format_args!("{HEADER}{}", file.path));
                // `emit` ends the line; a file's own final newline is not doubled.
                let contents = file.contents.strip_suffix('\n').unwrap_or(&file.contents);
                emit(contents);
            }
        }
    }
    Ok(())
}

fn write_files(
    response: &RenderTemplateResponse,
    out: &Path,
    format: RenderOutputFormat,
) -> Result<(), Failure> {
    let files: Vec<(String, Vec<u8>)> = response
        .files
        .iter()
        .map(|file| Ok((file.path.clone(), file_bytes(file)?)))
        .collect::<Result<_, Failure>>()?;
    write_new_directory(out, &files, true)?;
    let paths: Vec<&str> = response
        .files
        .iter()
        .map(|file| file.path.as_str())
        .collect();
    match format {
        RenderOutputFormat::Json => emit(
            serde_json::to_string_pretty(&json!({
                "template": response.template,
                "version": response.version,
                "out": out.display().to_string(),
                "files": paths,
            }))
            .map_err(anyhow::Error::from)?,
        ),
        RenderOutputFormat::Text => {
            emit(format_args!(
                "rendered {} {} into {}: {}",
                response.template,
                response.version,
                out.display(),
                plural(paths.len(), "file", "files")
            ));
            for path in paths {
                emit(format_args!("  {}", out.join(path).display()));
            }
        }
    }
    Ok(())
}

/// A rendered file's bytes: its text, or its base64 contents decoded.
fn file_bytes(file: &paved_api::RenderedFileBody) -> Result<Vec<u8>, Failure> {
    use base64::Engine;
    match file.encoding.as_deref() {
        None => Ok(file.contents.clone().into_bytes()),
        Some("base64") => base64::engine::general_purpose::STANDARD
            .decode(&file.contents)
            .map_err(|error| {
                Failure::from(anyhow::anyhow!(
                    "the server sent `{}` in base64 that does not decode: {error}",
                    file.path
                ))
            }),
        Some(other) => Err(Failure::from(anyhow::anyhow!(
            "the server sent `{}` in an unknown encoding `{other}`",
            file.path
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_input_values_are_read_as_yaml() {
        let cases = [
            ("8080", json!(8080)),
            ("web", json!("web")),
            ("true", json!(true)),
            ("yes", json!("yes")),
            ("[a, b]", json!(["a", "b"])),
            ("{min: 1}", json!({"min": 1})),
            ("", json!("")),
            ("null", Value::Null),
            ("a: b: c", json!("a: b: c")),
        ];
        for (text, expected) in cases {
            assert_eq!(input_value(text), expected, "{text:?}");
        }
    }
}
