//! `barberpro follow [--status]` and `barberpro promote`: load the configuration, run,
//! print, map the exit status (see `crate::snapshot::follow`).

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::snapshot::{fail, load, load_with_runtime, runtime};
use crate::cli::{FollowArgs, PromoteArgs};
use crate::snapshot::{exit, follow, standby};

/// `barberpro follow`: until SIGTERM or SIGINT, which stop it between rounds.
pub fn follow(args: FollowArgs) -> ExitCode {
    let config = match load(args.file.config.as_deref(), args.data_dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let dir = config.storage.data_dir.clone();
    if args.status {
        return status(&config);
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        let stop = CancellationToken::new();
        if let Err(e) = stop_on_signal(stop.clone()) {
            eprintln!("error: cannot listen for SIGTERM/SIGINT: {e}");
            return ExitCode::from(exit::FAILED);
        }
        match follow::follow(&config, &dir, stop).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        }
    })
}

fn status(config: &crate::config::Config) -> ExitCode {
    let dir = &config.storage.data_dir;
    match standby::read(dir) {
        Ok(Some(s)) => {
            let tz = jiff::tz::TimeZone::get(&config.locale.time_zone)
                .unwrap_or(jiff::tz::TimeZone::UTC);
            println!("{}", s.line(jiff::Timestamp::now().as_millisecond(), &tz));
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!("error: {} is not a standby", dir.display());
            ExitCode::from(exit::STANDBY)
        }
        Err(e) => fail(&e),
    }
}

/// Cancels `stop` at the first SIGTERM or SIGINT (handlers registered before returning).
fn stop_on_signal(stop: CancellationToken) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received: stopping after this round"),
            _ = int.recv() => tracing::info!("SIGINT received: stopping after this round"),
        }
        stop.cancel();
    });
    Ok(())
}

/// `barberpro promote`.
pub fn promote(args: PromoteArgs) -> ExitCode {
    let (config, rt) = match load_with_runtime(args.file.config.as_deref(), args.data_dir) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let dir = config.storage.data_dir.clone();
    match rt.block_on(follow::promote(&config, &dir, args.offline)) {
        Ok(p) => {
            let s = &p.status;
            let upto = s
                .last_ms
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                .map_or_else(|| "the snapshot's time".to_owned(), |t| t.to_string());
            println!(
                "promoted {}: it holds generation {} up to transaction {} (committed {upto}){}.\n\
                 New server id {}: the first snapshot `serve` takes at start begins a new \
                 generation and takes over {}; the old primary, if it comes back, is refused.\n\
                 Next steps:\n  \
                 1. keep the old primary stopped (systemctl disable --now barberpro there, or \
                 power it off)\n  \
                 2. systemctl disable barberpro-follow && systemctl enable --now barberpro\n  \
                 3. point the site's DNS name at this machine\n  \
                 4. check: `barberpro snapshots list` shows a new generation; /readyz answers",
                dir.display(),
                s.generation.as_deref().unwrap_or("?"),
                s.last_seq,
                if p.offline {
                    "; OFFLINE: no last catch-up, what the old primary shipped after the \
                     standby's last round is not here"
                } else {
                    ", after a last catch-up from the bucket"
                },
                p.server_id,
                s.location
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
