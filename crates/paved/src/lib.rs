//! The `paved` command: parses arguments (`paved-cli`), then runs one command from
//! [`commands`]. Errors are reported here, once, with their context chain.
//!
//! Exit codes: 0 success, 1 the request or input was refused (validation problems, 4xx),
//! 2 usage error, 3 the server could not be reached or failed (5xx).

mod client;
mod commands;
mod config;
mod output;

use std::process::ExitCode;

use clap::Parser;
use paved_cli::{
    AuditCommand, CatalogCommand, Cli, Command, JobCommand, LocationsCommand, ServiceCommand,
    TemplateCommand, TemplateSyncCommand,
};

/// Failure kinds that map to exit codes.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Input was refused; the message was already printed.
    #[error("refused")]
    Refused,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(3);
        }
    };
    let result = runtime.block_on(run(cli));
    // Blocking work still running (a read being cancelled) must not hold the process:
    // dropping the runtime would wait for it without bound.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused) => ExitCode::from(1),
        Err(Failure::Other(error)) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            let refused = error
                .downcast_ref::<client::ClientError>()
                .is_some_and(client::ClientError::is_refusal);
            ExitCode::from(if refused { 1 } else { 3 })
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Up(args) => commands::up::run(args).await.map_err(Failure::Other),
        Command::Catalog(command) => match command {
            CatalogCommand::Validate { files, output } => {
                commands::catalog::validate::run(&files, output)
            }
            CatalogCommand::Get {
                entity_ref,
                output,
                server,
            } => commands::catalog::get::run(&server, &entity_ref, output).await,
            CatalogCommand::Query {
                filter,
                fields,
                full_text,
                order_field,
                limit,
                output,
                server,
            } => {
                let request = commands::catalog::query::QueryRequest {
                    filter,
                    fields,
                    full_text,
                    order_field,
                    limit,
                };
                commands::catalog::query::run(&server, request, output).await
            }
            CatalogCommand::Refresh {
                entity_ref,
                location,
                output,
                server,
            } => commands::catalog::refresh::run(&server, entity_ref, location, output).await,
            CatalogCommand::Locations(command) => match command {
                LocationsCommand::Add {
                    target,
                    location_type,
                    dry_run,
                    output,
                    server,
                } => {
                    commands::catalog::locations::add(
                        &server,
                        &target,
                        location_type.as_deref(),
                        dry_run,
                        output,
                    )
                    .await
                }
                LocationsCommand::List { output, server } => {
                    commands::catalog::locations::list(&server, output).await
                }
                LocationsCommand::Remove { id, server } => {
                    commands::catalog::locations::remove(&server, &id).await
                }
            },
        },
        Command::Template(command) => run_template(command).await,
        Command::Service(command) => run_service(command).await,
        Command::Build(args) => commands::engine::build::run(args).await,
        Command::Images { output, server } => commands::engine::images::run(&server, output).await,
        Command::Logs(args) => commands::engine::logs::run(args).await,
        Command::Secret(command) => commands::engine::secret::run(command).await,
        Command::Config(command) => commands::config::run(command),
        Command::Lb(command) => commands::engine::lb::run(command).await,
        Command::Engine(command) => commands::engine::services::run(command).await,
        Command::Job(command) => run_job(command).await,
        Command::Audit(AuditCommand::List {
            principal,
            resource,
            action,
            since,
            limit,
            output,
            server,
        }) => {
            let query = commands::audit::AuditQuery {
                principal,
                resource,
                action,
                since,
                limit,
            };
            commands::audit::list(&server, query, output).await
        }
    }
}

async fn run_service(command: ServiceCommand) -> Result<(), Failure> {
    use commands::service;
    match command {
        ServiceCommand::Create(args) => service::create::run(*args).await,
        ServiceCommand::List { output, server } => service::list::run(&server, output).await,
        ServiceCommand::Show {
            name,
            output,
            server,
        } => service::show::run(&server, &name, output).await,
    }
}

async fn run_job(command: JobCommand) -> Result<(), Failure> {
    use commands::job;
    match command {
        JobCommand::List {
            kind,
            subject,
            state,
            limit,
            output,
            server,
        } => {
            let query = job::list::JobQuery {
                kind,
                subject,
                state,
                limit,
            };
            job::list::run(&server, query, output).await
        }
        JobCommand::Show { id, output, server } => job::show::show(&server, &id, output).await,
        JobCommand::Follow { id, output, server } => {
            job::show::follow_to_end(&server, &id, output).await
        }
        JobCommand::Cancel { id, output, server } => job::cancel::run(&server, &id, output).await,
    }
}

async fn run_template(command: TemplateCommand) -> Result<(), Failure> {
    use commands::template;
    match command {
        TemplateCommand::List { output, server } => template::list::run(&server, output).await,
        TemplateCommand::Show {
            template,
            output,
            server,
        } => template::show::run(&server, &template, output).await,
        TemplateCommand::Versions {
            name,
            output,
            server,
        } => template::versions::run(&server, &name, output).await,
        TemplateCommand::Register {
            source,
            name,
            major,
            publish,
            dry_run,
            title,
            description,
            owner,
            compatible_environment,
            output,
            server,
        } => {
            let options = template::register::RegisterOptions {
                name,
                major,
                publish,
                dry_run,
                title,
                description,
                owner,
                compatible_environments: compatible_environment,
            };
            template::register::run(&server, &source, options, output).await
        }
        TemplateCommand::Publish {
            template_version,
            output,
            server,
        } => template::publish::publish(&server, &template_version, output).await,
        TemplateCommand::Withdraw {
            template_version,
            reason,
            output,
            server,
        } => template::publish::withdraw(&server, &template_version, &reason, output).await,
        TemplateCommand::Sync(command) => match command {
            TemplateSyncCommand::Add {
                target,
                output,
                server,
            } => template::sync::add(&server, &target, output).await,
            TemplateSyncCommand::List { output, server } => {
                template::sync::list(&server, output).await
            }
            TemplateSyncCommand::Run { id, output, server } => {
                template::sync::run(&server, &id, output).await
            }
            TemplateSyncCommand::Remove { id, server } => {
                template::sync::remove(&server, &id).await
            }
        },
        TemplateCommand::Render {
            template,
            inputs,
            input,
            pipeline_inputs,
            context,
            instance,
            out,
            output,
            server,
        } => {
            let options = template::render::RenderOptions {
                inputs,
                input,
                pipeline_inputs,
                context,
                instance,
                out,
            };
            template::render::run(&server, &template, options, output).await
        }
        TemplateCommand::Init {
            name,
            dir,
            kind,
            format,
        } => template::init::run(&name, dir, kind, format),
    }
}
