//! A second server writing the same prefix: a new machine restored from the bucket takes the
//! lease with its first snapshot; the old one, still running (brought back by mistake), is
//! refused — its segments and its snapshots — instead of interleaving. A brand-new folder
//! (neither restored nor promoted from the prefix) may not take a held lease at all.

use std::time::{Duration, Instant};

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_old_server_on_the_same_prefix_is_refused_not_interleaved() {
    let Some(moto) = Moto::start() else { return };
    let old = Primary::start(&moto, "lease").await;
    let mut slots = slots(&old.app).await;
    load(
        &old.app,
        &mut slots,
        0,
        Duration::from_secs(3),
        Duration::from_millis(50),
    )
    .await;
    let old_log = old.app.store.changelog().clone();
    let old_generation = old_log.figures().state.generation.expect("a generation");
    let deadline = Instant::now() + Duration::from_secs(30);
    while old_log.figures().shipped.last_seq < old_log.figures().last_seq {
        assert!(
            Instant::now() < deadline,
            "the old server's log was not shipped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The new machine, restored from the bucket: its first snapshot takes the prefix over.
    let restored = old.tmp.path().join("new-machine");
    let run = restore_into(&old.config_file, &restored, &[]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let new = Primary::start_with(&moto, "lease", |c| c.storage.data_dir = restored.clone()).await;
    let before: Vec<String> = segments(&moto, "lease")
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.contains(&old_generation))
        .collect();

    // The old one goes on booking: nothing of it reaches the bucket, and it says why.
    load(
        &old.app,
        &mut slots,
        500,
        Duration::from_secs(4),
        Duration::from_millis(50),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let f = old_log.figures();
        if f.shipped
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("another server"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the old server was not refused: {:?}",
            f.shipped
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after: Vec<String> = segments(&moto, "lease")
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.contains(&old_generation))
        .collect();
    assert_eq!(before, after, "the old server's segments were interleaved");
    let snapshot = barberpro::snapshot::take(
        &old.config,
        &old.app.store,
        Some(true),
        jiff::Timestamp::now(),
    )
    .await;
    let refused = snapshot.expect_err("the old server's snapshot is refused");
    assert!(
        refused.to_string().contains("another server") && refused.exit_code() == 8,
        "the refusal says why: {refused}"
    );

    // The new one ships on, and its restore is whole.
    let mut new_slots = super::slots(&new.app).await;
    let booked = load(
        &new.app,
        &mut new_slots,
        1000,
        Duration::from_secs(2),
        Duration::from_millis(50),
    )
    .await;
    let log = new.app.store.changelog().clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    while log.figures().shipped.last_seq < log.figures().last_seq {
        assert!(
            Instant::now() < deadline,
            "the new server's log was not shipped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        log.figures().shipped.last_error.is_none(),
        "{:?}",
        log.figures().shipped
    );
    let dir = new.tmp.path().join("restored");
    let run = restore_into(&new.config_file, &dir, &[]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let back = bookings_in(&dir);
    assert!(
        booked.iter().all(|b| back.contains(&b.id.n)),
        "the new server's bookings are restored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_brand_new_folder_may_not_take_a_held_lease() {
    let Some(moto) = Moto::start() else { return };
    let old = Primary::start(&moto, "lease-new").await;
    let lease = || {
        let out = moto.aws_ok(&[
            "s3",
            "cp",
            &format!("s3://{BUCKET}/lease-new/changelog/LEASE"),
            "-",
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let holder = lease();
    assert_eq!(
        holder,
        old.app.store.changelog().figures().state.server_id,
        "the first server holds the lease"
    );

    // A second, brand-new server on the same prefix: no generation, no lease taken.
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut config = old.config.clone();
    config.storage.data_dir = tmp.path().join("live");
    let new = spawn_app_with(config.clone(), Clock::manual(ts(MONDAY_8AM))).await;
    let refused =
        barberpro::snapshot::take(&config, &new.store, Some(true), jiff::Timestamp::now())
            .await
            .expect_err("a brand-new folder's snapshot is refused");
    assert!(
        refused.to_string().contains("neither restored") && refused.exit_code() == 8,
        "the refusal says what to do: {refused}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = new.store.changelog().figures().state;
    assert!(
        state.generation.is_none(),
        "no generation started: {state:?}"
    );
    assert_eq!(lease(), holder, "the lease still names the first server");

    // Deleting the lease (the first server is gone for good) lets it start.
    moto.aws_ok(&[
        "s3",
        "rm",
        &format!("s3://{BUCKET}/lease-new/changelog/LEASE"),
    ]);
    barberpro::snapshot::take(&config, &new.store, Some(true), jiff::Timestamp::now())
        .await
        .expect("with the lease deleted, the snapshot goes through");
    assert_eq!(lease(), new.store.changelog().figures().state.server_id);
}
