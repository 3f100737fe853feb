//! Read-model snapshot files: a model's state with the log position it reflects, written atomically and
//! checked on reading. The projector runtime (`projections::runtime`) decides when to write and what a
//! file that does not read back costs (a rebuild); this module owns the format.
//!
//! Layout: `ERPSNAP\x01` | name length (u16 LE) | name | code version (u32 LE) | position (u64 LE) |
//! body length (u64 LE) | CRC32C of the body (u32 LE) | body (postcard). Written to `<name>.snapshot.tmp`,
//! fsynced, renamed over `<name>.snapshot`, and the directory fsynced: a crash leaves the old file or the
//! new one, never a torn one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

const MAGIC: &[u8; 8] = b"ERPSNAP\x01";

/// The largest snapshot body read back (a bigger file is taken as damaged).
pub const SNAPSHOT_MAX_BYTES: u64 = 4 << 30;

/// What reading a snapshot found.
#[derive(Debug)]
pub enum SnapshotRead<T> {
    /// An intact snapshot of the asked-for model and version.
    Found { state: T, position: u64 },
    /// No snapshot file.
    Missing,
    /// A snapshot of another code version of the model.
    OtherVersion { found: u32 },
    /// A file that does not read back: torn, altered, of another model, or unreadable.
    Damaged { reason: String },
}

/// The snapshot file of the model `name` in `dir`.
pub fn snapshot_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.snapshot"))
}

/// Writes `state` at `position` as the snapshot of model `name`, code `version`, in `dir`, atomically.
pub fn write_snapshot<T: Serialize>(
    dir: &Path,
    name: &str,
    version: u32,
    position: u64,
    state: &T,
) -> std::io::Result<()> {
    write_snapshot_bytes(dir, name, &encode_snapshot(name, version, position, state)?)
}

/// The bytes of a snapshot file of `state` (so a caller can encode under a lock and write outside it).
pub fn encode_snapshot<T: Serialize>(
    name: &str,
    version: u32,
    position: u64,
    state: &T,
) -> std::io::Result<Vec<u8>> {
    let body = postcard::to_allocvec(state).map_err(|e| std::io::Error::other(format!("encoding: {e}")))?;
    let name_len =
        u16::try_from(name.len()).map_err(|_| std::io::Error::other("a model name over 64 KiB"))?;
    let mut bytes = Vec::with_capacity(body.len() + 64);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&name_len.to_le_bytes());
    bytes.extend_from_slice(name.as_bytes());
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&position.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

/// Writes the bytes of [`encode_snapshot`] as model `name`'s snapshot in `dir`, atomically.
pub fn write_snapshot_bytes(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!("{name}.snapshot.tmp"));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, snapshot_path(dir, name))?;
    std::fs::File::open(dir)?.sync_all()
}

/// What a snapshot file holds, checked (magic, model, checksum) without decoding the state: for status
/// reports, which must not load every model to say where each one stands.
pub fn peek_snapshot(dir: &Path, name: &str, version: u32) -> SnapshotRead<()> {
    read_with(dir, name, version, |_| Ok(()))
}

/// Reads the snapshot of model `name`, code `version`, from `dir`.
pub fn read_snapshot<T: DeserializeOwned>(dir: &Path, name: &str, version: u32) -> SnapshotRead<T> {
    read_with(dir, name, version, |body| postcard::from_bytes(body).map_err(|e| e.to_string()))
}

fn read_with<T>(
    dir: &Path,
    name: &str,
    version: u32,
    decode: impl FnOnce(&[u8]) -> Result<T, String>,
) -> SnapshotRead<T> {
    let path = snapshot_path(dir, name);
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => SnapshotRead::Missing,
        Err(e) => SnapshotRead::Damaged { reason: e.to_string() },
        Ok(meta) if meta.len() > SNAPSHOT_MAX_BYTES => {
            SnapshotRead::Damaged { reason: format!("{} bytes is over the limit", meta.len()) }
        }
        Ok(_) => match std::fs::read(&path) {
            Ok(bytes) => parse(&bytes, name, version, decode),
            Err(e) => SnapshotRead::Damaged { reason: e.to_string() },
        },
    }
}

fn parse<T>(
    bytes: &[u8],
    name: &str,
    version: u32,
    decode: impl FnOnce(&[u8]) -> Result<T, String>,
) -> SnapshotRead<T> {
    let damaged = |reason: &str| SnapshotRead::Damaged { reason: reason.to_string() };
    let mut at = 0usize;
    let mut take = |n: usize| -> Option<&[u8]> {
        let slice = bytes.get(at..at.checked_add(n)?)?;
        at += n;
        Some(slice)
    };
    let Some(magic) = take(8) else { return damaged("the file ends early") };
    if magic != MAGIC {
        return damaged("not a snapshot file");
    }
    let Some(name_len) = take(2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize) else {
        return damaged("the file ends early");
    };
    if take(name_len) != Some(name.as_bytes()) {
        return damaged("the snapshot of another read model");
    }
    let mut word =
        |n: usize| take(n).map(|b| b.iter().rev().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte)));
    let (Some(found), Some(position), Some(len), Some(crc)) = (word(4), word(8), word(8), word(4)) else {
        return damaged("the file ends early");
    };
    if found != u64::from(version) {
        return SnapshotRead::OtherVersion { found: found as u32 };
    }
    let Some(body) = usize::try_from(len).ok().and_then(&mut take) else {
        return damaged("the file ends early");
    };
    if u64::from(crc32c::crc32c(body)) != crc {
        return damaged("the checksum does not match");
    }
    match decode(body) {
        Ok(state) => SnapshotRead::Found { state, position },
        Err(e) => damaged(&format!("the state does not decode: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_reads_back_and_any_change_to_it_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let state = vec![(1u32, "一".to_string()), (2, "二".to_string())];
        write_snapshot(dir.path(), "model", 3, 42, &state).unwrap();
        match read_snapshot::<Vec<(u32, String)>>(dir.path(), "model", 3) {
            SnapshotRead::Found { state: read, position } => {
                assert_eq!((read, position), (state.clone(), 42))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_snapshot::<Vec<(u32, String)>>(dir.path(), "model", 4),
            SnapshotRead::OtherVersion { found: 3 }
        ));
        assert!(matches!(read_snapshot::<Vec<(u32, String)>>(dir.path(), "other", 3), SnapshotRead::Missing));
        // A peek checks the file and says where it stands without decoding the state.
        assert!(matches!(peek_snapshot(dir.path(), "model", 3), SnapshotRead::Found { position: 42, .. }));
        let path = snapshot_path(dir.path(), "model");
        let bytes = std::fs::read(&path).unwrap();
        for cut in [0, 5, 20, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let read = read_snapshot::<Vec<(u32, String)>>(dir.path(), "model", 3);
            assert!(matches!(read, SnapshotRead::Damaged { .. }), "cut at {cut}: {read:?}");
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        std::fs::write(&path, &flipped).unwrap();
        assert!(matches!(
            read_snapshot::<Vec<(u32, String)>>(dir.path(), "model", 3),
            SnapshotRead::Damaged { .. }
        ));
        assert!(matches!(peek_snapshot(dir.path(), "model", 3), SnapshotRead::Damaged { .. }));
    }
}
