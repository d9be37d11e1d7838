//! Reading bundles from directories, `.tar.gz` archives and git repositories, including
//! hostile ones, and packing and digesting them.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use flate2::Compression;
use flate2::write::GzEncoder;
use paved_template_registry::source::{
    BundleFile, GitSource, SourceLimits, digest, pack_tar_gz, read_dir, read_git, read_tar_gz,
};

const MB_100: u64 = 100 * 1024 * 1024;

fn file(path: &str, bytes: &[u8]) -> BundleFile {
    BundleFile {
        path: path.to_owned(),
        bytes: bytes.to_vec(),
    }
}

/// Files as `(path, text)` pairs, for comparisons that read well.
fn listing(files: &[BundleFile]) -> Vec<(&str, String)> {
    files
        .iter()
        .map(|file| {
            let text = String::from_utf8_lossy(&file.bytes).into_owned();
            (file.path.as_str(), text)
        })
        .collect()
}

fn small_limits() -> SourceLimits {
    SourceLimits {
        max_file_bytes: 4096,
        max_total_bytes: 10_000,
        max_files: 5,
    }
}

// --- Directories ---------------------------------------------------------------------------

fn write_tree(root: &Path, files: &[(&str, &[u8])]) {
    for (path, bytes) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a file has a parent"))
            .expect("create parent directories");
        std::fs::write(path, bytes).expect("write a file");
    }
}

#[track_caller]
fn read_dir_error(root: &Path, limits: &SourceLimits) -> String {
    read_dir(root, limits)
        .expect_err("the directory should be refused")
        .to_string()
}

#[test]
fn read_dir_reads_every_file_sorted_and_skips_only_git() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(
        dir.path(),
        &[
            ("paved-template.yaml", b"manifest"),
            ("infrastructure/cloudformation.yaml", b"cf"),
            ("pipeline/.github/workflows/ci.yml", b"ci"),
            ("skeleton/empty.txt", b""),
            ("infrastructure-notes.md", b"notes"),
            (".git/config", b"[core]"),
            (".gitignore", b"target/"),
        ],
    );
    std::fs::create_dir_all(dir.path().join("empty/nested")).expect("empty directories");

    let files = read_dir(dir.path(), &SourceLimits::default()).expect("read");
    assert_eq!(
        listing(&files),
        [
            (".gitignore", "target/".to_owned()),
            ("infrastructure-notes.md", "notes".to_owned()),
            ("infrastructure/cloudformation.yaml", "cf".to_owned()),
            ("paved-template.yaml", "manifest".to_owned()),
            ("pipeline/.github/workflows/ci.yml", "ci".to_owned()),
            ("skeleton/empty.txt", String::new()),
        ]
    );
}

#[test]
fn read_dir_refuses_symlinks_and_special_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(dir.path(), &[("infrastructure/cf.yaml", b"cf")]);
    let link = dir.path().join("infrastructure/link.yaml");
    std::os::unix::fs::symlink("cf.yaml", &link).expect("symlink");
    assert_eq!(
        read_dir_error(dir.path(), &SourceLimits::default()),
        "`infrastructure/link.yaml` is a symbolic link: \
         a bundle may only contain regular files and directories"
    );

    // A symlink to a directory is not followed either.
    std::fs::remove_file(&link).expect("remove the link");
    std::os::unix::fs::symlink("/etc", dir.path().join("etc")).expect("symlink");
    assert_eq!(
        read_dir_error(dir.path(), &SourceLimits::default()),
        "`etc` is a symbolic link: a bundle may only contain regular files and directories"
    );

    std::fs::remove_file(dir.path().join("etc")).expect("remove the link");
    let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("skeleton.sock"))
        .expect("bind a socket");
    assert_eq!(
        read_dir_error(dir.path(), &SourceLimits::default()),
        "`skeleton.sock` is a socket: a bundle may only contain regular files and directories"
    );
}

