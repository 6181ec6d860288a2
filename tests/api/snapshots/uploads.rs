//! Uploads to the store: failures keep the local copy and delete nothing, multipart parts,
//! a store dying mid-upload, two snapshots in the same second.

use super::*;

#[tokio::test]
async fn upload_failures_exit_non_zero_keep_the_local_copy_and_delete_nothing() {
    let Some(moto) = Moto::start() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let (mut config, config_file) = folder_with_bookings(tmp.path(), Some(&moto), 1).await;
    let cfg = path_str(&config_file);
    // An old complete snapshot that retention would delete after a successful upload.
    let old = SnapshotName::new(ts("2020-01-01T00:00:00Z"), "old");
    moto.put(&old.data_file(false), b"old data");
    moto.put(&old.manifest_file(), b"{}");

    // Wrong secret: moto checks SigV4.
    config.snapshot.s3.secret_access_key = Some(Secret::new("not-the-secret"));
    write_config(&config, &config_file);
    let run = barberpro(&["snapshot", "--config", cfg]).await;
    assert_eq!(run.code, 8, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("local copy") && run.stderr.contains("kept"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("SignatureDoesNotMatch"),
        "the store's reason is shown: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("not-the-secret"),
        "the secret never prints"
    );
    let (local, _) = only_manifest(&config);
    assert!(local.exists(), "the local copy is kept");

    // Missing bucket.
    config.snapshot.s3.secret_access_key = Some(Secret::new(moto.secret.clone()));
    config.snapshot.s3.bucket = Some("no-such-bucket".into());
    write_config(&config, &config_file);
    let run = barberpro(&["snapshot", "--config", cfg]).await;
    assert_eq!(run.code, 8, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("NoSuchBucket") || run.stderr.contains("does not exist"),
        "{}",
        run.stderr
    );

    // Explicitly local: fine, even with a bad bucket.
    let run = barberpro(&["snapshot", "--config", cfg, "--no-upload"]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        moto.ls().contains(&old.data_file(false)),
        "nothing was deleted after failed uploads"
    );
    let status: Value = serde_json::from_slice(
        &std::fs::read(config.storage.data_dir.join("snapshot-status.json")).expect("status"),
    )
    .expect("json");
    assert_eq!(status["failures_total"], 2, "{status}");

    // The store is down.
    config.snapshot.s3.bucket = Some(BUCKET.into());
    write_config(&config, &config_file);
    drop(moto);
    let run = barberpro(&["snapshot", "--config", cfg]).await;
    assert_eq!(run.code, 8, "{}{}", run.stdout, run.stderr);
    let kept = local_files(&config)
        .iter()
        .filter(|f| f.ends_with(".redb.zst"))
        .count();
    assert!(
        (1..=config.snapshot.keep_local).contains(&kept),
        "local copies kept, up to keep_local: {:?}",
        local_files(&config)
    );
}

#[tokio::test]
async fn large_files_go_up_in_equal_multipart_parts_and_come_back_intact() {
    let Some(moto) = Moto::start() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut config = config_for(tmp.path(), Some(&moto));
    config.snapshot.s3.part_size_mb = 5;
    let remote = barberpro::snapshot::upload::Remote::from_config(&config.snapshot.s3)
        .expect("client")
        .expect("a bucket is configured");
    // 12 MiB of incompressible bytes: three parts (5 + 5 + 2 MiB).
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let bytes: Vec<u8> = (0..12 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let local = tmp.path().join("big.bin");
    std::fs::write(&local, &bytes).expect("write");
    let sent = remote
        .upload_file(&local, "big.bin")
        .await
        .expect("multipart upload");
    assert_eq!(sent, bytes.len() as u64);
    let back = tmp.path().join("back.bin");
    remote.download("big.bin", &back).await.expect("download");
    assert!(
        std::fs::read(&back).expect("read") == bytes,
        "the object differs from what was uploaded"
    );
    let head: Value = serde_json::from_slice(
        &moto
            .aws_ok(&[
                "s3api",
                "head-object",
                "--bucket",
                BUCKET,
                "--key",
                "barberpro/big.bin",
            ])
            .stdout,
    )
    .expect("json");
    assert!(
        head["ETag"].as_str().is_some_and(|e| e.ends_with("-3\"")),
        "uploaded as three parts: {head}"
    );
}

/// A TCP proxy to `target` that forwards `budget` bytes of requests, then cuts every
/// connection and stops listening: a store that dies in the middle of an upload.
async fn dying_proxy(target: u16, budget: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let dead = tokio_util::sync::CancellationToken::new();
    let sent = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        loop {
            let (client, _) = tokio::select! {
                _ = dead.cancelled() => return,
                accepted = listener.accept() => match accepted { Ok(c) => c, Err(_) => return },
            };
            let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else {
                return;
            };
            let (dead, sent) = (dead.clone(), sent.clone());
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let upstream = async {
                    let mut buf = [0u8; 1024];
                    loop {
                        let n = cr.read(&mut buf).await.unwrap_or(0);
                        if n == 0
                            || sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64 > budget as u64
                        {
                            dead.cancel();
                            return;
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                let downstream = async {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                };
                tokio::select! {
                    _ = upstream => {}
                    _ = downstream => {}
                    _ = dead.cancelled() => {}
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_store_dying_mid_upload_leaves_the_local_copy_and_no_complete_remote_snapshot() {
    let Some(moto) = Moto::start() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let (mut config, config_file) = folder_with_bookings(tmp.path(), Some(&moto), 3).await;
    let moto_port: u16 = moto
        .endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    // Enough for the request head and part of the body, not the whole snapshot.
    let proxy = dying_proxy(moto_port, 1500).await;
    config.snapshot.s3.endpoint = Some(format!("http://127.0.0.1:{proxy}").parse().expect("a URL"));
    write_config(&config, &config_file);
    let run = barberpro(&["snapshot", "--config", path_str(&config_file)]).await;
    assert_eq!(run.code, 8, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("local copy") && run.stderr.contains("kept"),
        "{}",
        run.stderr
    );
    let (local, manifest) = only_manifest(&config);
    assert!(
        manifest.stored_bytes > 1500,
        "the snapshot ({} bytes) must be larger than the cut-off",
        manifest.stored_bytes
    );
    assert!(local.exists(), "the local copy is kept");
    let listed = moto.ls();
    assert!(
        !listed.contains(&format!("{}.manifest.json", manifest.name)),
        "no manifest: the remote snapshot is not complete: {listed:?}"
    );
}

#[tokio::test]
async fn two_snapshots_in_the_same_second_get_two_names_and_both_stay_whole() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (config, _) = folder_with_bookings(tmp.path(), None, 1).await;
    let store = reopen(&config.storage.data_dir).await;
    let now = ts("2027-03-01T05:00:00.250Z");
    let first = barberpro::snapshot::take(&config, &store, Some(false), now)
        .await
        .expect("first snapshot");
    let second = barberpro::snapshot::take(&config, &store, Some(false), now)
        .await
        .expect("second snapshot");
    assert_ne!(first.name, second.name);
    assert!(first.name.contains("20270301T050000Z"), "{}", first.name);
    assert!(second.name.contains("20270301T050001Z"), "{}", second.name);
    for report in [&first, &second] {
        let bytes = std::fs::read(&report.local_file).expect("the local copy is there");
        assert_eq!(bytes.len() as u64, report.stored_bytes, "{}", report.name);
    }
    store.close().await;
}
