//! `paved engine services|service`: the local engine's ECS services.

use paved_api::{EngineDeployment, EngineServiceDetail, EngineServiceList};
use paved_cli::EngineCommand;

use crate::Failure;
use crate::client::Client;
use crate::commands::engine::segment;
use crate::commands::template::{print_or_text, short_time};
use crate::output::{self, emit};

pub async fn run(command: EngineCommand) -> Result<(), Failure> {
    match command {
        EngineCommand::Services {
            cluster,
            output,
            server,
        } => {
            let path = match &cluster {
                Some(cluster) => format!(
                    "/api/engine/services?{}",
                    form_urlencoded::Serializer::new(String::new())
                        .append_pair("cluster", cluster)
                        .finish()
                ),
                None => "/api/engine/services".to_owned(),
            };
            let list: EngineServiceList = Client::new(&server)?.get(&path).await?;
            output::print(output, &list, || {
                let mut table = output::table(&[
                    "cluster",
                    "name",
                    "status",
                    "desired",
                    "running",
                    "pending",
                    "task definition",
                    "rollout",
                ]);
                for service in &list.items {
                    table.add_row(vec![
                        service.cluster.clone(),
                        service.name.clone(),
                        service.status.clone(),
                        service.desired_count.to_string(),
                        service.running_count.to_string(),
                        service.pending_count.to_string(),
                        short_definition(&service.task_definition),
                        service
                            .deployments
                            .first()
                            .map_or_else(String::new, |deployment| {
                                deployment.rollout_state.clone()
                            }),
                    ]);
                }
                table
            })?;
            Ok(())
        }
        EngineCommand::Service {
            name,
            cluster,
            output,
            server,
        } => {
            let detail: EngineServiceDetail = Client::new(&server)?
                .get(&format!(
                    "/api/engine/services/{}/{}",
                    segment(&cluster),
                    segment(&name)
                ))
                .await?;
            print_or_text(output, &detail, || print_detail(&detail))
        }
    }
}

/// `family:revision` of a task definition ARN.
fn short_definition(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_owned()
}

fn deployment_line(deployment: &EngineDeployment) -> String {
    format!(
        "  {} {} {} {}: {} running, {} pending of {} desired, {} failed; {}",
        deployment.id,
        deployment.status,
        short_definition(&deployment.task_definition),
        deployment.rollout_state,
        deployment.running_count,
        deployment.pending_count,
        deployment.desired_count,
        deployment.failed_tasks,
        deployment.rollout_state_reason
    )
}

fn print_detail(detail: &EngineServiceDetail) {
    let service = &detail.service;
    let field = |name: &str, value: &str| emit(format_args!("{name:<16}{value}"));
    field("name", &service.name);
    field("cluster", &service.cluster);
    field("status", &service.status);
    field(
        "task definition",
        &short_definition(&service.task_definition),
    );
    field(
        "tasks",
        &format!(
            "{} running, {} pending, {} desired",
            service.running_count, service.pending_count, service.desired_count
        ),
    );
    field("created", &short_time(&service.created_at));
    emit("");
    emit("Deployments:");
    for deployment in &service.deployments {
        emit(deployment_line(deployment));
    }
    if !service.history.is_empty() {
        emit("");
        emit("History:");
        for deployment in &service.history {
            emit(deployment_line(deployment));
        }
    }
    emit("");
    emit("Tasks:");
    if detail.tasks.is_empty() {
        emit("  none");
    }
    for task in &detail.tasks {
        let mut line = format!(
            "  {} {} ({}) {}",
            task.id.chars().take(8).collect::<String>(),
            task.last_status,
            task.health_status,
            short_definition(&task.task_definition)
        );
        for container in &task.containers {
            if !container.ports.is_empty() {
                line.push_str(&format!(
                    " {}: {}",
                    container.name,
                    container.ports.join(", ")
                ));
            }
        }
        if let Some(reason) = &task.stopped_reason {
            line.push_str(&format!("; stopped: {reason}"));
        }
        emit(line);
    }
    emit("");
    emit("Latest events:");
    for event in &detail.events {
        emit(format_args!(
            "  {} {}",
            short_time(&event.created_at),
            event.message
        ));
    }
}
