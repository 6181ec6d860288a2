//! `barberpro snapshot`, `snapshot verify`, `snapshots list` and `restore`: load the
//! configuration, run, print one line (stdout) or the error (stderr), map the exit status.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{DataDirArgs, RestoreArgs, SnapshotAction, SnapshotArgs, SourceArgs};
use crate::config::{Config, Overrides};
use crate::control;
use crate::snapshot::restore::{self, Source};
use crate::snapshot::{self as snapshots, SnapshotError, exit};
use crate::store::{Store, StoreError};

pub(super) fn load(
    file: Option<&std::path::Path>,
    data_dir: Option<PathBuf>,
) -> Result<Config, ExitCode> {
    let overrides = Overrides {
        data_dir,
        ..Overrides::default()
    };
    match Config::load(file, &overrides) {
        Ok(config) => {
            crate::telemetry::init(&config.log);
            Ok(config)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(exit::CONFIG))
        }
    }
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    super::runtime(tokio::runtime::Builder::new_multi_thread(), exit::FAILED)
}

/// [`load`], then [`runtime`]: what every command that talks to the bucket starts with.
pub(super) fn load_with_runtime(
    file: Option<&std::path::Path>,
    data_dir: Option<PathBuf>,
) -> Result<(Config, tokio::runtime::Runtime), ExitCode> {
    let config = load(file, data_dir)?;
    Ok((config, runtime()?))
}

pub(super) fn fail(e: &SnapshotError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(e.exit_code())
}

/// `barberpro snapshot [verify]`.
pub fn snapshot(args: SnapshotArgs) -> ExitCode {
    if let Some(SnapshotAction::Verify(source)) = args.action {
        return verify(source);
    }
    let config = match load(args.file.config.as_deref(), args.data_dir) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let upload = match (args.upload, args.no_upload) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    if let Err(e) = snapshots::wants_upload(&config, upload) {
        return fail(&e);
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    rt.block_on(async {
        // A running server holds the database: ask it.
        match control::request_snapshot(&config.storage.data_dir, upload).await {
            Ok(Some(answer)) => {
                return match (answer.report, answer.error) {
                    (Some(report), _) => {
                        println!("{} (taken by the running server)", report.summary());
                        ExitCode::SUCCESS
                    }
                    (None, error) => {
                        eprintln!("error: {}", error.unwrap_or_else(|| "the server gave no answer".into()));
                        ExitCode::from(answer.exit_code.max(1))
                    }
                };
            }
            Ok(None) => {}
            Err(e) => return fail(&e),
        }
        let store = match Store::open_existing(&config.storage.data_dir, config.storage.cache_size_mb * 1024 * 1024) {
            Ok(s) => s,
            Err(e @ StoreError::InUse { .. }) => {
                eprintln!(
                    "error: {e}, and it does not answer on {}: is it an older BarberPro, or still starting?",
                    control::socket_path(&config.storage.data_dir).display()
                );
                return ExitCode::from(exit::IN_USE);
            }
            Err(e) => return fail(&e.into()),
        };
        let result = snapshots::run(&config, &store, upload).await;
        store.close().await;
        match result {
            Ok(report) => {
                println!("{}", report.summary());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        }
    })
}

fn verify(args: SourceArgs) -> ExitCode {
    let (config, rt) = match load_with_runtime(args.file.config.as_deref(), args.data_dir) {
        Ok(both) => both,
        Err(code) => return code,
    };
    match rt.block_on(restore::verify(&config, &Source::parse(&args.source))) {
        Ok(done) => {
            println!("{}", done.summary("verify"));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// `barberpro snapshots list`.
pub fn list(args: DataDirArgs) -> ExitCode {
    let (config, rt) = match load_with_runtime(args.file.config.as_deref(), args.data_dir) {
        Ok(both) => both,
        Err(code) => return code,
    };
    match rt.block_on(restore::list(&config)) {
        Ok(rows) if rows.is_empty() => {
            println!("no snapshots");
            ExitCode::SUCCESS
        }
        Ok(rows) => {
            for row in rows {
                println!("{}", row.line());
            }
            // Continuous backup: each generation's segments and newest replicated time.
            match rt.block_on(crate::snapshot::pitr::list_lines(&config)) {
                Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
                Err(e) => eprintln!("change log: {e}"),
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// `barberpro restore`.
pub fn restore(args: RestoreArgs) -> ExitCode {
    let at = match args.at.as_deref().map(str::parse::<jiff::Timestamp>) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            eprintln!(
                "error: --at must be a time with its offset (2026-12-06T19:00:00-03:00): {e}"
            );
            return ExitCode::from(crate::snapshot::exit::CONFIG);
        }
    };
    let args = args.source;
    let (config, rt) = match load_with_runtime(args.file.config.as_deref(), args.data_dir) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let source = Source::parse(&args.source);
    // With a bucket, `latest` and `--at` replay the change log after the snapshot.
    if at.is_some() || (source == Source::Latest && config.snapshot.s3.bucket.is_some()) {
        return match rt.block_on(crate::snapshot::pitr::restore(
            &config,
            at,
            &config.storage.data_dir,
        )) {
            Ok(done) if at.is_none() && done.segments == 0 => {
                println!("{}", done.snapshot.summary("restore"));
                ExitCode::SUCCESS
            }
            Ok(done) => {
                println!("{}", done.summary());
                if done.stopped.is_some() {
                    ExitCode::from(crate::snapshot::exit::PARTIAL)
                } else {
                    ExitCode::SUCCESS
                }
            }
            Err(e) => fail(&e),
        };
    }
    match rt.block_on(restore::restore(&config, &source, &config.storage.data_dir)) {
        Ok(done) => {
            println!("{}", done.summary("restore"));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
