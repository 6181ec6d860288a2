//! Continuous backup against moto (SigV4): what a restore from the bucket alone brings back
//! (`lost`), `--at` (`at`), damaged segments (`damage`), the bucket down (`bucket_down`), a
//! second server on the same prefix (`lease`), the local backlog's bound (`backlog`), the
//! standby and failover (`follow`).

mod at;
mod backlog;
mod bucket_down;
mod damage;
mod follow;
mod lease;
mod lost;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use barberpro::config::Config;
use barberpro::http::Clock;

use crate::helpers::*;
use crate::snapshots::{Moto, barberpro, config_for, free_slots, write_config};

pub(crate) const BUCKET: &str = "barberpro-snapshots";

/// One booking of a load: its ids, token, and when it was sent and acknowledged.
pub(crate) struct Booked {
    pub id: Id,
    pub token: String,
    pub sent: SystemTime,
    pub acked: SystemTime,
}

/// A primary server shipping to `prefix` every second, keys encrypted to an age identity.
pub(crate) struct Primary {
    pub app: TestApp,
    pub config: Config,
    pub config_file: PathBuf,
    pub tmp: tempfile::TempDir,
}

impl Primary {
    pub(crate) async fn start(moto: &Moto, prefix: &str) -> Self {
        Self::start_with(moto, prefix, |_| {}).await
    }

    pub(crate) async fn start_with(
        moto: &Moto,
        prefix: &str,
        tune: impl FnOnce(&mut Config),
    ) -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut config = config_for(&tmp.path().join("live"), Some(moto));
        config.snapshot.replicate_interval_secs = 1;
        config.snapshot.s3.prefix = prefix.parse().expect("a prefix");
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
        config.snapshot.age_recipient = Some(
            identity
                .to_public()
                .to_string()
                .parse()
                .expect("a recipient"),
        );
        config.snapshot.age_identity_file = Some(key_file);
        tune(&mut config);
        let config_file = tmp.path().join("barberpro.toml");
        write_config(&config, &config_file);
        let app = spawn_app_with(config.clone(), Clock::manual(ts(MONDAY_8AM))).await;
        let primary = Self {
            app,
            config,
            config_file,
            tmp,
        };
        primary.wait_for_generation().await;
        primary
    }

    /// The first generation starts with a snapshot the server takes itself.
    pub(crate) async fn wait_for_generation(&self) {
        let log = self.app.store.changelog().clone();
        let deadline = Instant::now() + Duration::from_secs(60);
        while log.figures().state.generation.is_none() {
            assert!(Instant::now() < deadline, "no first generation");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Books free slots one after another (`pause` between them) for `d`.
pub(crate) async fn load(
    app: &TestApp,
    slots: &mut impl Iterator<Item = (String, String, u64)>,
    first_phone: u32,
    d: Duration,
    pause: Duration,
) -> Vec<Booked> {
    let started = Instant::now();
    let mut out = Vec::new();
    while started.elapsed() < d {
        let Some((date, time, barber)) = slots.next() else {
            break;
        };
        let sent = SystemTime::now();
        let (id, token) = app
            .book_ok(&booking(
                &[1],
                barber.into(),
                &at(&date, &time),
                &phone(first_phone + out.len() as u32),
            ))
            .await;
        out.push(Booked {
            id,
            token,
            sent,
            acked: SystemTime::now(),
        });
        tokio::time::sleep(pause).await;
    }
    out
}

/// Free slots, for `load`.
pub(crate) async fn slots(app: &TestApp) -> std::vec::IntoIter<(String, String, u64)> {
    let slots = free_slots(app, 28).await;
    assert!(slots.len() > 100, "enough free slots: {}", slots.len());
    slots.into_iter()
}

/// `(name under the bucket, size)` of the change log's segments under `prefix`.
pub(crate) fn segments(moto: &Moto, prefix: &str) -> Vec<(String, u64)> {
    let out = moto.aws_ok(&[
        "s3",
        "ls",
        "--recursive",
        &format!("s3://{BUCKET}/{prefix}/changelog/"),
    ]);
    let mut v: Vec<(String, u64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(".seg.zst"))
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let size = parts.nth(2)?.parse().ok()?;
            Some((parts.next()?.to_owned(), size))
        })
        .collect();
    v.sort();
    v
}

/// `barberpro restore latest <extra>` into `dir`.
pub(crate) async fn restore_into(
    config_file: &Path,
    dir: &Path,
    extra: &[&str],
) -> crate::snapshots::Run {
    std::fs::create_dir_all(dir).expect("mkdir");
    let mut args = vec![
        "restore",
        "latest",
        "--config",
        config_file.to_str().expect("path"),
        "--data-dir",
        dir.to_str().expect("path"),
    ];
    args.extend_from_slice(extra);
    barberpro(&args).await
}

/// The internal numbers of the bookings in the redb file of `dir`.
pub(crate) fn bookings_in(dir: &Path) -> BTreeSet<u64> {
    let path = dir.join("barberpro.redb");
    let db = redb::Database::open(&path).expect("the restored file opens");
    let txn = redb::ReadableDatabase::begin_read(&db).expect("read");
    let table = txn
        .open_table(barberpro::store::tables::BOOKINGS)
        .expect("bookings");
    redb::ReadableTable::iter(&table)
        .expect("iter")
        .map(|r| r.expect("row").0.value())
        .collect()
}

/// Serves the restored folder and checks each booking's manage token on the API.
pub(crate) async fn manage_tokens_work(dir: &Path, bookings: &[&Booked]) {
    let mut config = config_for(dir, None);
    config.snapshot.replicate_interval_secs = 0;
    let served = spawn_app_with(config, Clock::manual(ts(MONDAY_8AM))).await;
    for b in bookings {
        served
            .get_auth(&format!("/api/v1/bookings/{}", b.id), &b.token)
            .await
            .expect(200);
    }
}
