//! Every file a command creates in the data folder (personal data, keys) is owner-only, whatever
//! the caller's umask: each command runs under `umask 000`, then the folder is walked.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under `umask 000` (the loosest a caller can have), with a clean environment.
fn loose(args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_barberpro"))
        .args(args)
        .env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("BARBERPRO_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[track_caller]
fn ran(what: &str, out: Output) {
    assert!(
        out.status.success(),
        "{what}: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file, folder and socket under `root` (itself included) readable, writable or
/// searchable by anyone but the owner, with its mode.
fn loose_entries(root: &Path) -> Vec<(PathBuf, u32)> {
    let mut found = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = std::fs::symlink_metadata(&path).expect("an entry");
        let mode = meta.permissions().mode() & 0o777;
        if !meta.file_type().is_symlink() && mode & 0o077 != 0 {
            found.push((path.clone(), mode));
        }
        if meta.is_dir() {
            for e in std::fs::read_dir(&path).expect("a folder") {
                todo.push(e.expect("an entry").path());
            }
        }
    }
    found
}

#[track_caller]
fn owner_only(after: &str, root: &Path) {
    let loose = loose_entries(root);
    assert!(
        loose.is_empty(),
        "after {after}, open to others: {:?}",
        loose
            .iter()
            .map(|(p, m)| format!("{} {m:o}", p.display()))
            .collect::<Vec<_>>()
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

#[test]
fn serve_snapshot_exports_and_restore_create_only_owner_only_files_under_any_umask() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // A folder that does not exist yet, nor does its parent.
    let top = tmp.path().join("srv");
    let data = top.join("data");

    let mut server = loose(&["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let lines = BufReader::new(server.stderr.take().expect("stderr")).lines();
    let serving = lines
        .map_while(Result::ok)
        .any(|l| l.contains("BarberPro is serving"));
    assert!(serving, "the server announced it was serving");
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    assert!(server.wait().expect("serve ends").success());
    owner_only("serve", &top);

    let d = path(&data);
    ran(
        "snapshot",
        loose(&["snapshot", "--no-upload", "--data-dir", d])
            .output()
            .expect("runs"),
    );
    owner_only("snapshot", &top);
    ran(
        "audit export",
        loose(&["audit", "export", "--data-dir", d])
            .output()
            .expect("runs"),
    );
    // Nobody has this phone: the command fails, having opened the database all the same.
    let _ = loose(&[
        "client",
        "export",
        "--phone",
        "011 15-2345-6799",
        "--data-dir",
        d,
    ])
    .output()
    .expect("runs");
    owner_only("the exports", &top);

    let snapshot = std::fs::read_dir(data.join("snapshots"))
        .expect("the local snapshots")
        .map(|e| e.expect("an entry").path())
        .find(|p| path(p).ends_with(".redb.zst"))
        .expect("a local snapshot");
    let restored = tmp.path().join("elsewhere/new");
    ran(
        "restore",
        loose(&["restore", path(&snapshot), "--data-dir", path(&restored)])
            .output()
            .expect("runs"),
    );
    assert!(restored.join("barberpro.redb").exists(), "restored");
    owner_only("restore", &tmp.path().join("elsewhere"));
}
