//! Power loss and failing disks, seen from outside the engine (issue 28): a damaged journal
//! refuses the start and is kept; a database halted by an I/O error fails readiness and stops
//! the server with an error, so that its supervisor restarts it and the journal replays.

use std::os::unix::fs::FileExt;
use std::time::Duration;

use barberpro::startup::{Application, Options, StartError};
use barberpro::store::engine::journal::{JOURNAL_FILES, Journal};
use barberpro::store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

use crate::helpers::{MONDAY_8AM, test_config, ts};

/// A data folder whose journal holds three records (empty batches), the second one damaged:
/// the third is stranded. Returns the damaged segment.
async fn damaged_journal(dir: &std::path::Path) -> std::path::PathBuf {
    let store = Store::open(dir, 1 << 20).unwrap();
    store.close().await;
    drop(store);
    let (mut journal, _) = Journal::open(dir).unwrap();
    let mut second = 0;
    for seq in 1..=3 {
        if seq == 2 {
            second = journal.used();
        }
        let pending = journal.write(seq, b"[]").unwrap();
        journal.wait(pending).unwrap();
    }
    drop(journal);
    let segment = dir.join(JOURNAL_FILES[0]);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.write_all_at(b"X", second + 24).unwrap();
    segment
}

/// `serve` over a damaged journal exits with code 8, which the systemd unit does not restart
/// (a restart every 2 s forever would not heal it, and would bury the message in the log).
#[tokio::test]
async fn a_damaged_journal_stops_serve_with_a_code_systemd_does_not_restart() {
    let dir = tempfile::tempdir().unwrap();
    let segment = damaged_journal(dir.path()).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_barberpro"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains(&segment.display().to_string()),
        "names the segment: {stderr}"
    );
    let unit = include_str!("../../systemd/barberpro.service");
    let prevented: Vec<&str> = unit
        .lines()
        .find_map(|l| l.strip_prefix("RestartPreventExitStatus="))
        .expect("RestartPreventExitStatus= in the unit")
        .split_whitespace()
        .collect();
    assert!(prevented.contains(&"8"), "{prevented:?}");
    // A halt (7), no room to open (12) and other start-up failures (6) heal by restarting.
    assert!(!["6", "7", "12"].iter().any(|code| prevented.contains(code)));
}

/// A full disk's 503 says so, in each audience's words, with the stable code `unavailable`.
#[tokio::test]
async fn a_full_disk_refusal_says_so_to_each_audience() {
    use axum::response::IntoResponse;
    use barberpro::http::{ApiError, admin::AdminError, booking::PageError};
    async fn said(response: axum::response::Response) -> String {
        assert_eq!(response.status(), 503);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }
    let api = said(ApiError::from(StoreError::DiskFull).into_response()).await;
    assert!(api.contains("\"code\":\"unavailable\""), "{api}");
    assert!(
        api.contains("sin espacio en disco: no se guardó el cambio"),
        "{api}"
    );
    let desk = said(AdminError::from(StoreError::DiskFull).into_response()).await;
    assert!(
        desk.contains("El servidor se quedó sin espacio en disco: no se guardó el cambio. Avisale al encargado."),
        "{desk}"
    );
    let page = said(PageError::from(StoreError::DiskFull).into_response()).await;
    assert!(
        page.contains(
            "No pudimos registrar tu turno por un problema del servidor; probá más tarde."
        ),
        "{page}"
    );
    // Not the generic one: a stopping server is not a full disk.
    let gone = said(ApiError::from(StoreError::WriterGone).into_response()).await;
    assert!(!gone.contains("disco"), "{gone}");
}

#[tokio::test]
async fn a_journal_damaged_before_its_last_record_refuses_the_start_and_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let segment = damaged_journal(dir.path()).await;
    let before = std::fs::read(&segment).unwrap();
    let refused = Store::open(dir.path(), 1 << 20)
        .err()
        .expect("the start is refused");
    let why = refused.to_string();
    assert!(matches!(refused, StoreError::Journal(_)), "{why}");
    assert!(
        why.contains(&segment.display().to_string()),
        "names the segment: {why}"
    );
    assert!(why.contains("record 3"), "names the record: {why}");
    let copy = dir.path().join("barberpro.journal.damaged");
    assert!(
        why.contains(&copy.display().to_string()),
        "names the copy: {why}"
    );
    assert_eq!(
        std::fs::read(&segment).unwrap(),
        before,
        "the segment was changed"
    );
    assert_eq!(std::fs::read(&copy).unwrap(), before, "the copy");
    // Refused again, the same way, keeping the first copy.
    assert!(Store::open(dir.path(), 1 << 20).is_err());
    assert_eq!(std::fs::read(&segment).unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_halted_database_fails_readiness_and_stops_the_server_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let app = Application::build(
        test_config(dir.path()),
        Options {
            demo: true,
            clock: barberpro::http::Clock::manual(ts(MONDAY_8AM)),
        },
    )
    .await
    .unwrap();
    let state = app.state().clone();
    let server = tokio::spawn(app.run_until_stopped(CancellationToken::new()));
    assert!(state.store.writer_alive());

    state
        .store
        .halt()
        .halt("a checkpoint's flush failed: EIO (injected)");
    let checks = barberpro::http::ops::readiness_checks(&state).await;
    let writer = checks
        .iter()
        .find(|c| c.0 == "writer")
        .expect("a writer check");
    assert!(
        !writer.1,
        "the writer check passes after a halt: {writer:?}"
    );
    assert!(writer.2.to_string().contains("EIO"), "{writer:?}");
    let booked = state.store.write(|_| Ok(())).await;
    assert!(matches!(booked, Err(StoreError::WriterGone)), "{booked:?}");

    let stopped = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .expect("the server keeps serving after the halt")
        .unwrap();
    assert!(
        matches!(&stopped, Err(StartError::Halted(why)) if why.contains("EIO")),
        "{stopped:?}"
    );
}

