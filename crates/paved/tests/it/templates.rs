//! `paved template ...` as a user runs it: the real binary against a `paved up` child process,
//! over bundles made by `paved template init` in both formats. Built-in templates are only
//! checked by one test, which needs them to exist.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::up::Up;
use crate::{Run, paved, run};

/// `paved template ARGS` against `server`, with its admin token.
#[track_caller]
fn template(server: &Up, args: &[&str]) -> Run {
    server.group("template", args)
}

/// The same, expected to succeed.
#[track_caller]
fn template_ok(server: &Up, args: &[&str]) -> Run {
    server.group_ok("template", args)
}

/// `paved template init ARGS` (offline), expected to succeed.
#[track_caller]
fn init(args: &[&str]) -> Run {
    let result = run(paved().args(["template", "init"]).args(args));
    assert_eq!(
        result.code,
        Some(0),
        "paved template init {args:?}: {result}"
    );
    result
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Every file under `dir`, relative path → bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).expect("a readable directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("under dir");
                files.push((
                    relative.display().to_string(),
                    std::fs::read(&path).expect("a readable file"),
                ));
            }
        }
    }
    files.sort();
    files
}

/// The template `name` in `paved template list -o json`.
#[track_caller]
fn listed(server: &Up, name: &str) -> Value {
    let list = template_ok(server, &["list", "-o", "json"]).json();
    list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|item| item["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("`{name}` is listed: {list}"))
}

/// Version and status of every version, oldest first.
#[track_caller]
fn version_states(server: &Up, name: &str) -> Vec<(String, String)> {
    let versions = template_ok(server, &["versions", name, "-o", "json"]).json();
    versions["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of versions: {versions}"))
        .iter()
        .map(|version| {
            (
                version["version"].as_str().unwrap_or_default().to_owned(),
                version["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn states(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(version, status)| ((*version).to_owned(), (*status).to_owned()))
        .collect()
}

#[test]
fn template_lifecycle_from_init_to_withdraw() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Up::start(dir.path(), &dir.path().join("data"), &[]);
    let bundle = dir.path().join("svc");
    let bundle_text = display(&bundle);

    let written = init(&["svc", &bundle_text]);
    for file in [
        "paved-template.yaml",
        "schema.yaml",
        "infrastructure/cloudformation.yaml",
        "README.md",
    ] {
        assert!(bundle.join(file).is_file(), "{file} is written: {written}");
        assert!(
            written.stdout.contains(&display(&bundle.join(file))),
            "{file} is listed: {written}"
        );
    }
    assert!(
        text(&bundle.join("README.md")).contains(&format!("paved template register {bundle_text}")),
        "the README gives the next step"
    );

    let registered = template_ok(&server, &["register", &bundle_text]);
    assert_eq!(
        registered.stdout, "registered svc 1.0 (draft)\n",
        "{registered}"
    );
    assert_eq!(version_states(&server, "svc"), states(&[("1.0", "draft")]));
    let versions = template_ok(&server, &["versions", "svc"]);
    assert!(versions.stdout.contains("draft"), "{versions}");

    let unchanged = template_ok(&server, &["register", &bundle_text]);
    assert_eq!(
        unchanged.stdout, "unchanged: svc 1.0 is identical (draft)\n",
        "{unchanged}"
    );
    assert_eq!(listed(&server, "svc")["recommendedVersion"], Value::Null);

    let published = template_ok(&server, &["publish", "svc@1.0"]);
    assert_eq!(
        published.stdout, "published svc 1.0 (recommended)\n",
        "{published}"
    );
    assert_eq!(listed(&server, "svc")["recommendedVersion"], "1.0");
    let table = template_ok(&server, &["list"]);
    assert!(table.stdout.contains("svc"), "{table}");

    // A compatible change: a new optional input with a default.
    let schema = text(&bundle.join("schema.yaml"));
    write(
        &bundle.join("schema.yaml"),
        &format!(
            "{schema}  replicas:\n    title: Tasks\n    description: How many tasks run.\n    \
             type: integer\n    minimum: 1\n    default: 2\n"
        ),
    );
    let registered = template_ok(&server, &["register", &bundle_text, "-o", "json"]).json();
    assert_eq!(
        (
            &registered["template"],
            &registered["version"]["version"],
            &registered["version"]["status"],
            &registered["unchanged"]
        ),
        (&json!("svc"), &json!("1.1"), &json!("draft"), &json!(false)),
        "{registered}"
    );
    template_ok(&server, &["publish", "svc@1.1"]);
    assert_eq!(listed(&server, "svc")["recommendedVersion"], "1.1");

    let withdrawn = template_ok(
        &server,
        &["withdraw", "svc@1.1", "--reason", "breaks health checks"],
    );
    assert_eq!(
        withdrawn.stdout, "withdrew svc 1.1: breaks health checks\nsvc 1.0 is recommended now\n",
        "{withdrawn}"
    );
    assert_eq!(listed(&server, "svc")["recommendedVersion"], "1.0");
    assert_eq!(
        version_states(&server, "svc"),
        states(&[("1.0", "published"), ("1.1", "withdrawn")])
    );
    let versions = template_ok(&server, &["versions", "svc"]);
    assert!(
        versions.stdout.contains("withdrawn: breaks health checks"),
        "{versions}"
    );
    insta::assert_snapshot!("versions_after_withdraw", redact_times(&versions.stdout));

    // An incompatible minor version is refused, naming the input.
    write(
        &bundle.join("schema.yaml"),
        &schema.replace(
            "    type: integer\n    minimum: 1\n    maximum: 65535",
            "    type: string",
        ),
    );
    let refused = template(&server, &["register", &bundle_text]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused
            .stderr
            .starts_with("input `/port`: type no longer accepts integers"),
        "{refused}"
    );
    assert!(refused.stderr.contains("--major N"), "{refused}");
    let major = template_ok(&server, &["register", &bundle_text, "--major", "2"]);
    assert_eq!(major.stdout, "registered svc 2.0 (draft)\n", "{major}");

    let shown = template_ok(&server, &["show", "svc"]);
    // The README that `init` wrote names the bundle's (temporary) directory.
    insta::assert_snapshot!(
        "show_recommended",
        shown.stdout.replace(&bundle_text, "[BUNDLE]")
    );
    let shown = template_ok(&server, &["show", "svc@1.1", "-o", "json"]).json();
    assert_eq!(shown["name"], "svc");
    assert_eq!(shown["recommendedVersion"], "1.0");
    assert_eq!(shown["selectedVersion"]["version"], "1.1");
    assert_eq!(
        shown["selectedVersion"]["withdrawnReason"],
        "breaks health checks"
    );
    assert_eq!(shown["versions"].as_array().map(Vec::len), Some(3));
    let yaml = template_ok(&server, &["show", "svc@2.0", "-o", "yaml"]);
    let yaml: Value = serde_saphyr::from_str(&yaml.stdout).expect("`-o yaml` is YAML");
    assert_eq!(yaml["selectedVersion"]["status"], "draft");
    let unpublished = template(&server, &["show", "svc@2"]);
    assert_eq!(unpublished.code, Some(1), "{unpublished}");
    assert!(
        unpublished
            .stderr
            .contains("no published version in major 2"),
        "{unpublished}"
    );

    let unauthenticated = run(paved()
        .args([
            "template",
            "register",
            &bundle_text,
            "--server",
            &server.url(),
            "--data-dir",
        ])
        .arg(dir.path().join("no-token-here")));
    assert_eq!(unauthenticated.code, Some(1), "{unauthenticated}");
    assert!(
        unauthenticated
            .stderr
            .contains("needs a token and none was given"),
        "{unauthenticated}"
    );
    let unknown = template(&server, &["show", "nothing-like-it"]);
    assert_eq!(unknown.code, Some(1), "{unknown}");
    assert!(unknown.stderr.contains("not found"), "{unknown}");

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn template_render_prints_writes_and_names_invalid_inputs() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Up::start(dir.path(), &dir.path().join("data"), &[]);
    let bundle = dir.path().join("svc");
    init(&["svc", &display(&bundle)]);
    template_ok(&server, &["register", &display(&bundle), "--publish"]);

    let printed = template_ok(&server, &["render", "svc"]);
    let header = "# ---- infrastructure/cloudformation.yaml\n";
    assert!(printed.stdout.starts_with(header), "{printed}");
    for expected in [
        "ContainerPort: 80\n",
        "\"Service example in environment dev\"",
        "Family: \"dev-example\"",
    ] {
        assert!(
            printed.stdout.contains(expected),
            "`{expected}` in {printed}"
        );
    }

    // Inputs from a file, overridden by --input; names from a context file.
    let inputs = dir.path().join("inputs.yaml");
    write(
        &inputs,
        "port: 9000\nimage: registry.example.com/shop:1.2\n",
    );
    let context = dir.path().join("context.json");
    write(
        &context,
        r#"{"service": {"name": "shop"}, "environment": {"name": "prod"}}"#,
    );
    let args = [
        "render",
        "svc@1.0",
        "--inputs",
        &display(&inputs),
        "--input",
        "port=8080",
        "--context",
        &display(&context),
    ];
    let printed = template_ok(&server, &args);
    for expected in [
        "ContainerPort: 8080\n",
        "Image: \"registry.example.com/shop:1.2\"",
        "\"Service shop in environment prod\"",
    ] {
        assert!(
            printed.stdout.contains(expected),
            "`{expected}` in {printed}"
        );
    }
    let json = template_ok(&server, &[&args[..], &["-o", "json"]].concat()).json();
    assert_eq!(
        (&json["template"], &json["version"]),
        (&json!("svc"), &json!("1.0"))
    );
    let contents = json["files"][0]["contents"].as_str().unwrap_or_default();
    assert!(
        printed.stdout.ends_with(contents),
        "stdout holds the file as the API returned it: {printed}"
    );

    let out = dir.path().join("rendered");
    let written = template_ok(&server, &[&args[..], &["--out", &display(&out)]].concat());
    assert!(
        written.stdout.starts_with("rendered svc 1.0 into "),
        "{written}"
    );
    let first = tree(&out);
    assert_eq!(
        first
            .iter()
            .map(|(path, _)| path.as_str())
            .collect::<Vec<_>>(),
        ["infrastructure/cloudformation.yaml"]
    );
    assert!(String::from_utf8_lossy(&first[0].1).contains("ContainerPort: 8080"));
    let again = dir.path().join("rendered-again");
    std::fs::create_dir(&again).expect("an empty directory");
    template_ok(&server, &[&args[..], &["--out", &display(&again)]].concat());
    assert_eq!(tree(&again), first, "a second render is byte-identical");

    // A directory with files is never written into.
    let refused = template(&server, &["render", "svc", "--out", &display(&out)]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("not an empty directory"),
        "{refused}"
    );
    assert_eq!(tree(&out), first);

    let invalid = template(&server, &["render", "svc", "--input", "port=70000"]);
    assert_eq!(invalid.code, Some(1), "{invalid}");
    assert!(invalid.stdout.is_empty(), "{invalid}");
    assert!(
        invalid.stderr.contains("input `/port`: ") && invalid.stderr.contains("(rule `maximum`)"),
        "{invalid}"
    );
    let out_invalid = dir.path().join("never");
    let invalid = template(
        &server,
        &[
            "render",
            "svc",
            "--input",
            "port=x",
            "--out",
            &display(&out_invalid),
        ],
    );
    assert_eq!(invalid.code, Some(1), "{invalid}");
    assert!(invalid.stderr.contains("input `/port`"), "{invalid}");
    assert!(
        !out_invalid.exists(),
        "nothing is written for invalid inputs"
    );

    let misspelt = dir.path().join("misspelt.yaml");
    write(&misspelt, "servce:\n  name: shop\n");
    let refused = template(
        &server,
        &["render", "svc", "--context", &display(&misspelt)],
    );
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("servce"), "{refused}");

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn template_bundles_in_both_formats_register_and_problems_name_file_and_line() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Up::start(dir.path(), &dir.path().join("data"), &[]);

    // name, init flags, register flags, what the render holds.
    let cases: &[(&str, &[&str], &[&str], &str)] = &[
        (
            "paved-env",
            &["--kind", "environment"],
            &[],
            "RetentionInDays: 30",
        ),
        ("paved-svc", &[], &[], "ContainerPort: 80"),
        (
            "proton-env",
            &["--kind", "environment", "--format", "proton"],
            &["--name", "proton-env"],
            "Value: disabled",
        ),
        (
            "proton-svc",
            &["--format", "proton"],
            &[
                "--name",
                "proton-svc",
                "--compatible-environment",
                "ecs-environment:1",
            ],
            "ContainerPort: 80",
        ),
    ];
    for (name, init_flags, register_flags, rendered) in cases {
        let bundle = dir.path().join(name);
        init(&[&[*name, &display(&bundle)], *init_flags].concat());
        let registered = template_ok(
            &server,
            &[
                &["register", &display(&bundle), "--publish"],
                *register_flags,
            ]
            .concat(),
        );
        assert_eq!(
            registered.stdout,
            format!("registered {name} 1.0 (published, recommended)\n"),
            "{name}: {registered}"
        );
        let printed = template_ok(&server, &["render", name]);
        assert!(printed.stdout.contains(rendered), "{name}: {printed}");
    }
    let proton = template_ok(&server, &["show", "proton-svc", "-o", "json"]).json();
    assert_eq!(proton["selectedVersion"]["format"], "proton");
    assert_eq!(
        proton["selectedVersion"]["compatibleEnvironments"],
        json!([{"template": "ecs-environment", "major": 1}])
    );
    let environments = template_ok(&server, &["show", "paved-env"]);
    assert!(
        environments.stdout.contains("7|14|30|90|365"),
        "{environments}"
    );

    // The same files as an archive are the same bundle.
    let archive = dir.path().join("paved-svc.tar.gz");
    let tar = run(Command::new("tar")
        .arg("czf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .arg("paved-svc"));
    assert_eq!(tar.code, Some(0), "{tar}");
    let unchanged = template_ok(&server, &["register", &display(&archive)]);
    assert_eq!(
        unchanged.stdout, "unchanged: paved-svc 1.0 is identical (published)\n",
        "{unchanged}"
    );
    let not_gzip = dir.path().join("broken.tgz");
    write(&not_gzip, "not an archive");
    let refused = template(&server, &["register", &display(&not_gzip)]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("not gzip-compressed"), "{refused}");

    // A Jinja syntax error: file and line, nothing registered.
    let broken = dir.path().join("broken");
    init(&["broken", &display(&broken)]);
    let infrastructure = broken.join("infrastructure/cloudformation.yaml");
    let lines: Vec<String> = text(&infrastructure).lines().map(str::to_owned).collect();
    let mut edited = lines.clone();
    edited.insert(4, "  Broken: {{ service.name | }}".to_owned());
    write(&infrastructure, &(edited.join("\n") + "\n"));
    let refused = template(&server, &["register", &display(&broken)]);
    assert_eq!(refused.code, Some(1), "{refused}");
    let location = format!("{}:5: syntax error: ", display(&infrastructure));
    assert!(
        refused.stderr.starts_with(&location),
        "`{location}` in {refused}"
    );
    assert!(refused.stderr.contains("was not registered"), "{refused}");
    let missing = template(&server, &["show", "broken"]);
    assert_eq!(missing.code, Some(1), "nothing was registered: {missing}");

    // A Proton service bundle does not name its environments.
    let refused = template(
        &server,
        &[
            "register",
            &display(&dir.path().join("proton-svc")),
            "--name",
            "other",
        ],
    );
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("--compatible-environment"),
        "{refused}"
    );

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn template_sync_registers_the_folders_of_a_git_repository() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let repository = dir.path().join("templates-repo");
    init(&["synced", &display(&repository.join("synced/v1"))]);
    let git = |args: &[&str]| {
        let result = run(Command::new("git")
            .current_dir(&repository)
            .args([
                "-c",
                "user.name=Paved",
                "-c",
                "user.email=paved@example.com",
            ])
            .args(args));
        assert_eq!(result.code, Some(0), "git {args:?}: {result}");
    };
    git(&["init", "--quiet", "--initial-branch", "main"]);
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "synced v1"]);

    let server = Up::start(dir.path(), &dir.path().join("data"), &[]);
    // A repository that is not there is refused at once (exit 1, as `catalog locations add`
    // is), and no sync is recorded.
    let missing = template(
        &server,
        &["sync", "add", &display(&dir.path().join("no-such-repo"))],
    );
    assert_eq!(missing.code, Some(1), "{missing}");
    assert!(
        missing
            .stderr
            .contains("cannot be read, so no sync was added"),
        "{missing}"
    );
    let none = template_ok(&server, &["sync", "list", "-o", "json"]).json();
    assert_eq!(none["items"], json!([]), "{none}");

    let added = template_ok(
        &server,
        &["sync", "add", &display(&repository), "-o", "json"],
    )
    .json();
    assert_eq!(added["registered"], json!(["synced@1.0"]), "{added}");
    assert_eq!(added["problems"], json!([]), "{added}");
    let id = added["sync"]["id"].as_str().expect("a sync id").to_owned();

    let listed = template_ok(&server, &["sync", "list", "-o", "json"]).json();
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    let again = template_ok(&server, &["sync", "run", &id]);
    assert!(
        again.stdout.contains("0 versions registered, 1 unchanged"),
        "{again}"
    );
    let removed = template_ok(&server, &["sync", "remove", &id]);
    assert!(
        removed.stderr.contains("versions it registered stay"),
        "{removed}"
    );
    assert_eq!(
        version_states(&server, "synced"),
        states(&[("1.0", "draft")])
    );

    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn template_list_includes_the_builtin_templates() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Up::start(dir.path(), &dir.path().join("data"), &[]);
    let web = listed(&server, "web-service");
    assert_eq!(web["kind"], "service", "{web}");
    assert!(web["recommendedVersion"].is_string(), "{web}");
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn template_init_refuses_an_existing_directory_and_a_bad_name() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).expect("a directory");
    let refused = run(paved().args(["template", "init", "svc"]).arg(&existing));
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(refused.stderr.contains("already exists"), "{refused}");
    assert_eq!(tree(&existing), Vec::new(), "nothing is written");

    let refused = run(paved()
        .args(["template", "init", "Not a name!"])
        .current_dir(dir.path()));
    assert_eq!(refused.code, Some(2), "{refused}");
    assert!(
        refused.stderr.contains("not a valid template name"),
        "{refused}"
    );

    // DIR defaults to ./NAME.
    let written = run(paved()
        .args(["template", "init", "svc"])
        .current_dir(dir.path()));
    assert_eq!(written.code, Some(0), "{written}");
    assert!(
        dir.path().join("svc/paved-template.yaml").is_file(),
        "{written}"
    );
    assert!(
        text(&dir.path().join("svc/paved-template.yaml")).contains("name: svc"),
        "{written}"
    );
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("readable")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with('.'))
        })
        .collect();
    assert_eq!(
        leftovers,
        Vec::<PathBuf>::new(),
        "no temporary directory is left"
    );
}

