//! What snapshot and restore refuse: a data folder in use (a stopped one is snapshotted
//! directly), corrupted, truncated and newer-schema snapshots.

use super::*;

#[tokio::test]
async fn the_data_folder_in_use_is_refused_and_a_stopped_one_is_snapshotted_directly() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (config, config_file) = folder_with_bookings(tmp.path(), None, 2).await;
    let cfg = path_str(&config_file);

    // Without a server, `snapshot` opens the database itself.
    let run = barberpro(&["snapshot", "--config", cfg]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        !run.stdout.contains("running server") && run.stdout.contains("2 bookings"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("not uploaded"),
        "no bucket: local only: {}",
        run.stdout
    );
    let status: Value = serde_json::from_slice(
        &std::fs::read(config.storage.data_dir.join("snapshot-status.json")).expect("status file"),
    )
    .expect("status JSON");
    assert_eq!(status["last_snapshot"]["ok"], true, "{status}");
    assert!(status["last_success_at"].is_string(), "{status}");
    let dir_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(config.snapshot.local_dir(&config.storage.data_dir))
            .expect("dir")
            .permissions(),
    );
    assert_eq!(
        dir_mode & 0o777,
        0o700,
        "snapshots hold personal data: owner-only folder"
    );

    // A server runs: restore refuses, naming the holder; the socket is owner-only.
    let mut app = spawn_app_with(config.clone(), Clock::manual(ts(MONDAY_8AM))).await;
    let socket = barberpro::control::socket_path(&config.storage.data_dir);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "the server never opened {}",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&socket).expect("socket").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the control socket is owner-only");
    let run = barberpro(&["restore", "latest", "--config", cfg]).await;
    assert_eq!(
        run.code, 3,
        "restore while serving must be refused: {}{}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains("stop the server"), "{}", run.stderr);
    app.stop().await;
    drop(app);

    // Something holds the folder but does not answer on the socket: exit 3, not a hang.
    let holder = reopen(&config.storage.data_dir).await;
    assert!(!socket.exists(), "the socket is removed on shutdown");
    let run = barberpro(&["snapshot", "--config", cfg]).await;
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("in use"), "{}", run.stderr);
    holder.close().await;
    drop(holder);

    // Stopped again: restore works and keeps the previous file.
    let run = barberpro(&["restore", "latest", "--config", cfg]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        config
            .storage
            .data_dir
            .join("barberpro.redb.pre-restore")
            .exists(),
        "the old database is kept"
    );
    let store =
        Store::open(&config.storage.data_dir, 1 << 20).expect("the restored database opens");
    store.close().await;
    drop(store);

    // A second restore keeps what the first one set aside: each under a name of its own.
    let dir = &config.storage.data_dir;
    let first = std::fs::read(dir.join("barberpro.redb.pre-restore")).expect("first kept");
    let run = barberpro(&["restore", "latest", "--config", cfg]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        std::fs::read(dir.join("barberpro.redb.pre-restore")).expect("first kept") == first,
        "the second restore overwrote the first one's kept database"
    );
    for name in ["barberpro.redb", "barberpro.journal", "barberpro.journal.2"] {
        assert!(
            dir.join(format!("{name}.pre-restore.2")).exists(),
            "the second restore's {name}"
        );
    }
}

#[tokio::test]
async fn restore_refuses_corrupted_truncated_and_newer_schema_snapshots() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (config, config_file) = folder_with_bookings(tmp.path(), None, 3).await;
    let cfg = path_str(&config_file);
    assert_eq!(barberpro(&["snapshot", "--config", cfg]).await.code, 0);
    let (data, manifest) = only_manifest(&config);
    let live = config.storage.data_dir.join("barberpro.redb");
    let live_before = std::fs::read(&live).expect("live db");
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).expect("mkdir");
    let copy_with = |bytes: &[u8], m: &Manifest| -> PathBuf {
        let file = bad.join(&m.file);
        std::fs::write(&file, bytes).expect("write");
        std::fs::write(
            bad.join(format!("{}.manifest.json", m.name)),
            serde_json::to_vec(m).expect("json"),
        )
        .expect("write");
        file
    };
    let original = std::fs::read(&data).expect("snapshot file");

    // One flipped byte.
    let mut flipped = original.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    let run = barberpro(&[
        "restore",
        path_str(&copy_with(&flipped, &manifest)),
        "--config",
        cfg,
    ])
    .await;
    assert_eq!(run.code, 7, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("SHA-256") && run.stderr.contains("corrupted"),
        "{}",
        run.stderr
    );

    // Truncated.
    let run = barberpro(&[
        "restore",
        path_str(&copy_with(&original[..original.len() / 3], &manifest)),
        "--config",
        cfg,
    ])
    .await;
    assert_eq!(run.code, 7, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("verification failed"), "{}", run.stderr);

    // A manifest whose counts do not match the file (hashes right): refused.
    let mut lying = manifest.clone();
    *lying.tables.get_mut("bookings").expect("bookings") += 1;
    let run = barberpro(&[
        "restore",
        path_str(&copy_with(&original, &lying)),
        "--config",
        cfg,
    ])
    .await;
    assert_eq!(run.code, 7, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("row counts differ"), "{}", run.stderr);

    // A database from a newer BarberPro, consistently packed: refused with exit 4.
    let raw = tmp.path().join("newer.redb");
    tool("zstd", &["-d", "-q", path_str(&data), "-o", path_str(&raw)]);
    set_schema_version(&raw, barberpro::store::SCHEMA_VERSION + 1).expect("bump schema");
    let raw_bytes = std::fs::read(&raw).expect("raw");
    let packed = zstd::encode_all(raw_bytes.as_slice(), 3).expect("compress");
    let mut newer = manifest.clone();
    newer.raw_bytes = raw_bytes.len() as u64;
    newer.raw_sha256 = sha256_hex(&raw_bytes);
    newer.stored_bytes = packed.len() as u64;
    newer.stored_sha256 = sha256_hex(&packed);
    let file = copy_with(&packed, &newer);
    let run = barberpro(&["restore", path_str(&file), "--config", cfg]).await;
    assert_eq!(
        run.code, 4,
        "a file claiming schema 1 but holding a newer one: {}{}",
        run.stdout, run.stderr
    );
    newer.schema_version = barberpro::store::SCHEMA_VERSION + 1;
    let run = barberpro(&[
        "restore",
        path_str(&copy_with(&packed, &newer)),
        "--config",
        cfg,
    ])
    .await;
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("newer"), "{}", run.stderr);

    assert_eq!(
        std::fs::read(&live).expect("live db"),
        live_before,
        "refused restores leave the live file alone"
    );
    assert!(
        !config
            .storage
            .data_dir
            .join("barberpro.redb.pre-restore")
            .exists()
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
