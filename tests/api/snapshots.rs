//! Snapshots against a real S3 server (moto in its SigV4-checking mode, started here on a free
//! loopback port) and the standard tools (`aws`, `zstd`, `age`): take while bookings pour in,
//! upload, read back with other tools, restore into a new folder and serve the same data;
//! refusals (folder in use, corrupted, truncated, newer schema); upload failures; retention.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use barberpro::config::{Config, Secret};
use barberpro::http::Clock;
use barberpro::snapshot::manifest::{Manifest, SnapshotName};
use barberpro::store::Store;
use barberpro::store::snapshot::{inspect, set_schema_version};
use serde_json::Value;

use crate::helpers::*;

const BUCKET: &str = "barberpro-snapshots";

/// A moto S3 server with one IAM user whose keys it checks (SigV4), and a bucket.
pub(crate) struct Moto {
    child: Child,
    pub(crate) endpoint: String,
    venv: PathBuf,
    key_id: String,
    secret: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The virtualenv holding moto and awscli (`MOTO_VENV`, set by `.ci/run`). Missing in CI
/// is a failure; elsewhere the test says loudly that it did not run.
fn moto_venv() -> Option<PathBuf> {
    let venv = std::env::var_os("MOTO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/barberpro-moto"));
    if venv.join("bin/moto_server").exists() && venv.join("bin/aws").exists() {
        return Some(venv);
    }
    crate::skipped::skip(
        &format!("moto/awscli not found in {} (MOTO_VENV)", venv.display()),
        crate::skipped::INSTALL_MOTO,
    );
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Moto {
    pub(crate) fn start() -> Option<Self> {
        let venv = moto_venv()?;
        let port = free_port();
        let child = Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            venv,
            key_id: "bootstrap".into(),
            secret: "bootstrap".into(),
        };
        // Every HTTP request uses up a free call: probe with a TCP connect only.
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start listening within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The three unauthenticated calls: a user, its policy, its keys. From then on moto
        // checks every signature.
        moto.aws_ok(&["iam", "create-user", "--user-name", "barberpro"]);
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","iam:*"],"Resource":"*"}]}"#;
        moto.aws_ok(&[
            "iam",
            "put-user-policy",
            "--user-name",
            "barberpro",
            "--policy-name",
            "all-s3",
            "--policy-document",
            policy,
        ]);
        let keys: Value = serde_json::from_slice(
            &moto
                .aws_ok(&["iam", "create-access-key", "--user-name", "barberpro"])
                .stdout,
        )
        .expect("create-access-key answers JSON");
        moto.key_id = keys["AccessKey"]["AccessKeyId"]
            .as_str()
            .expect("key id")
            .into();
        moto.secret = keys["AccessKey"]["SecretAccessKey"]
            .as_str()
            .expect("secret")
            .into();
        moto.aws_ok(&["s3", "mb", &format!("s3://{BUCKET}")]);
        Some(moto)
    }

    fn aws_as(&self, key_id: &str, secret: &str, args: &[&str]) -> Output {
        Command::new(self.venv.join("bin/aws"))
            .arg("--endpoint-url")
            .arg(&self.endpoint)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", key_id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .output()
            .expect("aws runs")
    }

