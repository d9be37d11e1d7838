//! `paved service create NAME`: asks the server to create a service from a template, then
//! follows the job that does it (or, with --dry-run, prints the files it would commit).

use anyhow::Context as _;
use paved_api::{CreateServiceBody, CreateServiceResponse, Job};
use paved_cli::{CreateOutputFormat, ServiceCreateArgs};
use serde_json::Value;

use crate::Failure;
use crate::client::Client;
use crate::commands::job::follow;
use crate::commands::template::register::absolute_local_repository;
use crate::commands::template::render::read_inputs;
use crate::commands::template::{plural, report_problems, split_selector, usage_error};
use crate::output::emit;

pub async fn run(args: ServiceCreateArgs) -> Result<(), Failure> {
    let ServiceCreateArgs {
        name,
        template,
        owner,
        system,
        lifecycle,
        description,
        environment,
        input,
        inputs,
        pipeline_input,
        repository_url,
        dry_run,
        no_wait,
        output: format,
        server,
    } = args;
    let (template_name, version) = split_selector(&template);
    if template_name.is_empty() || version.is_some_and(str::is_empty) {
        usage_error(format_args!(
            "`--template {template}`: give NAME, NAME@MAJOR or NAME@MAJOR.MINOR, such as \
             `web-service@1`"
        ));
    }
    let inputs = read_inputs(inputs.as_deref(), &input, "--input port=8080")?;
    let pipeline_inputs = if pipeline_input.is_empty() {
        None
    } else {
        let pipeline_inputs =
            read_inputs(None, &pipeline_input, "--pipeline-input provider=gitlab-ci")?;
        Some(Value::Object(pipeline_inputs))
    };
    let body = CreateServiceBody {
        name: name.clone(),
        template,
        owner,
        system,
        lifecycle,
        description,
        environment,
        inputs: Value::Object(inputs),
        pipeline_inputs,
        // A relative path is the caller's; the server would read it from its own directory.
        repository_url: repository_url.as_deref().map(absolute_local_repository),
        dry_run,
    };
    let client = Client::new(&server)?;
    let response: CreateServiceResponse =
        client.post("/api/services", &body).await.map_err(|error| {
            report_problems(error, &format!("service `{name}` was not created"), None)
        })?;
    if response.dry_run {
        return print_dry_run(&name, &body.template, &response, format);
    }
    let job_id = response
        .job_id
        .clone()
        .context("the server accepted the service but named no job")?;
    if no_wait {
        match format {
            CreateOutputFormat::Json => emit(to_json(&response)?),
            CreateOutputFormat::Text => {
                emit(&job_id);
                eprintln!("follow it: paved job follow {job_id}");
            }
        }
        return Ok(());
    }
    eprintln!("job {job_id} (follow it elsewhere with `paved job follow {job_id}`)");
    let job = follow(&client, &job_id).await?;
    print_outcome(&job, &response.clone_url, format)
}

/// Prints a finished job: `created NAME` and how to clone it, or the failed step (exit 1).
fn print_outcome(job: &Job, clone_url: &str, format: CreateOutputFormat) -> Result<(), Failure> {
    if format == CreateOutputFormat::Json {
        emit(to_json(job)?);
    }
    let result = job.result.as_ref();
    match job.state.as_str() {
        "succeeded" => {
            if format == CreateOutputFormat::Text {
                let name = result
                    .and_then(|result| result["service"].as_str())
                    .unwrap_or_default();
                let clone_url = result
                    .and_then(|result| result["cloneUrl"].as_str())
                    .unwrap_or(clone_url);
                emit(format_args!("created {name}"));
                emit(format_args!("clone it: git clone {clone_url}"));
            }
            Ok(())
        }
        state => {
            let error = job.error.as_deref().unwrap_or("no reason was recorded");
            eprintln!("error: job `{}` {state}: {error}", job.id);
            Err(Failure::Refused)
        }
    }
}

fn print_dry_run(
    name: &str,
    template: &str,
    response: &CreateServiceResponse,
    format: CreateOutputFormat,
) -> Result<(), Failure> {
    match format {
        CreateOutputFormat::Json => emit(to_json(response)?),
        CreateOutputFormat::Text => {
            let (template_name, _) = split_selector(template);
            emit(format_args!(
                "dry run: service `{name}` from {template_name}@{}: {}; nothing was created",
                response.template_version,
                plural(response.files.len(), "file", "files")
            ));
            for file in &response.files {
                emit(format_args!("  {}", file.path));
            }
            emit(format_args!("clone URL: {}", response.clone_url));
        }
    }
    Ok(())
}

fn to_json(value: &impl serde::Serialize) -> Result<String, Failure> {
    Ok(serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?)
}
