//! A skipped test is counted and named at the end of `bash .ci/test` with its install command,
//! and fails under `CI=true`: a moto test is run by itself, in a child process, without moto.

use std::path::Path;
use std::process::{Command, Output};

use crate::skipped::{FILE_VAR, INSTALL_MOTO};

/// A test that needs moto and skips without it.
const MOTO_TEST: &str =
    "snapshots::uploads::upload_failures_exit_non_zero_keep_the_local_copy_and_delete_nothing";

fn run_without_moto(list: &Path, ci: bool) -> Output {
    let exe = std::env::current_exe().expect("the test binary");
    Command::new(exe)
        .args(["--exact", MOTO_TEST, "--test-threads", "1"])
        .env("MOTO_VENV", list.with_file_name("no-moto-here"))
        .env(FILE_VAR, list)
        .env("CI", if ci { "true" } else { "false" })
        .output()
        .expect("the test binary runs")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn a_skipped_test_is_named_with_its_install_command_and_fails_in_ci() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let list = tmp.path().join("skipped.tsv");

    let out = run_without_moto(&list, false);
    assert!(
        out.status.success(),
        "outside CI a skip passes: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("1 passed"),
        "the test ran (the name is right): {}",
        text(&out)
    );
    let listed = std::fs::read_to_string(&list).expect("the skip was listed");
    assert!(
        listed.starts_with(&format!("{MOTO_TEST}\t")) && listed.contains(INSTALL_MOTO),
        "{listed}"
    );

    let summary = Command::new("bash")
        .arg(".ci/skipped")
        .arg(&list)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("bash runs");
    let said = text(&summary);
    assert!(summary.status.success(), "{said}");
    assert!(
        said.contains("1 test(s) SKIPPED")
            && said.contains(&format!("SKIPPED {MOTO_TEST}: moto/awscli not found"))
            && said.contains(INSTALL_MOTO),
        "the end of .ci/test names it and how to install what it needs: {said}"
    );

    let out = run_without_moto(&list, true);
    assert!(
        !out.status.success() && text(&out).contains("CI must install it"),
        "under CI=true a test that cannot run fails: {}",
        text(&out)
    );
}