/// `secret.key` is made durably before anything derives a token from it: written under a
/// temporary name, synced, renamed, and the folder synced after the rename; a new database
/// file likewise. Watched with strace on the real binary (skipped, with
/// a note, where strace is missing or not allowed to trace).
#[test]
fn secret_key_and_a_new_database_file_are_made_durably() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let trace = dir.path().join("trace");
    let run = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,fsync,fdatasync,rename,renameat,renameat2,close",
            "-o",
        ])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_barberpro"))
        .args([
            "admin",
            "create-user",
            "--role",
            "owner",
            "--email",
            "ana@example.com",
        ])
        .arg("--data-dir")
        .arg(&data)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .output();
    let Ok(run) = run else {
        eprintln!("strace is not installed: skipped");
        return;
    };
    let trace = std::fs::read_to_string(&trace).unwrap_or_default();
    if trace.is_empty() {
        eprintln!(
            "strace could not trace here: skipped ({})",
            String::from_utf8_lossy(&run.stderr)
        );
        return;
    }
    assert!(
        data.join("secret.key").exists(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let lines: Vec<&str> = trace.lines().collect();
    let data = data.display().to_string();
    // The descriptor an openat of `path` returned (its first such line), and where.
    let opened = |path: &str, from: usize| -> Option<(usize, String)> {
        lines.iter().enumerate().skip(from).find_map(|(i, l)| {
            (l.contains("openat(") && l.contains(&format!("\"{path}\"")))
                .then(|| (i, l.rsplit("= ").next().unwrap_or("").trim().to_owned()))
        })
    };
    let synced = |fd: &str, from: usize| {
        lines.iter().enumerate().skip(from).find_map(|(i, l)| {
            (l.contains(&format!("fsync({fd})")) || l.contains(&format!("fdatasync({fd})")))
                .then_some(i)
        })
    };
    let key = format!("{data}/secret.key");
    let (written_at, fd) = opened(&format!("{key}.new"), 0)
        .expect("secret.key is written under a temporary name first");
    let flushed = synced(&fd, written_at).expect("the temporary key is synced");
    let renamed = lines
        .iter()
        .position(|l| l.contains("rename") && l.contains(&format!("\"{key}\"")))
        .expect("renamed over secret.key");
    assert!(flushed < renamed, "synced before the rename");
    let mut dir_synced = false;
    let mut from = renamed;
    while let Some((i, fd)) = opened(&data, from) {
        if synced(&fd, i).is_some() {
            dir_synced = true;
            break;
        }
        from = i + 1;
    }
    assert!(
        dir_synced,
        "the data folder is synced after the key's rename"
    );
    // A new database file is made whole under a temporary name (redb's first commit synced),
    // renamed, and its folder synced after the rename.
    let db = format!("{data}/barberpro.redb");
    let tmp = format!("{db}.new");
    let (created, db_fd) = opened(&tmp, 0).expect("made under a temporary name");
    let first_commit = synced(&db_fd, created).expect("redb flushes its first commit");
    let renamed = lines
        .iter()
        .position(|l| l.contains("rename") && l.contains(&format!("\"{tmp}\", ")))
        .expect("renamed to barberpro.redb");
    assert!(
        first_commit < renamed,
        "the first commit is durable before the rename"
    );
    let folder_synced = lines.iter().enumerate().skip(renamed).any(|(i, l)| {
        l.contains("openat(")
            && l.contains(&format!("\"{data}\""))
            && synced(l.rsplit("= ").next().unwrap_or("").trim(), i).is_some()
    });
    assert!(folder_synced, "the folder is synced after the rename");
}

const PROBE: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");

/// A flush of the database failed before the last stop (`barberpro.redb.suspect`): the start
/// does not trust the file's flushes but rebuilds it into a fresh one, keeps the old one, and
/// serves with every row.
#[tokio::test]
async fn a_database_whose_flush_failed_is_rebuilt_before_it_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 1 << 20).unwrap();
    store
        .write(|tx| {
            tx.open_table(PROBE)?.insert("test.probe", 42)?;
            Ok(())
        })
        .await
        .unwrap();
    store.close().await;
    drop(store);
    let marker = dir.path().join("barberpro.redb.suspect");
    std::fs::write(&marker, "a flush of the database failed: EIO\n").unwrap();

    let store = Store::open(dir.path(), 1 << 20).unwrap();
    assert!(!marker.exists(), "the start trusted a suspect file");
    assert!(
        dir.path().join("barberpro.redb.pre-rebuild").exists(),
        "the old file is kept"
    );
    let probe = store
        .read(|tx| Ok(tx.open_table(PROBE)?.get("test.probe")?.map(|v| v.value())))
        .await
        .unwrap();
    assert_eq!(probe, Some(42), "a row was lost in the rebuild");
    store.write(|_| Ok(())).await.expect("it takes writes");
    store.close().await;
}
