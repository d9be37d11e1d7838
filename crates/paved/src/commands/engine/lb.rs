//! `paved lb apply|list|rm`: each cluster's local load balancer.

use anyhow::Context as _;
use paved_api::{LoadBalancer, LoadBalancerList, LoadBalancerSpec};
use paved_cli::{LbCommand, OutputFormat, TextOutputFormat};

use crate::Failure;
use crate::client::Client;
use crate::commands::engine::{segment, to_json};
use crate::commands::template::{refuse, report_problems};
use crate::output::{self, emit};

pub async fn run(command: LbCommand) -> Result<(), Failure> {
    match command {
        LbCommand::Apply {
            cluster,
            file,
            output,
            server,
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading `{}`", file.display()))?;
            // YAML is a superset of JSON: one parser reads both.
            let spec: LoadBalancerSpec = serde_saphyr::from_str(&text)
                .map_err(|error| refuse(format_args!("`{}`: {error}", file.display())))?;
            let applied: LoadBalancer = Client::new(&server)?
                .put(
                    &format!("/api/engine/load-balancers/{}", segment(&cluster)),
                    &spec,
                )
                .await
                .map_err(|error| {
                    report_problems(
                        error,
                        &format!("the load balancer of `{cluster}` was not changed"),
                        None,
                    )
                })?;
            match output {
                TextOutputFormat::Json => emit(to_json(&applied)?),
                TextOutputFormat::Text => {
                    let address = applied
                        .address
                        .as_deref()
                        .map_or("starting".to_owned(), |address| format!("http://{address}"));
                    emit(format_args!(
                        "applied the load balancer of {cluster}: {address}"
                    ));
                }
            }
            Ok(())
        }
        LbCommand::List { output, server } => list(&server, output).await,
        LbCommand::Rm { cluster, server } => {
            Client::new(&server)?
                .delete(&format!("/api/engine/load-balancers/{}", segment(&cluster)))
                .await?;
            eprintln!("removed the load balancer of {cluster}");
            Ok(())
        }
    }
}

async fn list(server: &paved_cli::ServerArgs, format: OutputFormat) -> Result<(), Failure> {
    let list: LoadBalancerList = Client::new(server)?
        .get("/api/engine/load-balancers")
        .await?;
    output::print(format, &list, || {
        let mut table = output::table(&[
            "cluster",
            "address",
            "rules",
            "target groups (healthy/total)",
        ]);
        for balancer in &list.items {
            let groups: Vec<String> = balancer
                .target_groups
                .iter()
                .map(|group| format!("{} {}/{}", group.name, group.healthy, group.targets.len()))
                .collect();
            table.add_row(vec![
                balancer.cluster.clone(),
                balancer.address.clone().unwrap_or_else(|| "-".to_owned()),
                balancer.spec.rules.len().to_string(),
                groups.join("\n"),
            ]);
        }
        table
    })?;
    Ok(())
}
