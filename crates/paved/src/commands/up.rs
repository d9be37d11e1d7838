//! `paved up`: the control plane in the foreground.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use paved_catalog::CatalogConfig;
use paved_cli::{LogFormat, UpArgs};
use paved_jobs::JobRunnerConfig;
use paved_model::ids::ReplicaId;
use paved_scaffolder::ScaffolderConfig;
use paved_server::auth::generate_token;
use paved_server::{AppConfig, AppState};
use paved_store::{Store, StoreConfig};
use paved_template_registry::RegistryConfig;
use tokio::sync::watch;

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    init_logging(args.log_format, args.verbose);
    keep_files_private();
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating the data directory `{}`", args.data_dir.display()))?;
    let data_dir = args
        .data_dir
        .canonicalize()
        .with_context(|| format!("resolving `{}`", args.data_dir.display()))?;
    // Held until the process ends: one `paved up` per data directory.
    let _data_dir_lock = lock_data_dir(&data_dir)?;
    warn_if_shared(&data_dir);
    // Read before anything starts, so a bad file stops `paved up` at once.
    let git_credentials = args
        .git_credentials
        .as_deref()
        .map(read_git_credentials)
        .transpose()?;
    let store_config = match &args.database_url {
        Some(url) => StoreConfig::Postgres { url: url.clone() },
        None => StoreConfig::Sqlite {
            path: data_dir.join("paved.db"),
        },
    };
    let store = Store::open(&store_config)
        .await
        .context("opening the store")?;
    // The token written at first start is read back, so this process knows the secret that
    // AWS SigV4 calls to `/ecs` are signed with (the store keeps only its hash).
    let token = std::env::var("PAVED_ADMIN_TOKEN")
        .ok()
        .or_else(|| std::fs::read_to_string(data_dir.join("admin-token")).ok())
        .filter(|token| !token.trim().is_empty())
        .unwrap_or_else(generate_token);
    let replica = replica_id(&data_dir)?;
    let catalog_config = CatalogConfig {
        git_cache: data_dir.join("git-cache"),
        working_dir: std::env::current_dir().context("reading the working directory")?,
        refresh_interval: Duration::from_secs(args.refresh_interval.max(1)),
        orphan_grace: Duration::from_secs(args.orphan_grace),
        replica: replica.clone(),
        private_paths: vec![data_dir.clone()],
        read_limits: read_limits(&args),
        url_reader: url_reader(&args)?,
    };
    let registry_config = RegistryConfig {
        git_cache: data_dir.join("git-cache"),
        sync_interval: Duration::from_secs(args.refresh_interval.max(1)),
        builtin_templates: true,
        cache_bytes: paved_template_registry::DEFAULT_CACHE_BYTES,
    };
    let engine_config =
        paved_engine_local::LocalEngineConfig::new(data_dir.join("engine"), replica.clone());
    let scaffolder_config = ScaffolderConfig {
        repositories_dir: data_dir.join("repositories"),
        // Credentials for pushing new repositories to remotes: from the environment only.
        git_credentials: match (
            std::env::var("PAVED_GIT_USERNAME"),
            std::env::var("PAVED_GIT_PASSWORD"),
        ) {
            (Ok(user), Ok(password)) => Some((user, password)),
            _ => None,
        },
        crash_after_step: std::env::var("PAVED_CRASH_AFTER_STEP").ok(),
    };
    let config = AppConfig {
        catalog: catalog_config,
        registry: registry_config,
        scaffolder: scaffolder_config,
        engine: engine_config,
        jobs: JobRunnerConfig::new(replica),
    };
    let (state, created) = AppState::build(store.clone(), config, token.trim())
        .await
        .context("starting the application")?;
    if created {
        write_token_file(&data_dir, token.trim())?;
    }
    if let Some(credentials) = git_credentials {
        state.registry.set_git_credentials(credentials);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on `{}`", args.listen))?;
    let address = listener
        .local_addr()
        .context("reading the listening address")?;

    let (stop, stopped) = watch::channel(false);
    let shutdown_grace = Duration::from_secs(args.shutdown_grace);
    {
        let catalog = state.catalog.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!(grace_s = shutdown_grace.as_secs(), "shutting down");
            catalog.stop_reads();
            let _ = stop.send(true);
            // Whatever is still running when the grace period ends is abandoned: the
            // store is consistent at every instruction, jobs resume at the next start, and
            // the local engine kills a previous run's leftover tasks then.
            tokio::time::sleep(shutdown_grace).await;
            tracing::warn!(
                grace_s = shutdown_grace.as_secs(),
                "the shutdown grace period is over; exiting now"
            );
            std::process::exit(0);
        });
    }
    let background = state.start(stopped.clone());
    tracing::info!(%address, store = store.backend(), data_dir = %data_dir.display(), "paved is up");
    eprintln!(
        "Paved is listening on http://{address} (store: {}, data: {})",
        store.backend(),
        data_dir.display()
    );
    let token_file = data_dir.join("admin-token");
    if std::env::var_os("PAVED_ADMIN_TOKEN").is_some() {
        eprintln!("Admin token for mutating calls: PAVED_ADMIN_TOKEN");
    } else {
        eprintln!(
            "Admin token for mutating calls: {} (from elsewhere: `paved config set token < {}`)",
            token_file.display(),
            token_file.display()
        );
    }
    eprintln!(
        "API reference: http://{address}/api/openapi.json; guides: README.md and docs/ in Paved's repository"
    );
    if !args.verbose && std::env::var_os("PAVED_LOG").is_none() {
        eprintln!("Logging warnings only (--verbose or PAVED_LOG=info for more)");
    }
    paved_server::serve(listener, state, stop_requested(stopped))
        .await
        .context("serving HTTP")?;
    background.stopped().await;
    store.close().await;
    tracing::info!("paved stopped");
    Ok(())
}