#[test]
fn template_inputs_files_that_are_not_yaml_are_refused_before_any_call() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let deep = format!("a: {}1{}\n", "[".repeat(70), "]".repeat(70));
    let cases = [
        (
            "port: 80\nport: 81\n",
            "line 2: column 1: duplicate key: a key may appear only once in a mapping",
        ),
        (
            deep.as_str(),
            "line 1: column 67: nesting deeper than 64 levels",
        ),
    ];
    for (contents, expected) in cases {
        let inputs = dir.path().join("inputs.yaml");
        write(&inputs, contents);
        // An unreachable server: a refusal here must come before any call.
        let refused = run(paved().args([
            "template",
            "render",
            "svc",
            "--inputs",
            &display(&inputs),
            "--server",
            "http://127.0.0.1:9",
        ]));
        assert_eq!(refused.code, Some(1), "{refused}");
        assert!(
            refused.stderr.contains(&format!(
                "the inputs file `{}` is not valid YAML or JSON: {expected}",
                display(&inputs)
            )),
            "{refused}"
        );
        assert!(!refused.stderr.contains("Policy"), "{refused}");
    }
}

#[test]
fn template_usage_errors_exit_2() {
    let server = ["--server", "http://127.0.0.1:9"];
    let cases: &[(&[&str], &str)] = &[
        (&["publish", "svc"], "NAME@MAJOR.MINOR"),
        (&["publish", "svc@1"], "NAME@MAJOR.MINOR"),
        (&["withdraw", "svc@1.0"], "--reason"),
        (&["render", "svc", "--input", "port"], "KEY=VALUE"),
        (
            &["register", ".", "--compatible-environment", "ecs"],
            "NAME:MAJOR",
        ),
    ];
    for (args, expected) in cases {
        let result = run(paved().arg("template").args(*args).args(server));
        assert_eq!(result.code, Some(2), "{args:?}: {result}");
        assert!(
            result.stderr.contains(expected),
            "{args:?}: `{expected}` in {result}"
        );
    }
}

