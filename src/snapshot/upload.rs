//! The S3-compatible bucket: upload (multipart, equal parts), check, list, download, delete.
//! `object_store` signs (SigV4, with ring) and retries with backoff; credentials never reach
//! a log line.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::S3Config;

/// What went wrong talking to the bucket.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The `[snapshot.s3]` settings cannot make a client (missing credentials, bad endpoint).
    #[error("S3 configuration: {0}")]
    Config(String),
    /// The store refused or failed a request (after retries).
    #[error("S3 {op} {key}: {source}")]
    Request {
        op: &'static str,
        key: String,
        source: Box<object_store::Error>,
    },
    /// The object is there, but not as uploaded.
    #[error("S3 check after upload: {key} has {found} bytes, {expected} were uploaded")]
    SizeMismatch {
        key: String,
        expected: u64,
        found: u64,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

/// A bucket and prefix holding snapshots.
#[derive(Clone)]
pub struct Remote {
    store: Arc<AmazonS3>,
    prefix: String,
    part_size: usize,
    /// `bucket/prefix`, for messages.
    pub location: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// A client for `[snapshot.s3]`, or `None` when no bucket is configured.
    pub fn from_config(s3: &S3Config) -> Result<Option<Self>, RemoteError> {
        let Some(bucket) = &s3.bucket else {
            return Ok(None);
        };
        // reqwest is built without a bundled crypto provider: rustls uses ring, like the server.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let key_id = match &s3.access_key_id {
            Some(id) => id.clone(),
            None => std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_default(),
        };
        let secret = if let Some(secret) = &s3.secret_access_key {
            secret.expose().to_owned()
        } else if let Some(file) = &s3.secret_access_key_file {
            std::fs::read_to_string(file)
                .map_err(|e| RemoteError::Config(format!("reading {}: {e}", file.display())))?
                .trim()
                .to_owned()
        } else {
            std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default()
        };
        if key_id.is_empty() || secret.is_empty() {
            return Err(RemoteError::Config(
                "no credentials: set snapshot.s3.access_key_id and secret_access_key (or \
                 secret_access_key_file, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
                    .into(),
            ));
        }
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(200),
                max_backoff: Duration::from_secs(15),
                base: 2.0,
            },
            max_retries: s3.max_retries,
            retry_timeout: Duration::from_secs(120),
        };
        let options = ClientOptions::new()
            .with_allow_http(s3.allow_http)
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout(Duration::from_secs(300));
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&s3.region)
            .with_access_key_id(key_id)
            .with_secret_access_key(secret)
            .with_virtual_hosted_style_request(!s3.path_style)
            .with_retry(retry)
            .with_client_options(options);
        if let Some(endpoint) = &s3.endpoint {
            builder = builder.with_endpoint(endpoint.as_str());
        }
        let store = builder
            .build()
            .map_err(|e| RemoteError::Config(e.to_string()))?;
        Ok(Some(Self {
            store: Arc::new(store),
            prefix: s3.prefix.to_string(),
            part_size: s3.part_size_mb * 1024 * 1024,
            location: format!("s3://{bucket}/{}", s3.prefix),
        }))
    }

    fn key(&self, file: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(file)
        } else {
            ObjectPath::from(format!("{}/{file}", self.prefix))
        }
    }

    fn request(
        op: &'static str,
        key: &ObjectPath,
    ) -> impl FnOnce(object_store::Error) -> RemoteError {
        let key = key.to_string();
        move |source| RemoteError::Request {
            op,
            key,
            source: Box::new(source),
        }
    }

    /// Uploads a local file as `file` (multipart in equal parts when larger than one part),
    /// then checks the object's size. Returns the bytes uploaded.
    pub async fn upload_file(&self, local: &Path, file: &str) -> Result<u64, RemoteError> {
        let key = self.key(file);
        let io = |context: String| move |source| RemoteError::Io { context, source };
        let size = tokio::fs::metadata(local)
            .await
            .map_err(io(format!("reading {}", local.display())))?
            .len();
        let mut input = tokio::fs::File::open(local)
            .await
            .map_err(io(format!("opening {}", local.display())))?;
        if size as usize <= self.part_size {
            let mut bytes = Vec::with_capacity(size as usize);
            input
                .read_to_end(&mut bytes)
                .await
                .map_err(io(format!("reading {}", local.display())))?;
            self.store
                .put(&key, PutPayload::from(bytes))
                .await
                .map_err(Self::request("PUT", &key))?;
        } else {
            let upload = self
                .store
                .put_multipart(&key)
                .await
                .map_err(Self::request("multipart upload", &key))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = match input.read(&mut buf).await {
                    Ok(n) => n,
                    Err(e) => {
                        let _ = writer.abort().await;
                        return Err(RemoteError::Io {
                            context: format!("reading {}", local.display()),
                            source: e,
                        });
                    }
                };
                if n == 0 {
                    break;
                }
                // Bounded memory: at most two parts in flight (R2 dislikes high concurrency).
                if let Err(e) = writer.wait_for_capacity(2).await {
                    return Err(Self::request("multipart part", &key)(e));
                }
                writer.write(&buf[..n]);
            }
            writer
                .finish()
                .await
                .map_err(Self::request("multipart complete", &key))?;
        }
        self.check_size(file, size).await?;
        Ok(size)
    }

    /// Uploads small bytes (the manifest) and checks the object's size.
    pub async fn upload_bytes(&self, file: &str, bytes: Vec<u8>) -> Result<(), RemoteError> {
        let key = self.key(file);
        let size = bytes.len() as u64;
        self.store
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(Self::request("PUT", &key))?;
        self.check_size(file, size).await
    }

    async fn check_size(&self, file: &str, expected: u64) -> Result<(), RemoteError> {
        let key = self.key(file);
        let meta = self
            .store
            .head(&key)
            .await
            .map_err(Self::request("HEAD", &key))?;
        if meta.size != expected {
            return Err(RemoteError::SizeMismatch {
                key: key.to_string(),
                expected,
                found: meta.size,
            });
        }
        Ok(())
    }

    /// Every object directly under the prefix: `(file name, size)`.
    pub async fn list(&self) -> Result<Vec<(String, u64)>, RemoteError> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let listed = self
            .store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(Self::request(
                "LIST",
                prefix.as_ref().unwrap_or(&ObjectPath::from("")),
            ))?;
        Ok(listed
            .objects
            .into_iter()
            .filter_map(|o| Some((o.location.filename()?.to_owned(), o.size)))
            .collect())
    }

    /// Every object under `dir` (below the prefix), at any depth: `(path under the
    /// prefix, size)`, in name order.
    pub async fn list_under(&self, dir: &str) -> Result<Vec<(String, u64)>, RemoteError> {
        use futures::TryStreamExt;
        let key = self.key(dir);
        let mut out: Vec<(String, u64)> = self
            .store
            .list(Some(&key))
            .map_ok(|o| (o.location.to_string(), o.size))
            .try_collect()
            .await
            .map_err(Self::request("LIST", &key))?;
        let skip = if self.prefix.is_empty() {
            0
        } else {
            self.prefix.len() + 1
        };
        for (name, _) in &mut out {
            *name = name.get(skip..).unwrap_or_default().to_owned();
        }
        out.sort();
        Ok(out)
    }

    /// Reads a small object (a manifest) whole.
    pub async fn get_bytes(&self, file: &str) -> Result<Vec<u8>, RemoteError> {
        let key = self.key(file);
        let got = self
            .store
            .get(&key)
            .await
            .map_err(Self::request("GET", &key))?;
        Ok(got
            .bytes()
            .await
            .map_err(Self::request("GET", &key))?
            .to_vec())
    }

    /// Streams an object into a local file; returns its size.
    pub async fn download(&self, file: &str, dest: &PathBuf) -> Result<u64, RemoteError> {
        let key = self.key(file);
        let io = |context: String| move |source| RemoteError::Io { context, source };
        let got = self
            .store
            .get(&key)
            .await
            .map_err(Self::request("GET", &key))?;
        let mut out = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dest)
            .await
            .map_err(io(format!("creating {}", dest.display())))?;
        let mut stream = got.into_stream();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(Self::request("GET", &key))?;
            size += chunk.len() as u64;
            out.write_all(&chunk)
                .await
                .map_err(io(format!("writing {}", dest.display())))?;
        }
        out.sync_all()
            .await
            .map_err(io(format!("writing {}", dest.display())))?;
        Ok(size)
    }

    pub async fn delete(&self, file: &str) -> Result<(), RemoteError> {
        let key = self.key(file);
        self.store
            .delete(&key)
            .await
            .map_err(Self::request("DELETE", &key))
    }
}
