//! `[snapshot]` and `[snapshot.s3]`: local copies, compression, encryption, upload and
//! retention (`barberpro snapshot`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::values::{HttpUrl, Secret, checked_string, optional};
use super::{ConfigError, invalid};

/// Snapshots: local copies, compression, encryption, upload and retention (`barberpro snapshot`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotConfig {
    /// Folder of the local snapshot copies. None (`""`): `<data_dir>/snapshots`.
    #[serde(with = "optional")]
    pub local_dir: Option<PathBuf>,
    /// How many local copies to keep, newest first (at least 1).
    pub keep_local: usize,
    /// zstd compression level, 1 (fast) to 19 (small).
    pub zstd_level: i32,
    /// Host name written into snapshot names. None (`""`): the machine's host name.
    #[serde(with = "optional")]
    pub host: Option<SnapshotHost>,
    /// age recipient (`age1…` public key): snapshots are encrypted for it before leaving the
    /// machine. None (`""`): not encrypted.
    #[serde(with = "optional")]
    pub age_recipient: Option<AgeRecipient>,
    /// age identity file (private key) used to restore encrypted snapshots.
    pub age_identity_file: Option<PathBuf>,
    /// Remote snapshots older than this many days are deleted after a successful upload; the
    /// newest complete snapshot never is. 0: never delete.
    pub retention_days: u32,
    /// Continuous backup: every this many seconds (and at shutdown) the change log's sealed
    /// segments go to the bucket. 0: off.
    pub replicate_interval_secs: u64,
    /// Unshipped segments kept on disk at most (MiB); past it the generation stops logging
    /// (bookings go on) until the next snapshot.
    pub replicate_max_backlog_mb: u64,
    pub s3: S3Config,
}

impl Default for SnapshotConfig {
    fn default() -> Self {
        Self {
            local_dir: None,
            keep_local: 3,
            zstd_level: 3,
            host: None,
            age_recipient: None,
            age_identity_file: None,
            retention_days: 30,
            replicate_interval_secs: 10,
            replicate_max_backlog_mb: 256,
            s3: S3Config::default(),
        }
    }
}

impl SnapshotConfig {
    /// The folder of local copies (`local_dir`, else `<data_dir>/snapshots`).
    pub fn local_dir(&self, data_dir: &Path) -> PathBuf {
        match &self.local_dir {
            Some(dir) => dir.clone(),
            None => data_dir.join("snapshots"),
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.keep_local == 0 {
            return invalid(
                "snapshot.keep_local",
                "must be at least 1 (a local copy is always kept)",
            );
        }
        if !(1..=19).contains(&self.zstd_level) {
            return invalid("snapshot.zstd_level", "must be between 1 and 19");
        }
        let s3 = &self.s3;
        if s3.part_size_mb < 5 {
            return invalid(
                "snapshot.s3.part_size_mb",
                "must be at least 5 (S3's smallest part)",
            );
        }
        if s3.endpoint.as_ref().is_some_and(|e| !e.is_https()) && !s3.allow_http {
            return invalid(
                "snapshot.s3.endpoint",
                "plain http:// needs snapshot.s3.allow_http = true",
            );
        }
        Ok(())
    }
}

/// An S3-compatible bucket (AWS, MinIO, Backblaze B2, Cloudflare R2, Wasabi…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct S3Config {
    /// Bucket name. None (`""`): snapshots are only kept locally.
    #[serde(with = "optional")]
    pub bucket: Option<String>,
    /// Endpoint URL, e.g. `https://s3.us-west-004.backblazeb2.com`. None (`""`): AWS.
    #[serde(with = "optional")]
    pub endpoint: Option<HttpUrl>,
    pub region: String,
    /// Key prefix (folder) of the snapshots inside the bucket.
    pub prefix: ObjectPrefix,
    /// Path-style URLs (`endpoint/bucket/key`), as MinIO and B2 want; false: virtual-hosted.
    pub path_style: bool,
    /// Allow a plain `http://` endpoint (a local test server only).
    pub allow_http: bool,
    /// None (`""`): the `AWS_ACCESS_KEY_ID` environment variable.
    #[serde(with = "optional")]
    pub access_key_id: Option<String>,
    /// None (`""`): `secret_access_key_file`, else the `AWS_SECRET_ACCESS_KEY` variable.
    #[serde(with = "optional")]
    pub secret_access_key: Option<Secret>,
    /// A file holding the secret key (e.g. a systemd credential), read at upload time.
    pub secret_access_key_file: Option<PathBuf>,
    /// Multipart part size in MiB (equal parts; S3 needs at least 5).
    pub part_size_mb: usize,
    /// Retries of a failed request, with exponential backoff.
    pub max_retries: usize,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            bucket: None,
            endpoint: None,
            region: "us-east-1".into(),
            prefix: "barberpro".parse().expect("a valid prefix"),
            path_style: true,
            allow_http: false,
            access_key_id: None,
            secret_access_key: None,
            secret_access_key_file: None,
            part_size_mb: 16,
            max_retries: 5,
        }
    }
}

checked_string! {
    /// The host name written into snapshot names.
    pub struct SnapshotHost;
    fn check(s) {
        if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
            Ok(())
        } else {
            Err("only letters, digits, '-' and '.'".into())
        }
    }
}

checked_string! {
    /// An age X25519 recipient (`age1…` public key).
    pub struct AgeRecipient;
    fn check(s) {
        match s.parse::<age::x25519::Recipient>() {
            Ok(_) => Ok(()),
            Err(_) => Err("not an age X25519 recipient (age1…)".into()),
        }
    }
}

impl AgeRecipient {
    /// The recipient snapshots are encrypted for.
    pub fn recipient(&self) -> Result<age::x25519::Recipient, String> {
        self.0.parse().map_err(|e: &str| e.to_owned())
    }
}

checked_string! {
    /// A key prefix (folder) inside a bucket; empty: the bucket's root.
    pub struct ObjectPrefix;
    fn check(s) {
        if s.starts_with('/') || s.ends_with('/') {
            Err("must not start or end with '/'".into())
        } else {
            Ok(())
        }
    }
}
