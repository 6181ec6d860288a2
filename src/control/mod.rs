//! The control socket: while `serve` runs it holds the database (redb locks the file), so
//! `barberpro snapshot` asks it over `<data_dir>/control/snapshot.sock` (folder 0700, socket
//! 0600) to take the snapshot, and waits for the answer. One JSON line each way.
//!
//! The personal-data commands (`barberpro client export|erase`, `barberpro audit export`)
//! use the same socket for the same reason; the server runs them with its own [`App`] through
//! [`privacy::execute`].

pub mod privacy;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::Config;
use crate::snapshot::{self, SnapshotError, SnapshotReport, private_dir};

/// The socket, inside the data folder.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control").join("snapshot.sock")
}

/// What a command asks the running server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    Snapshot {
        upload: Option<bool>,
    },
    /// The restore drill (`snapshot verify`) on the newest complete snapshot.
    Verify,
    /// A personal-data command (see [`privacy::Op`]).
    Privacy(privacy::Op),
}

/// The server's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub report: Option<SnapshotReport>,
    pub error: Option<String>,
    pub exit_code: u8,
    /// A privacy command's output (JSON, or JSON lines for the audit export).
    #[serde(default)]
    pub output: Option<String>,
}

/// Starts the control socket (called once from `startup`); it stops, and removes the socket,
/// when `shutdown` fires. A socket that cannot be created is logged, not fatal: `snapshot`
/// then reports that the folder is in use.
pub fn spawn(config: &Config, app: App, shutdown: CancellationToken) {
    let config = Arc::new(config.clone());
    let path = socket_path(&config.storage.data_dir);
    let listener = match bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(socket = %path.display(), error = %e, "no snapshot control socket");
            return;
        }
    };
    // One snapshot at a time; a second request waits for the first.
    let busy = Arc::new(tokio::sync::Mutex::new(()));
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket accept failed");
                        continue;
                    }
                },
            };
            let (config, app, busy) = (config.clone(), app.clone(), busy.clone());
            tokio::spawn(async move {
                if let Err(e) = handle(stream, &config, &app, &busy).await {
                    tracing::warn!(error = %e, "control socket request failed");
                }
            });
        }
        let _ = std::fs::remove_file(&path);
    });
}

fn bind(path: &Path) -> Result<UnixListener, SnapshotError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(SnapshotError::io(format!("restricting {}", dir.display())))?;
    // We hold the data folder's lock, so a socket left here is a crashed server's.
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)
        .map_err(SnapshotError::io(format!("binding {}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(SnapshotError::io(format!("restricting {}", path.display())))?;
    Ok(listener)
}

async fn handle(
    stream: UnixStream,
    config: &Config,
    app: &App,
    busy: &tokio::sync::Mutex<()>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let answer = match serde_json::from_str::<Request>(&line) {
        Ok(Request::Snapshot { upload }) => {
            let _one_at_a_time = busy.lock().await;
            match snapshot::run(config, &app.store, upload).await {
                Ok(report) => Answer {
                    report: Some(report),
                    error: None,
                    exit_code: 0,
                    output: None,
                },
                Err(e) => Answer {
                    report: None,
                    error: Some(e.to_string()),
                    exit_code: e.exit_code(),
                    output: None,
                },
            }
        }
        Ok(Request::Verify) => {
            let _one_at_a_time = busy.lock().await;
            let source = snapshot::restore::Source::Latest;
            match snapshot::restore::verify(config, &source).await {
                Ok(done) => Answer {
                    report: None,
                    error: None,
                    exit_code: 0,
                    output: serde_json::to_string(&done).ok(),
                },
                Err(e) => Answer {
                    report: None,
                    error: Some(e.to_string()),
                    exit_code: e.exit_code(),
                    output: None,
                },
            }
        }
        Ok(Request::Privacy(op)) => match privacy::execute(app, &op).await {
            Ok(output) => Answer {
                report: None,
                error: None,
                exit_code: 0,
                output: Some(output),
            },
            Err(e) => Answer {
                report: None,
                error: Some(e.to_string()),
                exit_code: e.exit_code(),
                output: None,
            },
        },
        Err(e) => Answer {
            report: None,
            error: Some(format!("bad request: {e}")),
            exit_code: snapshot::exit::FAILED,
            output: None,
        },
    };
    let mut bytes = serde_json::to_vec(&answer).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    write.write_all(&bytes).await?;
    write.shutdown().await
}

/// Asks a running server to take a snapshot. `Ok(None)`: no server is listening.
pub async fn request_snapshot(
    data_dir: &Path,
    upload: Option<bool>,
) -> Result<Option<Answer>, SnapshotError> {
    ask(data_dir, &Request::Snapshot { upload }).await
}

/// Sends one request to a running server and waits for its answer. `Ok(None)`: no server is
/// listening.
pub async fn ask(data_dir: &Path, request: &Request) -> Result<Option<Answer>, SnapshotError> {
    let path = socket_path(data_dir);
    let stream = match UnixStream::connect(&path).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => {
            return Err(SnapshotError::io(format!(
                "connecting to {}",
                path.display()
            ))(e));
        }
    };
    let (read, mut write) = stream.into_split();
    let mut bytes = serde_json::to_vec(request).map_err(|e| SnapshotError::Io {
        context: "encoding the request".into(),
        source: e.into(),
    })?;
    bytes.push(b'\n');
    let talk = SnapshotError::io(format!("talking to the server over {}", path.display()));
    write.write_all(&bytes).await.map_err(talk)?;
    let mut line = String::new();
    BufReader::new(read)
        .read_line(&mut line)
        .await
        .map_err(SnapshotError::io(format!(
            "reading the server's answer on {}",
            path.display()
        )))?;
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|e| SnapshotError::Io {
            context: format!(
                "the server's answer on {} is not valid (did it stop?)",
                path.display()
            ),
            source: e.into(),
        })
}
