//! The machine dies at random moments under a booking load: a restore into an empty folder
//! from the bucket alone (with the age key) brings back every booking acknowledged more than
//! `replicate_interval_secs` + 5 s before the loss, and their manage tokens still work.

use std::time::{Duration, SystemTime};

use rand::Rng;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_folder_lost_at_random_moments_comes_back_from_the_bucket_with_working_links() {
    let Some(moto) = Moto::start() else { return };
    let mut rng = rand::thread_rng();
    for round in 0..3 {
        let prefix = format!("lost-{round}");
        let primary = Primary::start(&moto, &prefix).await;
        let mut slots = slots(&primary.app).await;
        // A random moment 7 to 14 s into a steady load.
        let dies_after = Duration::from_millis(rng.gen_range(7_000..14_000));
        let booked = load(
            &primary.app,
            &mut slots,
            0,
            dies_after,
            Duration::from_millis(rng.gen_range(10..60)),
        )
        .await;
        // The machine dies: its folder is gone, nothing left to ship later.
        let lost_at = SystemTime::now();
        let Primary {
            app,
            tmp,
            config_file,
            ..
        } = primary;
        std::fs::remove_dir_all(&app.data_dir).expect("the folder is deleted");
        drop(app);

        let restored = tmp.path().join("restored");
        let started = std::time::Instant::now();
        let run = restore_into(&config_file, &restored, &[]).await;
        let took = started.elapsed();
        assert_eq!(
            run.code, 0,
            "round {round}: restore failed: {}{}",
            run.stdout, run.stderr
        );
        assert!(
            run.stdout.contains("keys put back: secret.key"),
            "round {round}: the keys come back: {}",
            run.stdout
        );
        let back = bookings_in(&restored);
        let window = Duration::from_secs(1 + 5);
        let due: Vec<&Booked> = booked
            .iter()
            .filter(|b| lost_at.duration_since(b.acked).unwrap_or_default() > window)
            .collect();
        assert!(
            !due.is_empty(),
            "round {round}: {} bookings in {dies_after:?}, none acknowledged {window:?} before the loss",
            booked.len()
        );
        let missing: Vec<String> = due
            .iter()
            .filter(|b| !back.contains(&b.id.n))
            .map(|b| b.id.n.to_string())
            .collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged bookings lost: {missing:?} of {}",
            due.len()
        );
        let shipped = segments(&moto, &prefix);
        let bytes: u64 = shipped.iter().map(|(_, s)| s).sum();
        eprintln!(
            "round {round}: died after {dies_after:?}; {} bookings, {} due, {} back; shipped \
             {bytes} bytes in {} segments ({} per booking); restore took {took:?}: {}",
            booked.len(),
            due.len(),
            back.len(),
            shipped.len(),
            bytes / booked.len().max(1) as u64,
            run.stdout
                .lines()
                .find(|l| l.contains("change log:"))
                .unwrap_or_default()
        );
        manage_tokens_work(&restored, &due).await;
    }
}
