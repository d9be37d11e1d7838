//! `paved service ...` as a user runs it: the real binary against a `paved up` child process
//! with its built-in templates, the new repository cloned and tested with the system `git` and
//! `python3`, its `catalog-info.yaml` checked by Backstage's validator; refusals, a failed push
//! that leaves nothing behind, and a task resumed by a restart after a crash.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::backstage::BackstageValidator;
use crate::up::Up;
use crate::{Run, paved, paved_under_umask, run};

/// How long a process may take to become ready, to exit, or to follow a task to its end.
const DEADLINE: Duration = Duration::from_secs(60);

/// The owner of every service here, registered by [`start`].
const GROUP: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
"#;

/// `paved up` in a new temporary directory, with the Group `team-a` in its catalog.
#[track_caller]
fn start() -> (tempfile::TempDir, Up) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Up::start(dir.path(), &dir.path().join("data"), &[]);
    add_group(&server, dir.path());
    (dir, server)
}

/// Registers `team-a` through `paved catalog locations add`.
#[track_caller]
fn add_group(server: &Up, dir: &Path) {
    let file = dir.join("groups.yaml");
    std::fs::write(&file, GROUP).expect("write groups.yaml");
    let added = server.cli(&["catalog", "locations", "add"], &[&file]);
    assert_eq!(added.code, Some(0), "{added}");
}

/// `paved service ARGS` against `server`, with its admin token.
#[track_caller]
fn service(server: &Up, args: &[&str]) -> Run {
    server.group("service", args)
}

/// The same, expected to succeed.
#[track_caller]
fn service_ok(server: &Up, args: &[&str]) -> Run {
    server.group_ok("service", args)
}

/// `paved job ARGS`, expected to succeed.
#[track_caller]
fn job_ok(server: &Up, args: &[&str]) -> Run {
    server.group_ok("job", args)
}

/// `paved service create NAME --template web-service --owner group:default/team-a ARGS`.
#[track_caller]
fn create(server: &Up, name: &str, args: &[&str]) -> Run {
    let mut full = vec![
        "create",
        name,
        "--template",
        "web-service",
        "--owner",
        "group:default/team-a",
    ];
    full.extend_from_slice(args);
    service(server, &full)
}

