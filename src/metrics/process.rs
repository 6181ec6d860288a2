//! The process: `barberpro_build_info`, and the standard `process_*` metrics read from
//! `/proc` at each scrape (with the log lines dropped so far, see [`crate::telemetry`]).

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub version: &'static str,
}

/// `barberpro_build_info{version="…"} 1`.
pub(super) fn register_build_info(r: &mut Registry) {
    let build_info: Family<VersionLabels, Gauge> = Family::default();
    build_info
        .get_or_create(&VersionLabels {
            version: env!("CARGO_PKG_VERSION"),
        })
        .set(1);
    r.register(
        "barberpro_build_info",
        "Version of the running binary",
        build_info,
    );
}

/// The standard `process_*` metrics, read from `/proc/self` at each scrape, and the log lines
/// dropped so far.
#[derive(Debug)]
pub(super) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let dropped = ConstCounter::new(crate::telemetry::dropped_lines());
        dropped.encode(encoder.encode_descriptor(
            "barberpro_log_lines_dropped",
            "Log lines dropped because the log writer was too far behind (journald or disk slow)",
            None,
            dropped.metric_type(),
        )?)?;
        let Some(p) = ProcessStats::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(p.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges: [(&str, &str, f64); 4] = [
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                p.rss_bytes,
            ),
            (
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
                p.vsize_bytes,
            ),
            (
                "process_open_fds",
                "Number of open file descriptors",
                p.open_fds,
            ),
            (
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
                p.start_time,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

struct ProcessStats {
    cpu_seconds: f64,
    rss_bytes: f64,
    vsize_bytes: f64,
    open_fds: f64,
    start_time: f64,
}

impl ProcessStats {
    /// Linux only; `None` elsewhere. Clock ticks are 100 per second on every Linux we run on.
    fn read() -> Option<Self> {
        const TICKS: f64 = 100.0;
        const PAGE: f64 = 4096.0;
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may contain spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
        // Field numbers from proc(5), minus 3 (pid, comm and state come first).
        let (utime, stime, start_ticks) = (num(11)?, num(12)?, num(19)?);
        let vsize = num(20)?;
        let rss_pages = num(21)?;
        let boot = std::fs::read_to_string("/proc/stat")
            .ok()?
            .lines()
            .find_map(|l| {
                l.strip_prefix("btime ")
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })?;
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count())
            .unwrap_or(0);
        Some(Self {
            cpu_seconds: (utime + stime) / TICKS,
            rss_bytes: rss_pages * PAGE,
            vsize_bytes: vsize,
            open_fds: open_fds as f64,
            start_time: boot + start_ticks / TICKS,
        })
    }
}
