//! `paved config`: the user config file gives the server and token from any directory, with
//! flag > environment > config file > the data directory's admin token; a missing or refused
//! token is explained in the CLI's terms.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use crate::up::Up;
use crate::{Run, paved, run, run_with_stdin};

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Writes `group-N.yaml` (a Group `team-N`) in `dir`; returns the arguments that add it as a
/// location, a mutating call that needs a token.
fn add_group(dir: &Path, n: usize) -> Vec<String> {
    let file = format!("group-{n}.yaml");
    let group = format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-{n}\nspec:\n  type: team\n  children: []\n"
    );
    std::fs::write(dir.join(&file), group).expect("write a group file");
    ["catalog", "locations", "add", &file]
        .map(str::to_owned)
        .to_vec()
}

/// `paved ARGS` in `work_dir` with `config_home` as XDG_CONFIG_HOME and `env` on top.
fn paved_at(work_dir: &Path, config_home: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = paved();
    command
        .current_dir(work_dir)
        .env("XDG_CONFIG_HOME", config_home)
        .envs(env.iter().copied())
        .args(args);
    command
}

/// The same, with `stdin` piped in.
fn paved_with_stdin(work_dir: &Path, config_home: &Path, args: &[&str], stdin: &str) -> Run {
    run_with_stdin(&mut paved_at(work_dir, config_home, &[], args), stdin)
}

#[test]
fn the_config_file_gives_server_and_token_from_any_directory() {
    let server_dir = tempfile::tempdir().expect("a temporary directory");
    let data_dir = server_dir.path().join("data");
    let server = Up::start(server_dir.path(), &data_dir, &[]);
    let token = std::fs::read_to_string(data_dir.join("admin-token")).expect("the admin token");
    let token = token.trim();

    let elsewhere = tempfile::tempdir().expect("a temporary directory");
    let work = elsewhere.path().join("work");
    std::fs::create_dir(&work).expect("a work directory");
    let config_home = elsewhere.path().join("config");
    let config_file = config_home.join("paved/config.toml");
    let mut next = 0;
    let mut add = || {
        next += 1;
        add_group(&work, next)
    };

    // A server URL that is not one is refused before anything is written.
    let bad = run(&mut paved_at(
        &work,
        &config_home,
        &[],
        &["config", "set", "server", "ftp://x"],
    ));
    assert_eq!(bad.code, Some(1), "{bad}");
    assert!(
        bad.stderr.contains("`ftp://x` is not a server URL"),
        "{bad}"
    );
    assert!(!config_file.exists());

    let set = run(&mut paved_at(
        &work,
        &config_home,
        &[],
        &["config", "set", "server", &server.url()],
    ));
    assert_eq!(set.code, Some(0), "{set}");
    let mode = std::fs::metadata(&config_file)
        .expect("the config file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the config file's mode");

    // Server from the file, no token anywhere: explained with the CLI's ways to give one.
    let args = add();
    let refused = run(&mut paved_at(&work, &config_home, &[], &strs(&args)));
    assert_eq!(refused.code, Some(1), "{refused}");
    for wanted in [
        "needs a token",
        "--token",
        "PAVED_TOKEN",
        "paved config set token",
    ] {
        assert!(refused.stderr.contains(wanted), "{wanted:?} in {refused}");
    }
    assert!(!refused.stderr.contains("401"), "no HTTP terms: {refused}");

    // The token from stdin; `show` names the sources and never prints the token.
    let set = paved_with_stdin(
        &work,
        &config_home,
        &["config", "set", "token"],
        &format!("{token}\n"),
    );
    assert_eq!(set.code, Some(0), "{set}");
    let show = run(&mut paved_at(
        &work,
        &config_home,
        &[],
        &["config", "show", "-o", "json"],
    ));
    assert_eq!(show.code, Some(0), "{show}");
    let shown = show.json();
    assert_eq!(shown["server"], server.url().as_str(), "{show}");
    assert!(
        shown["serverSource"]
            .as_str()
            .is_some_and(|s| s.contains("config file")),
        "{show}"
    );
    assert!(
        shown["tokenSource"]
            .as_str()
            .is_some_and(|s| s.contains("config file")),
        "{show}"
    );
    assert!(
        !show.stdout.contains(token),
        "the token is redacted: {show}"
    );
    let text = run(&mut paved_at(&work, &config_home, &[], &["config", "show"]));
    assert!(
        text.stdout.contains("(redacted)") && !text.stdout.contains(token),
        "{text}"
    );

    // From a directory with no data directory beside it, the file's server and token work.
    let added = run(&mut paved_at(&work, &config_home, &[], &strs(&args)));
    assert_eq!(added.code, Some(0), "{added}");

    // The environment beats the file, and a flag beats the environment; each refusal names
    // where the token came from.
    let args = add();
    let wrong_env = run(&mut paved_at(
        &work,
        &config_home,
        &[("PAVED_TOKEN", "wrong")],
        &strs(&args),
    ));
    assert_eq!(wrong_env.code, Some(1), "{wrong_env}");
    assert!(
        wrong_env
            .stderr
            .contains("refused the token from PAVED_TOKEN"),
        "{wrong_env}"
    );
    let mut flag = strs(&args);
    flag.extend(["--token", "wrong"]);
    let wrong_flag = run(&mut paved_at(
        &work,
        &config_home,
        &[("PAVED_TOKEN", token)],
        &flag,
    ));
    assert_eq!(wrong_flag.code, Some(1), "{wrong_flag}");
    assert!(
        wrong_flag.stderr.contains("refused the token from --token"),
        "{wrong_flag}"
    );
    let mut good_flag = strs(&args);
    good_flag.extend(["--token", token]);
    let flag_wins = run(&mut paved_at(
        &work,
        &config_home,
        &[("PAVED_TOKEN", "wrong")],
        &good_flag,
    ));
    assert_eq!(flag_wins.code, Some(0), "{flag_wins}");

    // The file's token beats the data directory's admin token...
    let wrong_file = paved_with_stdin(&work, &config_home, &["config", "set", "token"], "wrong");
    assert_eq!(wrong_file.code, Some(0), "{wrong_file}");
    let data_dir_arg = data_dir.to_str().expect("a UTF-8 path");
    let args = add();
    let mut beside = strs(&args);
    beside.extend(["--data-dir", data_dir_arg]);
    let file_wins = run(&mut paved_at(&work, &config_home, &[], &beside));
    assert_eq!(file_wins.code, Some(1), "{file_wins}");
    assert!(
        file_wins
            .stderr
            .contains("refused the token from the config file"),
        "{file_wins}"
    );
    // ...which is used when nothing else gives one.
    let unset = run(&mut paved_at(
        &work,
        &config_home,
        &[],
        &["config", "unset", "token"],
    ));
    assert_eq!(unset.code, Some(0), "{unset}");
    let from_data_dir = run(&mut paved_at(&work, &config_home, &[], &beside));
    assert_eq!(from_data_dir.code, Some(0), "{from_data_dir}");
}

#[test]
fn a_broken_config_file_is_named() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config_home = dir.path().join("config");
    std::fs::create_dir_all(config_home.join("paved")).expect("a config directory");
    std::fs::write(
        config_home.join("paved/config.toml"),
        "sever = \"http://x\"\n",
    )
    .expect("write the config");
    let show = run(&mut paved_at(
        dir.path(),
        &config_home,
        &[],
        &["config", "show"],
    ));
    assert_ne!(show.code, Some(0), "{show}");
    assert!(
        show.stderr.contains("config.toml") && show.stderr.contains("sever"),
        "{show}"
    );
}