/// The URL reader of `--integrations` and `--ca-bundle`; tokens in the integrations file
/// may name environment variables (`${GITHUB_TOKEN}`).
fn url_reader(args: &UpArgs) -> anyhow::Result<paved_catalog::url::UrlReader> {
    use paved_catalog::url::{IntegrationsFile, UrlReader};
    let integrations = match &args.integrations {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the integrations file `{}`", path.display()))?;
            IntegrationsFile::parse(&path.display().to_string(), &text, &|name| {
                std::env::var(name).ok()
            })?
        }
        None => IntegrationsFile::default(),
    };
    let ca_bundle = match &args.ca_bundle {
        Some(path) => Some((
            path.display().to_string(),
            std::fs::read(path)
                .with_context(|| format!("reading the CA bundle `{}`", path.display()))?,
        )),
        None => None,
    };
    Ok(UrlReader::new(
        &integrations,
        ca_bundle
            .as_ref()
            .map(|(name, pem)| (name.as_str(), pem.as_slice())),
    )?)
}

fn read_limits(args: &UpArgs) -> paved_catalog::budget::ReadLimits {
    let defaults = paved_catalog::budget::ReadLimits::default();
    paved_catalog::budget::ReadLimits {
        max_files_visited: args
            .catalog_max_files_visited
            .unwrap_or(defaults.max_files_visited),
        max_bytes_read: args
            .catalog_max_bytes_read
            .unwrap_or(defaults.max_bytes_read),
        max_read_time: args
            .catalog_max_read_time
            .map(Duration::from_secs)
            .unwrap_or(defaults.max_read_time),
    }
}

async fn stop_requested(mut stopped: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = stopped.wait_for(|stop| *stop).await;
}

async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(terminate) => terminate,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops paved");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// Takes the data directory's lock (`<data-dir>/paved.lock`, with this process's id in it),
/// or explains which process holds it. The lock is the kernel's (`flock`): it goes with the
/// process, so a crash leaves nothing to clean up.
fn lock_data_dir(data_dir: &Path) -> anyhow::Result<std::fs::File> {
    use std::io::{Read as _, Seek as _, Write as _};
    let path = data_dir.join("paved.lock");
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("opening `{}`", path.display()))?;
    if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        let holder = if holder.is_empty() {
            "another process".to_owned()
        } else {
            format!("process {holder}")
        };
        anyhow::bail!(
            "the data directory `{}` is in use by {holder} (another `paved up`)\n\
             hint: stop it first, or give this one its own directory with `--data-dir`; \
             replicas share a PostgreSQL database (`--database-url`), each with its own data directory",
            data_dir.display()
        );
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    file.flush()?;
    Ok(file)
}

/// The git credentials file (git's credential-store format).
fn read_git_credentials(path: &Path) -> anyhow::Result<paved_git::CredentialStore> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the git credentials file `{}`", path.display()))?;
    paved_git::CredentialStore::parse(&text)
        .with_context(|| format!("the git credentials file `{}`", path.display()))
}

/// Makes every file and directory this process (and what it starts: SQLite, libgit2, the
/// local engine's containers) creates readable by its owner only, whatever umask it was
/// started with: the data directory holds the store, the admin token, repositories and logs.
/// A umask rather than a mode at each call, because SQLite and libgit2 create files of their
/// own (the WAL, git objects) with modes only the umask narrows.
fn keep_files_private() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Warns when other users can read or enter the data directory (one created before Paved
/// kept it private, or opened up since), naming the fix.
fn warn_if_shared(data_dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(metadata) = std::fs::metadata(data_dir) else {
            return;
        };
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                "the data directory `{}` is open to other users (mode {mode:03o}); it holds the store, the admin token and repositories: run `chmod 700 {}`",
                data_dir.display(),
                data_dir.display()
            );
        }
    }
}

/// This replica's identity, kept in the data directory so a restart is the same replica and
/// takes its own unfinished jobs back. Written through a temporary file.
fn replica_id(data_dir: &Path) -> anyhow::Result<ReplicaId> {
    let path = data_dir.join("replica-id");
    if let Ok(id) = std::fs::read_to_string(&path)
        && !id.trim().is_empty()
    {
        return Ok(ReplicaId(id.trim().to_owned()));
    }
    let id = format!("replica-{}", uuid::Uuid::new_v4());
    let temporary = data_dir.join(".replica-id.tmp");
    std::fs::write(&temporary, &id)
        .and_then(|()| std::fs::rename(&temporary, &path))
        .with_context(|| format!("writing `{}`", path.display()))?;
    Ok(ReplicaId(id))
}

/// Writes the admin token readable by its owner only, through a temporary file so a crash
/// never leaves half a token.
fn write_token_file(data_dir: &Path, token: &str) -> anyhow::Result<()> {
    let path = data_dir.join("admin-token");
    let temporary = data_dir.join(".admin-token.tmp");
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&temporary)
            .with_context(|| format!("writing `{}`", temporary.display()))?;
        file.write_all(format!("{token}\n").as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, &path).with_context(|| format!("writing `{}`", path.display()))?;
    Ok(())
}

/// Warnings and errors only unless `verbose` (info) or PAVED_LOG (any filter); ANSI colours
/// only when stderr is a terminal, so redirected logs stay plain text.
fn init_logging(format: LogFormat, verbose: bool) {
    let default = if verbose {
        "info,tower_http=warn,sqlx=warn"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAVED_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
