//! Every mistake the server (or the CLI) can see at once is refused the same way, whatever
//! the command: exit code 1 and one message that names the mistake and, where there is one,
//! the fix; and nothing is left half-done. Usage errors are the CLI's own and exit 2 (an
//! unreachable server exits 3: `up.rs`).

use std::path::Path;

use crate::up::Up;

/// `(arguments, exit code, what stderr says)`, run in a directory holding the examples'
/// `catalog-info.yaml` (registered) and `lb.yaml`.
const MISTAKES: &[(&[&str], i32, &str)] = &[
    // The catalog.
    (
        &[
            "catalog",
            "locations",
            "add",
            "/nonexistent/catalog-info.yaml",
        ],
        1,
        "location `/nonexistent/catalog-info.yaml` cannot be read",
    ),
    (
        &["catalog", "locations", "add", "catalog-info.yaml"],
        1,
        "catalog-info.yaml` already exists",
    ),
    (
        &["catalog", "locations", "remove", "nope"],
        1,
        "location `nope` not found",
    ),
    (
        &["catalog", "get", "component:default/nope"],
        1,
        "entity `component:default/nope` not found",
    ),
    (
        &["catalog", "query", "--filter", "=x"],
        1,
        "invalid filter `=x`: condition `=x` has no key",
    ),
    (
        &["catalog", "refresh", "component:default/nope"],
        1,
        "entity `component:default/nope` not found",
    ),
    (
        &["catalog", "validate", "/nonexistent/catalog-info.yaml"],
        1,
        "file does not exist",
    ),
    // Templates.
    (
        &["template", "show", "web-servise"],
        1,
        "template `web-servise` not found; did you mean `web-service`?",
    ),
    (
        &["template", "versions", "nope"],
        1,
        "template `nope` not found",
    ),
    (
        &["template", "show", "web-service@7"],
        1,
        "template `web-service` has no published version in major 7",
    ),
    (
        &["template", "register", "./nope"],
        1,
        "cannot read `./nope`",
    ),
    (
        &["template", "publish", "web-service@9.9"],
        1,
        "template `web-service` has no version 9.9",
    ),
    (
        &["template", "withdraw", "web-service@9.9", "--reason", "x"],
        1,
        "template `web-service` has no version 9.9",
    ),
    (
        &["template", "render", "web-service", "--input", "port=abc"],
        1,
        "input `/port`: expected an integer",
    ),
    (
        &["template", "sync", "add", "/nonexistent/templates.git"],
        1,
        "cannot be read, so no sync was added",
    ),
    (
        &["template", "sync", "run", "nope"],
        1,
        "template sync `nope` not found",
    ),
    (
        &["template", "sync", "remove", "nope"],
        1,
        "template sync `nope` not found",
    ),
    // Services: every check `service create` makes before its job.
    (
        &[
            "service",
            "create",
            "a",
            "--template",
            "web-servise",
            "--owner",
            "team-a",
        ],
        1,
        "template `web-servise` not found; did you mean `web-service`?",
    ),
    (
        &[
            "service",
            "create",
            "a",
            "--template",
            "ecs-environment",
            "--owner",
            "team-a",
        ],
        1,
        "`ecs-environment` is an environment template",
    ),
    (
        &[
            "service",
            "create",
            "a",
            "--template",
            "web-service",
            "--owner",
            "nobody",
        ],
        1,
        "owner `group:default/nobody` is not a Group in the catalog",
    ),
    (
        &[
            "service",
            "create",
            "a!",
            "--template",
            "web-service",
            "--owner",
            "team-a",
        ],
        1,
        "`a!` is not a valid service name",
    ),
    (
        &[
            "service",
            "create",
            "web",
            "--template",
            "web-service",
            "--owner",
            "team-a",
        ],
        1,
        "`component:default/web` is already in the catalog (from location `file:",
    ),
    (
        &[
            "service",
            "create",
            "storefront",
            "--template",
            "web-service",
            "--owner",
            "team-a",
        ],
        1,
        "`system:default/storefront` is already in the catalog (from location `file:",
    ),
    (
        &[
            "service",
            "create",
            "a",
            "--template",
            "web-service",
            "--owner",
            "team-a",
            "--input",
            "nope=1",
        ],
        1,
        "input `/nope`: `nope` is not accepted here",
    ),
    (&["service", "show", "nope"], 1, "service `nope` not found"),
    // Jobs and the audit log.
    (&["job", "show", "nope"], 1, "job `nope` not found"),
    (&["job", "follow", "nope"], 1, "job `nope` not found"),
    (&["job", "cancel", "nope"], 1, "job `nope` not found"),
    (
        &["job", "list", "--state", "nope"],
        1,
        "`nope` is not a job state",
    ),
    (
        &["audit", "list", "--since", "garbage"],
        1,
        "`garbage` is not an RFC 3339 time",
    ),
    // The local engine.
    (
        &["build", "nope"],
        1,
        "service `nope` has no repository on this server",
    ),
    (&["secret", "rm", "nope"], 1, "secret `nope` does not exist"),
    (
        &["secret", "set", "db-password"],
        1,
        "the value of secret `db-password` is empty",
    ),
    (
        &["lb", "apply", "nope", "-f", "lb.yaml"],
        1,
        "cluster `nope` does not exist: create it with `aws ecs create-cluster --cluster-name nope`",
    ),
    (
        &["lb", "rm", "nope"],
        1,
        "cluster `nope` has no load balancer",
    ),
    (
        &["engine", "service", "nope", "--cluster", "nope"],
        1,
        "cluster `nope`",
    ),
    (&["logs", "nope", "--cluster", "nope"], 1, "cluster `nope`"),
    // Usage errors are the CLI's own: exit 2.
    (
        &["catalog", "locations", "add", "--type", "nope", "x"],
        2,
        "invalid value 'nope' for '--type <LOCATION_TYPE>'",
    ),
];