/// The names in `paved service list -o json`.
#[track_caller]
fn service_names(server: &Up) -> Vec<String> {
    let list = service_ok(server, &["list", "-o", "json"]).json();
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of services: {list}"))
        .iter()
        .map(|item| item["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `git ARGS` in `dir`, with no user or system configuration and a fixed identity.
#[track_caller]
fn git(dir: &Path, args: &[&str]) -> Run {
    let result = run(Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1"));
    assert_eq!(
        result.code,
        Some(0),
        "git {args:?} in {}: {result}",
        dir.display()
    );
    result
}

/// The URL after `clone it: git clone ` in what `create` printed.
#[track_caller]
fn clone_url(created: &Run) -> String {
    created
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("clone it: git clone "))
        .unwrap_or_else(|| panic!("a clone command is printed: {created}"))
        .to_owned()
}

/// Clones `url` into `dir/name` with the system git.
#[track_caller]
fn clone(dir: &Path, url: &str, name: &str) -> PathBuf {
    git(dir, &["clone", url, name]);
    dir.join(name)
}

/// The entries of `<data-dir>/repositories`, none if it does not exist.
fn repositories(data_dir: &Path) -> Vec<String> {
    match std::fs::read_dir(data_dir.join("repositories")) {
        Ok(entries) => entries
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Backstage's verdicts on one file, asserted all OK.
#[track_caller]
fn assert_backstage_accepts(file: &Path, documents: usize) {
    let verdicts = BackstageValidator::locate().run(&[file.to_owned()]);
    assert_eq!(verdicts.len(), documents, "{verdicts:?}");
    for verdict in &verdicts {
        assert!(
            verdict.ok,
            "Backstage refuses `{}`: {}",
            file.display(),
            verdict.text()
        );
    }
}

#[test]
fn service_create_makes_a_repository_that_clones_passes_its_tests_and_validates() {
    let (dir, server) = start();
    let created = create(
        &server,
        "orders",
        &[
            "--system",
            "shop",
            "--lifecycle",
            "production",
            "--description",
            "Takes orders",
            "--input",
            "port=8080",
        ],
    );
    assert_eq!(created.code, Some(0), "{created}");
    assert!(created.stdout.starts_with("created orders\n"), "{created}");
    // A waiting create names its job first, so it can be followed from elsewhere.
    let job_line = created.stderr.lines().next().unwrap_or_default();
    assert!(
        job_line.starts_with("job ")
            && job_line.contains("(follow it elsewhere with `paved job follow "),
        "{created}"
    );
    for step in [
        "✓ render: ",
        "from web-service@1.0",
        "✓ repository: ",
        "✓ catalog: component:default/orders is in the catalog",
        "✓ record: ",
    ] {
        assert!(
            created.stderr.contains(step),
            "`{step}` is shown: {created}"
        );
    }

    // The catalog has the Component as soon as `create` returns.
    let component = server.cli(
        &["catalog", "get", "component:default/orders", "-o", "json"],
        &[],
    );
    assert_eq!(component.code, Some(0), "{component}");
    let component = component.json();
    assert_eq!(component["spec"]["owner"], "group:default/team-a");
    assert_eq!(component["spec"]["system"], "shop");
    assert_eq!(component["spec"]["lifecycle"], "production");

    let url = clone_url(&created);
    let clone = clone(dir.path(), &url, "orders");
    for file in [
        "app.py",
        "test_app.py",
        "Dockerfile",
        ".github/workflows/ci.yml",
        "catalog-info.yaml",
        "paved.yaml",
    ] {
        assert!(clone.join(file).is_file(), "`{file}` is in the clone");
    }
    assert!(
        !clone.join(".gitlab-ci.yml").exists(),
        "one CI provider only"
    );

    let catalog_info =
        std::fs::read_to_string(clone.join("catalog-info.yaml")).expect("read catalog-info.yaml");
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(&catalog_info).expect("catalog-info.yaml is YAML");
    // The call named a system: no System document of its own.
    assert_eq!(documents.len(), 1, "{catalog_info}");
    let document = &documents[0];
    assert_eq!(document["kind"], "Component");
    assert_eq!(document["metadata"]["name"], "orders");
    assert_eq!(document["metadata"]["description"], "Takes orders");
    let annotations = &document["metadata"]["annotations"];
    assert_eq!(annotations["paved.dev/template"], "web-service@1.0");
    assert_eq!(
        annotations["backstage.io/source-location"],
        format!("url:{url}").as_str()
    );
    assert_eq!(
        document["spec"],
        json!({
            "type": "service",
            "lifecycle": "production",
            "owner": "group:default/team-a",
            "system": "shop",
        })
    );
    assert_backstage_accepts(&clone.join("catalog-info.yaml"), 1);

    let spec: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(clone.join("paved.yaml")).expect("read paved.yaml"),
    )
    .expect("paved.yaml is YAML");
    assert_eq!(spec["service"]["template"], "web-service");
    assert_eq!(spec["instances"][0]["inputs"]["port"], 8080);

    // One name for the environment: the instance's environment in paved.yaml, the
    // Component's cluster annotation, and the cluster `ecs-environment` makes for it.
    assert_eq!(spec["instances"][0]["environment"], "dev", "{spec}");
    assert_eq!(
        annotations["paved.dev/ecs-cluster"], "dev",
        "{catalog_info}"
    );
    let context = dir.path().join("environment-context.yaml");
    std::fs::write(
        &context,
        format!(
            "environment:\n  name: {}\n",
            spec["instances"][0]["environment"]
        ),
    )
    .expect("write the context");
    let rendered = dir.path().join("environment");
    let environment = server.cli(
        &["template", "render", "ecs-environment", "--context"],
        &[&context, Path::new("--out"), &rendered],
    );
    assert_eq!(environment.code, Some(0), "{environment}");
    let stack = std::fs::read_to_string(rendered.join("infrastructure/cloudformation.yaml"))
        .expect("the environment's stack");
    let cluster = stack
        .split("Type: AWS::ECS::Cluster")
        .nth(1)
        .and_then(|resource| {
            resource
                .lines()
                .find(|line| line.trim().starts_with("ClusterName:"))
        })
        .unwrap_or_else(|| panic!("the cluster resource names its cluster:\n{stack}"));
    assert_eq!(
        cluster.trim(),
        format!("ClusterName: {}", annotations["paved.dev/ecs-cluster"]),
        "the cluster is the annotation's"
    );

    let tests = run(Command::new("python3")
        .args(["-m", "unittest", "-v"])
        .current_dir(&clone)
        .env("PYTHONDONTWRITEBYTECODE", "1"));
    assert_eq!(tests.code, Some(0), "the service's own tests pass: {tests}");
    assert!(tests.stderr.contains("OK"), "{tests}");

    let count = git(&clone, &["rev-list", "--count", "main"]);
    assert_eq!(count.stdout.trim(), "1", "exactly one commit on main");
    let branches = git(&clone, &["branch", "-r"]);
    assert!(branches.stdout.contains("origin/main"), "{branches}");

    let list = service_ok(&server, &["list", "-o", "json"]).json();
    let items = list["items"].as_array().expect("a list of services");
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(
        (
            &items[0]["name"],
            &items[0]["owner"],
            &items[0]["template"],
            &items[0]["templateVersion"],
            &items[0]["repositoryUrl"],
        ),
        (
            &json!("orders"),
            &json!("group:default/team-a"),
            &json!("web-service"),
            &json!("1.0"),
            &json!(url),
        ),
        "{list}"
    );
    let table = service_ok(&server, &["list"]);
    assert!(table.stdout.contains("orders"), "{table}");
    let yaml = service_ok(&server, &["list", "-o", "yaml"]);
    let yaml: Value = serde_saphyr::from_str(&yaml.stdout).expect("`-o yaml` is YAML");
    assert_eq!(yaml["items"][0]["name"], "orders");

    let shown = service_ok(&server, &["show", "orders", "-o", "json"]).json();
    assert_eq!(shown["spec"]["service"]["name"], "orders", "{shown}");
    let shown = service_ok(&server, &["show", "orders"]);
    assert!(shown.stdout.contains("Spec (paved.yaml):"), "{shown}");
    assert!(shown.stdout.contains("templateVersion: \"1.0\""), "{shown}");
    let missing = service(&server, &["show", "nothing-here"]);
    assert_eq!(missing.code, Some(1), "{missing}");
    assert!(missing.stderr.contains("not found"), "{missing}");
}

#[test]
fn service_create_with_the_gitlab_pipeline_and_json_output() {
    let (dir, server) = start();
    let created = create(
        &server,
        "billing",
        &["--pipeline-input", "provider=gitlab-ci", "-o", "json"],
    );
    assert_eq!(created.code, Some(0), "{created}");
    let task = created.json();
    assert_eq!(task["state"], "succeeded", "{task}");
    assert_eq!(task["result"]["service"], "billing", "{task}");
    assert_eq!(task["result"]["entityRef"], "component:default/billing");
    let url = task["result"]["cloneUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("a clone URL: {task}"))
        .to_owned();

    let clone = clone(dir.path(), &url, "billing");
    assert!(clone.join(".gitlab-ci.yml").is_file(), "GitLab CI's file");
    assert!(!clone.join(".github").exists(), "no GitHub workflow");
    // No system was named: one named after the service comes with it.
    assert_backstage_accepts(&clone.join("catalog-info.yaml"), 2);
    let system = server.cli(
        &["catalog", "get", "system:default/billing", "-o", "json"],
        &[],
    );
    assert_eq!(system.code, Some(0), "{system}");

    let job_id = task["id"].as_str().expect("a job id");
    let log = job_ok(&server, &["show", job_id, "-o", "json"]).json();
    assert_eq!(log["state"], "succeeded");
    let steps: Vec<&str> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|event| event["level"] == "done")
        .filter_map(|event| event["step"].as_str())
        .collect();
    assert_eq!(steps, ["render", "repository", "catalog"], "{log}");
    let text = job_ok(&server, &["show", job_id]);
    assert!(
        text.stdout.starts_with(&format!(
            "job {job_id} (service.create on service:billing): succeeded\n"
        )),
        "{text}"
    );
    assert!(text.stdout.contains("✓ repository: "), "{text}");
}

#[test]
fn service_create_dry_run_lists_the_files_and_creates_nothing() {
    let (dir, server) = start();
    let data_dir = dir.path().join("data");
    let dry_run = create(&server, "orders", &["--dry-run"]);
    assert_eq!(dry_run.code, Some(0), "{dry_run}");
    assert!(
        dry_run
            .stdout
            .starts_with("dry run: service `orders` from web-service@1.0: "),
        "{dry_run}"
    );
    assert!(dry_run.stdout.contains("nothing was created"), "{dry_run}");
    for file in [
        "  app.py\n",
        "  .github/workflows/ci.yml\n",
        "  catalog-info.yaml\n",
        "  paved.yaml\n",
    ] {
        assert!(
            dry_run.stdout.contains(file),
            "`{file}` is listed: {dry_run}"
        );
    }

    let json = create(&server, "orders", &["--dry-run", "-o", "json"]);
    assert_eq!(json.code, Some(0), "{json}");
    let json = json.json();
    assert_eq!(json["dryRun"], true);
    assert_eq!(json["templateVersion"], "1.0");
    assert_eq!(json["jobId"], Value::Null, "no job: {json}");
    let paths: Vec<&str> = json["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|file| file["path"].as_str())
        .collect();
    assert!(paths.contains(&"catalog-info.yaml"), "{paths:?}");

    assert_eq!(repositories(&data_dir), Vec::<String>::new());
    assert_eq!(service_names(&server), Vec::<String>::new());
    let component = server.cli(&["catalog", "get", "component:default/orders"], &[]);
    assert_eq!(component.code, Some(1), "{component}");
}

#[test]
fn service_create_is_all_or_nothing() {
    let (dir, server) = start();
    let data_dir = dir.path().join("data");
    let nothing_created = |why: &str| {
        assert_eq!(repositories(&data_dir), Vec::<String>::new(), "{why}");
        assert_eq!(service_names(&server), Vec::<String>::new(), "{why}");
        let component = server.cli(&["catalog", "get", "component:default/orders"], &[]);
        assert_eq!(component.code, Some(1), "{why}: {component}");
    };

    let invalid = create(&server, "orders", &["--input", "port=70000"]);
    assert_eq!(invalid.code, Some(1), "{invalid}");
    assert!(
        invalid
            .stderr
            .contains("input `/port`: 70000 is greater than the maximum 65535 (rule `maximum`)"),
        "{invalid}"
    );
    assert!(
        invalid
            .stderr
            .contains("error: service `orders` was not created: 1 problem"),
        "{invalid}"
    );
    nothing_created("an invalid input");

    let invalid = create(&server, "orders", &["--pipeline-input", "provider=jenkins"]);
    assert_eq!(invalid.code, Some(1), "{invalid}");
    assert!(invalid.stderr.contains("`/provider`"), "{invalid}");
    nothing_created("an invalid pipeline input");

    let unknown_owner = service(
        &server,
        &[
            "create",
            "orders",
            "--template",
            "web-service",
            "--owner",
            "group:default/nobody",
        ],
    );
    assert_eq!(unknown_owner.code, Some(1), "{unknown_owner}");
    assert!(
        unknown_owner
            .stderr
            .contains("owner `group:default/nobody` is not a Group in the catalog"),
        "{unknown_owner}"
    );
    nothing_created("an unknown owner");

    // A remote whose `main` has a commit of its own refuses the push.
    let remote = dir.path().join("remote.git");
    git(dir.path(), &["init", "--bare", "remote.git"]);
    let work = dir.path().join("work");
    git(dir.path(), &["clone", "remote.git", "work"]);
    git(&work, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    std::fs::write(work.join("README.md"), "someone else's\n").expect("write README.md");
    git(&work, &["add", "README.md"]);
    git(&work, &["commit", "-m", "Someone else's commit"]);
    git(&work, &["push", "origin", "main"]);
    let remote_text = remote.display().to_string();
    let refused = create(&server, "orders", &["--repository-url", &remote_text]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("step `repository` failed"),
        "the failed step is named: {refused}"
    );
    assert!(refused.stderr.contains("✗ repository: "), "{refused}");
    nothing_created("a failed push");
    let remote_commits = git(&remote, &["rev-list", "--count", "main"]);
    assert_eq!(remote_commits.stdout.trim(), "1", "the remote is untouched");
    let locations = server
        .cli(&["catalog", "locations", "list", "-o", "json"], &[])
        .json();
    let targets: Vec<&str> = locations["items"]
        .as_array()
        .expect("locations")
        .iter()
        .filter(|location| location["type"] != "paved")
        .filter_map(|location| location["target"].as_str())
        .map(|target| target.rsplit('/').next().unwrap_or_default())
        .collect();
    assert_eq!(targets, ["groups.yaml"], "no location is left: {locations}");

    // The same name works once the cause is gone, and only once.
    let created = create(&server, "orders", &[]);
    assert_eq!(created.code, Some(0), "{created}");
    assert_eq!(service_names(&server), ["orders"]);
    let again = create(&server, "orders", &[]);
    assert_eq!(again.code, Some(1), "{again}");
    assert!(
        again
            .stderr
            .contains("a service named `orders` already exists"),
        "{again}"
    );
    assert_eq!(service_names(&server), ["orders"]);
}

/// A crash (the process aborts, as with `kill -9`) right after each step of service creation;
/// the restarted replica finishes the job with exactly one repository and one commit.
#[test]
fn service_creation_resumes_after_a_crash_at_every_step() {
    for step in ["render", "repository", "catalog"] {
        service_creation_resumes_after_a_crash_after(step);
    }
}

fn service_creation_resumes_after_a_crash_after(step: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    let crashing = CrashingUp::start(dir.path(), &data_dir, step);
    let file = dir.path().join("groups.yaml");
    std::fs::write(&file, GROUP).expect("write groups.yaml");
    let added = crashing.cli(&["catalog", "locations", "add", "groups.yaml"], dir.path());
    assert_eq!(added.code, Some(0), "{added}");
    let accepted = crashing.cli(
        &[
            "service",
            "create",
            "orders",
            "--template",
            "web-service",
            "--owner",
            "team-a",
            "--no-wait",
        ],
        dir.path(),
    );
    assert_eq!(accepted.code, Some(0), "{accepted}");
    let job_id = accepted.stdout.trim().to_owned();
    assert!(
        accepted
            .stderr
            .contains(&format!("paved job follow {job_id}")),
        "{accepted}"
    );
    let (status, log) = crashing.wait_for_exit();
    assert!(!status.success(), "the process aborts: {status}\n{log}");
    assert!(log.contains("crash injected after step"), "{log}");
    let repository = data_dir.join("repositories/orders.git");
    assert_eq!(
        repository.is_dir(),
        step != "render",
        "the repository exists after the step `{step}` only if it was made: {log}"
    );

    // The restarted replica (same data directory, same replica id) takes its job back at once.
    let server = Up::start(dir.path(), &data_dir, &[]);
    let followed = follow_with_deadline(&server, &job_id);
    assert!(server.log().contains("resuming a job"), "{}", server.log());
    assert_eq!(
        followed.code,
        Some(0),
        "{followed}\n--- server\n{}",
        server.log()
    );
    assert!(followed.stdout.contains("created orders"), "{followed}");
    let commits = git(&repository, &["rev-list", "--count", "main"]);
    assert_eq!(
        commits.stdout.trim(),
        "1",
        "the resumed run reuses the commit"
    );
    assert_eq!(service_names(&server), ["orders"]);
    let component = server.cli(&["catalog", "get", "component:default/orders"], &[]);
    assert_eq!(component.code, Some(0), "{component}");
}

/// Every file and directory under `dir` whose mode lets others than the owner in, with it.
fn shared_entries(dir: &Path) -> Vec<(PathBuf, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut shared = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::symlink_metadata(&path).expect("an entry's metadata");
        if metadata.file_type().is_symlink() {
            continue;
        }
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            shared.push((path.clone(), mode));
        }
        if metadata.is_dir() {
            for entry in std::fs::read_dir(&path).expect("a readable directory") {
                pending.push(entry.expect("an entry").path());
            }
        }
    }
    shared
}

#[test]
fn data_files_are_private_whatever_the_umask() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = dir.path().join("data");
    // Started with umask 000, every file would be world-writable unless Paved sees to it.
    let server = Up::start_command(paved_under_umask("000"), dir.path(), &data_dir, &[]);
    add_group(&server, dir.path());
    let created = create(&server, "orders", &["--input", "port=8080"]);
    assert_eq!(created.code, Some(0), "{created}");
    let built = server.group_ok("build", &["orders"]);
    let image = built.stdout.trim().to_owned();
    let ecs = |operation: &str, request: Value| {
        let (status, body) = server.post(
            "/ecs",
            &[(
                "X-Amz-Target",
                &format!("AmazonEC2ContainerServiceV20141113.{operation}"),
            )],
            &request,
        );
        assert_eq!(status, 200, "{operation}: {body}");
    };
    ecs(
        "RegisterTaskDefinition",
        json!({"family": "orders", "memory": "512", "containerDefinitions": [{
            "name": "app", "image": image, "portMappings": [{"containerPort": 8080}],
            "stopTimeout": 2}]}),
    );
    ecs(
        "CreateService",
        json!({"serviceName": "orders", "taskDefinition": "orders", "desiredCount": 1}),
    );
    // A running task: its working copy and its logs are on disk.
    server.wait_for_log("deployment completed", 1);

    for expected in [
        "paved.db",
        "paved.db-wal",
        "paved.db-shm",
        "admin-token",
        "replica-id",
        "repositories/orders.git",
        "git-cache",
        "engine",
    ] {
        assert!(data_dir.join(expected).exists(), "`{expected}` was written");
    }
    assert_eq!(shared_entries(&data_dir), Vec::new());
    assert!(
        !server.log().contains("open to other users"),
        "{}",
        server.log()
    );
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}");

    // A data directory opened up (by hand, or made before Paved kept it private) is reported
    // at the next start, with the fix.
    std::fs::set_permissions(
        &data_dir,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod 755");
    let server = Up::start(dir.path(), &data_dir, &[]);
    let canonical = data_dir.canonicalize().expect("the data directory");
    let log = server.log();
    assert!(
        log.contains(&format!(
            "the data directory `{}` is open to other users (mode 755)",
            canonical.display()
        )) && log.contains(&format!("run `chmod 700 {}`", canonical.display())),
        "{log}"
    );
}

#[test]
fn service_help_mentions_the_key_flags() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["--help"], &["service"]),
        (
            &["service", "--help"],
            &[
                "create",
                "list",
                "show",
                "paved job follow",
                "paved service create",
            ],
        ),
        (
            &["service", "create", "--help"],
            &[
                "--template",
                "--owner",
                "--system",
                "--lifecycle",
                "--description",
                "--environment",
                "--input",
                "--inputs",
                "--pipeline-input",
                "--repository-url",
                "--dry-run",
                "--no-wait",
                "--output",
                "paved service create orders --template web-service",
                "provider=gitlab-ci",
            ],
        ),
        (
            &["service", "list", "--help"],
            &["--output", "paved service list"],
        ),
        (
            &["service", "show", "--help"],
            &["--output", "paved service show"],
        ),
        (
            &["job", "follow", "--help"],
            &["--output", "paved job follow"],
        ),
    ];
    for (args, flags) in cases {
        let result = run(paved().args(*args));
        assert_eq!(result.code, Some(0), "{args:?}: {result}");
        for flag in *flags {
            assert!(
                result.stdout.contains(flag),
                "{args:?} mentions `{flag}`: {result}"
            );
        }
    }
    let usage = run(paved().args(["service", "create", "orders", "--owner", "team-a"]));
    assert_eq!(usage.code, Some(2), "--template is required: {usage}");
    let usage = run(paved().args([
        "service",
        "create",
        "orders",
        "--template",
        "web-service",
        "--owner",
        "team-a",
        "--input",
        "port",
    ]));
    assert_eq!(usage.code, Some(2), "{usage}");
    assert!(usage.stderr.contains("give KEY=VALUE"), "{usage}");
}

