//! `paved catalog validate`, checked against Backstage's own validator: a document Backstage
//! refuses gets at least one problem, a document it accepts gets none.

use std::path::PathBuf;

use serde_json::Value;

use crate::backstage::{self, Verdict};
use crate::{FIXTURES, fixture, paved, run};

#[test]
fn bad_fixture_names_every_problem() {
    let result = run(paved()
        .args(["catalog", "validate"])
        .arg(fixture("catalog-info-bad.yaml")));
    assert_eq!(result.code, Some(1), "{result}");
    insta::assert_snapshot!(result.stdout.replace(FIXTURES, "[FIXTURES]"));
}

#[test]
fn shared_fixtures_agree_with_backstage() {
    let bad = check_agrees_with_backstage(&[fixture("catalog-info-bad.yaml")]);
    assert_eq!(
        bad.iter().map(|verdict| verdict.ok).collect::<Vec<_>>(),
        [false; 4],
        "every document of the bad fixture is invalid"
    );
    let good = check_agrees_with_backstage(&[fixture("catalog-info.yaml")]);
    assert_eq!(good.len(), 6);
    assert!(good.iter().all(|verdict| verdict.ok));
    let result = run(paved()
        .args(["catalog", "validate"])
        .arg(fixture("catalog-info.yaml")));
    assert_eq!(result.code, Some(0), "{result}");
    assert_eq!(
        result.stdout.trim(),
        "ok: 6 valid entities in 1 file",
        "{result}"
    );
}

/// One case a file: (file name, contents, whether Backstage accepts it).
const CASES: &[(&str, &str, bool)] = &[
    (
        "name-with-double-dash",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: a--b}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        true,
    ),
    (
        "name-ending-in-dash",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: a_b.c-}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "name-63-characters",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: a12345678901234567890123456789012345678901234567890123456789012}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        true,
    ),
    (
        "name-64-characters",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: a123456789012345678901234567890123456789012345678901234567890123}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "namespace-uppercase",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, namespace: Shop}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "tag-uppercase",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, tags: [A]}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "tag-double-dash",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, tags: [a--b]}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "tags-with-symbols-and-duplicates",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, tags: [c++, "c#", java, java]}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        true,
    ),
    (
        "label-value-with-space",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, labels: {team: a b}}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "label-empty-value-and-prefixed-key",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, labels: {team: "", example.com/tier: front_end.v2}}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        true,
    ),
    (
        "annotation-key-uppercase-prefix",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, annotations: {A.b/c: x}}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "annotation-key-two-slashes",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, annotations: {a/b/c: x}}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "annotation-value-number",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, annotations: {a: 5}}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "annotation-value-free-text",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, annotations: {example.com/note: "Anything: goes, even spaces!"}}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        true,
    ),
    (
        "title-number",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, title: 5}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "description-number",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, description: 5}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "uid-empty",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, uid: ""}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "etag-empty",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, etag: ""}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "unknown-metadata-field",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, custom: {anything: 1}}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        true,
    ),
    (
        "link-without-url",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, links: [{title: Dashboard}]}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "link-empty-url",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, links: [{url: ""}]}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "link-with-extra-field",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x, links: [{url: "https://example.com", extra: 1}]}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        true,
    ),
    (
        "unknown-root-field",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: production, owner: team-a}
extra: 1
"#,
        false,
    ),
    (
        "root-relations",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: production, owner: team-a}
relations: []
"#,
        false,
    ),
    (
        "root-status",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: production, owner: team-a}
status: {}
"#,
        false,
    ),
    (
        "kind-lowercase",
        r#"apiVersion: backstage.io/v1alpha1
kind: component
metadata: {name: x}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "api-version-v1beta1",
        r#"apiVersion: backstage.io/v1beta1
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        true,
    ),
    (
        "api-version-empty",
        r#"apiVersion: ""
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "spec-type-empty",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x}
spec: {type: "", lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "spec-owner-empty",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: production, owner: ""}
"#,
        false,
    ),
    (
        "spec-lifecycle-number",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: 5, owner: team-a}
"#,
        false,
    ),
    (
        "spec-unknown-field",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: production, owner: team-a, custom: {x: 1}}
