//! `restore --at` a second in the middle of a burst holds exactly the transactions committed
//! up to the end of that second.

use std::time::{Duration, Instant, SystemTime};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restore_at_a_second_mid_burst_holds_exactly_what_was_committed_by_then() {
    let Some(moto) = Moto::start() else { return };
    let primary = Primary::start(&moto, "at").await;
    let mut slots = slots(&primary.app).await;
    // A burst: one booking right after another, for 5 s.
    let booked = load(
        &primary.app,
        &mut slots,
        0,
        Duration::from_secs(5),
        Duration::ZERO,
    )
    .await;
    assert!(booked.len() > 10, "a burst: {}", booked.len());
    // Everything shipped.
    let log = primary.app.store.changelog().clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    while log.figures().shipped.last_seq < log.figures().last_seq {
        assert!(Instant::now() < deadline, "the burst was not shipped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The second in the middle of the burst; `--at` takes it whole.
    let middle = booked[booked.len() / 2].acked;
    let second = jiff::Timestamp::try_from(middle).expect("time").as_second();
    let at = jiff::Timestamp::from_second(second).expect("second");
    let end = SystemTime::from(jiff::Timestamp::from_second(second + 1).expect("second"));
    let dir = primary.tmp.path().join("at");
    let run = restore_into(&primary.config_file, &dir, &["--at", &at.to_string()]).await;
    assert_eq!(
        run.code, 0,
        "restore --at failed: {}{}",
        run.stdout, run.stderr
    );
    let back = bookings_in(&dir);
    let mut straddling = 0;
    for b in &booked {
        if b.acked < end {
            assert!(
                back.contains(&b.id.n),
                "booking {} committed before {at}+1s is missing",
                b.id.n
            );
        } else if b.sent >= end {
            assert!(
                !back.contains(&b.id.n),
                "booking {}, sent after {at}+1s, was restored",
                b.id.n
            );
        } else {
            straddling += 1;
        }
    }
    assert!(
        straddling <= 1,
        "one booking at a time: {straddling} straddle the second"
    );
    let before = booked.iter().filter(|b| b.acked < end).count();
    let after = booked.iter().filter(|b| b.sent >= end).count();
    assert!(
        before > 0 && after > 0,
        "the second splits the burst: {before} before, {after} after"
    );
    let ours = booked.iter().filter(|b| back.contains(&b.id.n)).count();
    assert!(
        ours == before || (straddling == 1 && ours == before + 1),
        "the restored file holds the {before} bookings committed by {at}+1s, no more: {ours}"
    );
    eprintln!(
        "--at {at}: {before} bookings before, {after} after, {straddling} straddling; {}",
        run.stdout.lines().last().unwrap_or_default()
    );
}
