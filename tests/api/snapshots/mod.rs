//! Snapshots against a real S3 server (moto in its SigV4-checking mode, started here on a free
//! loopback port) and the standard tools (`aws`, `zstd`, `age`): take while bookings pour in,
//! upload, read back with other tools, restore into a new folder and serve the same data;
//! refusals (folder in use, corrupted, truncated, newer schema); upload failures; retention.

mod encryption;
mod refusals;
mod scheduled;
mod under_load;
mod uploads;

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
