//! Continuous backup against moto (SigV4): under a booking load the data folder is lost;
//! a restore from the bucket alone brings back every booking acknowledged more than
//! `replicate_interval_secs` + 5 s before the loss, with working manage tokens; `--at` stops
//! at a second; a damaged or missing segment is reported by name.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use barberpro::http::Clock;

use crate::helpers::*;
use crate::snapshots::{Moto, barberpro, config_for, free_slots, write_config};

fn segments(moto: &Moto) -> Vec<String> {
    let out = moto.aws_ok(&[
        "s3",
        "ls",
        "--recursive",
        "s3://barberpro-snapshots/barberpro/changelog/",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|n| n.contains(".seg.zst"))
        .map(str::to_owned)
        .collect()
}

async fn restore_into(config_file: &Path, dir: &Path, extra: &[&str]) -> crate::snapshots::Run {
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

fn bookings_in(dir: &Path) -> std::collections::BTreeSet<u64> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_folder_comes_back_from_the_bucket_up_to_the_last_shipped_second() {
    let Some(moto) = Moto::start() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let live = tmp.path().join("live");
    let mut config = config_for(&live, Some(&moto));
    config.snapshot.replicate_interval_secs = 1;
    // Encrypted, so that the keys travel too (manage links keep working after the restore).
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
    let config_file = tmp.path().join("barberpro.toml");
    write_config(&config, &config_file);
    let app = spawn_app_with(config.clone(), Clock::manual(ts(MONDAY_8AM))).await;
    // The first generation starts with a snapshot taken by the server itself.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !moto.ls().iter().any(|n| n.ends_with(".manifest.json")) {
        assert!(
            Instant::now() < deadline,
            "no first snapshot: {:?}",
            moto.ls()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A steady load: one booking at a time, each with the wall time it was acknowledged.
    let slots = free_slots(&app, 14).await;
    let mut booked: Vec<(Id, String, SystemTime)> = Vec::new();
    let load_for = Duration::from_secs(12);
    let started = Instant::now();
    let mut mid = None;
    for (i, (date, time, barber)) in slots.iter().enumerate() {
        if started.elapsed() > load_for {
            break;
        }
        let (id, token) = app
            .book_ok(&booking(
                &[1],
                (*barber).into(),
                &at(date, time),
                &phone(i as u32),
            ))
            .await;
        booked.push((id, token, SystemTime::now()));
        if mid.is_none() && started.elapsed() > Duration::from_secs(3) {
            mid = Some((SystemTime::now(), booked.len()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The machine dies: its folder is gone (the process keeps nothing it could ship later).
    let lost_at = SystemTime::now();
    std::fs::remove_dir_all(&live).expect("the folder is deleted");
    drop(app);
    let shipped = segments(&moto);
    assert!(!shipped.is_empty(), "segments were shipped under load");

    // Restore into an empty folder from the bucket alone (secret.key aside: see the report).
    let restored = tmp.path().join("restored");
    let run = restore_into(&config_file, &restored, &[]).await;
    assert_eq!(run.code, 0, "restore failed: {}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("change log:"), "{}", run.stdout);
    let back = bookings_in(&restored);
    let window = Duration::from_secs(1 + 5);
    let due: Vec<u64> = booked
        .iter()
        .filter(|(_, _, acked)| lost_at.duration_since(*acked).unwrap_or_default() > window)
        .map(|(id, _, _)| id.n)
        .collect();
    assert!(
        !due.is_empty(),
        "some bookings were acknowledged early enough"
    );
    let missing: Vec<u64> = due
        .iter()
        .filter(|id| !back.contains(id))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged bookings lost: {missing:?} of {}",
        due.len()
    );
    let bytes: u64 = {
        let out = moto.aws_ok(&[
            "s3",
            "ls",
            "--recursive",
            "s3://barberpro-snapshots/barberpro/changelog/",
        ]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains(".seg.zst"))
            .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
            .sum()
    };
    eprintln!(
        "shipped {bytes} bytes in {} segments for {} bookings ({} per booking); {} of them back",
        shipped.len(),
        booked.len(),
        bytes / booked.len().max(1) as u64,
        back.len()
    );
    assert!(
        run.stdout.contains("keys put back: secret.key"),
        "{}",
        run.stdout
    );
    // The restored folder serves them, and their manage links still work.
    let mut served_config = config_for(&restored, None);
    served_config.snapshot.replicate_interval_secs = 0;
    let served = spawn_app_with(served_config, Clock::manual(ts(MONDAY_8AM))).await;
    for (id, token, _) in booked.iter().filter(|b| due.contains(&b.0.n)) {
        served
            .get_auth(&format!("/api/v1/bookings/{id}"), token)
            .await
            .expect(200);
    }
    drop(served);

    // --at a second in the middle: exactly what was committed by then.
    if let Some((mid_at, n)) = mid {
        let when = jiff::Timestamp::try_from(mid_at).expect("time");
        let second = jiff::Timestamp::from_second(when.as_second()).expect("second");
        let at_dir = tmp.path().join("at");
        let run = restore_into(&config_file, &at_dir, &["--at", &second.to_string()]).await;
        assert_eq!(
            run.code, 0,
            "restore --at failed: {}{}",
            run.stdout, run.stderr
        );
        let back = bookings_in(&at_dir);
        let cut = SystemTime::from(second);
        for (id, _, acked) in &booked[..n] {
            if *acked < cut {
                assert!(
                    back.contains(&id.n),
                    "booking {id} acknowledged before {second} is missing"
                );
            }
        }
        for (id, _, acked) in &booked {
            if acked.duration_since(cut).unwrap_or_default() > Duration::from_millis(1100) {
                assert!(
                    !back.contains(&id.n),
                    "booking {id}, made after {second}, was restored"
                );
            }
        }
    }

    // A bit flipped in a segment stops the replay there, naming it.
    let victim = shipped[shipped.len() / 2].clone();
    let local = tmp.path().join("victim");
    let url = format!("s3://barberpro-snapshots/{victim}");
    moto.aws_ok(&["s3", "cp", &url, local.to_str().expect("path")]);
    let mut bytes = std::fs::read(&local).expect("read");
    let n = bytes.len();
    bytes[n / 2] ^= 0x04;
    std::fs::write(&local, &bytes).expect("write");
    moto.aws_ok(&["s3", "cp", local.to_str().expect("path"), &url]);
    let run = restore_into(&config_file, &tmp.path().join("flipped"), &[]).await;
    assert_eq!(
        run.code, 10,
        "a damaged segment is not a clean restore: {}{}",
        run.stdout, run.stderr
    );
    let name = victim.trim_start_matches("barberpro/");
    assert!(
        run.stdout.contains(name) && run.stdout.contains("restored up to transaction"),
        "the damaged segment is named: {}",
        run.stdout
    );

    // A missing segment is refused by name before anything is restored.
    moto.aws_ok(&["s3", "rm", &url]);
    let run = restore_into(&config_file, &tmp.path().join("gap"), &[]).await;
    assert_ne!(run.code, 0, "a gap is refused: {}", run.stdout);
    assert!(
        run.stderr.contains(name) && run.stderr.contains("missing"),
        "the missing segment is named: {}",
        run.stderr
    );
}

/// Books one slot after another for `d`, 50 ms apart; how many, and the slowest answer.
async fn book_for(
    app: &TestApp,
    slots: &mut impl Iterator<Item = (usize, (String, String, u64))>,
    d: Duration,
) -> (usize, Duration) {
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    while started.elapsed() < d {
        let Some((i, (date, time, barber))) = slots.next() else {
            break;
        };
        let t = Instant::now();
        app.book_ok(&booking(
            &[1],
            barber.into(),
            &at(&date, &time),
            &phone(2_000 + i as u32),
        ))
        .await;
        slowest = slowest.max(t.elapsed());
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (n, slowest)
}

/// A TCP proxy to `target` that can be switched off: while off it refuses new connections
/// and cuts open ones (the bucket is down), and forwards again once switched on.
async fn switchable_proxy(target: u16) -> (u16, tokio::sync::watch::Sender<bool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (up_tx, up) = tokio::sync::watch::channel(true);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            if !*up.borrow() {
                continue;
            }
            let mut up = up.clone();
            tokio::spawn(async move {
                let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                else {
                    return;
                };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = up.wait_for(|on| !on) => {}
                }
            });
        }
    });
    (port, up_tx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_bucket_down_bookings_go_on_and_the_lag_recovers_by_itself() {
    let Some(moto) = Moto::start() else { return };
    let moto_port: u16 = moto
        .endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("moto's port");
    let (port, up) = switchable_proxy(moto_port).await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut config = config_for(&tmp.path().join("live"), Some(&moto));
    config.snapshot.replicate_interval_secs = 1;
    config.snapshot.s3.endpoint = Some(
        format!("http://127.0.0.1:{port}")
            .parse()
            .expect("the proxy's URL"),
    );
    let app = spawn_app_with(config.clone(), Clock::manual(ts(MONDAY_8AM))).await;
    let log = app.store.changelog().clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while log.figures().state.generation.is_none() {
        assert!(Instant::now() < deadline, "no first generation");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let slots = free_slots(&app, 14).await;
    let mut slots = slots.into_iter().enumerate();
    let (before_n, before_slowest) = book_for(&app, &mut slots, Duration::from_secs(3)).await;
    let mut lag_up = 0.0f64;
    for _ in 0..20 {
        lag_up = lag_up.max(
            log.figures()
                .lag_seconds(jiff::Timestamp::now().as_millisecond()),
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The bucket goes down: bookings go on as fast, the lag grows, failures are counted.
    up.send_replace(false);
    let (down_n, down_slowest) = book_for(&app, &mut slots, Duration::from_secs(12)).await;
    let during = log.figures();
    let lag_down = during.lag_seconds(jiff::Timestamp::now().as_millisecond());
    eprintln!(
        "bucket up: {before_n} bookings, slowest {before_slowest:?}, lag up to {lag_up:.1} s; \
         down: {down_n} bookings, slowest {down_slowest:?}, lag {lag_down:.1} s, {} failed rounds",
        during.shipped.failures
    );
    assert!(
        down_n > 0 && down_slowest < Duration::from_secs(2),
        "bookings were held up: {down_slowest:?}"
    );
    assert!(during.shipped.failures > 0, "failed rounds are counted");
    assert!(
        lag_down > 5.0,
        "the lag shows the bucket is behind: {lag_down}"
    );
    assert!(during.waiting > 0, "segments wait on disk");
    let metrics = plain_client()
        .get(format!(
            "http://{}/metrics",
            app.metrics.expect("a metrics listener")
        ))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("barberpro_replication_lag_seconds"),
        "the lag is a metric"
    );

    // Back up: the lag returns to nothing without anyone doing anything.
    up.send_replace(true);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let f = log.figures();
        if f.lag_seconds(jiff::Timestamp::now().as_millisecond()) == 0.0 && f.waiting == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the lag did not recover: {:?}",
            f.shipped
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(log.figures().shipped.last_error.is_none());
}