#[test]
fn template_help_mentions_the_key_flags() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["template", "--help"],
            &[
                "list", "show", "versions", "register", "publish", "withdraw", "sync", "render",
                "init",
            ],
        ),
        (
            &["template", "render", "--help"],
            &[
                "--inputs",
                "--input",
                "--pipeline-inputs",
                "--context",
                "--out",
                "# ---- <path>",
                "PAVED_SERVER",
                "PAVED_TOKEN",
                "Example",
            ],
        ),
        (
            &["template", "register", "--help"],
            &[
                "--name",
                "--major",
                "--publish",
                "--dry-run",
                "--compatible-environment",
                "git:",
                ".tar.gz",
                "PAVED_SERVER",
            ],
        ),
        (
            &["template", "withdraw", "--help"],
            &["--reason", "Example"],
        ),
        (
            &["template", "init", "--help"],
            &["--kind", "--format", "proton"],
        ),
        (
            &["template", "sync", "--help"],
            &["add", "list", "run", "remove"],
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
}

/// `2025-01-31 10:20` → `[time]`, so a table can be snapshotted.
fn redact_times(text: &str) -> String {
    let mut redacted = String::new();
    let mut rest = text;
    while let Some(index) = rest.find(|c: char| c.is_ascii_digit()) {
        let candidate = rest.get(index..index + 16).unwrap_or_default();
        let is_time = candidate.len() == 16
            && candidate
                .bytes()
                .enumerate()
                .all(|(position, byte)| match position {
                    4 | 7 => byte == b'-',
                    10 => byte == b' ',
                    13 => byte == b':',
                    _ => byte.is_ascii_digit(),
                });
        if is_time {
            redacted.push_str(&rest[..index]);
            redacted.push_str("[time]          ");
            rest = &rest[index + 16..];
        } else {
            let next = index + rest[index..].chars().next().map_or(1, char::len_utf8);
            redacted.push_str(&rest[..next]);
            rest = &rest[next..];
        }
    }
    redacted.push_str(rest);
    redacted
}

