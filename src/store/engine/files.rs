//! Files the store makes beside redb's: each written whole under a temporary name, synced,
//! renamed over its name, and its folder synced, so that a crash leaves either no file or the
//! whole one, never a short one, and once this returns, a crash cannot take it back.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::probe;

/// Writes `bytes` to `path` (mode `mode`) durably, replacing what was there.
pub(crate) fn write_durably(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    // A temporary left by a crash goes first: made anew, it gets `mode`.
    let tmp = PathBuf::from(tmp);
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
        Ok(()) => probe::removed(&tmp),
    }
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        probe::created(&tmp);
        file.write_all(bytes)?;
        probe::wrote(&tmp, 0, bytes);
        let upto = probe::sync_starts(&tmp);
        file.sync_all()?;
        probe::synced(&tmp, upto);
    }
    std::fs::rename(&tmp, path)?;
    probe::renamed(&tmp, path);
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Makes the entries of `dir` (a file created, renamed or removed in it) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()?;
    probe::dir_synced(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        // What a crash while writing left: a short temporary, never read.
        std::fs::write(dir.path().join("secret.key.new"), b"shor").unwrap();
        write_durably(&path, &[7; 32], 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![7; 32]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.path().join("secret.key.new").exists());
    }
}
