//! With the bucket down (moto behind a proxy switched off) bookings keep their latency,
//! failures and lag show, and once it is back the lag returns to nothing by itself.

use std::time::{Duration, Instant};

use super::*;

/// Books one slot after another for `d`, 200 ms apart; how many, the median and the
/// slowest answer.
async fn book_for(
    app: &TestApp,
    slots: &mut impl Iterator<Item = (usize, (String, String, u64))>,
    d: Duration,
) -> (usize, Duration, Duration) {
    let started = Instant::now();
    let mut times = Vec::new();
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
        times.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    times.sort();
    let median = times.get(times.len() / 2).copied().unwrap_or_default();
    (
        times.len(),
        median,
        times.last().copied().unwrap_or_default(),
    )
}

/// A TCP proxy to `moto` that can be switched off: while off it refuses new connections
/// and cuts open ones (the bucket is down), and forwards again once switched on.
pub(crate) async fn switchable_proxy(moto: &Moto) -> (u16, tokio::sync::watch::Sender<bool>) {
    let target: u16 = moto
        .endpoint
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("moto's port");
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
    let (port, up) = switchable_proxy(&moto).await;
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
    let slots = free_slots(&app, 28).await;
    let mut slots = slots.into_iter().enumerate();
    let (before_n, before_median, before_slowest) =
        book_for(&app, &mut slots, Duration::from_secs(5)).await;
    let mut lag_up = 0.0f64;
    for _ in 0..20 {
        lag_up = lag_up.max(
            log.figures()
                .lag_seconds(jiff::Timestamp::now().as_millisecond()),
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The bucket goes down for a minute: bookings go on as fast, the lag grows, failures
    // are counted.
    up.send_replace(false);
    let (down_n, down_median, down_slowest) =
        book_for(&app, &mut slots, Duration::from_secs(60)).await;
    let during = log.figures();
    let lag_down = during.lag_seconds(jiff::Timestamp::now().as_millisecond());
    eprintln!(
        "bucket up: {before_n} bookings, median {before_median:?}, slowest {before_slowest:?}, \
         lag up to {lag_up:.1} s; down: {down_n} bookings, median {down_median:?}, slowest \
         {down_slowest:?}, lag {lag_down:.1} s, {} failed rounds",
        during.shipped.failures
    );
    assert!(
        down_n > 100 && down_slowest < Duration::from_secs(2),
        "bookings were held up: {down_n} in a minute, slowest {down_slowest:?}"
    );
    assert!(
        down_median <= before_median * 2 + Duration::from_millis(25),
        "bookings kept their latency: median {down_median:?} down, {before_median:?} up"
    );
    assert!(during.shipped.failures > 0, "failed rounds are counted");
    assert!(
        lag_down > 50.0,
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