#[test]
fn read_dir_refuses_paths_a_bundle_cannot_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(dir.path(), &[("infrastructure/a\\b.yaml", b"cf")]);
    assert_eq!(
        read_dir_error(dir.path(), &SourceLimits::default()),
        "`infrastructure/a\\b.yaml` is not a valid bundle path: it contains a backslash; \
         a bundle path must be relative and `/`-separated, without empty, `.` or `..` \
         components, backslashes or NUL bytes"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let name = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"caf\xe9.txt");
    std::fs::write(dir.path().join(name), b"x").expect("write a non-UTF-8 name");
    assert_eq!(
        read_dir_error(dir.path(), &SourceLimits::default()),
        "`caf\u{fffd}.txt` is not a valid bundle path: it is not valid UTF-8; \
         a bundle path must be relative and `/`-separated, without empty, `.` or `..` \
         components, backslashes or NUL bytes"
    );
}

#[test]
fn read_dir_checks_sizes_before_reading() {
    // A sparse file: 100 MiB long, nothing on disk, and never read.
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(dir.path(), &[("paved-template.yaml", b"manifest")]);
    std::fs::create_dir(dir.path().join("infrastructure")).expect("mkdir");
    std::fs::File::create(dir.path().join("infrastructure/big.bin"))
        .and_then(|big| big.set_len(MB_100))
        .expect("a sparse file");
    assert_eq!(
        read_dir_error(dir.path(), &SourceLimits::default()),
        "`infrastructure/big.bin` is 104857600 bytes; \
         a bundle file may be at most 4194304 bytes (4 MiB)"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let three_thousand_bytes = [b'x'; 3000];
    write_tree(
        dir.path(),
        &[
            ("a", &three_thousand_bytes),
            ("b", &three_thousand_bytes),
            ("c", &three_thousand_bytes),
        ],
    );
    let limits = SourceLimits {
        max_total_bytes: 8192,
        ..small_limits()
    };
    assert_eq!(
        read_dir_error(dir.path(), &limits),
        "`c` takes the bundle over its size limit: \
         a bundle's files may add up to at most 8192 bytes (8 KiB)"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let many: Vec<(String, &[u8])> = (0..6).map(|i| (format!("f{i}"), &b"x"[..])).collect();
    let many: Vec<(&str, &[u8])> = many.iter().map(|(p, b)| (p.as_str(), *b)).collect();
    write_tree(dir.path(), &many);
    assert_eq!(
        read_dir_error(dir.path(), &small_limits()),
        "the bundle has more than 5 files; a bundle may have at most 5 files"
    );
}

// --- Archives ------------------------------------------------------------------------------

/// One raw archive entry. Names are written into the header as they are, so that entries
/// `tar::Builder` would refuse (`../x`, `/x`) can be built.
enum Entry<'a> {
    File(&'a [u8], &'a [u8]),
    Dir(&'a str),
    /// A symlink or hard link, and its target.
    Link(&'a str, tar::EntryType, &'a str),
    Special(&'a str, tar::EntryType),
    /// A header claiming `size` bytes, followed by `data`.
    Claiming(&'a str, u64, &'a [u8]),
    /// A pax global header, as `git archive` writes.
    GlobalHeader(&'a [u8]),
}

fn raw_header(name: &[u8], entry_type: tar::EntryType, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(entry_type);
    header.set_size(size);
    header.set_mode(0o644);
    header
}

fn tar_gz(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for entry in entries {
        let (mut header, data): (tar::Header, &[u8]) = match entry {
            Entry::File(name, data) => (
                raw_header(name, tar::EntryType::Regular, data.len() as u64),
                data,
            ),
            Entry::Dir(name) => (
                raw_header(name.as_bytes(), tar::EntryType::Directory, 0),
                b"",
            ),
            Entry::Link(name, entry_type, target) => {
                let mut header = raw_header(name.as_bytes(), *entry_type, 0);
                header.set_link_name(target).expect("a valid link name");
                (header, b"")
            }
            Entry::Special(name, entry_type) => (raw_header(name.as_bytes(), *entry_type, 0), b""),
            Entry::Claiming(name, size, data) => (
                raw_header(name.as_bytes(), tar::EntryType::Regular, *size),
                data,
            ),
            Entry::GlobalHeader(data) => (
                raw_header(
                    b"pax_global_header",
                    tar::EntryType::XGlobalHeader,
                    data.len() as u64,
                ),
                data,
            ),
        };
        header.set_cksum();
        builder.append(&header, data).expect("append to memory");
    }
    builder
        .into_inner()
        .and_then(GzEncoder::finish)
        .expect("finish in memory")
}

fn file_entry<'a>(name: &'a str, data: &'a str) -> Entry<'a> {
    Entry::File(name.as_bytes(), data.as_bytes())
}

#[track_caller]
fn read_tar_error(archive: &[u8], limits: &SourceLimits) -> String {
    read_tar_gz(archive, limits)
        .expect_err("the archive should be refused")
        .to_string()
}

#[track_caller]
fn check_tar(entries: &[Entry], expected: &[(&str, &str)]) {
    let files = read_tar_gz(&tar_gz(entries), &SourceLimits::default()).expect("read");
    let expected: Vec<(&str, String)> = expected
        .iter()
        .map(|(path, text)| (*path, text.to_string()))
        .collect();
    assert_eq!(listing(&files), expected);
}

#[test]
fn read_tar_gz_strips_one_single_top_level_directory() {
    // `tar czf web.tar.gz web-service/`
    check_tar(
        &[
            Entry::Dir("web-service/"),
            file_entry("web-service/paved-template.yaml", "manifest"),
            Entry::Dir("web-service/infrastructure/"),
            file_entry("web-service/infrastructure/cf.yaml", "cf"),
        ],
        &[
            ("infrastructure/cf.yaml", "cf"),
            ("paved-template.yaml", "manifest"),
        ],
    );
    // `tar czf web.tar.gz -C web-service .`
    check_tar(
        &[
            Entry::Dir("./"),
            file_entry("./paved-template.yaml", "manifest"),
            file_entry("./infrastructure/cf.yaml", "cf"),
        ],
        &[
            ("infrastructure/cf.yaml", "cf"),
            ("paved-template.yaml", "manifest"),
        ],
    );
    // `tar czf web.tar.gz -C parent ./web-service`; only one level is stripped.
    check_tar(
        &[
            file_entry("./web-service/infrastructure/cf.yaml", "cf"),
            file_entry("./web-service/infrastructure/cf-params.json", "{}"),
        ],
        &[
            ("infrastructure/cf-params.json", "{}"),
            ("infrastructure/cf.yaml", "cf"),
        ],
    );
    // Two top-level entries: nothing is stripped.
    check_tar(
        &[
            file_entry("schema/schema.yaml", "schema"),
            file_entry("infrastructure/manifest.yaml", "manifest"),
        ],
        &[
            ("infrastructure/manifest.yaml", "manifest"),
            ("schema/schema.yaml", "schema"),
        ],
    );
    check_tar(
        &[
            file_entry("web/paved-template.yaml", "manifest"),
            file_entry("README.md", "readme"),
        ],
        &[
            ("README.md", "readme"),
            ("web/paved-template.yaml", "manifest"),
        ],
    );
    // `git archive` writes a pax global header holding the commit id.
    check_tar(
        &[
            Entry::GlobalHeader(b"52 comment=0123456789012345678901234567890123456789\n"),
            file_entry("web/paved-template.yaml", "manifest"),
            file_entry("web/README.md", "readme"),
        ],
        &[("README.md", "readme"), ("paved-template.yaml", "manifest")],
    );
    check_tar(&[], &[]);
}

#[test]
fn read_tar_gz_refuses_hostile_entries_naming_them() {
    const RULES: &str = "a bundle path must be relative and `/`-separated, without empty, \
                         `.` or `..` components, backslashes or NUL bytes";
    let not_a_file = "a bundle may only contain regular files and directories";
    let cases: Vec<(Vec<Entry>, String)> = vec![
        (
            vec![file_entry("web/a.yaml", "a"), file_entry("../escape", "x")],
            format!("`../escape` is not a valid bundle path: it has a `..` component; {RULES}"),
        ),
        (
            vec![file_entry("web/../../escape", "x")],
            format!(
                "`web/../../escape` is not a valid bundle path: it has a `..` component; {RULES}"
            ),
        ),
        (
            vec![file_entry("/etc/cron.d/x", "x")],
            format!("`/etc/cron.d/x` is not a valid bundle path: it is absolute; {RULES}"),
        ),
        (
            vec![Entry::Dir("../up/")],
            format!("`../up/` is not a valid bundle path: it has a `..` component; {RULES}"),
        ),
        (
            vec![file_entry("web//a.yaml", "x")],
            format!("`web//a.yaml` is not a valid bundle path: it has an empty component; {RULES}"),
        ),
        (
            vec![file_entry("web\\a.yaml", "x")],
            format!("`web\\a.yaml` is not a valid bundle path: it contains a backslash; {RULES}"),
        ),
        (
            vec![Entry::File(b"caf\xe9", b"x")],
            format!("`caf\u{fffd}` is not a valid bundle path: it is not valid UTF-8; {RULES}"),
        ),
        (
            vec![Entry::Link(
                "web/infrastructure/cf.yaml",
                tar::EntryType::Symlink,
                "/etc/passwd",
            )],
            format!("`web/infrastructure/cf.yaml` is a symbolic link: {not_a_file}"),
        ),
        (
            vec![
                file_entry("web/a.yaml", "a"),
                Entry::Link("web/b.yaml", tar::EntryType::Link, "web/a.yaml"),
            ],
            format!("`web/b.yaml` is a hard link: {not_a_file}"),
        ),
        (
            vec![Entry::Special("web/tty", tar::EntryType::Char)],
            format!("`web/tty` is a character device: {not_a_file}"),
        ),
        (
            vec![Entry::Special("web/disk", tar::EntryType::Block)],
            format!("`web/disk` is a block device: {not_a_file}"),
        ),
        (
            vec![Entry::Special("web/pipe", tar::EntryType::Fifo)],
            format!("`web/pipe` is a named pipe: {not_a_file}"),
        ),
        (
            vec![
                file_entry("web/a.yaml", "first"),
                file_entry("web/b.yaml", "b"),
                file_entry("web/a.yaml", "second"),
            ],
            "`web/a.yaml` appears more than once in the archive".to_owned(),
        ),
        (
            vec![
                file_entry("web/infrastructure", "a file"),
                file_entry("web/infrastructure-x", "x"),
                file_entry("web/infrastructure/cf.yaml", "cf"),
            ],
            "`web/infrastructure` is both a file and a directory in the archive".to_owned(),
        ),
    ];
    for (entries, expected) in cases {
        assert_eq!(
            read_tar_error(&tar_gz(&entries), &SourceLimits::default()),
            expected
        );
    }
}

#[test]
fn read_tar_gz_checks_sizes_from_the_header_before_reading() {
    let too_large = "`infrastructure/big.bin` is 104857600 bytes; \
                     a bundle file may be at most 4194304 bytes (4 MiB)";

    // A header claiming 100 MiB, with no data behind it.
    let lying = tar_gz(&[
        file_entry("paved-template.yaml", "manifest"),
        Entry::Claiming("infrastructure/big.bin", MB_100, b""),
    ]);
    assert_eq!(read_tar_error(&lying, &SourceLimits::default()), too_large);

    // A real 100 MiB of zeros, streamed through gzip: about 100 KiB compressed.
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    let mut header = raw_header(b"infrastructure/big.bin", tar::EntryType::Regular, MB_100);
    header.set_cksum();
    builder
        .append(&header, std::io::repeat(0).take(MB_100))
        .expect("append");
    let bomb = builder
        .into_inner()
        .and_then(GzEncoder::finish)
        .expect("finish");
    assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
    assert_eq!(read_tar_error(&bomb, &SourceLimits::default()), too_large);

    let limits = SourceLimits {
        max_total_bytes: 8192,
        ..small_limits()
    };
    let three_thousand_bytes = "x".repeat(3000);
    let total = tar_gz(&[
        file_entry("a", &three_thousand_bytes),
        file_entry("b", &three_thousand_bytes),
        file_entry("c", &three_thousand_bytes),
    ]);
    assert_eq!(
        read_tar_error(&total, &limits),
        "`c` takes the bundle over its size limit: \
         a bundle's files may add up to at most 8192 bytes (8 KiB)"
    );

    let names: Vec<String> = (0..6).map(|i| format!("f{i}")).collect();
    let many: Vec<Entry> = names.iter().map(|name| file_entry(name, "x")).collect();
    assert_eq!(
        read_tar_error(&tar_gz(&many), &small_limits()),
        "the bundle has more than 5 files; a bundle may have at most 5 files"
    );
}

#[test]
fn read_tar_gz_bounds_the_decompressed_stream() {
    // A pax extension header is read into memory by the tar reader whatever its size, so
    // only the bound on the decompressed stream stops this one.
    let limits = SourceLimits {
        max_file_bytes: 1024,
        max_total_bytes: 1024 * 1024,
        max_files: 10,
    };
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    let size = 8 * 1024 * 1024;
    let mut header = raw_header(b"PaxHeaders/x", tar::EntryType::XHeader, size);
    header.set_cksum();
    builder
        .append(&header, std::io::repeat(b'a').take(size))
        .expect("append");
    let bomb = builder
        .into_inner()
        .and_then(GzEncoder::finish)
        .expect("finish");
    assert_eq!(
        read_tar_error(&bomb, &limits),
        "the archive decompresses to more than 2138112 bytes (2088 KiB): a bundle's files may add up \
         to at most 1048576 bytes (1 MiB), plus tar headers"
    );
}

#[test]
fn read_tar_gz_refuses_broken_archives() {
    assert_eq!(
        read_tar_error(b"PK\x03\x04 a zip file", &SourceLimits::default()),
        "the archive is not gzip-compressed: expected a `.tar.gz` file, as made by `tar czf`"
    );

    // The header claims 1000 bytes, and the archive ends after 10.
    let mut header = raw_header(b"web/a.yaml", tar::EntryType::Regular, 1000);
    header.set_cksum();
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(header.as_bytes()).expect("write");
    encoder.write_all(b"0123456789").expect("write");
    let truncated = encoder.finish().expect("finish");
    assert_eq!(
        read_tar_error(&truncated, &SourceLimits::default()),
        "cannot read the archive at entry `web/a.yaml`: the archive ends inside this entry"
    );

    let mut corrupt = tar_gz(&[file_entry("a.yaml", &"a".repeat(5000))]);
    let middle = corrupt.len() / 2;
    corrupt[middle..].fill(0xff);
    let error = read_tar_error(&corrupt, &SourceLimits::default());
    assert!(error.starts_with("cannot read the archive"), "{error}");
}

// --- Packing and digests -------------------------------------------------------------------

fn sample_bundle() -> Vec<BundleFile> {
    let long_path = format!(
        "skeleton/{}/main.py",
        "deep/".repeat(30).trim_end_matches('/')
    );
    vec![
        file("paved-template.yaml", b"apiVersion: paved.dev/v1\n"),
        file("infrastructure/cloudformation.yaml", b"Resources: {}\n"),
        file("skeleton/logo.png", &[0x89, b'P', b'N', b'G', 0, 0xff]),
        file(&long_path, b"print('hello')\n"),
        file("skeleton/empty", b""),
    ]
}

fn sorted(mut files: Vec<BundleFile>) -> Vec<BundleFile> {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

#[test]
fn pack_tar_gz_is_deterministic_and_reads_back() {
    let files = sample_bundle();
    let packed = pack_tar_gz(&files).expect("pack");
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(pack_tar_gz(&reversed).expect("pack"), packed);
    assert_eq!(
        read_tar_gz(&packed, &SourceLimits::default()).expect("read back"),
        sorted(files.clone())
    );

    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(packed.as_slice()));
    let mut headers = Vec::new();
    for entry in archive.entries().expect("entries") {
        let entry = entry.expect("entry");
        let header = entry.header();
        headers.push((
            entry.path().expect("path").display().to_string(),
            header.mode().expect("mode"),
            header.mtime().expect("mtime"),
            header.uid().expect("uid"),
            header.gid().expect("gid"),
            header.username().expect("username").map(str::to_owned),
        ));
    }
    let expected: Vec<_> = sorted(files)
        .into_iter()
        .map(|file| (file.path, 0o644, 0, 0, 0, Some(String::new())))
        .collect();
    assert_eq!(headers, expected);
}

#[test]
fn pack_tar_gz_refuses_what_read_tar_gz_would() {
    let error = pack_tar_gz(&[file("../escape", b"x")]).expect_err("refused");
    assert!(
        error
            .to_string()
            .starts_with("`../escape` is not a valid bundle path: it has a `..` component"),
        "{error}"
    );
    let error = pack_tar_gz(&[file("a", b"1"), file("a", b"2")]).expect_err("refused");
    assert_eq!(
        error.to_string(),
        "`a` appears more than once in the archive"
    );
}

#[test]
fn digest_depends_on_content_only() {
    let files = sample_bundle();
    let mut reversed = files.clone();
    reversed.reverse();
    assert_eq!(digest(&files), digest(&reversed));
    assert_eq!(digest(&files).len(), 64);
    // Pinned, so that a change of framing is noticed: it would make every stored digest
    // differ from a fresh read of the same bundle. The value is SHA-256 of the big-endian
    // u64s 1 (files), 1 (path length), `a`, 1 (content length), `b`.
    assert_eq!(
        digest(&[file("a", b"b")]),
        "2d9908d9e07a035886a6323dfd3b1718a7281b18a176170d802d10bb9762cd6c"
    );

    let different = [
        vec![],
        vec![file("a", b"")],
        vec![file("ab", b"c")],
        vec![file("a", b"bc")],
        vec![file("a", b"b"), file("c", b"")],
        vec![file("b", b"a")],
    ];
    let digests: std::collections::HashSet<String> =
        different.iter().map(|files| digest(files)).collect();
    assert_eq!(digests.len(), different.len());
}

#[test]
fn the_same_bundle_has_the_same_digest_from_every_source() {
    let files = sample_bundle();
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("web");
    let pairs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|file| (file.path.as_str(), file.bytes.as_slice()))
        .collect();
    write_tree(&tree, &pairs);
    let from_dir = read_dir(&tree, &SourceLimits::default()).expect("read dir");

    let from_tar = read_tar_gz(
        &pack_tar_gz(&files).expect("pack"),
        &SourceLimits::default(),
    )
    .expect("read tar");

    let repo = dir.path().join("templates.git");
    paved_git::init_bare(&repo).expect("init");
    let in_repo: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|file| (format!("web/v1/{}", file.path), file.bytes.clone()))
        .chain([("README.md".to_owned(), b"readme".to_vec())])
        .collect();
    commit(&repo, &in_repo);
    let source = GitSource::parse(&format!("{}#path=web/v1", repo.display())).expect("parse");
    let (_, from_git) =
        read_git(&dir.path().join("cache"), &source, &SourceLimits::default()).expect("read git");

    let expected = digest(&files);
    assert_eq!(from_dir, sorted(files));
    for (name, read) in [("dir", from_dir), ("tar", from_tar), ("git", from_git)] {
        assert_eq!(digest(&read), expected, "{name}");
    }
}

// --- Git -----------------------------------------------------------------------------------

fn commit(repo: &Path, files: &[(String, Vec<u8>)]) -> String {
    paved_git::commit_files(
        repo,
        "main",
        files,
        "test",
        "Paved Test",
        "paved@example.com",
    )
    .expect("commit")
}

fn owned(files: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
    files
        .iter()
        .map(|(path, text)| (path.to_string(), text.as_bytes().to_vec()))
        .collect()
}

/// Parses `target`, compares it with `(repository, reference, path)`, displays it as
/// `display` and parses that back to the same source.
#[track_caller]
fn check_git_source(target: &str, expected: (&str, Option<&str>, Option<&str>), display: &str) {
    let source = GitSource::parse(target).expect("valid target");
    assert_eq!(
        (
            source.repository.as_str(),
            source.reference.as_deref(),
            source.path.as_deref()
        ),
        expected
    );
    assert_eq!(source.to_string(), display);
    assert_eq!(GitSource::parse(display).expect("round trip"), source);
}

#[test]
fn git_source_parses_and_displays_the_target_syntax() {
    check_git_source(
        "/srv/git/t.git",
        ("/srv/git/t.git", None, None),
        "/srv/git/t.git",
    );
    check_git_source(
        " file:///srv/git/t.git#ref=v2&path=web-service/ ",
        ("file:///srv/git/t.git", Some("v2"), Some("web-service")),
        "file:///srv/git/t.git#ref=v2&path=web-service",
    );
    check_git_source(
        "/srv/t#path=templates/web&ref=refs/tags/v1",
        ("/srv/t", Some("refs/tags/v1"), Some("templates/web")),
        "/srv/t#ref=refs/tags/v1&path=templates/web",
    );
    check_git_source(
        "/srv/t#path=web",
        ("/srv/t", None, Some("web")),
        "/srv/t#path=web",
    );
    check_git_source("/srv/t#", ("/srv/t", None, None), "/srv/t");
}

#[test]
fn git_source_refuses_invalid_targets() {
    let cases = [
        ("#ref=main", "the repository is empty"),
        (
            "/srv/t#branch=main",
            "unknown option `branch=main`: expected `ref=REF` or `path=DIR`",
        ),
        ("/srv/t#ref=", "`ref` is empty"),
        ("/srv/t#path", "`path` is empty"),
        ("/srv/t#ref=a&ref=b", "`ref` is given twice"),
        (
            "/srv/t#path=../up",
            "`path` `../up` is not a directory inside the repository: it has a `..` component; \
             a bundle path must be relative and `/`-separated, without empty, `.` or `..` \
             components, backslashes or NUL bytes",
        ),
        (
            "/srv/t#path=/abs",
            "`path` `/abs` is not a directory inside the repository: it is absolute; \
             a bundle path must be relative and `/`-separated, without empty, `.` or `..` \
             components, backslashes or NUL bytes",
        ),
    ];
    for (target, reason) in cases {
        let error = GitSource::parse(target).expect_err("invalid target");
        assert_eq!(
            error.to_string(),
            format!("invalid git source `{target}`: {reason}")
        );
    }
}

#[test]
fn read_git_reads_a_directory_at_a_reference() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let repo = dir.path().join("templates.git");
    paved_git::init_bare(&repo).expect("init");
    let first = commit(
        &repo,
        &owned(&[
            ("README.md", "readme"),
            ("web/v1/paved-template.yaml", "v1 manifest"),
            ("web/v1/infrastructure/cf.yaml", "v1 cf"),
            ("web/v10/paved-template.yaml", "not under web/v1"),
        ]),
    );
    let second = commit(
        &repo,
        &owned(&[("web/v1/paved-template.yaml", "v1 manifest, changed")]),
    );
    let repository = repo.display().to_string();
    let read = |target: String| {
        let source = GitSource::parse(&target).expect("parse");
        read_git(&cache, &source, &SourceLimits::default())
    };

    let (commit_id, files) = read(format!("{repository}#path=web/v1")).expect("read");
    assert_eq!(commit_id, second);
    assert_eq!(
        listing(&files),
        [
            ("infrastructure/cf.yaml", "v1 cf".to_owned()),
            ("paved-template.yaml", "v1 manifest, changed".to_owned()),
        ]
    );

    let (commit_id, files) = read(format!("file://{repository}#ref={first}&path=web/v1/"))
        .expect("read at the first commit");
    assert_eq!(commit_id, first);
    assert_eq!(files[1], file("paved-template.yaml", b"v1 manifest"));

    let (commit_id, files) = read(format!("{repository}#ref=main")).expect("read everything");
    assert_eq!(commit_id, second);
    let paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "README.md",
            "web/v1/infrastructure/cf.yaml",
            "web/v1/paved-template.yaml",
            "web/v10/paved-template.yaml"
        ]
    );

    let error = read(format!("{repository}#path=web/v2")).expect_err("no files");
    assert_eq!(
        error.to_string(),
        format!("there are no files under `web/v2` at commit `{second}`")
    );
    let error = read(format!("{repository}#ref=nope")).expect_err("no such ref");
    assert_eq!(
        error.to_string(),
        format!("reference `nope` not found in `{repository}`")
    );
}

