//! The binary's command line: versions, help, config check, exit codes.

use std::process::Command;

fn barberpro() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_barberpro"));
    // The tests must not pick up the machine's /etc config or the caller's overrides.
    cmd.env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("BARBERPRO_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[test]
fn version_and_help_on_every_command() {
    let out = barberpro().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    // Every command and subcommand clap knows, so a new one cannot come without --help.
    fn walk(cmd: &clap::Command, path: Vec<String>, all: &mut Vec<Vec<String>>) {
        all.push(path.clone());
        for sub in cmd.get_subcommands() {
            let mut next = path.clone();
            next.push(sub.get_name().to_owned());
            walk(sub, next, all);
        }
    }
    let mut commands = Vec::new();
    walk(
        &<barberpro::cli::Cli as clap::CommandFactory>::command(),
        Vec::new(),
        &mut commands,
    );
    assert!(commands.len() > 10, "{commands:?}");
    for path in commands {
        let out = barberpro().args(&path).arg("--help").output().unwrap();
        assert!(out.status.success(), "{path:?} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Usage:"),
            "{path:?} --help prints help: {text}"
        );
    }
    let out = barberpro().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn config_check_prints_the_effective_config_or_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[booking]\nhorizon_days = 30\n").unwrap();
    let out = barberpro()
        .args(["config", "check", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("horizon_days = 30"), "{text}");
    assert!(text.contains("slot_step_minutes = 15"), "{text}");

    let out = barberpro()
        .args(["config", "check", "--config"])
        .arg(&good)
        .env("BARBERPRO_BOOKING__HORIZON_DAYS", "45")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("horizon_days = 45"),
        "env wins over the file"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\nlistn = \"x\"\n").unwrap();
    let out = barberpro()
        .args(["config", "check", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listn"));

    let out = barberpro()
        .args(["config", "check", "--config", "/nonexistent.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));

    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/barberpro.toml");
    let out = barberpro()
        .args(["config", "check", "--config", repo])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the repository's barberpro.toml is valid"
    );
}

#[test]
fn serve_refuses_a_folder_in_use_and_a_taken_port() {
    let dir = tempfile::tempdir().unwrap();
    let _held = barberpro::store::Store::open(dir.path(), 1 << 20).unwrap();
    let out = barberpro()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("PID {}", std::process::id())),
        "{err}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other = tempfile::tempdir().unwrap();
    let out = barberpro()
        .args([
            "serve",
            "--listen",
            &taken.local_addr().unwrap().to_string(),
            "--data-dir",
        ])
        .arg(other.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn serve_notifies_systemd_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // What systemd does for Type=notify: a datagram socket named in NOTIFY_SOCKET.
    let socket_path = dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    notify
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let received = || {
        let mut buf = [0u8; 512];
        let n = notify.recv(&mut buf).expect("a notification within 10 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut child = barberpro()
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("BARBERPRO_LOG__FORMAT", "json")
        .env("NOTIFY_SOCKET", &socket_path)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it serves (the log says so), then SIGTERM it.
    use std::io::{BufRead, BufReader};
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut serving = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("BarberPro is serving") {
            serving = true;
            break;
        }
    }
    assert!(serving, "the server announced it was serving");
    assert_eq!(received(), "READY=1\n");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit:?}; log: {rest:?}");
    assert_eq!(received(), "STOPPING=1\n");
    assert!(
        rest.iter().any(|l| l.contains("database writer stopped")),
        "{rest:?}"
    );
    // The folder is free again.
    assert!(barberpro::store::Store::open(dir.path(), 1 << 20).is_ok());
}
