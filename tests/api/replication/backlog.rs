//! Unshipped segments are bounded: with the bucket down and the bound reached, the oldest
//! unshipped segments are kept, bookings still succeed, and a metric says replication is
//! behind; once the bucket is back a new generation starts by itself.

use std::time::{Duration, Instant};

use super::bucket_down::switchable_proxy;
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn over_the_backlog_bound_bookings_go_on_and_replication_says_it_is_behind() {
    let Some(moto) = Moto::start() else { return };
    let (port, up) = switchable_proxy(&moto).await;
    let primary = Primary::start_with(&moto, "backlog", |c| {
        c.snapshot.s3.endpoint = Some(format!("http://127.0.0.1:{port}").parse().expect("URL"));
    })
    .await;
    let log = primary.app.store.changelog().clone();
    let generation = log.figures().state.generation.expect("a generation");
    // A bound of one byte: the first sealed segment reaches it.
    log.set_max_backlog(1);
    let mut slots = slots(&primary.app).await;
    up.send_replace(false);
    let booked = load(
        &primary.app,
        &mut slots,
        0,
        Duration::from_secs(4),
        Duration::from_millis(50),
    )
    .await;
    let f = log.figures();
    assert!(
        f.behind() && f.dropped > 0,
        "over the bound, records are dropped: {f:?}"
    );
    let kept = barberpro::store::engine::changelog::sealed_in(log.dir()).expect("list");
    assert!(
        !kept.is_empty()
            && kept[0]
                .to_string_lossy()
                .contains(&format!("{generation}.00000000")),
        "the oldest unshipped segments are kept: {kept:?}"
    );
    let metrics = plain_client()
        .get(format!(
            "http://{}/metrics",
            primary.app.metrics.expect("a metrics listener")
        ))
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("body");
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("barberpro_replication_behind") && l.ends_with(" 1")),
        "a metric says replication is behind"
    );

    // Back up: the kept segments ship, a snapshot starts a whole generation, nobody helps.
    up.send_replace(true);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let f = log.figures();
        if !f.behind() && f.state.generation.as_deref() != Some(generation.as_str()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new generation: {:?}",
            f.state
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    log.set_max_backlog(u64::MAX);
    let later = load(
        &primary.app,
        &mut slots,
        500,
        Duration::from_secs(2),
        Duration::from_millis(50),
    )
    .await;
    while log.figures().shipped.last_seq < log.figures().last_seq {
        assert!(Instant::now() < deadline, "not shipped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dir = primary.tmp.path().join("restored");
    let run = restore_into(&primary.config_file, &dir, &[]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let back = bookings_in(&dir);
    let lost: Vec<u64> = booked
        .iter()
        .chain(&later)
        .map(|b| b.id.n)
        .filter(|n| !back.contains(n))
        .collect();
    assert!(
        lost.is_empty(),
        "bookings missing after the new generation: {lost:?}"
    );
}
