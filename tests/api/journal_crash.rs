//! The real binary, SIGKILLed right after answering a burst of concurrent bookings (made
//! durable by the journal, before redb's next checkpoint), or while checkpoints (and their
//! background flushes) follow each other, then restarted: every booking it answered 201 for is
//! there, with its manage link, and its slot is taken.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{book_at_palermo, free_starts, serve_binary_watching, trusting};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_booking_answered_before_a_sigkill_is_there_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    // A checkpoint interval longer than the test, and no other write after the bookings (no
    // WhatsApp consent, so no outbox work): nothing flushes redb before the SIGKILL, so the
    // restart must replay the journal.
    let (mut first, base, _) = serve_binary_watching(
        dir.path(),
        &[("BARBERPRO_STORAGE__CHECKPOINT_INTERVAL_MS", "60000")],
        "journal",
    );
    let http = trusting(&std::fs::read(dir.path().join("tls/ca.pem")).unwrap())
        .build()
        .unwrap();
    let starts = free_starts(&http, &base, 40).await;
    assert!(starts.len() >= 20, "too few free slots: {starts:?}");

    // All at once: the writer groups them into a few journaled batches.
    let answers = futures::future::join_all(starts.iter().enumerate().map(|(i, start)| {
        book_at_palermo(&http, &base, json!("any"), start, 100 + i as u32, false)
    }))
    .await;
    first.0.kill().unwrap(); // SIGKILL, before any checkpoint
    first.0.wait().unwrap();
    let booked: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 201)
        .map(|(_, body)| body)
        .collect();
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{answers:#?}"
    );
    assert!(booked.len() >= 10, "only {} were booked", booked.len());
    let name = "Ana Gómez".as_bytes();
    assert!(
        journal_holds(dir.path(), name),
        "the bookings are in the journal"
    );

    let (_second, base, log) = serve_binary_watching(dir.path(), &[], "journal");
    let replay = log.try_recv().unwrap_or_default();
    assert!(
        replay.contains("replayed the journal"),
        "the restart replayed the bookings from the journal: {replay:?}"
    );
    // Replayed into the database, the records are erased from the journal, every byte.
    assert!(!journal_holds(dir.path(), name), "the replayed records");
    all_there(&http, &base, &booked).await;
}

/// Whether either journal segment in `dir` holds `needle` anywhere, read or not.
fn journal_holds(dir: &std::path::Path, needle: &[u8]) -> bool {
    ["barberpro.journal", "barberpro.journal.2"]
        .iter()
        .any(|f| {
            std::fs::read(dir.join(f))
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
        })
}

/// Bookings one at a time, each checkpointed (the journal rotates between its two segments at
/// every checkpoint, three times here), then a burst answered before the next checkpoint is
/// due, and the SIGKILL: the restart replays the burst from the segment that holds it, and
/// nothing answered is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_answered_after_checkpoints_survive_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    // Checkpoints are watched in the debug log.
    let (mut first, base, checkpoints) = serve_binary_watching(
        dir.path(),
        &[
            ("BARBERPRO_STORAGE__CHECKPOINT_INTERVAL_MS", "300"),
            (
                "BARBERPRO_LOG__LEVEL",
                "info,barberpro::store::engine=debug",
            ),
        ],
        "\"checkpoint\"",
    );
    let http = trusting(&std::fs::read(dir.path().join("tls/ca.pem")).unwrap())
        .build()
        .unwrap();
    // Two hours apart: no booking takes another's barber.
    let starts: Vec<String> = free_starts(&http, &base, 60)
        .await
        .into_iter()
        .step_by(8)
        .collect();
    assert!(starts.len() >= 7, "too few free slots: {starts:?}");
    let book = |n: usize, start: &String| {
        let (http, base, start) = (http.clone(), base.clone(), start.clone());
        async move {
            let (status, body) =
                book_at_palermo(&http, &base, json!("any"), &start, 300 + n as u32, false).await;
            assert_eq!(status, 201, "{body}");
            body
        }
    };
    let mut booked = Vec::new();
    for (n, start) in starts[..3].iter().enumerate() {
        booked.push(book(n, start).await);
        checkpoints
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the booking's checkpoint");
    }
    let burst = starts[3..7]
        .iter()
        .enumerate()
        .map(|(n, s)| book(10 + n, s));
    booked.extend(futures::future::join_all(burst).await);
    first.0.kill().unwrap();
    first.0.wait().unwrap();

    let (_second, base, log) = serve_binary_watching(dir.path(), &[], "journal");
    let replay = log.try_recv().unwrap_or_default();
    assert!(
        replay.contains("replayed the journal"),
        "the restart replayed the burst: {replay:?}"
    );
    all_there(&http, &base, &booked.iter().collect::<Vec<_>>()).await;
}

/// Every booking in `booked` (the 201 answers' bodies) reads back with its manage link, no two
/// share a barber's start, and the first one's slot cannot be booked again.
async fn all_there(http: &reqwest::Client, base: &str, booked: &[&Value]) {
    let mut taken = HashSet::new();
    for b in booked {
        let id = b["id"].as_str().expect("a public id");
        let got = http
            .get(format!("{base}/api/v1/bookings/{id}"))
            .bearer_auth(b["manage_token"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200, "booking {id} after the restart");
        let got: Value = got.json().await.unwrap();
        assert_eq!(got["start"], b["start"]);
        assert_eq!(got["barber_id"], b["barber_id"]);
        assert_eq!(got["status"], "confirmed");
        assert!(taken.insert((got["barber_id"].to_string(), got["start"].to_string())));
    }
    // Booking any of them again is refused: the slots stayed taken.
    let again = &booked[0];
    let start = again["start"].as_str().unwrap();
    let (status, _) =
        book_at_palermo(http, base, again["barber_id"].clone(), start, 999, false).await;
    assert_eq!(status, 409);
}

/// A data folder last served by a version that emptied a journal segment by zeroing only its
/// first record's header, leaving older records (names, phones) past it: the first start of
/// this version erases them, once.
#[tokio::test]
async fn the_first_start_erases_what_an_older_version_left_in_the_journal() {
    use std::os::unix::fs::{FileExt, MetadataExt};
    let dir = tempfile::tempdir().unwrap();
    let open = || barberpro::store::Store::open(dir.path(), 1 << 20).unwrap();
    open().close().await;
    let leftover = "Ana Gómez +5491155550001".as_bytes();
    let leave_behind = || {
        for f in ["barberpro.journal", "barberpro.journal.2"] {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(dir.path().join(f))
                .unwrap();
            file.write_all_at(leftover, 4096).unwrap();
        }
    };
    leave_behind();
    {
        // No record of the journal ever having been scrubbed, as with an older version.
        let db = redb::Database::create(dir.path().join(barberpro::store::DB_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(barberpro::store::tables::META)
            .unwrap()
            .remove("journal.scrubbed")
            .unwrap()
            .expect("the key a new folder gets");
        txn.commit().unwrap();
    }
    let inode = || {
        std::fs::metadata(dir.path().join("barberpro.journal"))
            .unwrap()
            .ino()
    };
    let before = inode();
    open().close().await;
    assert!(!journal_holds(dir.path(), leftover), "erased");
    assert_ne!(inode(), before, "rewritten");
    // Rewritten once: the next start keeps the files; bytes found past the last record (what
    // an unclean stop can leave) are zeroed in place.
    leave_behind();
    let after = inode();
    open().close().await;
    assert_eq!(inode(), after);
    assert!(!journal_holds(dir.path(), leftover), "zeroed in place");
}
