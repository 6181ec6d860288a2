//! The keys that travel with a snapshot, only encrypted: with `age_recipient` set,
//! `secret.key` (manage links), the local CA and server keys (`tls/`) and the ACME account and
//! certificate (`tls/acme/`) go into `<snapshot>.keys.age` beside it. Without a recipient they
//! stay on the machine. A restore onto a new machine puts them back, so manage links already
//! sent keep working.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The bundle's suffix after the snapshot's base name.
pub const SUFFIX: &str = ".keys.age";

/// The files (relative to the data folder) a bundle carries, when present.
pub const FILES: &[&str] = &[
    "secret.key",
    "tls/ca.key",
    "tls/ca.pem",
    "tls/key.pem",
    "tls/cert.pem",
    "tls/acme/account.json",
    "tls/acme/certificate.pem",
];

/// The bundle of `data_dir`'s keys, encrypted for `recipient`.
pub fn bundle(data_dir: &Path, recipient: &age::x25519::Recipient) -> std::io::Result<Vec<u8>> {
    let mut files = BTreeMap::new();
    for name in FILES {
        if let Ok(bytes) = std::fs::read(data_dir.join(name)) {
            files.insert((*name).to_owned(), STANDARD.encode(bytes));
        }
    }
    let json = serde_json::to_vec(&files).map_err(std::io::Error::other)?;
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .map_err(std::io::Error::other)?;
    let mut out = Vec::new();
    let mut w = encryptor.wrap_output(&mut out)?;
    w.write_all(&json)?;
    w.finish()?;
    Ok(out)
}

/// Puts a bundle's files into `data_dir` (0600, folders 0700). `secret.key` replaces the one
/// there (kept as `secret.key.pre-restore`): the restored data's links are signed with it.
/// Other keys are written only where missing. Returns the files written.
pub fn unbundle(
    bytes: &[u8],
    identities: &[Box<dyn age::Identity + Send + Sync>],
    data_dir: &Path,
) -> Result<Vec<String>, String> {
    let decryptor = age::Decryptor::new(bytes).map_err(|e| e.to_string())?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| e.to_string())?;
    let mut json = Vec::new();
    reader.read_to_end(&mut json).map_err(|e| e.to_string())?;
    let files: BTreeMap<String, String> =
        serde_json::from_slice(&json).map_err(|e| e.to_string())?;
    let mut written = Vec::new();
    for (name, b64) in files {
        if !FILES.contains(&name.as_str()) {
            return Err(format!("the key bundle holds an unexpected file: {name}"));
        }
        let path = data_dir.join(&name);
        let replace = name == "secret.key";
        if path.exists() && !replace {
            continue;
        }
        let bytes = STANDARD.decode(b64).map_err(|e| e.to_string())?;
        if let Some(parent) = path.parent() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        if replace && path.exists() {
            let kept = data_dir.join("secret.key.pre-restore");
            std::fs::rename(&path, &kept)
                .map_err(|e| format!("keeping {}: {e}", path.display()))?;
        }
        super::write_private(&path, &bytes).map_err(|e| e.to_string())?;
        written.push(name);
    }
    Ok(written)
}
