//! The sandbox's limits: runaway loops and recursion stop at their fuel or depth, output sizes
//! are bounded. How fast a runaway render stops is measured by the template benchmark, not
//! timed here: a timed test fails on a loaded machine.

use paved_template::{Limits, Newlines, TemplateFile, render_files};

use crate::{files, proton_context, render_error};

/// Renders `bundle` with `limits` and expects `expect` as the error.
#[track_caller]
fn check(bundle: &[TemplateFile], limits: &Limits, expect: &str) {
    assert_eq!(render_error(bundle, limits), expect);
}

#[test]
fn runaway_templates_fail_fast() {
    let limits = Limits::default();
    let cases: &[(&str, &str)] = &[
        (
            "{% for i in range(100000000) %}{{ i }}{% endfor %}",
            "`t.yaml` line 1: `range()` of more than 100000 items: loops are bounded by the sandbox",
        ),
        (
            "a\n{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "`t.yaml` line 2: render exceeded its fuel (5000000): loops or recursion too deep",
        ),
        (
            "{% set s = 'x' * 100000000 %}{{ s ~ s ~ s ~ s }}",
            "`t.yaml` line 1: render exceeded its fuel (5000000): loops or recursion too deep",
        ),
        (
            "{% macro forever(n) %}{{ forever(n + 1) }}{% endmacro %}\n{{ forever(0) }}",
            "`t.yaml` line 1: recursion exceeded its limit (64): macros or includes nested too deep",
        ),
        // Within the recursion limit, fanning out exhausts the fuel instead.
        (
            "{% macro fan(n) %}{% if n > 0 %}{% for i in range(100) %}{{ fan(n - 1) }}{% endfor %}{% endif %}{% endmacro %}\n{{ fan(5) }}",
            "`t.yaml` line 1: render exceeded its fuel (5000000): loops or recursion too deep",
        ),
    ];
    for (text, expect) in cases {
        check(&files(&[("t.yaml", text)]), &limits, expect);
    }
    // A file including itself.
    check(
        &files(&[("self.yaml", "{% include 'self.yaml' %}")]),
        &limits,
        "`self.yaml` line 1: recursion exceeded its limit (64): macros or includes nested too deep",
    );
}

#[test]
fn fuel_is_shared_by_all_files() {
    let limits = Limits {
        fuel: 20_000,
        ..Limits::default()
    };
    let looping = "{% for i in range(1000) %}{{ i }}{% endfor %}";
    let one = files(&[("f0.txt", looping)]);
    assert!(
        render_files(&one, &proton_context(), &limits, Newlines::AsWritten).is_ok(),
        "one file fits the budget"
    );
    let paths: Vec<String> = (0..20).map(|n| format!("f{n}.txt")).collect();
    let many: Vec<TemplateFile> = paths
        .iter()
        .map(|path| TemplateFile::new(path, looping))
        .collect();
    let message = render_error(&many, &limits);
    assert!(
        message.ends_with("render exceeded its fuel (20000): loops or recursion too deep"),
        "{message}"
    );
}

#[test]
fn output_sizes() {
    let limits = Limits::default();
    check(
        &files(&[("big.txt", "{{ 'x' * 2000000 }}")]),
        &limits,
        "`big.txt`: output is 2000000 bytes, over the 1048576-byte limit",
    );
    check(
        &files(&[("bigger.txt", "{{ 'x' * 3000000 }}")]),
        &limits,
        "`bigger.txt`: output is 3000000 bytes, over the 1048576-byte limit",
    );
    // Multi-line filter output indented far to the right is measured after indenting.
    check(
        &files(&[(
            "wide.yaml",
            "{{ ' ' * 1000 }}{{ range(2000) | list | to_yaml }}",
        )]),
        &limits,
        "`wide.yaml`: output is 2012889 bytes, over the 1048576-byte limit",
    );
    let paths: Vec<String> = (0..9).map(|n| format!("f{n}.txt")).collect();
    let bundle: Vec<TemplateFile> = paths
        .iter()
        .map(|path| TemplateFile::new(path, "{{ 'x' * 1000000 }}"))
        .collect();
    check(
        &bundle,
        &limits,
        "`f8.txt`: output of all files reaches 9000000 bytes, over the 8388608-byte limit",
    );
    let small = Limits {
        max_file_bytes: 10,
        ..Limits::default()
    };
    check(
        &files(&[("a", "12345678901")]),
        &small,
        "`a`: output is 11 bytes, over the 10-byte limit",
    );
    assert!(
        render_files(
            &files(&[("a", "1234567890")]),
            &proton_context(),
            &small,
            Newlines::AsWritten
        )
        .is_ok()
    );
}

#[test]
fn file_count() {
    let limits = Limits {
        max_files: 2,
        ..Limits::default()
    };
    check(
        &files(&[("a", ""), ("b", ""), ("c", "")]),
        &limits,
        "the bundle has 3 files, over the limit of 2",
    );
}