/// A Proton-layout test bundle of `paved-template` (`tests/bundles/NAME/v1`).
fn proton_test_bundle(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../paved-template/tests/bundles")
        .join(name)
        .join("v1")
}

#[test]
fn proton_bundles_register_from_their_repository_files_and_render_a_service_spec() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Up::start(dir.path(), &dir.path().join("data"), &[]);
    let service = display(&proton_test_bundle("svc-cfn"));
    let environment = display(&proton_test_bundle("env-cfn"));

    // `.compatible-envs` names `env-cfn:1`, which does not exist yet; nor does `nope`.
    let refused = template(&server, &["register", &service, "--name", "svc-cfn"]);
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused
            .stderr
            .contains("compatible environment `env-cfn:1` does not exist"),
        "{refused}"
    );
    let refused = template(
        &server,
        &[
            "register",
            &service,
            "--name",
            "svc-cfn",
            "--compatible-environment",
            "nope:1",
        ],
    );
    assert_eq!(refused.code, Some(1), "{refused}");
    assert!(
        refused.stderr.contains("`nope:1` does not exist"),
        "{refused}"
    );

    // With the environment template registered, no flag is needed.
    template_ok(
        &server,
        &["register", &environment, "--name", "env-cfn", "--publish"],
    );
    template_ok(
        &server,
        &["register", &service, "--name", "svc-cfn", "--publish"],
    );
    let shown = template_ok(&server, &["show", "svc-cfn", "-o", "json"]).json();
    assert_eq!(
        shown["selectedVersion"]["compatibleEnvironments"],
        json!([{"template": "env-cfn", "major": 1}])
    );

    // A Proton ServiceSpec, unchanged, as the inputs.
    let spec = dir.path().join("spec.yaml");
    write(
        &spec,
        "proton: ServiceSpec\npipeline:\n  unit_test_command: cargo test\ninstances:\n  - name: billing-staging\n    environment: staging\n    spec:\n      port: 8081\n  - name: billing-prod\n    environment: prod\n    spec:\n      port: 9090\n      desired_count: 3\n",
    );
    let context = dir.path().join("context.yaml");
    write(
        &context,
        "environment:\n  name: prod\n  account_id: '123456789012'\n  outputs:\n    ClusterName: prod-cluster\n    SubnetId: subnet-0abc1234\nservice:\n  name: billing\n",
    );
    let printed = template_ok(
        &server,
        &[
            "render",
            "svc-cfn",
            "--inputs",
            &display(&spec),
            "--context",
            &display(&context),
            "--instance",
            "billing-prod",
        ],
    );
    let out = &printed.stdout;
    for expected in [
        "ContainerPort: 9090",
        "DesiredCount: 3",
        "Cluster: 'prod-cluster'",
        ":iam::123456789012:role/ecsTaskExecutionRole",
        "Name: '/billing/billing-staging/deploy'",
        "Value: 'staging 8081 new  cargo test'",
        "Value: 'prod 9090 new prod-cluster cargo test'",
    ] {
        assert!(out.contains(expected), "`{expected}` missing:\n{printed}");
    }
    let missing = template(
        &server,
        &[
            "render",
            "svc-cfn",
            "--inputs",
            &display(&spec),
            "--instance",
            "nope",
        ],
    );
    assert_eq!(missing.code, Some(1), "{missing}");
    assert!(
        missing.stderr.contains("the spec has no instance `nope`"),
        "{missing}"
    );
}