"#,
        true,
    ),
    (
        "api-without-definition",
        r#"apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: x}
spec: {type: openapi, lifecycle: production, owner: team-a}
"#,
        false,
    ),
    (
        "api-definition-mapping",
        r#"apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: x}
spec: {type: openapi, lifecycle: production, owner: team-a, definition: {openapi: 3.0.0}}
"#,
        false,
    ),
    (
        "resource",
        r#"apiVersion: backstage.io/v1alpha1
kind: Resource
metadata: {name: x}
spec: {type: database, owner: team-a, dependsOn: [component:web]}
"#,
        true,
    ),
    (
        "system-empty-domain",
        r#"apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: x}
spec: {owner: team-a, domain: ""}
"#,
        false,
    ),
    (
        "domain-without-spec",
        r#"apiVersion: backstage.io/v1alpha1
kind: Domain
metadata: {name: x}
"#,
        false,
    ),
    (
        "group-without-children",
        r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: x}
spec: {type: team}
"#,
        false,
    ),
    (
        "group-children-null",
        r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: x}
spec: {type: team, children: null}
"#,
        false,
    ),
    (
        "group-child-empty",
        r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: x}
spec: {type: team, children: [""]}
"#,
        false,
    ),
    (
        "group-parent-empty",
        r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: x}
spec: {type: team, children: [], parent: ""}
"#,
        false,
    ),
    (
        "group-profile-string",
        r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: x}
spec: {type: team, children: [], profile: Team X}
"#,
        false,
    ),
    (
        "group-profile-display-name-number",
        r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: x}
spec: {type: team, children: [], profile: {displayName: 5}}
"#,
        false,
    ),
    (
        "group-profile-email-empty",
        r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: x}
spec: {type: team, children: [], profile: {email: ""}}
"#,
        false,
    ),
    (
        "group-profile",
        r#"apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: x}
spec: {type: team, children: [], profile: {displayName: X, email: x@example.com, picture: "https://example.com/x.png", extra: 1}}
"#,
        true,
    ),
    (
        "user-without-member-of",
        r#"apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: x}
spec: {}
"#,
        false,
    ),
    (
        "user-without-spec",
        r#"apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: x}
"#,
        false,
    ),
    (
        "user-profile-picture-number",
        r#"apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: x}
spec: {memberOf: [team-a], profile: {picture: 5}}
"#,
        false,
    ),
    (
        "location-without-target",
        r#"apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: x}
spec: {}
"#,
        true,
    ),
    (
        "location-presence-unknown",
        r#"apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: x}
spec: {target: ./other.yaml, presence: sometimes}
"#,
        false,
    ),
    (
        "template-without-steps",
        r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: x}
spec: {type: service}
"#,
        false,
    ),
    (
        "template-step-id-number",
        r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: x}
spec: {type: service, steps: [{id: 5, action: fetch:plain}]}
"#,
        false,
    ),
    (
        "template-step-if-boolean",
        r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: x}
spec: {type: service, steps: [{id: fetch, action: fetch:plain, if: true}]}
"#,
        true,
    ),
    (
        "template-v1beta2",
        r#"apiVersion: scaffolder.backstage.io/v1beta2
kind: Template
metadata: {name: x}
spec: {type: service, steps: [{id: fetch, action: fetch:plain}]}
"#,
        false,
    ),
    ("document-not-a-mapping", "just a string\n", false),
    (
        "several-documents",
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: y, tags: [Y]}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: x}
spec: {owner: team-a}
"#,
        false,
    ),
];

