//! Errors name the file and line, and keep minijinja's explanation.

use paved_template::{Limits, Location, Newlines, RenderError, check_syntax, render_files};

use crate::{files, render, render_error};

#[track_caller]
fn check(bundle: &[(&str, &str)], expect: &str) {
    assert_eq!(render_error(&files(bundle), &Limits::default()), expect);
}

/// `replicas` on line 14.
const UNDEFINED_ON_LINE_14: &str = "Resources:\n  Service:\n    Type: AWS::ECS::Service\n    Properties:\n\
    \x20     Cluster: {{ environment.outputs.ClusterName }}\n\n\n\n\n\n\n\n\n      DesiredCount: {{ replicas }}\n";

#[test]
fn messages() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("infrastructure/cloudformation.yaml", UNDEFINED_ON_LINE_14)],
            "`infrastructure/cloudformation.yaml` line 14: undefined variable `replicas`",
        ),
        (
            &[("a.yaml", "x: 1\nport: {{ service_instance.inputs.prot }}\n")],
            "`a.yaml` line 2: undefined variable `service_instance.inputs.prot`",
        ),
        (
            &[("a.yaml", "{{ environment.outputs.Missing.Deeper }}")],
            "`a.yaml` line 1: undefined variable `environment.outputs.Missing`",
        ),
        (
            &[("a.yaml", "{% for x in nothing %}{% endfor %}")],
            "`a.yaml` line 1: undefined variable `nothing`",
        ),
        (
            &[("a.yaml", "{% set x = missing %}\n\n{{ x }}")],
            "`a.yaml` line 3: undefined variable `missing` (from line 1)",
        ),
        (
            &[
                (
                    "a.yaml",
                    "{% set x = service.nope %}\n{% include 'b.yaml' %}",
                ),
                ("b.yaml", "\n{{ x }}"),
            ],
            "`b.yaml` line 2: undefined variable `service.nope` (from a.yaml:1)",
        ),
        // minijinja cannot always name the expression; its message stays.
        (
            &[(
                "a.yaml",
                "{% macro m() %}{{ nope }}{% endmacro %}\n{{ m() }}",
            )],
            "`a.yaml` line 1: undefined value",
        ),
        (
            &[("a.yaml", "{{ missing.upper() }}")],
            "`a.yaml` line 1: unknown method: undefined has no method named upper (`missing` is undefined)",
        ),
        (
            &[(
                "a.yaml",
                "{{ {} | proton_cfn_ecs_task_definition_formatted_env_vars(raw=False, other=1) }}",
            )],
            "`a.yaml` line 1: too many arguments: unknown keyword argument 'other'",
        ),
        (
            &[("main.yaml", "{% extends 'base.yaml' %}")],
            "`main.yaml` line 1: `base.yaml` is not a template file of the bundle; `include`, `import` and `extends` take the bundle paths of files rendered with Jinja",
        ),
        // The error is where the problem is: in the included file.
        (
            &[
                ("main.yaml", "a\n{% include 'part.yaml' %}"),
                ("part.yaml", "\n\n{{ nope }}"),
            ],
            "`part.yaml` line 3: undefined variable `nope`",
        ),
        (
            &[("{{ servce.name }}/main.py", "")],
            "path `{{ servce.name }}/main.py`: undefined variable `servce`",
        ),
        (
            &[("x", "a\nb\n{{ service.name }\n")],
            "`x` line 3: syntax error: unexpected `}`, expected end of variable block",
        ),
        (
            &[("x", "{% for a in service_instances %}\n{{ a }}\n")],
            "`x` line 2: syntax error: unexpected end of input, expected end of block",
        ),
        (
            &[(
                "main.yaml",
                "a\n{% include 'infrastructure/missing.yaml' %}",
            )],
            "`main.yaml` line 2: `infrastructure/missing.yaml` is not a template file of the bundle; `include`, `import` and `extends` take the bundle paths of files rendered with Jinja",
        ),
        (
            &[("main.yaml", "{% include '/etc/passwd' %}")],
            "`main.yaml` line 1: `/etc/passwd` is not a template file of the bundle; `include`, `import` and `extends` take the bundle paths of files rendered with Jinja",
        ),
        (
            &[("main.yaml", "{{ '--' | cfn_logical_id }}")],
            "`main.yaml` line 1: invalid operation: cfn_logical_id: \"--\" has no ASCII letters or digits to make a logical id from",
        ),
        (
            &[("main.yaml", "{{ service.name | no_such_filter }}")],
            "`main.yaml` line 1: unknown filter: filter no_such_filter is unknown",
        ),
        (
            &[("a.yaml", "one"), ("./a.yaml", "two")],
            "path `a.yaml` is rendered from both `a.yaml` and `./a.yaml`",
        ),
    ];
    for (bundle, expect) in cases {
        check(bundle, expect);
    }
}

#[test]
fn errors_are_structured() {
    let err = render(&files(&[(
        "infrastructure/cloudformation.yaml",
        UNDEFINED_ON_LINE_14,
    )]))
    .expect_err("`replicas` is undefined");
    let RenderError::Undefined { at, name, message } = err else {
        panic!("expected an undefined error, got {err:?}");
    };
    assert_eq!(
        at,
        Location {
            file: "infrastructure/cloudformation.yaml".into(),
            line: Some(14),
            in_path: false
        }
    );
    assert_eq!(name.as_deref(), Some("replicas"));
    assert_eq!(message, "undefined value: `replicas` is undefined");
}

#[test]
fn context_must_be_an_object() {
    let err = render_files(
        &[],
        &serde_json::json!([1]),
        &Limits::default(),
        Newlines::AsWritten,
    )
    .expect_err("not an object");
    assert_eq!(
        err.to_string(),
        "the render context must be a JSON object, not an array"
    );
}

#[test]
fn check_syntax_reports_every_file() {
    let bundle = files(&[
        ("fine.yaml", "{{ anything.goes }}"),
        ("infrastructure/a.yaml", "ok\n{% if x %}\n"),
        ("infrastructure/b.yaml", "{{ }}"),
        ("{{ service.name/main.py", "fine"),
        ("../outside.yaml", "fine"),
        ("{% if x %}a{% endif %}/c.txt", "{% endfor %}"),
    ]);
    let messages: Vec<String> = check_syntax(&bundle)
        .iter()
        .map(ToString::to_string)
        .collect();
    insta::assert_snapshot!(messages.join("\n"));
    assert!(check_syntax(&files(&[("a", "{{ b }}"), ("{{ c }}/d", "")])).is_empty());
}