/// `paved job follow ID`, killed with a failure if it has not ended by [`DEADLINE`].
#[track_caller]
fn follow_with_deadline(server: &Up, job_id: &str) -> Run {
    let child = paved()
        .args(["job", "follow", job_id, "--server", &server.url()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start `paved job follow`");
    let pid = child.id().to_string();
    let (done, finished) = channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(DEADLINE) {
        Ok(output) => {
            let output = output.expect("wait for `paved job follow`");
            Run {
                code: output.status.code(),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            }
        }
        Err(error) => {
            let _ = run(Command::new("kill").args(["-KILL", &pid]));
            panic!(
                "the job did not end within {DEADLINE:?} ({error})\n--- server\n{}",
                server.log()
            );
        }
    }
}

/// `paved up` with `PAVED_CRASH_AFTER_STEP` set, which [`Up`] cannot pass: it listens on a
/// port of its own choosing, read from its ready line, and is expected to abort.
struct CrashingUp {
    child: Option<Child>,
    url: String,
    data_dir: PathBuf,
    log: Arc<Mutex<String>>,
    /// Signalled when stderr closes, that is when the process exits.
    closed: Receiver<()>,
}

impl CrashingUp {
    #[track_caller]
    fn start(work_dir: &Path, data_dir: &Path, crash_after_step: &str) -> CrashingUp {
        let mut child = paved()
            .current_dir(work_dir)
            .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("PAVED_CRASH_AFTER_STEP", crash_after_step)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start `paved up`");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready, readiness) = channel();
        let (close, closed) = channel();
        std::thread::spawn({
            let log = Arc::clone(&log);
            move || {
                for line in std::io::BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                {
                    if let Some(rest) = line.strip_prefix("Paved is listening on ") {
                        let url = rest.split(' ').next().unwrap_or_default().to_owned();
                        let _ = ready.send(url);
                    }
                    let mut log = log.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
                let _ = close.send(());
            }
        });
        let mut up = CrashingUp {
            child: Some(child),
            url: String::new(),
            data_dir: data_dir.to_owned(),
            log,
            closed,
        };
        match readiness.recv_timeout(DEADLINE) {
            Ok(url) => up.url = url,
            Err(error) => panic!("`paved up` was not ready ({error}):\n{}", up.log()),
        }
        up
    }

    fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// `paved ARGS --server URL --data-dir DATA`, run from `work_dir`.
    #[track_caller]
    fn cli(&self, args: &[&str], work_dir: &Path) -> Run {
        run(paved()
            .current_dir(work_dir)
            .args(args)
            .args(["--server", &self.url, "--data-dir"])
            .arg(&self.data_dir))
    }

    /// Waits until the process has exited on its own: its exit status and everything it
    /// wrote to stderr.
    #[track_caller]
    fn wait_for_exit(mut self) -> (ExitStatus, String) {
        if let Err(error) = self.closed.recv_timeout(DEADLINE) {
            panic!(
                "`paved up` did not exit within {DEADLINE:?} ({error}):\n{}",
                self.log()
            );
        }
        let mut child = self.child.take().expect("the process was started");
        let status = child.wait().expect("wait for `paved up`");
        (status, self.log())
    }
}

impl Drop for CrashingUp {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut()
            && let Ok(None) = child.try_wait()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
