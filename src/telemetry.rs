//! Logging with `tracing`: readable on a terminal, JSON lines otherwise (or as configured).
//!
//! Lines are written to stderr by a thread of their own ([`LOG_WRITER`]), never by the thread
//! that logs: a request's line costs its worker a copy into a queue, not a `write` to a pipe or
//! file that can block (journald busy, a disk writing back). Queued lines are written together
//! as soon as the thread gets to them. If the sink falls [`BUFFERED_LINES`] lines behind,
//! further lines are dropped, not waited for, and counted ([`dropped_lines`], the
//! `barberpro_log_lines_dropped` metric): bookings never wait for the log. The audit log lives
//! in the database, not here.

use std::io::{BufWriter, IsTerminal, Write};
use std::sync::{Mutex, OnceLock, PoisonError};

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// The name of the thread that writes log lines.
pub const LOG_WRITER: &str = "log-writer";
/// Lines queued for the log writer before new ones are dropped: ~4 MB of request lines, about
/// two seconds of the busiest benchmark.
pub const BUFFERED_LINES: usize = 16_384;

static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();
/// Keeps the log writer running until [`flush`].
static WRITER: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// Quieted unless the filter names `rustls`: rustls warns about every client that sends an IP
/// address as its TLS server name (`wrk` or `openssl s_client` given `127.0.0.1`, scanners
/// trying the bare address), one line per connection about the client's quirk.
const QUIET_SNI: &str = "rustls::msgs::handshake=error";

/// Installs the global subscriber. `RUST_LOG`, when set, overrides `log.level`. Call [`flush`]
/// before the process ends.
pub fn init(config: &LogConfig) {
    let filter = chosen_filter(
        std::env::var(EnvFilter::DEFAULT_ENV).ok().as_deref(),
        &config.level,
    );
    let terminal = std::io::stderr().is_terminal();
    let json = match config.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !terminal,
    };
    let (writer, guard) = writer(std::io::stderr(), BUFFERED_LINES);
    let counter = writer.error_counter();
    // Colours only for a terminal: `pretty` into a file or journald stays plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .with_writer(writer);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.compact().try_init()
    };
    // Already installed (tests start several servers): keep the first, and its writer.
    if result.is_ok() {
        let _ = DROPPED.set(counter);
        *WRITER.lock().unwrap_or_else(PoisonError::into_inner) = Some(guard);
    }
}

/// `RUST_LOG`'s filter if it parses, else `log.level`'s, else `info`.
fn chosen_filter(env: Option<&str>, level: &str) -> EnvFilter {
    env.and_then(filter)
        .or_else(|| filter(level))
        .or_else(|| filter("info"))
        .unwrap_or_else(|| EnvFilter::new("info"))
}

/// The filter for `directives` (`None` if they do not parse), with [`QUIET_SNI`] added unless
/// they say something about rustls themselves.
fn filter(directives: &str) -> Option<EnvFilter> {
    let filter = EnvFilter::try_new(directives).ok()?;
    if directives.contains("rustls") {
        return Some(filter);
    }
    Some(match QUIET_SNI.parse() {
        Ok(quiet) => filter.add_directive(quiet),
        Err(_) => filter,
    })
}

/// Writes out the lines still queued (waiting at most a second) and stops the log writer;
/// later lines are lost. The last thing the process does.
pub fn flush() {
    let guard = WRITER.lock().unwrap_or_else(PoisonError::into_inner).take();
    drop(guard);
}

/// Log lines dropped since the start because the log writer was too far behind.
pub fn dropped_lines() -> u64 {
    DROPPED
        .get()
        .map_or(0, |c| u64::try_from(c.dropped_lines()).unwrap_or(u64::MAX))
}

/// A writer that hands each line (tracing writes one event per call) to the log-writer
/// thread, which writes whatever is queued in as few `write`s as fit its buffer, whole lines
/// only, and flushes when the queue is empty. Past `limit` queued lines, lines are dropped.
fn writer<W: Write + Send + 'static>(sink: W, limit: usize) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(limit)
        .thread_name(LOG_WRITER)
        .finish(BufWriter::with_capacity(64 << 10, sink))
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::{chosen_filter, writer};

    /// The lines `directives` let through when `log` runs.
    fn logged(directives: &str, log: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(chosen_filter(None, directives))
            .with_ansi(false)
            .with_writer(move || out.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn rustls_complaints_about_clients_sni_are_quiet_unless_asked_for() {
        let log = || {
            tracing::warn!(target: "rustls::msgs::handshake", "Illegal SNI extension");
            tracing::error!(target: "rustls::msgs::handshake", "something worse");
            tracing::warn!(target: "rustls::server::hs", "other rustls warning");
            tracing::info!(target: "barberpro::http", "request");
        };
        let quiet = logged("info", log);
        assert!(!quiet.contains("Illegal SNI"), "{quiet}");
        for kept in ["something worse", "other rustls warning", "request"] {
            assert!(quiet.contains(kept), "{kept} missing: {quiet}");
        }
        let asked = logged("info,rustls=warn", log);
        assert!(asked.contains("Illegal SNI"), "{asked}");
        // A filter that does not parse falls back to info, still quiet.
        let fallback = logged("info,,=nonsense[", log);
        assert!(fallback.contains("request") && !fallback.contains("Illegal SNI"));
    }

    /// A sink that records each `write` call, and blocks until let go.
    #[derive(Clone)]
    struct Sink {
        writes: Arc<Mutex<Vec<Vec<u8>>>>,
        gate: Arc<Mutex<()>>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _open = self.gate.lock().unwrap();
            self.writes.lock().unwrap().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_sink_drops_and_counts_lines_instead_of_blocking_and_writes_whole_lines() {
        let sink = Sink {
            writes: Arc::default(),
            gate: Arc::default(),
        };
        let held = sink.gate.lock().unwrap();
        let (w, guard) = writer(sink.clone(), 8);
        let counter = w.error_counter();
        // The sink is stuck: the logging thread must still get through all of these at once.
        let (done_tx, done_rx) = mpsc::channel();
        let logging = std::thread::spawn(move || {
            let mut w = w;
            for i in 0..100_000 {
                w.write_all(format!("line {i}\n").as_bytes()).unwrap();
            }
            done_tx.send(()).unwrap();
            w
        });
        done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("logging waited for a stuck sink");
        let dropped = counter.dropped_lines();
        assert!(dropped > 0, "nothing was dropped");
        drop(held);
        let w = logging.join().unwrap();
        drop(w);
        drop(guard);
        let writes = sink.writes.lock().unwrap();
        let text: Vec<u8> = writes.concat();
        let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        assert_eq!(
            lines.len() + dropped,
            100_000,
            "every line written or counted"
        );
        for write in writes.iter() {
            assert_eq!(write.last(), Some(&b'\n'), "a write ended mid-line");
        }
        // Lines queued together went out together.
        assert!(writes.len() < lines.len(), "one write per line");
        // What was written is whole lines, in order.
        let numbers: Vec<usize> = lines
            .iter()
            .map(|l| {
                std::str::from_utf8(l).unwrap().trim_end()["line ".len()..]
                    .parse()
                    .unwrap()
            })
            .collect();
        assert!(numbers.windows(2).all(|p| p[0] < p[1]), "out of order");
    }
}