#[test]
fn every_mistake_is_refused_with_exit_1_and_a_message_naming_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for file in ["catalog-info.yaml", "lb.yaml"] {
        std::fs::copy(examples.join(file), dir.path().join(file)).expect("copy an example");
    }
    let data_dir = dir.path().join("data");
    let server = Up::start_quiet(dir.path(), &data_dir);
    let added = server.cli_in(
        dir.path(),
        &["catalog", "locations", "add", "catalog-info.yaml"],
    );
    assert_eq!(added.code, Some(0), "{added}");
    let audit_before = server
        .cli(&["audit", "list", "--limit", "1000", "-o", "json"], &[])
        .json();

    let mut wrong = Vec::new();
    for (args, code, message) in MISTAKES {
        // Stdin is empty: `secret set` must find nothing to store.
        let mut command = crate::paved();
        command
            .current_dir(dir.path())
            .args(*args)
            .stdin(std::process::Stdio::null());
        // `catalog validate` is offline: it takes no server.
        if args[..2] != ["catalog", "validate"] {
            command
                .args(["--server", &server.url(), "--data-dir"])
                .arg(&data_dir);
        }
        let ran = crate::run(&mut command);
        // `catalog validate` reports like a linter, its problems on stdout.
        let said = ran.stderr.contains(message) || ran.stdout.contains(message);
        let one_error = ran.stderr.matches("error: ").count() <= 1;
        if ran.code != Some(*code) || !said || !one_error {
            wrong.push(format!(
                "paved {}: expected exit {code} and at most one error, saying `{message}`:\n{ran}",
                args.join(" ")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));

    // Nothing was half-done: no service, no job, no repository, no new location or version.
    let services = server.cli(&["service", "list", "-o", "json"], &[]).json();
    assert_eq!(services["items"], serde_json::json!([]), "{services}");
    let jobs = server.cli(&["job", "list", "-o", "json"], &[]).json();
    assert_eq!(jobs["items"], serde_json::json!([]), "{jobs}");
    assert!(
        !data_dir.join("repositories").exists()
            || std::fs::read_dir(data_dir.join("repositories"))
                .expect("read repositories")
                .next()
                .is_none(),
        "no repository was made"
    );
    let locations = server
        .cli(&["catalog", "locations", "list", "-o", "json"], &[])
        .json();
    assert_eq!(
        locations["items"].as_array().map(Vec::len),
        Some(1),
        "{locations}"
    );
    let versions = server
        .cli(&["template", "versions", "web-service", "-o", "json"], &[])
        .json();
    assert_eq!(
        versions["items"].as_array().map(Vec::len),
        Some(1),
        "{versions}"
    );
    // Every refusal the server saw of a change is in the audit log.
    let audit_after = server
        .cli(&["audit", "list", "--limit", "1000", "-o", "json"], &[])
        .json();
    let refused = audit_after["items"].as_array().expect("audit items").len()
        - audit_before["items"].as_array().expect("audit items").len();
    assert!(refused > 0, "refused changes are audited: {audit_after}");
}