    #[track_caller]
    pub(crate) fn aws_ok(&self, args: &[&str]) -> Output {
        let out = self.aws_as(&self.key_id, &self.secret, args);
        assert!(
            out.status.success(),
            "aws {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Object names under the snapshot prefix (`aws s3 ls` exits 1 when there are none).
    pub(crate) fn ls(&self) -> Vec<String> {
        let prefix = format!("s3://{BUCKET}/barberpro/");
        let out = self.aws_as(&self.key_id, &self.secret, &["s3", "ls", &prefix]);
        let empty = out.status.code() == Some(1) && out.stdout.is_empty() && out.stderr.is_empty();
        assert!(
            out.status.success() || empty,
            "aws s3 ls failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3).map(str::to_owned))
            .collect()
    }

    fn put(&self, name: &str, bytes: &[u8]) {
        let tmp = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(tmp.path(), bytes).expect("write");
        let path = tmp.path().to_str().expect("utf-8 path");
        self.aws_ok(&["s3", "cp", path, &format!("s3://{BUCKET}/barberpro/{name}")]);
    }
}

/// A configuration with `[snapshot.s3]` pointing at moto (or local-only without it).
pub(crate) fn config_for(data_dir: &Path, moto: Option<&Moto>) -> Config {
    let mut config = test_config(data_dir);
    // Continuous backup is tested in `replication`; here, snapshots alone.
    config.snapshot.replicate_interval_secs = 0;
    config.snapshot.keep_local = 2;
    config.snapshot.host = Some("test-host".parse().expect("a host name"));
    if let Some(moto) = moto {
        let s3 = &mut config.snapshot.s3;
        s3.bucket = Some(BUCKET.into());
        s3.endpoint = Some(moto.endpoint.parse().expect("moto's URL"));
        s3.allow_http = true;
        s3.access_key_id = Some(moto.key_id.clone());
        s3.secret_access_key = Some(Secret::new(moto.secret.clone()));
        s3.max_retries = 1;
    }
    config
}

/// The same configuration as a file for the `barberpro` binary (the secret written in clear,
/// since `Config::to_toml` redacts it).
pub(crate) fn write_config(config: &Config, path: &Path) {
    let s = &config.snapshot;
    let mut toml = format!(
        "[storage]\ndata_dir = {:?}\ncache_size_mb = 8\n\n[log]\nlevel = \"warn\"\n\n[snapshot]\nreplicate_interval_secs = {}\nkeep_local = {}\nhost = {:?}\nage_recipient = {:?}\nretention_days = {}\n",
        config.storage.data_dir.display().to_string(),
        s.replicate_interval_secs,
        s.keep_local,
        s.host.as_deref().unwrap_or_default(),
        s.age_recipient.as_deref().unwrap_or_default(),
        s.retention_days
    );
    if let Some(identity) = &s.age_identity_file {
        toml += &format!("age_identity_file = {:?}\n", identity.display().to_string());
    }
    if let Some(bucket) = &s.s3.bucket {
        toml += &format!(
            "\n[snapshot.s3]\nbucket = {:?}\nprefix = {:?}\nendpoint = {:?}\nallow_http = true\naccess_key_id = {:?}\nsecret_access_key = {:?}\nmax_retries = {}\n",
            bucket,
            s.s3.prefix.as_str(),
            s.s3.endpoint.as_deref().unwrap_or_default(),
            s.s3.access_key_id.as_deref().unwrap_or_default(),
            s.s3.secret_access_key.as_ref().map_or("", Secret::expose),
            s.s3.max_retries
        );
    }
    std::fs::write(path, toml).expect("write the config file");
}

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs the real `barberpro` binary.
pub(crate) async fn barberpro(args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_barberpro"))
            .args(&args)
            .env_remove("RUST_LOG")
            .output()
            .expect("barberpro runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .expect("the command's task")
}

/// Runs a standard tool and asserts it succeeded.
#[track_caller]
fn tool(program: &str, args: &[&str]) -> Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn local_files(config: &Config) -> Vec<String> {
    let dir = config.snapshot.local_dir(&config.storage.data_dir);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn only_manifest(config: &Config) -> (PathBuf, Manifest) {
    let dir = config.snapshot.local_dir(&config.storage.data_dir);
    let manifests: Vec<String> = local_files(config)
        .into_iter()
        .filter(|f| f.ends_with(".manifest.json"))
        .collect();
    let newest = manifests.last().expect("a local manifest");
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(dir.join(newest)).expect("read manifest"))
            .expect("manifest JSON");
    (dir.join(&manifest.file), manifest)
}

/// Hour-aligned free slots (so none overlap) of the two palermo barbers over `days` days.
pub(crate) async fn free_slots(app: &TestApp, days: i64) -> Vec<(String, String, u64)> {
    let first: jiff::civil::Date = TUESDAY.parse().expect("date");
    let mut slots = Vec::new();
    for d in 0..days {
        let date = first
            .checked_add(jiff::Span::new().days(d))
            .expect("date")
            .to_string();
        for barber in [1u64, 2] {
            for time in app
                .free_times("palermo", &date, "1", &barber.to_string())
                .await
            {
                if time.ends_with(":00") {
                    slots.push((date.clone(), time, barber));
                }
            }
        }
    }
    slots
}

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

/// A stopped server's data folder with a few bookings, and a config file for it.
async fn folder_with_bookings(tmp: &Path, moto: Option<&Moto>, bookings: u32) -> (Config, PathBuf) {
    let config = config_for(&tmp.join("live"), moto);
    let config_file = tmp.join("barberpro.toml");
    write_config(&config, &config_file);
    let mut app = spawn_app_with(config.clone(), Clock::manual(ts(MONDAY_8AM))).await;
    for (i, hour) in ["10", "11", "12", "14", "15", "16", "17", "18"]
        .iter()
        .take(bookings as usize)
        .enumerate()
    {
        app.book_ok(&booking(
            &[1],
            1.into(),
            &at(TUESDAY, &format!("{hour}:00")),
            &phone(i as u32),
        ))
        .await;
    }
    app.stop().await;
    (config, config_file)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

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

/// Opens a data folder a stopped server just released (its tasks may still be unwinding).
async fn reopen(dir: &Path) -> Store {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match Store::open(dir, 1 << 20) {
            Ok(store) => return store,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the stopped server still holds {}: {e}", dir.display()),
        }
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
