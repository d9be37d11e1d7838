//! Output paths stay inside the output directory, whether written or templated.

use paved_template::{Limits, PathProblem, RenderError};

use crate::{files, render, render_error};

#[track_caller]
fn check(path: &str, expect: &str) {
    assert_eq!(
        render_error(&files(&[(path, "x")]), &Limits::default()),
        expect,
        "path {path}"
    );
}

#[test]
fn traversal_is_rejected() {
    let cases = [
        (
            "../x",
            "path `../x` from `../x` is not allowed: `..` would leave the output directory",
        ),
        (
            "a/../../x",
            "path `a/../../x` from `a/../../x` is not allowed: `..` would leave the output directory",
        ),
        (
            "/abs/x.yaml",
            "path `/abs/x.yaml` from `/abs/x.yaml` is not allowed: it is absolute; output paths are relative to the output directory",
        ),
        (
            "a//b",
            "path `a//b` from `a//b` is not allowed: it has an empty component (`//` or a trailing `/`)",
        ),
        (
            "a\\..\\b",
            "path `a\\..\\b` from `a\\..\\b` is not allowed: it contains a backslash; separate directories with `/`",
        ),
        (
            "a\0b",
            "path `a\\u{0}b` from `a\\u{0}b` is not allowed: it contains a NUL character",
        ),
        // Templated paths are checked once rendered.
        (
            "{{ '..' }}/etc/passwd",
            "path `../etc/passwd` from `{{ '..' }}/etc/passwd` is not allowed: `..` would leave the output directory",
        ),
        (
            "{{ service.name }}/{{ '/etc' }}",
            "path `billing-api//etc` from `{{ service.name }}/{{ '/etc' }}` is not allowed: it has an empty component (`//` or a trailing `/`)",
        ),
        (
            "{{ 'a\\nb' }}",
            "path `a\\nb` from `{{ 'a\\nb' }}` is not allowed: it contains a control character",
        ),
    ];
    for (path, expect) in cases {
        check(path, expect);
    }
}

#[test]
fn a_path_rendering_to_nothing_leaves_the_file_out() {
    let rendered = render(&files(&[
        ("ci/{% if false %}.gitlab-ci.yml{% endif %}", "gitlab"),
        ("{% if false %}x{% endif %}", "nothing"),
        ("ci/{% if true %}github.yml{% endif %}", "github"),
    ]))
    .expect("it renders");
    let paths: Vec<&str> = rendered.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(paths, ["ci/github.yml"]);
}

#[test]
fn path_error_is_structured() {
    let err = render(&files(&[("{{ p }}", "x")])).expect_err("`p` is undefined");
    assert!(
        matches!(err, RenderError::Undefined { ref at, .. } if at.in_path),
        "{err:?}"
    );
    let err = render(&files(&[("{{ '../' }}x", "x")])).expect_err("`..`");
    assert_eq!(
        err,
        RenderError::Path {
            file: "{{ '../' }}x".into(),
            path: "../x".into(),
            problem: PathProblem::ParentComponent,
        }
    );
}