#[test]
fn cases_agree_with_backstage() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let files: Vec<PathBuf> = CASES
        .iter()
        .map(|(name, contents, _)| {
            let file = dir.path().join(format!("{name}.yaml"));
            std::fs::write(&file, contents).expect("write a case");
            file
        })
        .collect();
    let verdicts = check_agrees_with_backstage(&files);
    let mut wrong = Vec::new();
    for ((name, _, valid), file) in CASES.iter().zip(&files) {
        let accepted = verdicts
            .iter()
            .filter(|verdict| &verdict.file == file)
            .all(|verdict| verdict.ok);
        if accepted != *valid {
            wrong.push(format!(
                "{name}: expected valid = {valid}, Backstage says {accepted}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "cases that do not test what they say:\n{}",
        wrong.join("\n")
    );
}

/// Backstage's validator accepts references without a kind where none is implied, but its
/// catalog then refuses the entity when it emits the relation (`parseEntityRef` throws "had
/// missing or empty kind"); Paved says so at validation time.
#[test]
fn refuses_references_backstage_cannot_resolve() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(
        &file,
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: x}
spec: {type: service, lifecycle: production, owner: team-a, dependsOn: [orders-db]}
"#,
    )
    .expect("write the file");
    let verdicts = backstage::run(std::slice::from_ref(&file));
    assert!(verdicts[0].ok, "{}", verdicts[0].text());
    let result = run(paved()
        .args(["catalog", "validate", "-o", "json"])
        .arg(&file));
    assert_eq!(result.code, Some(1), "{result}");
    let problems = &result.json()["files"][0]["problems"];
    assert_eq!(problems[0]["field"], "spec.dependsOn[0]", "{result}");
    assert_eq!(problems[0]["rule"], "reference", "{result}");
}

#[test]
fn json_and_yaml_outputs_say_the_same() {
    for (name, code) in [("catalog-info-bad.yaml", 1), ("catalog-info.yaml", 0)] {
        let json = run(paved()
            .args(["catalog", "validate", "--output", "json"])
            .arg(fixture(name)));
        assert_eq!(json.code, Some(code), "{json}");
        let yaml = run(paved()
            .args(["catalog", "validate", "--output", "yaml"])
            .arg(fixture(name)));
        assert_eq!(yaml.code, Some(code), "{yaml}");
        let from_yaml: Value = serde_saphyr::from_str(&yaml.stdout)
            .unwrap_or_else(|error| panic!("--output yaml is not YAML ({error}):\n{yaml}"));
        let json = json.json();
        assert_eq!(json["valid"], code == 0);
        assert_eq!(from_yaml, json, "{name}");
    }
}

#[test]
fn missing_file_is_a_problem_naming_it() {
    let result = run(paved().args(["catalog", "validate", "no-such-catalog-info.yaml"]));
    assert_eq!(result.code, Some(1), "{result}");
    assert!(
        result
            .stdout
            .starts_with("no-such-catalog-info.yaml: file does not exist"),
        "{result}"
    );

    let result = run(paved()
        .args([
            "catalog",
            "validate",
            "-o",
            "json",
            "no-such-catalog-info.yaml",
        ])
        .arg(fixture("catalog-info.yaml")));
    assert_eq!(result.code, Some(1), "{result}");
    let report = result.json();
    assert_eq!(report["valid"], false);
    let missing = &report["files"][0];
    assert_eq!(missing["file"], "no-such-catalog-info.yaml");
    assert_eq!(missing["problems"].as_array().map(Vec::len), Some(1));
    assert_eq!(missing["problems"][0]["file"], "no-such-catalog-info.yaml");
    assert_eq!(missing["problems"][0]["rule"], "not-found");
    let good = &report["files"][1];
    assert_eq!(good["problems"], serde_json::json!([]));
    assert_eq!(good["entities"].as_array().map(Vec::len), Some(6));
}

