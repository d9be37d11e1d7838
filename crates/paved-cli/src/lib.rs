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
    Up(UpArgs),
    /// Work with the software catalog (Backstage-compatible).
    #[command(subcommand)]
    Catalog(CatalogCommand),
}

#[derive(Debug, Args)]
pub struct UpArgs {
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
    /// URL of the Paved server.
    #[arg(
        long,
        global = true,
        env = "PAVED_SERVER",
        default_value = "http://127.0.0.1:7080"
    )]
    pub server: String,
    /// Token for mutating calls. Defaults to the admin token in <data-dir>/admin-token.
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
    #[command(verbatim_doc_comment)]
    Add {
        /// A file path or glob (type file, relative paths taken from here), a git repository
        /// (type git), or a https://HOST/OWNER/REPO/blob/REF/PATH URL (type url).
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
