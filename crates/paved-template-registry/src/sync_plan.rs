//! Planning a template sync: the bundles a git repository laid out `{template}/v{major}/` holds.
//!
//! This is pure: it takes every file of the repository at one commit and returns the bundles
//! and the problems found. Reading the repository, comparing digests with the stored versions
//! and registering new ones is the caller's job.

use std::collections::{BTreeMap, BTreeSet};

use paved_model::validation::{NAME_RULE, is_valid_name};

use crate::source::{BundleFile, digest};

/// The files of one `{template}/v{major}/` folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncBundle {
    /// The template folder's name, a valid template name.
    pub template: String,
    /// `N` of the `v{N}` folder, at least 1.
    pub major: u32,
    /// Paths relative to the `v{major}` folder, sorted.
    pub files: Vec<BundleFile>,
    /// [`digest`] of `files`.
    pub digest: String,
}

/// A folder of the repository that looks meant for sync but cannot be synced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncProblem {
    /// The repository path of the folder: `{template}` or `{template}/{folder}`.
    pub path: String,
    /// What is wrong and what is accepted, naming the folder.
    pub message: String,
}

/// Groups the files of a repository (repository paths) into bundles, sorted by template then
/// major, and reports the folders that cannot be synced, sorted by path.
///
/// # Layout
///
/// - A top-level folder is a template folder when it has a subfolder named `v` and digits.
///   Other top-level folders, hidden (`.github`) ones and top-level files are ignored.
/// - A template folder's name must be a valid template name (the catalog's name rule), or it
///   is a problem and none of its folders are synced.
/// - Each subfolder `v{N}` of a template folder, `N` a positive integer without leading zeros
///   (`v1`, `v12`), is a bundle of major `N`. Any other subfolder (`v0`, `v01`, `docs`) is a
///   problem naming it, except hidden ones, which are ignored; files directly in the template
///   folder are ignored too.
///
/// A problem does not hold back the other bundles, even of the same template.
pub fn plan(files: Vec<BundleFile>) -> (Vec<SyncBundle>, Vec<SyncProblem>) {
    let template_folders: BTreeSet<String> = files
        .iter()
        .filter_map(|file| {
            let (template, folder, _) = split_layout(&file.path)?;
            (!template.starts_with('.') && is_version_shaped(folder)).then(|| template.to_owned())
        })
        .collect();
    let mut bundles: BTreeMap<(String, u32), Vec<BundleFile>> = BTreeMap::new();
    let mut problems: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        let Some((template, folder, rest)) = split_layout(&file.path) else {
            continue;
        };
        if !template_folders.contains(template) || folder.starts_with('.') {
            continue;
        }
        if !is_valid_name(template) {
            problems.entry(template.to_owned()).or_insert_with(|| {
                format!("`{template}` is not a valid template name: expected {NAME_RULE}")
            });
            continue;
        }
        match parse_major(folder) {
            Some(major) => {
                let path = rest.to_owned();
                bundles
                    .entry((template.to_owned(), major))
                    .or_default()
                    .push(BundleFile {
                        path,
                        bytes: file.bytes,
                    });
            }
            None => {
                problems
                    .entry(format!("{template}/{folder}"))
                    .or_insert_with(|| {
                        format!(
                            "`{folder}` is not a major version folder: a template folder may only \
                             hold folders `v{{N}}`, N a positive integer without leading zeros \
                             (`v1`, `v12`)"
                        )
                    });
            }
        }
    }
    let bundles = bundles
        .into_iter()
        .map(|((template, major), mut files)| {
            files.sort_by(|a, b| a.path.cmp(&b.path));
            let digest = digest(&files);
            SyncBundle {
                template,
                major,
                files,
                digest,
            }
        })
        .collect();
    let problems = problems
        .into_iter()
        .map(|(path, message)| SyncProblem { path, message })
        .collect();
    (bundles, problems)
}