/// Runs Backstage's validator and `paved catalog validate --output json` on `files` and
/// asserts they agree on every document: Backstage refuses it exactly when Paved reports at
/// least one problem in it (a problem of the whole file counts for each of its documents).
/// Returns Backstage's verdicts.
#[track_caller]
fn check_agrees_with_backstage(files: &[PathBuf]) -> Vec<Verdict> {
    let verdicts = backstage::run(files);
    let result = run(paved()
        .args(["catalog", "validate", "--output", "json"])
        .args(files));
    let report = result.json();
    let reported = report["files"].as_array().expect("files is an array");
    assert_eq!(reported.len(), files.len(), "{result}");
    let mut disagreements = Vec::new();
    for (file, reported) in files.iter().zip(reported) {
        assert_eq!(reported["file"], file.display().to_string(), "{result}");
        // Warnings tell without refusing, as Backstage loads what they flag.
        let problems: Vec<&Value> = reported["problems"]
            .as_array()
            .expect("problems is an array")
            .iter()
            .filter(|problem| problem["severity"].is_null())
            .collect();
        let documents: Vec<&Verdict> = verdicts
            .iter()
            .filter(|verdict| &verdict.file == file)
            .collect();
        for problem in &problems {
            if let Some(index) = problem["documentIndex"].as_u64() {
                assert!(
                    documents
                        .iter()
                        .any(|verdict| verdict.document as u64 == index),
                    "Paved reports a problem in document {index} of `{}`, which Backstage did not see: {problem}",
                    file.display()
                );
            }
        }
        for verdict in documents {
            let found: Vec<&&Value> = problems
                .iter()
                .filter(|problem| match problem["documentIndex"].as_u64() {
                    Some(index) => index == verdict.document as u64,
                    None => true,
                })
                .collect();
            if verdict.ok != found.is_empty() {
                disagreements.push(format!(
                    "{}\n  Paved: {}",
                    verdict.text(),
                    if found.is_empty() {
                        "no problem".to_owned()
                    } else {
                        found
                            .iter()
                            .map(|problem| problem["message"].to_string())
                            .collect::<Vec<_>>()
                            .join("; ")
                    }
                ));
            }
        }
    }
    assert!(
        disagreements.is_empty(),
        "Paved and Backstage disagree:\n{}",
        disagreements.join("\n")
    );
    let all_ok = verdicts.iter().all(|verdict| verdict.ok);
    assert_eq!(report["valid"], all_ok, "{result}");
    assert_eq!(result.code, Some(if all_ok { 0 } else { 1 }), "{result}");
    verdicts
}

/// `paved catalog validate` reads as a location does: devices and FIFOs are refused by name
/// (a FIFO is not opened, so nothing blocks), and the command ends at once.
#[test]
fn devices_and_fifos_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let fifo = dir.path().join("pipe.yaml");
    let made = run(std::process::Command::new("mkfifo").arg(&fifo));
    assert_eq!(made.code, Some(0), "{made}");
    let result = run(paved()
        .args(["catalog", "validate", "/dev/zero", "/dev/urandom"])
        .arg(&fifo));
    assert_eq!(result.code, Some(1), "{result}");
    insta::assert_snapshot!(
        result
            .stdout
            .replace(&dir.path().display().to_string(), "[DIR]")
    );
}

/// The starter app's file is valid, as Backstage's validator says, with a warning naming the
/// rule the owner's name breaks.
#[test]
fn the_starter_apps_catalog_info_loads_with_a_warning() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(&file, paved_test::backstage::STARTER_APP_CATALOG_INFO).expect("write the file");
    let verdicts = check_agrees_with_backstage(std::slice::from_ref(&file));
    assert!(verdicts.iter().all(|verdict| verdict.ok));
    let result = run(paved().args(["catalog", "validate"]).arg(&file));
    assert_eq!(result.code, Some(0), "{result}");
    assert_eq!(
        result
            .stdout
            .replace(&dir.path().display().to_string(), "[DIR]"),
        "[DIR]/catalog-info.yaml:12: document 0: field `spec.owner`: warning: reference `john@example.com` has an invalid name `john@example.com`: expected sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total; Backstage accepts the reference, but no entity can have this name (rule `reference-format`)\n1 problem; 1 valid entity in 1 file\n"
    );
}

/// Placeholders are substituted offline from local files, relative to the file.
#[test]
fn placeholders_are_substituted_from_local_files() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: orders\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ./openapi.yaml\n---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: missing\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ./missing.yaml\n",
    )
    .expect("write the file");
    std::fs::write(dir.path().join("openapi.yaml"), "openapi: 3.0.0\n").expect("write");
    let result = run(paved()
        .args(["catalog", "validate", "-o", "json"])
        .arg(&file));
    assert_eq!(result.code, Some(1), "{result}");
    let report = result.json();
    assert_eq!(
        report["files"][0]["entities"],
        serde_json::json!(["api:default/orders"])
    );
    let problems = &report["files"][0]["problems"];
    assert_eq!(problems.as_array().map(Vec::len), Some(1), "{problems}");
    assert_eq!(problems[0]["rule"], "placeholder");
    assert_eq!(problems[0]["field"], "spec.definition");
    assert_eq!(problems[0]["documentIndex"], 1);
}
