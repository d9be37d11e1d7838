//! Command-line arguments of `paved`, as clap structs. No logic: the `paved` crate turns these
//! into settings and runs the commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Paved: a self-hosted internal developer platform for Amazon ECS.
///
/// Start the control plane with `paved up`, then register catalog files with
/// `paved catalog locations add ./catalog-info.yaml`.
#[derive(Debug, Parser)]
#[command(
    name = "paved",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the control plane: API, catalog and refresh loop, in the foreground.
    ///
    /// With no flags, state lives in ./.paved (SQLite) and the server listens on
    /// 127.0.0.1:7080. The admin token for mutating calls is written to
    /// <data-dir>/admin-token on first start.
    ///
    /// It prints a short banner (URL, data directory, admin token, docs), then only warnings
    /// and errors unless --verbose or PAVED_LOG asks for more; colours only on a terminal.
    #[command(after_help = UP_ENVIRONMENT)]
    Up(UpArgs),
    /// Work with the software catalog (Backstage-compatible).
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Golden paths: list, inspect, register, publish, render and scaffold templates.
    ///
    /// A template is a golden path with versions MAJOR.MINOR; a bundle is the files of one
    /// version (Paved's format or AWS Proton's). Start a new one with
    /// `paved template init my-service`, try it with `paved template render`, then
    /// `paved template register ./my-service`. See docs/templates.md for the bundle format.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Services: create one from a golden path, as a new git repository in the catalog.
    ///
    /// `paved service create` renders a service template into a repository with one commit
    /// on `main` (code, CI pipeline, `catalog-info.yaml`, `paved.yaml`), registers it in the
    /// catalog and records the service, all or nothing. The work runs as a durable job on
    /// the server; follow it with `paved job follow ID`.
    ///
    /// Example:
    ///   paved service create orders --template web-service --owner group:default/team-a
    #[command(subcommand, verbatim_doc_comment)]
    Service(ServiceCommand),
    /// Build an image of a service from its repository, for the local engine
    ///
    /// Reads the service's repository (`<data-dir>/repositories/SERVICE.git`) at --ref and
    /// writes the image `local/SERVICE:COMMIT`; a task definition runs it by naming that
    /// image. Building a commit already built does nothing. Prints the image.
    ///
    /// Examples:
    ///   paved build orders
    ///   paved build orders --ref v1.2.0
    #[command(verbatim_doc_comment)]
    Build(BuildArgs),
    /// List the images the local engine can run (`local/NAME:COMMIT`).
    ///
    /// Example: paved images -o json
    Images {
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print the logs of a service's tasks on the local engine
    ///
    /// Lines of every task of the service (running ones, and stopped ones the engine still
    /// keeps), merged in time order, as `TIMESTAMP TASK/CONTAINER MESSAGE` with the first 8
    /// characters of the task id; lines written to stderr are marked `[stderr]`. With
    /// --follow, new lines are printed as they come (tasks started later included) until
    /// interrupted.
    ///
    /// Examples:
    ///   paved logs orders
    ///   paved logs orders --cluster staging --follow
    ///   paved logs orders --task 0b6f3a4e --limit 500
    #[command(verbatim_doc_comment)]
    Logs(LogsArgs),
    /// Secrets for the local engine's tasks: set, list, remove
    ///
    /// A container definition's `secrets: [{name: DB_PASSWORD, valueFrom: db-password}]`
    /// puts the secret `db-password` in the task's environment as DB_PASSWORD; `valueFrom`
    /// may also be a Secrets Manager or SSM parameter ARN ending in the name. Values are
    /// never printed, listed or logged.
    ///
    /// Example:
    ///   printf %s "$PASSWORD" | paved secret set db-password
    #[command(subcommand, verbatim_doc_comment)]
    Secret(SecretCommand),
    /// Where the CLI finds its server and token, from any directory
    ///
    /// The user config file is `$XDG_CONFIG_HOME/paved/config.toml`, or
    /// `~/.config/paved/config.toml` when XDG_CONFIG_HOME is unset; it is written with mode
    /// 0600. Every command that talks to a server takes each value from, in order: its flag
    /// (--server, --token), the environment (PAVED_SERVER, PAVED_TOKEN), this file, and then
    /// the defaults: http://127.0.0.1:7080 and the admin token of a server started in this
    /// directory (<data-dir>/admin-token).
    ///
    /// Examples:
    ///   paved config set server https://paved.example.com
    ///   paved config set token < token.txt
    ///   paved config show
    #[command(subcommand, verbatim_doc_comment)]
    Config(ConfigCommand),
    /// Each cluster's local load balancer: an HTTP listener with forward rules
    ///
    /// Example:
    ///   paved lb apply default -f lb.yaml
    #[command(subcommand, verbatim_doc_comment)]
    Lb(LbCommand),
    /// The local engine's ECS services: deployments, rollouts, events and tasks
    ///
    /// Example:
    ///   paved engine service orders --cluster default
    #[command(subcommand, verbatim_doc_comment)]
    Engine(EngineCommand),
    /// Durable jobs on the server (creating services, deployments): list, show, follow, cancel
    ///
    /// A job survives crashes and restarts of Paved: another replica, or the restarted one,
    /// resumes it, and it runs exactly once.
    ///
    /// Examples:
    ///   paved job list --state running
    ///   paved job follow 0192f0c4-7d1e-7c2a-9d8e-2f1a7c3b9e10
    #[command(subcommand, verbatim_doc_comment)]
    Job(JobCommand),
    /// The audit log: every mutation, who made it, on what, and how it ended (admins only)
    ///
    /// Examples:
    ///   paved audit list --since 2026-12-01T00:00:00Z
    ///   paved audit list --principal admin --resource location -o json
    #[command(subcommand, verbatim_doc_comment)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// List jobs, newest first.
    ///
    /// Example: paved job list --kind service.create --state failed
    List {
        /// Only jobs of this kind (`service.create`).
        #[arg(long)]
        kind: Option<String>,
        /// Only jobs on this subject (`service:orders`).
        #[arg(long)]
        subject: Option<String>,
        /// Only jobs in this state: queued, running, succeeded, failed, cancelled.
        #[arg(long)]
        state: Option<String>,
        /// At most this many (1-500).
        #[arg(short = 'n', long, default_value_t = 50)]
        limit: i64,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print a job's state and its log so far (exit code 0 whatever the state).
    ///
    /// Example: paved job show 0192f0c4-7d1e-7c2a-9d8e-2f1a7c3b9e10
    Show {
        /// The job's id, as the command that started it printed it.
        id: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print a job's log as it comes until the job ends; exit code 0 when it succeeded, 1
    /// when it failed or was cancelled.
    ///
    /// Example: paved job follow 0192f0c4-7d1e-7c2a-9d8e-2f1a7c3b9e10
    Follow {
        /// The job's id.
        id: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Ask a job to stop: a queued job ends at once; a running one stops at its next step.
    ///
    /// Example: paved job cancel 0192f0c4-7d1e-7c2a-9d8e-2f1a7c3b9e10
    Cancel {
        /// The job's id.
        id: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit records, newest first.
    ///
    /// Examples:
    ///   paved audit list
    ///   paved audit list --principal system:catalog-refresh --since 2026-12-01T00:00:00Z
    ///   paved audit list --resource location:file:/srv/catalog-info.yaml
    #[command(verbatim_doc_comment)]
    List {
        /// Only this principal: `admin`, `anonymous`, `user:default/alice`, `system:jobs`, ...
        #[arg(long)]
        principal: Option<String>,
        /// Only this resource: `KIND:NAME` (`template:web-service@1.0`), `KIND` or `NAME`.
        #[arg(long)]
        resource: Option<String>,
        /// Only this action (`location.create`).
        #[arg(long)]
        action: Option<String>,
        /// Only records at or after this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// At most this many (1-1000).
        #[arg(short = 'n', long, default_value_t = 100)]
        limit: i64,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The service whose repository to build.
    pub service: String,
    /// A branch, tag or commit of the repository.
    #[arg(long = "ref", value_name = "REF", default_value = "main")]
    pub reference: String,
    #[arg(short, long, value_enum, default_value_t = TextOutputFormat::Text)]
    pub output: TextOutputFormat,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Plain text for people, or JSON for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOutputFormat {
    Text,
    /// JSON; `paved logs` prints one JSON object per line.
    Json,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The ECS service's name.
    pub service: String,
    /// The ECS cluster the service runs in.
    #[arg(long, value_name = "CLUSTER", default_value = "default")]
    pub cluster: String,
    /// Keep printing new lines as they come, until interrupted.
    #[arg(short, long)]
    pub follow: bool,
    /// Only this task: its id, or the first characters of it.
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// The newest this many lines (1-10000).
    #[arg(short = 'n', long, default_value_t = 100)]
    pub limit: usize,
    #[arg(short, long, value_enum, default_value_t = TextOutputFormat::Text)]
    pub output: TextOutputFormat,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Save a value in the user config file
    ///
    /// `server` takes an http:// or https:// URL. `token` is read from stdin when no value
    /// is given (one trailing newline removed), so that it stays out of the shell's history.
    ///
    /// Examples:
    ///   paved config set server http://127.0.0.1:7080
    ///   paved config set token < .paved/admin-token
    #[command(verbatim_doc_comment)]
    Set {
        key: ConfigKey,
        /// The value; for `token`, stdin when omitted.
        value: Option<String>,
    },
    /// Remove a value from the user config file
    Unset { key: ConfigKey },
    /// Print the config file's path, and the server and token commands use with where each
    /// comes from (the token redacted)
    Show {
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// A value of the user config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigKey {
    Server,
    Token,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret, read from stdin or a file (never from an argument)
    ///
    /// From stdin, one trailing newline is removed (`echo value | paved secret set NAME`
    /// stores `value`); --from-file stores the file's contents exactly. Setting an existing
    /// secret replaces its value; tasks started from then on get the new one.
    ///
    /// Examples:
    ///   printf %s "$PASSWORD" | paved secret set db-password
    ///   paved secret set app/tls-key --from-file ./key.pem
    #[command(verbatim_doc_comment)]
    Set {
        /// 1 to 512 letters, digits and `/_+=.@-`, as in Secrets Manager.
        name: String,
        /// Read the value from this file instead of stdin.
        #[arg(long, value_name = "PATH")]
        from_file: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the secrets' names and when they were set; never their values.
    ///
    /// Example: paved secret list -o json
    List {
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a secret; tasks that name it can no longer start.
    ///
    /// Example: paved secret rm db-password
    Rm {
        name: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum LbCommand {
    /// Set a cluster's load balancer from a YAML or JSON file
    ///
    /// The file gives the listener's port on 127.0.0.1 (0: any free port), forward rules
    /// by host and path, the default target group and the target groups' settings. A
    /// service joins a target group through its `loadBalancers[].targetGroupArn`. Every
    /// problem is reported at once; nothing changes unless the whole file is valid.
    ///
    /// Example file:
    ///   port: 8080
    ///   rules:
    ///     - priority: 10
    ///       pathPatterns: ["/api/*"]
    ///       targetGroup: api
    ///   defaultTargetGroup: web
    ///   targetGroups:
    ///     - name: api
    ///       healthCheck: {path: /health, intervalSeconds: 5, timeoutSeconds: 2}
    ///       deregistrationDelaySeconds: 10
    ///     - name: web
    ///
    /// Example: paved lb apply default -f lb.yaml
    #[command(verbatim_doc_comment)]
    Apply {
        /// The ECS cluster (environment) the load balancer serves.
        cluster: String,
        /// The configuration, YAML or JSON.
        #[arg(short, long, value_name = "FILE")]
        file: PathBuf,
        #[arg(short, long, value_enum, default_value_t = TextOutputFormat::Text)]
        output: TextOutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the load balancers: address, rules and target groups with healthy/total targets.
    ///
    /// Example: paved lb list -o json
    List {
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a cluster's load balancer; its listener stops.
    ///
    /// Example: paved lb rm default
    Rm {
        cluster: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum EngineCommand {
    /// List the local engine's services with their task counts and rollout state.
    ///
    /// Examples:
    ///   paved engine services
    ///   paved engine services --cluster staging -o json
    #[command(verbatim_doc_comment)]
    Services {
        /// Only this ECS cluster.
        #[arg(long, value_name = "CLUSTER")]
        cluster: Option<String>,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show a service: deployments with their rollout state, history, latest events, tasks.
    ///
    /// Example: paved engine service orders --cluster default
    Service {
        /// The ECS service's name.
        name: String,
        /// The ECS cluster.
        #[arg(long, value_name = "CLUSTER", default_value = "default")]
        cluster: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Every environment variable `paved up` reads besides its flags' own (shown with each flag).
const UP_ENVIRONMENT: &str = "\
Environment variables (besides each flag's, shown above):
  PAVED_LOG               log filter, e.g. `info` or `warn,paved_catalog=debug` (overrides --verbose)
  PAVED_ADMIN_TOKEN       the admin token, instead of <data-dir>/admin-token (replicas sharing
                          PostgreSQL need the same one)
  PAVED_GIT_USERNAME, PAVED_GIT_PASSWORD
                          credentials for pushing new services' repositories (--repository-url)
  PATH, LANG              passed on to the local engine's containers, which see nothing else of
                          Paved's environment
  ${VARIABLE}             any variable the --integrations file names
  PAVED_CRASH_AFTER_STEP  a test hook: abort right after that step of a new service's job";

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Log what Paved does (info level), not only warnings and errors.
    #[arg(short, long)]
    pub verbose: bool,
    /// Address to listen on.
    #[arg(long, env = "PAVED_LISTEN", default_value = "127.0.0.1:7080")]
    pub listen: SocketAddr,
    /// Directory for all local state (SQLite database, git mirrors, admin token).
    #[arg(long, env = "PAVED_DATA_DIR", default_value = ".paved")]
    pub data_dir: PathBuf,
    /// Keep state in PostgreSQL instead of SQLite, e.g. postgres://paved@db:5432/paved.
    /// Several replicas may share one database.
    #[arg(long, env = "PAVED_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Seconds between two reads of each catalog location.
    #[arg(long, env = "PAVED_REFRESH_INTERVAL", default_value_t = 120)]
    pub refresh_interval: u64,
    /// Seconds an orphaned entity (no longer in its location) stays flagged before it is
    /// deleted; it goes at the first refresh after this.
    #[arg(long, env = "PAVED_ORPHAN_GRACE", default_value_t = 0)]
    pub orphan_grace: u64,
    /// Log format.
    #[arg(long, env = "PAVED_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Credentials for git repositories over HTTP (template sync, registration from git), in
    /// git's credential-store format: one `https://USER:TOKEN@HOST[/PATH]` a line. Paved
    /// never stores credentials given in a template sync's URL; it uses these, by host.
    #[arg(long, env = "PAVED_GIT_CREDENTIALS")]
    pub git_credentials: Option<PathBuf>,
    /// Most directory entries, files and URLs one read of a location may visit (default
    /// 100000); a read that reaches it stops with a `read-limit` problem.
    #[arg(long, env = "PAVED_CATALOG_MAX_FILES_VISITED")]
    pub catalog_max_files_visited: Option<usize>,
    /// Most bytes one read of a location may read (default 268435456, 256 MiB).
    #[arg(long, env = "PAVED_CATALOG_MAX_BYTES_READ")]
    pub catalog_max_bytes_read: Option<u64>,
    /// Most seconds one read of a location may take (default 60).
    #[arg(long, env = "PAVED_CATALOG_MAX_READ_TIME")]
    pub catalog_max_read_time: Option<u64>,
    /// Integrations for `url` locations, in Backstage's `app-config.yaml` shape:
    /// `integrations` (github, gitlab, bitbucketCloud, bitbucketServer, azure; hosts and
    /// tokens) and `backend.reading.allow` (plain HTTPS hosts). `${VARIABLE}` values are
    /// read from the environment. See docs/catalog.md.
    #[arg(long, env = "PAVED_INTEGRATIONS")]
    pub integrations: Option<PathBuf>,
    /// PEM certificates trusted for HTTPS besides the platform's roots (an internal CA).
    #[arg(long, env = "PAVED_CA_BUNDLE")]
    pub ca_bundle: Option<PathBuf>,
    /// Seconds between SIGTERM (or Ctrl-C) and the end of the process, whatever is still
    /// running then: reads of locations stop at once, requests in flight and the local
    /// engine's tasks get this long to finish.
    #[arg(long, env = "PAVED_SHUTDOWN_GRACE", default_value_t = 30)]
    pub shutdown_grace: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
}

/// How to reach a running server.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// URL of the Paved server; by default the config file's (`paved config`), else
    /// http://127.0.0.1:7080.
    #[arg(long, global = true, env = "PAVED_SERVER")]
    pub server: Option<String>,
    /// Token for mutating calls; by default the config file's (`paved config`), else the
    /// admin token in <data-dir>/admin-token.
    #[arg(long, global = true, env = "PAVED_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Where to look for the admin token when --token is not given.
    #[arg(long, global = true, env = "PAVED_DATA_DIR", default_value = ".paved")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Check catalog-info.yaml files offline, as the catalog would (for CI).
    ///
    /// Every problem is reported with its file, document, line, field and rule. Exits 1 when
    /// any document is invalid.
    Validate {
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Register, list and remove the locations entities are read from.
    #[command(subcommand)]
    Locations(LocationsCommand),
    /// Show one entity, e.g. `paved catalog get component:default/web`.
    Get {
        /// An entity reference, `[kind:][namespace/]name`; kind defaults to component.
        entity_ref: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Yaml)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Find entities with Backstage's filter syntax.
    ///
    /// Example: paved catalog query --filter kind=component,spec.owner=group:default/team-7
    Query {
        /// `key=value` conditions joined by commas (all must hold); repeat --filter for OR.
        #[arg(short, long)]
        filter: Vec<String>,
        /// Only these fields, e.g. `kind,metadata.name`.
        #[arg(long)]
        fields: Option<String>,
        /// Search term matched in any field (or --full-text-fields).
        #[arg(long)]
        full_text: Option<String>,
        /// Order, e.g. `metadata.name,desc`; repeatable.
        #[arg(long)]
        order_field: Vec<String>,
        /// At most this many entities.
        #[arg(short, long, default_value_t = 100)]
        limit: usize,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Read an entity's location (or a location) again now.
    Refresh {
        /// The entity whose location to refresh.
        entity_ref: Option<String>,
        /// A location id instead of an entity.
        #[arg(long, conflicts_with = "entity_ref")]
        location: Option<String>,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum LocationsCommand {
    /// Register a location and read it now.
    ///
    /// Examples:
    ///   paved catalog locations add ./catalog-info.yaml
    ///   paved catalog locations add '/srv/services/*/catalog-info.yaml'
    ///   paved catalog locations add --type git '/srv/git/shop.git#ref=main&path=**/catalog-info.yaml'
    ///   paved catalog locations add https://github.com/acme/shop/blob/main/catalog-info.yaml
    #[command(verbatim_doc_comment)]
    Add {
        /// A file path or glob (type file, relative paths taken from here), a git repository
        /// (type git: a path or URL ending in `.git`), or an HTTPS URL of a file, such as
        /// https://HOST/OWNER/REPO/blob/REF/PATH (type url; hosts in `paved up --integrations`).
        target: String,
        /// Location type; guessed from the target when omitted.
        #[arg(long = "type", value_parser = ["file", "git", "url"])]
        location_type: Option<String>,
        /// Only read the location and show what it would produce.
        #[arg(long)]
        dry_run: bool,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List registered locations with their last refresh and problems.
    List {
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Remove a location and every entity it produced.
    Remove {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// How `paved template render` prints what it rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderOutputFormat {
    /// Each file preceded by a `# ---- <path>` line (or, with --out, the paths written).
    Text,
    /// The render response as JSON: `{template, version, files: [{path, contents}]}`.
    Json,
}

/// The kind of template `paved template init` starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateKindArg {
    /// Deploys into an environment: an ECS service, a job, a worker.
    Service,
    /// The shared infrastructure services deploy into: network, cluster, load balancer.
    Environment,
}

/// The bundle layout `paved template init` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BundleFormatArg {
    /// Paved's format: `paved-template.yaml`, `schema.yaml`, `infrastructure/`.
    Paved,
    /// AWS Proton's format: `schema/schema.yaml` and folders with a `manifest.yaml`.
    Proton,
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// List templates with their recommended and latest versions.
    ///
    /// The recommended version is the highest published one that is not withdrawn; it is
    /// what a new environment or service gets when no version is named.
    ///
    /// Example: paved template list -o json
    List {
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show a template, one of its versions and the inputs it takes
    ///
    /// Without @VERSION, the recommended version is shown (or the latest one when none is
    /// published). The inputs table is read from the version's JSON Schema: its top-level
    /// properties, in `ui:order` order.
    ///
    /// Examples:
    ///   paved template show web-service
    ///   paved template show web-service@1.2
    ///   paved template show web-service@1 -o json
    #[command(verbatim_doc_comment)]
    Show {
        /// `NAME`, `NAME@MAJOR` (the highest published of that major) or `NAME@MAJOR.MINOR`.
        template: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List every version of a template with its status.
    ///
    /// Withdrawn versions show why they were withdrawn.
    ///
    /// Example: paved template versions web-service
    Versions {
        /// The template's name.
        name: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Register a new version of a template from a bundle
    ///
    /// The version is a draft, numbered as a new minor of the highest major (or N.0 with
    /// --major N); publish it with `paved template publish`. A bundle identical to the latest
    /// version of its major registers nothing. A new minor must accept what the previous one
    /// accepted: no input removed, no new required input, no narrowed type or enum.
    ///
    /// Examples:
    ///   paved template register ./web-service
    ///   paved template register web-service.tar.gz --publish
    ///   paved template register 'git:https://git.example.com/templates.git#ref=main&path=web-service'
    ///   paved template register ./proton-svc --name svc --compatible-environment ecs-environment:1
    #[command(verbatim_doc_comment)]
    Register {
        /// A bundle directory, a `.tar.gz`/`.tgz` archive of one, or `git:REPO[#ref=REF][&path=DIR]`
        /// (the server reads the repository).
        source: String,
        /// The template's name; required for AWS Proton bundles, which do not name themselves.
        #[arg(long)]
        name: Option<String>,
        /// Add the version to this major (or start it at N.0); by default the highest major.
        #[arg(long, value_name = "N")]
        major: Option<u32>,
        /// Publish the version at once instead of registering a draft.
        #[arg(long)]
        publish: bool,
        /// Check everything and register nothing.
        #[arg(long)]
        dry_run: bool,
        /// A display title, over the bundle's own.
        #[arg(long)]
        title: Option<String>,
        /// A one-line description, over the bundle's own.
        #[arg(long)]
        description: Option<String>,
        /// The owner, an entity reference such as `group:default/platform`.
        #[arg(long, value_name = "REF")]
        owner: Option<String>,
        /// An environment template a service template deploys into, `NAME:MAJOR`; repeatable.
        /// For Proton service bundles, which do not list them.
        #[arg(long, value_name = "NAME:MAJOR")]
        compatible_environment: Vec<String>,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Publish a draft version; the highest published version becomes the recommended one.
    ///
    /// Publishing a withdrawn version puts it back.
    ///
    /// Example: paved template publish web-service@1.3
    Publish {
        /// The version to publish.
        #[arg(value_name = "NAME@MAJOR.MINOR")]
        template_version: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Withdraw a published version; the previous one becomes recommended again.
    ///
    /// The reason is shown to anyone who looks at the version. Publishing it again undoes
    /// the withdrawal.
    ///
    /// Example: paved template withdraw web-service@1.3 --reason "breaks health checks"
    Withdraw {
        /// The version to withdraw.
        #[arg(value_name = "NAME@MAJOR.MINOR")]
        template_version: String,
        /// Why the version is withdrawn.
        #[arg(long, required = true)]
        reason: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Sync templates from git repositories laid out `{template}/v{major}/`.
    #[command(subcommand)]
    Sync(TemplateSyncCommand),
    /// Render a template version over inputs, without deploying anything (a dry run)
    ///
    /// Inputs come from a YAML or JSON mapping (--inputs FILE), with --input KEY=VALUE on top;
    /// values are read as YAML, so `port=8080` is a number and `tags=[a, b]` a list. They are
    /// validated against the version's schema, defaults applied; each invalid input is named.
    ///
    /// The inputs file may also be an AWS Proton spec, unchanged: `proton: EnvironmentSpec`
    /// (inputs under `spec`), or `proton: ServiceSpec` (`pipeline` inputs and `instances`);
    /// the instance rendered is the first, or the one --instance names, and every instance of
    /// the spec is the pipeline's `service_instances`.
    ///
    /// The context file (YAML or JSON) sets the names and outputs around the render:
    /// `{environment: {name, account_id, outputs}, service: {name, branch_name,
    /// repository_id, repository_connection_arn}, service_instance: {name},
    /// component_outputs, service_instances: [{name, inputs, outputs, environment}]}`. Unset
    /// names default to `example` (service), `dev` (environment and instance) and `main`
    /// (branch); `account_id` to 000000000000, the local target's account.
    ///
    /// Without --out, every file is printed to stdout after a header line `# ---- <path>`.
    /// With --out DIR, the files are written under DIR, which must not exist or be empty; they
    /// appear all at once or not at all.
    ///
    /// Examples:
    ///   paved template render web-service --input port=8080
    ///   paved template render web-service@1.2 --inputs inputs.yaml --context context.yaml --out ./rendered
    ///   paved template render proton-svc --inputs service-spec.yaml --instance frontend-prod
    #[command(verbatim_doc_comment)]
    Render {
        /// `NAME`, `NAME@MAJOR` or `NAME@MAJOR.MINOR` (drafts included).
        template: String,
        /// A YAML or JSON file with the inputs, a mapping of input names to values.
        #[arg(long, value_name = "FILE")]
        inputs: Option<PathBuf>,
        /// One input, `KEY=VALUE`, over the --inputs file; the value is read as YAML. Repeatable.
        #[arg(long = "input", value_name = "KEY=VALUE")]
        input: Vec<String>,
        /// A YAML or JSON file with the pipeline inputs (service templates with a pipeline).
        #[arg(long, value_name = "FILE")]
        pipeline_inputs: Option<PathBuf>,
        /// A YAML or JSON file with the render context: names and outputs.
        #[arg(long, value_name = "FILE")]
        context: Option<PathBuf>,
        /// The instance of a Proton ServiceSpec (given as --inputs) to render; by default the
        /// spec's first.
        #[arg(long, value_name = "NAME")]
        instance: Option<String>,
        /// Write the files under this directory instead of printing them.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[arg(short, long, value_enum, default_value_t = RenderOutputFormat::Text)]
        output: RenderOutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Write a new template bundle to edit, offline
    ///
    /// Writes a manifest, an input schema with example inputs and a small CloudFormation
    /// template using them, and a README with the next steps. DIR must not exist.
    ///
    /// Examples:
    ///   paved template init my-service
    ///   paved template init shared-vpc --kind environment
    ///   paved template init my-proton-service --format proton ./templates/my-proton-service
    #[command(verbatim_doc_comment)]
    Init {
        /// The template's name: letters, digits, `-`, `_` and `.`, at most 63 characters.
        name: String,
        /// The directory to create; by default `./NAME`.
        dir: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = TemplateKindArg::Service)]
        kind: TemplateKindArg,
        #[arg(long, value_enum, default_value_t = BundleFormatArg::Paved)]
        format: BundleFormatArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum TemplateSyncCommand {
    /// Sync a git repository now, and then at every refresh interval.
    ///
    /// Each `{template}/v{major}/` folder is a bundle: a new folder becomes version MAJOR.0, a
    /// changed one a new minor draft, and an unchanged one adds nothing.
    ///
    /// Example: paved template sync add 'https://git.example.com/platform/templates.git#ref=main'
    Add {
        /// `REPO[#ref=REF][&path=DIR]`; a local repository path is sent absolute.
        target: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the synced repositories with their last commit and problems.
    List {
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Sync one repository now.
    ///
    /// Example: paved template sync run 3f0c9a
    Run {
        /// The sync's id, from `paved template sync list`.
        id: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Stop syncing a repository; the versions it registered stay.
    Remove {
        /// The sync's id, from `paved template sync list`.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// How `paved service create` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CreateOutputFormat {
    /// Progress lines, then `created NAME` and the clone command (a dry run: the file paths).
    Text,
    /// JSON: the finished task; with --dry-run or --no-wait, the server's answer.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Create a service from a golden path: a new git repository, registered in the catalog
    ///
    /// The server checks everything first (name, owner, template, inputs) and refuses with
    /// every problem named; then a task renders the template, commits the files to a new
    /// repository on branch `main`, registers its `catalog-info.yaml` and records the
    /// service. If a step fails, what the job did is undone and the step is named.
    ///
    /// Inputs come from a YAML or JSON mapping (--inputs FILE), with --input KEY=VALUE on top;
    /// values are read as YAML, so `port=8080` is a number. See them with
    /// `paved template show web-service`. Pipeline inputs choose the CI, e.g.
    /// `--pipeline-input provider=gitlab-ci`.
    ///
    /// Steps are printed on stderr as they start and finish. Exit code 0 when the service is
    /// created, 1 when the request is refused or the job fails.
    ///
    /// Examples:
    ///   paved service create orders --template web-service --owner group:default/team-a
    ///   paved service create billing --template web-service@1 --owner team-a --system payments \
    ///       --input port=8080 --pipeline-input provider=gitlab-ci
    ///   paved service create orders --template web-service@1.0 --owner team-a --dry-run
    ///   paved service create orders --template web-service --owner team-a --no-wait
    #[command(verbatim_doc_comment)]
    Create(Box<ServiceCreateArgs>),
    /// List the services Paved created: owner, template, version and repository.
    ///
    /// Example: paved service list -o json
    List {
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show one service and its spec (the `paved.yaml` of its repository).
    ///
    /// Example: paved service show orders
    Show {
        /// The service's name.
        name: String,
        #[arg(short, long, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// The arguments of `paved service create` (boxed in [`ServiceCommand`]: there are many).
#[derive(Debug, Args)]
pub struct ServiceCreateArgs {
    /// The service's name: 1-63 letters and digits separated by `-`, `_` or `.`.
    pub name: String,
    /// The service template: `NAME`, `NAME@MAJOR` or `NAME@MAJOR.MINOR`; without a
    /// version, the recommended one.
    #[arg(long, value_name = "NAME[@MAJOR[.MINOR]]")]
    pub template: String,
    /// The owning Group, which must be in the catalog: `group:default/team-a` or `team-a`.
    #[arg(long, value_name = "REF")]
    pub owner: String,
    /// The System the Component belongs to; by default one named after the service is
    /// created with it.
    #[arg(long)]
    pub system: Option<String>,
    /// The Component's lifecycle, e.g. `production`; by default `experimental`.
    #[arg(long)]
    pub lifecycle: Option<String>,
    /// A one-line description of the service.
    #[arg(long)]
    pub description: Option<String>,
    /// The environment of the service's first instance; by default `dev`. Its `paved.yaml`
    /// names it, and its catalog entity's `paved.dev/ecs-cluster` annotation names the
    /// environment's ECS cluster, which has the environment's name (`dev`).
    #[arg(long)]
    pub environment: Option<String>,
    /// One input, `KEY=VALUE`, over the --inputs file; the value is read as YAML. Repeatable.
    #[arg(long = "input", value_name = "KEY=VALUE")]
    pub input: Vec<String>,
    /// A YAML or JSON file with the inputs, a mapping of input names to values.
    #[arg(long, value_name = "FILE")]
    pub inputs: Option<PathBuf>,
    /// One pipeline input, `KEY=VALUE` read as YAML, e.g. `provider=gitlab-ci`. Repeatable.
    #[arg(long = "pipeline-input", value_name = "KEY=VALUE")]
    pub pipeline_input: Vec<String>,
    /// Also push the new repository here (a bare repository's path or `file://` URL);
    /// its `main` branch must not exist yet.
    #[arg(long, value_name = "URL")]
    pub repository_url: Option<String>,
    /// Check and render everything, print the repository's files, create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the task's id and return at once instead of following it.
    #[arg(long, conflicts_with = "dry_run")]
    pub no_wait: bool,
    #[arg(short, long, value_enum, default_value_t = CreateOutputFormat::Text)]
    pub output: CreateOutputFormat,
    #[command(flatten)]
    pub server: ServerArgs,
}
