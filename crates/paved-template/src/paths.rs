//! Output path checks: a rendered path must stay inside the output directory.

use crate::PathProblem;

/// Normalises a rendered output path: drops `.` components and rejects anything that could
/// leave the output directory or mean different things on different systems.
pub(crate) fn normalise(path: &str) -> Result<String, PathProblem> {
    if path.is_empty() {
        return Err(PathProblem::Empty);
    }
    if path.contains('\0') {
        return Err(PathProblem::Nul);
    }
    if path.chars().any(char::is_control) {
        return Err(PathProblem::ControlCharacter);
    }
    if path.contains('\\') {
        return Err(PathProblem::Backslash);
    }
    if path.starts_with('/') || has_drive_prefix(path) {
        return Err(PathProblem::Absolute);
    }
    let mut components = Vec::new();
    for component in path.split('/') {
        match component {
            "" => return Err(PathProblem::EmptyComponent),
            "." => {}
            ".." => return Err(PathProblem::ParentComponent),
            _ => components.push(component),
        }
    }
    if components.is_empty() {
        return Err(PathProblem::Empty);
    }
    Ok(components.join("/"))
}

/// `C:` or `C:/...`: absolute on Windows.
fn has_drive_prefix(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(path: &str, expect: Result<&str, PathProblem>) {
        assert_eq!(normalise(path), expect.map(str::to_owned), "path {path:?}");
    }

    #[test]
    fn paths() {
        use PathProblem::*;
        let cases: &[(&str, Result<&str, PathProblem>)] = &[
            (
                "infrastructure/cloudformation.yaml",
                Ok("infrastructure/cloudformation.yaml"),
            ),
            ("./billing-api/main.py", Ok("billing-api/main.py")),
            ("a/./b", Ok("a/b")),
            (".github/workflows/ci.yaml", Ok(".github/workflows/ci.yaml")),
            ("a..b/c", Ok("a..b/c")),
            ("", Err(Empty)),
            (".", Err(Empty)),
            ("/etc/passwd", Err(Absolute)),
            ("C:/Windows", Err(Absolute)),
            ("../x", Err(ParentComponent)),
            ("a/../../x", Err(ParentComponent)),
            ("a//b", Err(EmptyComponent)),
            ("a/", Err(EmptyComponent)),
            ("a\\b", Err(Backslash)),
            ("a\0b", Err(Nul)),
            ("a\nb", Err(ControlCharacter)),
        ];
        for (path, expect) in cases {
            check(path, *expect);
        }
    }
}
