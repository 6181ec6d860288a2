//! The scheduled jobs: retention pruning, the verify drill, and the systemd units that fire
//! them at the documented times.

use super::*;

#[tokio::test]
async fn retention_prunes_old_snapshots_keeps_the_newest_and_notices_deletes_that_fail() {
    let Some(moto) = Moto::start() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let (mut config, config_file) = folder_with_bookings(tmp.path(), Some(&moto), 1).await;
    let cfg = path_str(&config_file);
    let old_complete = SnapshotName::new(ts("2020-01-01T00:00:00Z"), "old");
    let old_incomplete = SnapshotName::new(ts("2020-01-02T00:00:00Z"), "old");
    let recent = SnapshotName::new(
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24),
        "recent",
    );
    moto.put(&old_complete.data_file(false), b"x");
    moto.put(&old_complete.manifest_file(), b"{}");
    moto.put(&old_incomplete.data_file(true), b"x");
    moto.put(&recent.data_file(false), b"x");
    moto.put(&recent.manifest_file(), b"{}");
    moto.put("unrelated.txt", b"never touched");

    let run = barberpro(&["snapshot", "--config", cfg]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("2 pruned"), "{}", run.stdout);
    let listed = moto.ls();
    assert!(
        !listed
            .iter()
            .any(|f| f.contains("20200101") || f.contains("20200102")),
        "old ones deleted: {listed:?}"
    );
    assert!(
        listed.contains(&recent.manifest_file()) && listed.contains(&"unrelated.txt".to_owned()),
        "{listed:?}"
    );
    assert_eq!(
        listed
            .iter()
            .filter(|f| f.ends_with(".manifest.json"))
            .count(),
        2,
        "{listed:?}"
    );

    // A user that may upload but not delete: the delete fails, the next listing shows it,
    // the command says so and exits 9.
    moto.put(&old_complete.data_file(false), b"x");
    moto.put(&old_complete.manifest_file(), b"{}");
    moto.aws_ok(&["iam", "create-user", "--user-name", "nodelete"]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}"#;
    moto.aws_ok(&[
        "iam",
        "put-user-policy",
        "--user-name",
        "nodelete",
        "--policy-name",
        "p",
        "--policy-document",
        policy,
    ]);
    let keys: Value = serde_json::from_slice(
        &moto
            .aws_ok(&["iam", "create-access-key", "--user-name", "nodelete"])
            .stdout,
    )
    .expect("json");
    config.snapshot.s3.access_key_id = Some(
        keys["AccessKey"]["AccessKeyId"]
            .as_str()
            .expect("id")
            .into(),
    );
    config.snapshot.s3.secret_access_key = Some(Secret::new(
        keys["AccessKey"]["SecretAccessKey"]
            .as_str()
            .expect("secret"),
    ));
    write_config(&config, &config_file);
    tokio::time::sleep(Duration::from_millis(1100)).await; // a new name (second resolution)
    let run = barberpro(&["snapshot", "--config", cfg]).await;
    assert_eq!(run.code, 9, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("still holds") && run.stderr.contains("20200101"),
        "{}",
        run.stderr
    );
    assert!(moto.ls().contains(&old_complete.manifest_file()));
}

#[tokio::test]
async fn the_verify_drill_checks_the_remote_copy_and_records_the_result() {
    let Some(moto) = Moto::start() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let (config, config_file) = folder_with_bookings(tmp.path(), Some(&moto), 2).await;
    let cfg = path_str(&config_file);
    assert_eq!(barberpro(&["snapshot", "--config", cfg]).await.code, 0);
    let (_, manifest) = only_manifest(&config);
    let live = std::fs::read(config.storage.data_dir.join("barberpro.redb")).expect("live");

    let run = barberpro(&["snapshot", "verify", "--config", cfg]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&manifest.name) && run.stdout.contains("s3://"),
        "verified the remote copy: {}",
        run.stdout
    );
    let status = barberpro::snapshot::status::read(&config.storage.data_dir);
    assert!(
        status.last_verified_at.is_some() && status.last_verify.as_ref().is_some_and(|v| v.ok),
        "{status:?}"
    );

    // Damage the remote copy: the drill fails and says so, locally nothing changes.
    moto.put(&manifest.file, b"garbage");
    let run = barberpro(&["snapshot", "verify", &manifest.name, "--config", cfg]).await;
    assert_eq!(run.code, 7, "{}{}", run.stdout, run.stderr);
    let status = barberpro::snapshot::status::read(&config.storage.data_dir);
    assert_eq!(status.verify_failures_total, 1, "{status:?}");
    assert!(
        status
            .last_verify
            .is_some_and(|v| !v.ok && v.error.is_some_and(|e| e.contains("SHA-256")))
    );
    assert_eq!(
        std::fs::read(config.storage.data_dir.join("barberpro.redb")).expect("live"),
        live,
        "the drill never touches the live data"
    );
}

#[test]
fn the_systemd_units_verify_and_fire_at_the_documented_times() {
    let Some(analyze) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        crate::skipped::skip(
            "systemd-analyze not installed",
            crate::skipped::INSTALL_SYSTEMD,
        );
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd");
    let mut names = Vec::new();
    for name in [
        "barberpro-snapshot.service",
        "barberpro-snapshot.timer",
        "barberpro-snapshot-verify.service",
        "barberpro-snapshot-verify.timer",
    ] {
        let text = std::fs::read_to_string(units.join(name)).expect("unit file");
        // Verify checks that ExecStart exists: point it at the binary under test.
        let text = text.replace("/usr/bin/barberpro", env!("CARGO_BIN_EXE_barberpro"));
        std::fs::write(tmp.path().join(name), text).expect("write");
        names.push(tmp.path().join(name).display().to_string());
    }
    let out = Command::new(analyze)
        .arg("verify")
        .args(&names)
        .output()
        .expect("systemd-analyze runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    let timer = std::fs::read_to_string(units.join("barberpro-snapshot.timer")).expect("timer");
    assert!(
        timer.contains("OnCalendar=*-*-* 02:00:00 America/Argentina/Buenos_Aires")
            && timer.contains("Persistent=true")
    );
    let out = Command::new(analyze)
        .args(["calendar", "*-*-* 02:00:00 America/Argentina/Buenos_Aires"])
        .output()
        .expect("calendar");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
