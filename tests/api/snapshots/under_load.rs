//! A snapshot taken while bookings pour in: uploaded, read back with the standard tools
//! (`aws`, `zstd`), restored into a new folder that serves the same data.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshot_under_load_uploads_reads_back_with_standard_tools_and_restores_identically() {
    let Some(moto) = Moto::start() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = config_for(&tmp.path().join("live"), Some(&moto));
    let config_file = tmp.path().join("barberpro.toml");
    write_config(&config, &config_file);
    let app = spawn_app_with(config.clone(), Clock::manual(ts(MONDAY_8AM))).await;

    // Writers book as fast as they can while the snapshot runs.
    let slots = free_slots(&app, 14).await;
    assert!(
        slots.len() > 100,
        "enough free slots to keep writers busy: {}",
        slots.len()
    );
    let app = Arc::new(app);
    let done = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..4usize {
        let (app, done) = (app.clone(), done.clone());
        let mine: Vec<_> = slots.iter().skip(w).step_by(4).cloned().collect();
        writers.push(tokio::spawn(async move {
            let mut booked = Vec::new();
            let mut slowest = Duration::ZERO;
            for (i, (date, time, barber)) in mine.into_iter().enumerate() {
                let started = Instant::now();
                let answer = app
                    .book(&booking(
                        &[1],
                        barber.into(),
                        &at(&date, &time),
                        &phone((w * 1000 + i) as u32),
                    ))
                    .await;
                slowest = slowest.max(started.elapsed());
                assert_eq!(
                    answer.status.as_u16(),
                    201,
                    "a booking failed during the snapshot: {}",
                    answer.body
                );
                done.fetch_add(1, Ordering::SeqCst);
                booked.push((
                    app.id_of(&answer.body),
                    answer.body["manage_token"]
                        .as_str()
                        .expect("token")
                        .to_owned(),
                ));
            }
            (booked, slowest)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = done.load(Ordering::SeqCst);
    let run = barberpro(&["snapshot", "--config", config_file.to_str().expect("path")]).await;
    // Each writer has at most one booking in flight.
    let after = done.load(Ordering::SeqCst) + 4;
    assert_eq!(run.code, 0, "snapshot failed: {}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("taken by the running server"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "one summary line: {}",
        run.stdout
    );
    let mut tokens = Vec::new();
    let mut stall = Duration::ZERO;
    for w in writers {
        let (booked, slowest) = w.await.expect("writer finished without failures");
        tokens.extend(booked);
        stall = stall.max(slowest);
    }
    eprintln!(
        "slowest booking during the snapshot: {stall:?} ({before}..{after} bookings while it ran)"
    );
    assert!(
        stall < Duration::from_secs(5),
        "writers stalled for {stall:?}"
    );

    // The manifest is consistent with one point in time between before and after.
    let (local, manifest) = only_manifest(&config);
    let in_snapshot = manifest.tables["bookings"];
    assert!(
        (before..=after).contains(&in_snapshot),
        "{before} <= {in_snapshot} <= {after}"
    );
    assert!(local.exists(), "a local copy is kept");
    let listed = moto.ls();
    assert!(listed.contains(&manifest.file), "data uploaded: {listed:?}");
    assert!(
        listed.contains(&format!("{}.manifest.json", manifest.name)),
        "manifest uploaded: {listed:?}"
    );

    // Standard tools read it: aws downloads, zstd decompresses, redb opens and checks it.
    let fetched = tmp.path().join("fetched.redb.zst");
    moto.aws_ok(&[
        "s3",
        "cp",
        &format!("s3://{BUCKET}/barberpro/{}", manifest.file),
        fetched.to_str().expect("path"),
    ]);
    tool("zstd", &["-t", fetched.to_str().expect("path")]);
    let raw = tmp.path().join("fetched.redb");
    tool(
        "zstd",
        &[
            "-d",
            "-q",
            fetched.to_str().expect("path"),
            "-o",
            raw.to_str().expect("path"),
        ],
    );
    let report = inspect(&raw).expect("the decompressed snapshot is a sound redb file");
    assert_eq!(
        report.tables, manifest.tables,
        "the file holds what the manifest says"
    );

    // `snapshots list` shows it as complete, in both places.
    let run = barberpro(&[
        "snapshots",
        "list",
        "--config",
        config_file.to_str().expect("path"),
    ])
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(&manifest.name)
            && run.stdout.contains("local+remote")
            && run.stdout.contains("complete"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("-03"),
        "times are shown in Argentina: {}",
        run.stdout
    );

    // Restore into a fresh folder (from the bucket: the new folder has no local copies).
    let restored_dir = tmp.path().join("restored");
    std::fs::create_dir_all(&restored_dir).expect("mkdir");
    // Manage links are signed with the data folder's secret.key: restore it alongside.
    std::fs::copy(
        config.storage.data_dir.join("secret.key"),
        restored_dir.join("secret.key"),
    )
    .expect("copy secret.key");
    let run = barberpro(&[
        "restore",
        "latest",
        "--config",
        config_file.to_str().expect("path"),
        "--data-dir",
        restored_dir.to_str().expect("path"),
    ])
    .await;
    assert_eq!(run.code, 0, "restore failed: {}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("restore") && run.stdout.contains(&manifest.name),
        "{}",
        run.stdout
    );

    let restored = spawn_app_with(
        config_for(&restored_dir, None),
        Clock::manual(ts(MONDAY_8AM)),
    )
    .await;
    let mut compared = 0;
    for (id, token) in &tokens {
        let path = format!("/api/v1/bookings/{id}");
        if id.n <= in_snapshot {
            let original = without_urls(app.get_auth(&path, token).await.expect(200));
            let copy = without_urls(restored.get_auth(&path, token).await.expect(200));
            assert_eq!(copy, original, "booking {id} differs after the restore");
            compared += 1;
        } else {
            // Not in the copy: answered like a wrong token (a missing id reveals nothing).
            let answer = restored.get_auth(&path, token).await;
            assert_eq!(
                answer.status.as_u16(),
                401,
                "booking {id} was made after the snapshot: {}",
                answer.body
            );
        }
    }
    assert_eq!(
        compared as u64, in_snapshot,
        "every booking in the snapshot was compared"
    );
}

/// A booking without the fields that name the server's own address.
fn without_urls(mut booking: Value) -> Value {
    if let Some(map) = booking.as_object_mut() {
        map.retain(|k, _| !k.ends_with("_url"));
    }
    booking
}
