//! `paved template register SOURCE`: reads a bundle here (a directory or an archive) or
//! names a git repository for the server to read, and registers it as a new version.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use paved_api::{
    CompatibleEnvironment, RegisterTemplateRequest, RegisterTemplateResponse, TemplateSource,
};
use paved_cli::{OutputFormat, ServerArgs};
use paved_template_registry::source::{SourceLimits, pack_tar_gz, read_dir, read_tar_gz};

use crate::Failure;
use crate::client::Client;
use crate::commands::template::{print_or_text, refuse, report_problems, usage_error};
use crate::output::emit;

/// The flags of `paved template register`, as given.
pub struct RegisterOptions {
    pub name: Option<String>,
    pub major: Option<u32>,
    pub publish: bool,
    pub dry_run: bool,
    pub title: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    /// `NAME:MAJOR` each.
    pub compatible_environments: Vec<String>,
}

pub async fn run(
    server: &ServerArgs,
    source: &str,
    options: RegisterOptions,
    format: OutputFormat,
) -> Result<(), Failure> {
    let compatible_environments = options
        .compatible_environments
        .iter()
        .map(|text| compatible_environment(text))
        .collect();
    let (template_source, directory) = read_source(source)?;
    let request = RegisterTemplateRequest {
        source: template_source,
        name: options.name,
        title: options.title,
        description: options.description,
        owner: options.owner,
        compatible_environments,
        major: options.major,
        publish: options.publish,
        dry_run: options.dry_run,
    };
    let response: RegisterTemplateResponse = Client::new(server)?
        .post("/api/templates/versions", &request)
        .await
        .map_err(|error| {
            report_problems(
                error,
                &format!("`{source}` was not registered"),
                directory.as_deref(),
            )
        })?;
    print_or_text(format, &response, || {
        let version = &response.version;
        let (template, number, status) = (&response.template, &version.version, &version.status);
        let line = match (response.dry_run, response.unchanged) {
            (true, true) => {
                format!("dry run: unchanged: {template} {number} is identical; nothing was stored")
            }
            (true, false) => format!(
                "dry run: {template} {number} would be registered ({status}); nothing was stored"
            ),
            (false, true) => format!("unchanged: {template} {number} is identical ({status})"),
            (false, false) if version.recommended => {
                format!("registered {template} {number} ({status}, recommended)")
            }
            (false, false) => format!("registered {template} {number} ({status})"),
        };
        emit(line);
    })
}

/// `NAME:MAJOR`, or a usage error.
fn compatible_environment(text: &str) -> CompatibleEnvironment {
    match text
        .rsplit_once(':')
        .map(|(template, major)| (template, major.parse::<u32>()))
    {
        Some((template, Ok(major))) if !template.is_empty() => CompatibleEnvironment {
            template: template.to_owned(),
            major,
        },
        _ => usage_error(format_args!(
            "`--compatible-environment {text}`: give NAME:MAJOR, such as `ecs-environment:1`"
        )),
    }
}

/// The source to send, and the directory it was read from (to name files in problems).
fn read_source(source: &str) -> Result<(TemplateSource, Option<PathBuf>), Failure> {
    if let Some(target) = source.strip_prefix("git:") {
        return Ok((
            TemplateSource::Git {
                target: absolute_local_repository(target),
            },
            None,
        ));
    }
    let path = Path::new(source);
    let metadata = std::fs::metadata(path).map_err(|error| {
        refuse(format_args!(
            "cannot read `{source}`: {error}\nhint: SOURCE is a bundle directory, a `.tar.gz` \
             archive of one, or `git:REPO[#ref=REF][&path=DIR]`"
        ))
    })?;
    let limits = SourceLimits::default();
    if metadata.is_dir() {
        let files =
            read_dir(path, &limits).map_err(|error| refuse(format_args!("`{source}`: {error}")))?;
        if files.is_empty() {
            return Err(refuse(format_args!("`{source}` is an empty directory")));
        }
        let archive =
            pack_tar_gz(&files).map_err(|error| refuse(format_args!("`{source}`: {error}")))?;
        return Ok((archive_source(&archive), Some(path.to_owned())));
    }
    if source.ends_with(".tar.gz") || source.ends_with(".tgz") {
        let archive = std::fs::read(path)
            .map_err(|error| refuse(format_args!("cannot read `{source}`: {error}")))?;
        // Read here too, so a broken archive is reported precisely before it is sent.
        read_tar_gz(&archive, &limits)
            .map_err(|error| refuse(format_args!("`{source}`: {error}")))?;
        return Ok((archive_source(&archive), None));
    }
    Err(refuse(format_args!(
        "`{source}` is neither a directory nor a `.tar.gz`/`.tgz` archive\nhint: SOURCE is a \
         bundle directory, a `.tar.gz` archive of one, or `git:REPO[#ref=REF][&path=DIR]`"
    )))
}

fn archive_source(archive: &[u8]) -> TemplateSource {
    TemplateSource::Archive {
        data: base64::engine::general_purpose::STANDARD.encode(archive),
    }
}

/// A git target whose repository is a relative path that exists here is made absolute: it is
/// the caller's path, not the server's. Anything else (a URL, an absolute path) is kept.
pub(crate) fn absolute_local_repository(target: &str) -> String {
    let (repository, options) = match target.split_once('#') {
        Some((repository, options)) => (repository, Some(options)),
        None => (target, None),
    };
    let path = Path::new(repository);
    if repository.is_empty() || path.is_absolute() || !path.exists() {
        return target.to_owned();
    }
    let Ok(absolute) = std::path::absolute(path) else {
        return target.to_owned();
    };
    match options {
        Some(options) => format!("{}#{options}", absolute.display()),
        None => absolute.display().to_string(),
    }
}
