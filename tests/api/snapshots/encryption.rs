//! Encrypted snapshots: the `age` tool decrypts them and restore works with the identity.

use super::*;

#[tokio::test]
async fn encrypted_snapshots_decrypt_with_the_age_tool_and_restore_with_the_identity() {
    let Some(moto) = Moto::start() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let identity = age::x25519::Identity::generate();
    let key_file = tmp.path().join("age-key.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(
            &key_file,
            format!("{}\n", identity.to_string().expose_secret()),
        )
        .expect("key file");
    }
    let (mut config, config_file) = folder_with_bookings(tmp.path(), Some(&moto), 2).await;
    config.snapshot.age_recipient = Some(
        identity
            .to_public()
            .to_string()
            .parse()
            .expect("a recipient"),
    );
    write_config(&config, &config_file);
    let cfg = path_str(&config_file);
    let run = barberpro(&["snapshot", "--config", cfg]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("age-encrypted"), "{}", run.stdout);
    let (data, manifest) = only_manifest(&config);
    assert!(
        manifest.file.ends_with(".redb.zst.age") && manifest.encryption.as_deref() == Some("age")
    );
    let bytes = std::fs::read(&data).expect("read");
    assert!(bytes.starts_with(b"age-encryption.org/v1"), "an age file");
    assert!(
        !bytes.windows(9).any(|w| w == b"Juan P\xc3\xa9r"),
        "no client name in clear"
    );

    // The standard tools: aws → age → zstd → a redb file that passes the checks.
    let fetched = tmp.path().join("f.age");
    moto.aws_ok(&[
        "s3",
        "cp",
        &format!("s3://{BUCKET}/barberpro/{}", manifest.file),
        path_str(&fetched),
    ]);
    let zst = tmp.path().join("f.zst");
    tool(
        "age",
        &[
            "-d",
            "-i",
            path_str(&key_file),
            "-o",
            path_str(&zst),
            path_str(&fetched),
        ],
    );
    let raw = tmp.path().join("f.redb");
    tool("zstd", &["-d", "-q", path_str(&zst), "-o", path_str(&raw)]);
    assert_eq!(inspect(&raw).expect("sound").tables, manifest.tables);

    // Restore needs the identity.
    let target = tmp.path().join("target");
    let run = barberpro(&[
        "restore",
        "latest",
        "--config",
        cfg,
        "--data-dir",
        path_str(&target),
    ])
    .await;
    assert_eq!(
        run.code, 1,
        "no identity configured: {}{}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains("age_identity_file"), "{}", run.stderr);
    config.snapshot.age_identity_file = Some(key_file.clone());
    write_config(&config, &config_file);
    let run = barberpro(&[
        "restore",
        "latest",
        "--config",
        cfg,
        "--data-dir",
        path_str(&target),
    ])
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        inspect(&target.join("barberpro.redb"))
            .expect("restored")
            .tables,
        manifest.tables
    );
}