/// Splits `template/folder/rest`; `None` for files less than two folders deep.
fn split_layout(path: &str) -> Option<(&str, &str, &str)> {
    let mut parts = path.splitn(3, '/');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// `v` and digits: a folder meant as a major version, valid or not.
fn is_version_shaped(folder: &str) -> bool {
    folder
        .strip_prefix('v')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_major(folder: &str) -> Option<u32> {
    let digits = folder.strip_prefix('v')?;
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plans a repository whose files hold their own path, and compares bundles as
    /// `(template, major, paths)` and problems as `(path, message)`.
    #[track_caller]
    fn check(
        paths: &[&str],
        expected_bundles: &[(&str, u32, &[&str])],
        expected_problems: &[(&str, &str)],
    ) {
        let files = paths
            .iter()
            .map(|path| BundleFile {
                path: path.to_string(),
                bytes: path.as_bytes().to_vec(),
            })
            .collect();
        let (bundles, problems) = plan(files);
        let bundles: Vec<(&str, u32, Vec<&str>)> = bundles
            .iter()
            .map(|bundle| {
                let paths = bundle.files.iter().map(|file| file.path.as_str()).collect();
                (bundle.template.as_str(), bundle.major, paths)
            })
            .collect();
        let expected_bundles: Vec<(&str, u32, Vec<&str>)> = expected_bundles
            .iter()
            .map(|(template, major, paths)| (*template, *major, paths.to_vec()))
            .collect();
        assert_eq!(bundles, expected_bundles);
        let problems: Vec<(&str, &str)> = problems
            .iter()
            .map(|problem| (problem.path.as_str(), problem.message.as_str()))
            .collect();
        assert_eq!(problems, expected_problems);
    }

    const NOT_A_MAJOR: &str = "is not a major version folder: a template folder may only hold \
                               folders `v{N}`, N a positive integer without leading zeros \
                               (`v1`, `v12`)";

    #[test]
    fn groups_version_folders_sorted_by_template_then_major() {
        check(
            &[
                "web/v2/paved-template.yaml",
                "web/v12/paved-template.yaml",
                "web/v1/paved-template.yaml",
                "web/v1/infrastructure/cloudformation.yaml",
                "web/v1/pipeline/.github/workflows/ci.yml",
                "ecs-env/v1/schema/schema.yaml",
            ],
            &[
                ("ecs-env", 1, &["schema/schema.yaml"]),
                (
                    "web",
                    1,
                    &[
                        "infrastructure/cloudformation.yaml",
                        "paved-template.yaml",
                        "pipeline/.github/workflows/ci.yml",
                    ],
                ),
                ("web", 2, &["paved-template.yaml"]),
                ("web", 12, &["paved-template.yaml"]),
            ],
            &[],
        );
    }

    #[test]
    fn ignores_what_is_not_a_template_folder() {
        check(
            &[
                "README.md",
                ".github/workflows/sync.yml",
                ".hidden/v1/paved-template.yaml",
                "docs/guide/index.md",
                "docs/intro.md",
                "web/README.md",
                "web/.vscode/settings.json",
                "web/v1/paved-template.yaml",
            ],
            &[("web", 1, &["paved-template.yaml"])],
            &[],
        );
    }

    #[test]
    fn reports_each_bad_folder_once_and_keeps_the_good_ones() {
        let not_a_major = |folder: &str| format!("`{folder}` {NOT_A_MAJOR}");
        let (v0, v01, docs, huge) = (
            not_a_major("v0"),
            not_a_major("v01"),
            not_a_major("docs"),
            not_a_major("v99999999999"),
        );
        check(
            &[
                "web/v1/paved-template.yaml",
                "web/v01/a.yaml",
                "web/v01/b.yaml",
                "web/v0/a.yaml",
                "web/docs/index.md",
                "web/v99999999999/a.yaml",
                "only-bad/v0/a.yaml",
            ],
            &[("web", 1, &["paved-template.yaml"])],
            &[
                ("only-bad/v0", &v0),
                ("web/docs", &docs),
                ("web/v0", &v0),
                ("web/v01", &v01),
                ("web/v99999999999", &huge),
            ],
        );
    }

    #[test]
    fn refuses_invalid_template_names() {
        let long = "x".repeat(64);
        let long_v1 = format!("{long}/v1/a.yaml");
        let invalid = |name: &str| {
            format!(
                "`{name}` is not a valid template name: expected sequences of [a-zA-Z0-9] \
                 separated by any of [-_.], at most 63 characters in total"
            )
        };
        let (space, trailing, too_long) = (invalid("my web"), invalid("web-"), invalid(&long));
        check(
            &[
                "my web/v1/a.yaml",
                "my web/v2/a.yaml",
                "web-/v1/a.yaml",
                &long_v1,
                "Web_1.x/v3/a.yaml",
            ],
            &[("Web_1.x", 3, &["a.yaml"])],
            &[("my web", &space), ("web-", &trailing), (&long, &too_long)],
        );
    }

    #[test]
    fn digest_is_the_bundle_digest_and_ignores_the_folder() {
        let file = |path: &str, bytes: &[u8]| BundleFile {
            path: path.to_owned(),
            bytes: bytes.to_vec(),
        };
        let (bundles, problems) = plan(vec![
            file("web/v2/b.yaml", b"b"),
            file("web/v1/a.yaml", b"a"),
            file("web/v1/b.yaml", b"b"),
            file("web/v2/a.yaml", b"a"),
            file("api/v1/a.yaml", b"changed"),
            file("api/v1/b.yaml", b"b"),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        let digests: Vec<&str> = bundles
            .iter()
            .map(|bundle| bundle.digest.as_str())
            .collect();
        let expected = digest(&[file("a.yaml", b"a"), file("b.yaml", b"b")]);
        assert_eq!(digests[1..], [expected.as_str(), expected.as_str()]);
        assert_ne!(digests[0], expected);
    }
}
