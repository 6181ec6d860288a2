//! A missing, reordered, truncated or bit-flipped segment in the bucket is reported by name;
//! nothing after it is silently applied.

use std::time::{Duration, Instant};

use super::*;

fn get(moto: &Moto, name: &str, dir: &Path) -> Vec<u8> {
    let local = dir.join("object");
    moto.aws_ok(&[
        "s3",
        "cp",
        &format!("s3://{BUCKET}/{name}"),
        local.to_str().expect("path"),
    ]);
    std::fs::read(&local).expect("read")
}

fn put(moto: &Moto, name: &str, bytes: &[u8], dir: &Path) {
    let local = dir.join("object");
    std::fs::write(&local, bytes).expect("write");
    moto.aws_ok(&[
        "s3",
        "cp",
        local.to_str().expect("path"),
        &format!("s3://{BUCKET}/{name}"),
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn missing_reordered_truncated_or_flipped_segments_are_named() {
    let Some(moto) = Moto::start() else { return };
    let primary = Primary::start(&moto, "damage").await;
    let mut slots = slots(&primary.app).await;
    let log = primary.app.store.changelog().clone();
    // At least five segments, all shipped.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 0;
    while segments(&moto, "damage").len() < 5 {
        assert!(Instant::now() < deadline, "five segments were not shipped");
        n += load(
            &primary.app,
            &mut slots,
            n,
            Duration::from_millis(1200),
            Duration::from_millis(50),
        )
        .await
        .len() as u32;
    }
    while log.figures().shipped.last_seq < log.figures().last_seq {
        assert!(Instant::now() < deadline, "not everything was shipped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Primary {
        app,
        tmp,
        config_file,
        ..
    } = primary;
    drop(app);
    let shipped: Vec<String> = segments(&moto, "damage")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let k = shipped.len() / 2;
    let (victim, next) = (&shipped[k], &shipped[k + 1]);
    let short = |name: &str| name.trim_start_matches("damage/").to_owned();
    let original = get(&moto, victim, tmp.path());
    let following = get(&moto, next, tmp.path());
    let mut round = 0;
    let mut restore = async |what: &str| {
        round += 1;
        let dir = tmp.path().join(format!("r{round}"));
        let run = restore_into(&config_file, &dir, &[]).await;
        eprintln!("{what}: exit {}\n{}{}", run.code, run.stdout, run.stderr);
        run
    };

    // Whole: a clean restore, for comparison.
    let run = restore("whole").await;
    assert_eq!(
        run.code, 0,
        "the whole log restores: {}{}",
        run.stdout, run.stderr
    );

    // A bit flipped.
    let mut flipped = original.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x04;
    put(&moto, victim, &flipped, tmp.path());
    let run = restore("flipped").await;
    assert_eq!(run.code, 10, "a flipped bit is not a clean restore");
    assert!(
        run.stdout.contains(&short(victim)) && run.stdout.contains("STOPPED EARLY"),
        "the flipped segment is named"
    );

    // Truncated.
    put(
        &moto,
        victim,
        &original[..original.len() * 2 / 3],
        tmp.path(),
    );
    let run = restore("truncated").await;
    assert_eq!(run.code, 10, "a truncated segment is not a clean restore");
    assert!(
        run.stdout.contains(&short(victim)) && run.stdout.contains("STOPPED EARLY"),
        "the truncated segment is named"
    );

    // Reordered: two neighbours swapped.
    put(&moto, victim, &following, tmp.path());
    put(&moto, next, &original, tmp.path());
    let run = restore("reordered").await;
    assert_eq!(run.code, 10, "reordered segments are not a clean restore");
    assert!(
        run.stdout.contains(&short(victim)) && run.stdout.contains("out of place"),
        "the segment out of place is named"
    );
    put(&moto, next, &following, tmp.path());

    // Missing: refused before anything is restored.
    moto.aws_ok(&["s3", "rm", &format!("s3://{BUCKET}/{victim}")]);
    let run = restore("missing").await;
    assert_ne!(run.code, 0, "a gap is refused");
    assert!(
        run.stderr.contains(&short(victim)) && run.stderr.contains("missing"),
        "the missing segment is named"
    );
}
