//! The standby: `barberpro follow` keeps a second folder current from the bucket (its status
//! shows how far), switches to the primary's newer generation, stops on SIGTERM, and `serve`
//! refuses its folder; failover: `promote` turns it into the primary, with every booking
//! acknowledged more than interval + 5 s before the old primary was lost, working manage
//! links, a new generation, and the old primary refused when it comes back.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use barberpro::snapshot::standby::{self, Status};
use rand::Rng;

use super::bucket_down::switchable_proxy;
use super::*;

/// A `barberpro follow` child, SIGKILLed if the test fails first.
struct Follower(Child);

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Follower {
    fn start(config_file: &Path, dir: &Path) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_barberpro"))
            .args(["follow", "--config"])
            .arg(config_file)
            .arg("--data-dir")
            .arg(dir)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("barberpro follow starts");
        Self(child)
    }

    /// SIGTERM, then the exit status within 20 s.
    fn terminate(&mut self) -> i32 {
        let pid = self.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIGTERM sent");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "follow did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Waits (up to `within`) for the standby's status to satisfy `ok`.
async fn status_until(dir: &Path, within: Duration, ok: impl Fn(&Status) -> bool) -> Status {
    let deadline = Instant::now() + within;
    loop {
        let s = standby::read(dir).ok().flatten();
        if let Some(s) = s.as_ref().filter(|s| ok(s)) {
            return s.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the standby's status did not get there within {within:?}: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The primary's configuration for a standby in `dir` (talking to `moto` directly).
fn standby_config(
    primary: &Primary,
    moto: &Moto,
    dir: &Path,
) -> (barberpro::config::Config, PathBuf) {
    let mut config = primary.config.clone();
    config.storage.data_dir = dir.to_path_buf();
    config.snapshot.s3.endpoint = Some(moto.endpoint.parse().expect("moto's URL"));
    let file = primary.tmp.path().join("standby.toml");
    write_config(&config, &file);
    (config, file)
}

async fn book_one(
    app: &TestApp,
    slots: &mut impl Iterator<Item = (String, String, u64)>,
    n: u32,
) -> (Id, String) {
    let (date, time, barber) = slots.next().expect("a free slot");
    app.book_ok(&booking(&[1], barber.into(), &at(&date, &time), &phone(n)))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_catches_up_switches_generation_stops_on_sigterm_and_serve_refuses_it() {
    let Some(moto) = Moto::start() else { return };
    let primary = Primary::start(&moto, "follow").await;
    let dir = primary.tmp.path().join("standby");
    let (_, config_file) = standby_config(&primary, &moto, &dir);
    let mut follower = Follower::start(&config_file, &dir);
    let first = status_until(&dir, Duration::from_secs(60), |s| s.generation.is_some()).await;

    // A booking on the primary reaches the standby within interval + 5 s.
    let mut slots = slots(&primary.app).await;
    let (one, _) = book_one(&primary.app, &mut slots, 1).await;
    let acked = Instant::now();
    let seq = primary.app.store.changelog().figures().last_seq;
    let caught = status_until(&dir, Duration::from_secs(1 + 5), |s| s.last_seq >= seq).await;
    eprintln!(
        "standby caught up transaction {seq} in {:?}",
        acked.elapsed()
    );
    assert_eq!(
        caught.generation, first.generation,
        "no switch without a snapshot"
    );
    assert!(caught.error.is_none(), "{caught:?}");
    let run = barberpro(&[
        "follow",
        "--status",
        "--config",
        config_file.to_str().expect("path"),
    ])
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("newest applied transaction") && run.stdout.contains("lag "),
        "follow --status shows the newest applied transaction and the lag: {}",
        run.stdout
    );

    // The primary starts a new generation: the standby rebuilds from it and goes on.
    let snapshot = barberpro::snapshot::take(
        &primary.config,
        &primary.app.store,
        Some(true),
        jiff::Timestamp::now(),
    )
    .await
    .expect("the primary's snapshot");
    let (two, _) = book_one(&primary.app, &mut slots, 2).await;
    let seq = primary.app.store.changelog().figures().last_seq;
    let switched = status_until(&dir, Duration::from_secs(30), |s| {
        s.generation.as_deref() == Some(snapshot.name.as_str()) && s.last_seq >= seq
    })
    .await;
    assert!(switched.error.is_none(), "{switched:?}");

    // SIGTERM stops it cleanly; the folder holds both bookings, and `serve` refuses it.
    assert_eq!(follower.terminate(), 0, "follow exits 0 on SIGTERM");
    let held = bookings_in(&dir);
    assert!(
        held.contains(&one.n) && held.contains(&two.n),
        "the standby's file holds both bookings: {held:?}"
    );
    let run = barberpro(&[
        "serve",
        "--config",
        config_file.to_str().expect("path"),
        "--listen",
        "127.0.0.1:0",
    ])
    .await;
    assert_eq!(
        run.code, 9,
        "serve refuses a standby with exit 9: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("is a standby") && run.stderr.contains("barberpro promote"),
        "the refusal says why and what to do: {}",
        run.stderr
    );
    assert!(standby::is_standby(&dir), "the marker stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_promotes_the_standby_with_every_booking_due_and_refuses_the_old_primary() {
    let Some(moto) = Moto::start() else { return };
    // The primary reaches the bucket through a proxy: cutting it is the primary lost (it
    // ships nothing more), and switching it back on is the old machine brought back.
    let (port, up) = switchable_proxy(&moto).await;
    let primary = Primary::start_with(&moto, "failover", |c| {
        c.snapshot.s3.endpoint = Some(
            format!("http://127.0.0.1:{port}")
                .parse()
                .expect("the proxy's URL"),
        );
    })
    .await;
    let dir = primary.tmp.path().join("standby");
    let (config, config_file) = standby_config(&primary, &moto, &dir);
    let mut follower = Follower::start(&config_file, &dir);
    let built = status_until(&dir, Duration::from_secs(60), |s| s.generation.is_some()).await;
    let old_generation = built.generation.clone().expect("a generation");

    let mut slots = slots(&primary.app).await;
    let dies_after = Duration::from_millis(rand::thread_rng().gen_range(7_000..11_000));
    let booked = load(
        &primary.app,
        &mut slots,
        0,
        dies_after,
        Duration::from_millis(30),
    )
    .await;
    up.send(false).expect("the proxy switch");
    let lost_at = SystemTime::now();

    assert_eq!(follower.terminate(), 0, "follow stops on SIGTERM");
    let run = barberpro(&["promote", "--config", config_file.to_str().expect("path")]).await;
    assert_eq!(run.code, 0, "promote: {}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("up to transaction") && run.stdout.contains("Next steps"),
        "promote says how far it got and what next: {}",
        run.stdout
    );
    assert!(!standby::is_standby(&dir), "the marker is gone");

    // Served: every booking acknowledged more than interval + 5 s before the loss, with its
    // manage link (secret.key came in the age-encrypted bundle).
    let promoted = spawn_app_with(config, Clock::manual(ts(MONDAY_8AM))).await;
    let window = Duration::from_secs(1 + 5);
    let due: Vec<&Booked> = booked
        .iter()
        .filter(|b| lost_at.duration_since(b.acked).unwrap_or_default() > window)
        .collect();
    assert!(!due.is_empty(), "{} bookings, none due", booked.len());
    for b in &due {
        let answer = promoted
            .get_auth(&format!("/api/v1/bookings/{}", b.id), &b.token)
            .await;
        assert_eq!(
            answer.status, 200,
            "booking {} acknowledged before the loss is not on the promoted standby",
            b.id.n
        );
    }
    eprintln!(
        "failover: died after {dies_after:?}; {} booked, {} due; {}",
        booked.len(),
        due.len(),
        run.stdout.lines().next().unwrap_or_default()
    );

    // It books, and ships under a generation of its own.
    let (new, _) = book_one(&promoted, &mut slots, 800).await;
    let log = promoted.store.changelog().clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let f = log.figures();
        let own = f
            .state
            .generation
            .as_ref()
            .is_some_and(|g| *g != old_generation && f.shipped.last_seq >= f.last_seq);
        if own && f.shipped.last_error.is_none() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the promoted server did not ship booking {} under a new generation: {:?} {:?}",
            new.n,
            f.state,
            f.shipped
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let generation = log.figures().state.generation.expect("a generation");
    assert!(
        segments(&moto, "failover")
            .iter()
            .any(|(n, _)| n.contains(&generation)),
        "segments of the new generation {generation} are in the bucket"
    );

    // The old primary comes back: refused, its segments and its snapshot.
    up.send(true).expect("the proxy switch");
    let old_log = primary.app.store.changelog().clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !old_log
        .figures()
        .shipped
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("another server"))
    {
        assert!(
            Instant::now() < deadline,
            "the old primary was not refused: {:?}",
            old_log.figures().shipped
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused = barberpro::snapshot::take(
        &primary.config,
        &primary.app.store,
        Some(true),
        jiff::Timestamp::now(),
    )
    .await
    .expect_err("the old primary's snapshot is refused");
    assert_eq!(refused.exit_code(), 8, "{refused}");
}