#[test]
fn read_git_refuses_symlinks_and_oversized_blobs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let work = dir.path().join("work");
    write_tree(
        &work,
        &[
            ("web/v1/paved-template.yaml", b"manifest"),
            ("web/v1/big.bin", &[0; 5000]),
            ("other/big.bin", &[0; 5000]),
        ],
    );
    std::os::unix::fs::symlink("/etc/passwd", work.join("web/v1/passwd")).expect("symlink");
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .args([
                "-c",
                "user.name=Paved Test",
                "-c",
                "user.email=paved@example.com",
            ])
            .arg("-C")
            .arg(&work)
            .args(args)
            .output()
            .expect("git runs");
        assert!(output.status.success(), "git {args:?}: {output:?}");
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    git(&["init", "--quiet", "--initial-branch=main"]);
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "with a symlink"]);
    let head = git(&["rev-parse", "HEAD"]).trim().to_owned();
    let read = |target: &str, limits: &SourceLimits| {
        let source = GitSource::parse(&format!("{}{target}", work.display())).expect("parse");
        read_git(&cache, &source, limits)
    };

    let error = read("#path=web/v1", &SourceLimits::default()).expect_err("symlink");
    assert_eq!(
        error.to_string(),
        format!(
            "`web/v1/passwd` at commit `{head}`: symbolic link; a bundle may only contain \
             regular files of at most 4194304 bytes (4 MiB)"
        )
    );

    git(&["rm", "--quiet", "web/v1/passwd"]);
    git(&["commit", "--quiet", "-m", "without"]);
    let head = git(&["rev-parse", "HEAD"]).trim().to_owned();
    let error = read("#path=web/v1", &small_limits()).expect_err("too large");
    assert_eq!(
        error.to_string(),
        format!(
            "`web/v1/big.bin` at commit `{head}`: file is 5000 bytes, over the limit of 4096 \
             bytes; a bundle may only contain regular files of at most 4096 bytes (4 KiB)"
        )
    );

    // Only files under the directory count.
    let limits = SourceLimits {
        max_file_bytes: 5000,
        max_total_bytes: 5008,
        max_files: 2,
    };
    let (_, files) = read("#path=web/v1", &limits).expect("within the limits");
    assert_eq!(files.len(), 2);
    let error = read("", &limits).expect_err("too many files");
    assert_eq!(
        error.to_string(),
        "the bundle has more than 2 files; a bundle may have at most 2 files"
    );
    let limits = SourceLimits {
        max_total_bytes: 5007,
        ..limits
    };
    let error = read("#path=web/v1", &limits).expect_err("too large in total");
    assert_eq!(
        error.to_string(),
        "`web/v1/paved-template.yaml` takes the bundle over its size limit: a bundle's files \
         may add up to at most 5007 bytes"
    );
}
