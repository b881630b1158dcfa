//! Online backups and restores.
//!
//! A backup is a directory holding `data.mdb` — a compacted copy of one
//! committed snapshot, taken while readers and writers in every process go
//! on — and `loomdb-backup.json`, its manifest (format versions, length and
//! xxh3-64 of `data.mdb`). Vector index sidecars (`*.hnsw`) are derived
//! from the embeddings and are not copied: a restored database rebuilds them.
//!
//! Invariants:
//! - A backup appears at its destination whole (written beside it, synced,
//!   then renamed) or not at all.
//! - A restore checks the backup completely — manifest, hash, page
//!   structure, then every record through the engine — in a staging
//!   directory beside the target, and touches the target only after that
//!   passed; an occupied target is replaced only with `overwrite` and only
//!   when no process has it open.

use crate::storage::copy::{self, Progress};
use crate::storage::meta::FORMAT_VERSION;
use crate::storage::handle::Database;
use crate::error::{Code, Error, Result};
use crate::storage::pagecheck::{self, Snapshot};
use crate::storage::presence::Presence;
use crate::storage::store::{sync_dir, Store};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const MANIFEST: &str = "loomdb-backup.json";
const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub loomdb_backup: u32,
    pub format_version: u32,
    pub created_at: i64,
    pub data_bytes: u64,
    /// xxh3-64 of `data.mdb`, 16 hex digits.
    pub data_xxh3: String,
}

/// What `backup` wrote.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupReport {
    pub path: String,
    pub bytes: u64,
    pub format_version: u32,
}

/// What `restore` did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub path: String,
    pub bytes: u64,
    pub nodes: u64,
    pub edges: u64,
    pub replaced: bool,
}

/// Writes a backup of `db`'s committed data to the new directory `dest`
/// (which must not exist, or be empty). `progress` sees bytes copied.
pub fn backup(db: &Database, dest: &Path, progress: Progress) -> Result<BackupReport> {
    require_free(dest, "backup destination")?;
    if dest.starts_with(db.path()) || Path::new(db.path()) == dest {
        return Err(Error::invalid(format!("backup destination {} is inside the database directory {}", dest.display(), db.path().display())));
    }
    let store = db.store();
    let expected = store.usage()?.used_bytes;
    let format_version = db.stats()?.format_version;
    let staging = sibling(dest, "partial")?;
    let _ = std::fs::remove_dir_all(&staging);
    clear_stale_siblings(dest, "partial");
    std::fs::create_dir_all(&staging).map_err(|e| Error::new(Code::Io, format!("cannot create {}: {e}", staging.display())))?;
    let written = (|| {
        let data = staging.join("data.mdb");
        let copied = copy::snapshot_to(store, &data, true, expected, progress)?;
        check_pages(&data, "the copy of the database")?;
        let manifest = Manifest {
            loomdb_backup: MANIFEST_VERSION,
            format_version,
            created_at: crate::now_ms(),
            data_bytes: copied.bytes,
            data_xxh3: format!("{:016x}", copied.xxh3),
        };
        write_synced(&staging.join(MANIFEST), serde_json::to_string_pretty(&manifest).expect("serializes").as_bytes())?;
        sync_dir(&staging)?;
        move_into_place(&staging, dest)?;
        Ok(BackupReport { path: dest.display().to_string(), bytes: copied.bytes, format_version })
    })();
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

/// Reads a backup's manifest and checks `data.mdb` against it.
pub fn check_backup(backup: &Path) -> Result<Manifest> {
    let manifest_path = backup.join(MANIFEST);
    let text = std::fs::read(&manifest_path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound if !backup.exists() => Error::not_found(format!("no backup at {}", backup.display())),
        std::io::ErrorKind::NotFound => Error::corruption(format!("{} is not a LoomDB backup: it has no {MANIFEST}", backup.display())),
        _ => Error::new(Code::Io, format!("cannot read {}: {e}", manifest_path.display())),
    })?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| Error::corruption(format!("backup manifest {} is damaged: {e}", manifest_path.display())))?;
    if manifest.loomdb_backup != MANIFEST_VERSION {
        return Err(Error::new(
            Code::Unsupported,
            format!("backup {} has manifest version {}; this build reads version {MANIFEST_VERSION}", backup.display(), manifest.loomdb_backup),
        ));
    }
    if manifest.format_version > FORMAT_VERSION {
        return Err(Error::new(
            Code::Unsupported,
            format!("backup {} holds format version {}; this build reads format version {FORMAT_VERSION} and older", backup.display(), manifest.format_version),
        ));
    }
    let data = backup.join("data.mdb");
    let found = copy::hash_file(&data).map_err(|e| Error::corruption(format!("backup {} has no readable data.mdb: {e}", backup.display())))?;
    let hex = format!("{:016x}", found.xxh3);
    if found.bytes != manifest.data_bytes || hex != manifest.data_xxh3 {
        return Err(Error::corruption(format!(
            "backup {} is damaged: data.mdb has {} bytes with xxh3 {hex}, its manifest recorded {} bytes with xxh3 {}",
            backup.display(),
            found.bytes,
            manifest.data_bytes,
            manifest.data_xxh3
        )));
    }
    Ok(manifest)
}

/// Restores the backup at `backup` into `target`; see the module invariants.
pub fn restore(backup: &Path, target: &Path, overwrite: bool, progress: Progress) -> Result<RestoreReport> {
    let (from, to) = (resolved(backup), resolved(target));
    if to.starts_with(&from) {
        return Err(Error::invalid(format!(
            "restore target {} is the backup directory {} or inside it; restore into another directory",
            target.display(),
            backup.display()
        )));
    }
    if from.starts_with(&to) {
        return Err(Error::invalid(format!(
            "backup {} is inside the restore target {}, which the restore would replace; restore into another directory",
            backup.display(),
            target.display()
        )));
    }
    let occupied = !is_empty_or_missing(target)?;
    if occupied && !overwrite {
        return Err(Error::already_exists(format!("restore target {} is not empty; pass overwrite to replace it", target.display())));
    }
    let manifest = check_backup(backup)?;
    let staging = sibling(target, "restoring")?;
    let _ = std::fs::remove_dir_all(&staging);
    // Not `replaced-<pid>`: after a kill mid-swap it may hold the only copy of the old target.
    clear_stale_siblings(target, "restoring");
    std::fs::create_dir_all(&staging).map_err(|e| Error::new(Code::Io, format!("cannot create {}: {e}", staging.display())))?;
    let restored = (|| {
        copy_file(&backup.join("data.mdb"), &staging.join("data.mdb"), manifest.data_bytes, progress)?;
        check_pages(&staging.join("data.mdb"), &format!("backup {}", backup.display()))?;
        let (nodes, edges) = {
            let db = Database::open(&staging, crate::OpenOptions { read_only: true, ..crate::OpenOptions::default() })?;
            let report = crate::ops::verify::verify(&db)?;
            if let Some(first) = report.errors.first() {
                return Err(Error::corruption(format!(
                    "backup {} is damaged: {} ({} problem{} found by verify)",
                    backup.display(),
                    first.message,
                    report.errors.len(),
                    if report.errors.len() == 1 { "" } else { "s" }
                )));
            }
            let stats = db.stats()?;
            (stats.nodes, stats.edges)
        };
        let _ = std::fs::remove_file(staging.join("lock.mdb"));
        if occupied {
            if Store::is_open_here(target) {
                return Err(Error::new(Code::Locked, format!("restore target {} is open in this process; close it first", target.display())));
            }
            let presence = Presence::join(target, Duration::ZERO)?;
            let _alone = presence.exclusive("restore")?;
            let old = sibling(target, "replaced")?;
            let _ = std::fs::remove_dir_all(&old);
            std::fs::rename(target, &old).map_err(|e| Error::new(Code::Io, format!("cannot move {} aside: {e}", target.display())))?;
            if let Err(e) = std::fs::rename(&staging, target) {
                let _ = std::fs::rename(&old, target);
                return Err(Error::new(Code::Io, format!("cannot move the restored database to {}: {e}", target.display())));
            }
            drop(_alone);
            drop(presence);
            let _ = std::fs::remove_dir_all(&old);
        } else {
            move_into_place(&staging, target)?;
        }
        if let Some(parent) = target.parent() {
            sync_dir(parent)?;
        }
        Ok(RestoreReport { path: target.display().to_string(), bytes: manifest.data_bytes, nodes, edges, replaced: occupied })
    })();
    if restored.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    restored
}

/// `CORRUPTION` naming `what` unless the file's page structure is sound.
fn check_pages(data: &Path, what: &str) -> Result<()> {
    let report = pagecheck::check_file(data, Snapshot::Newest)
        .map_err(|e| Error::new(Code::Io, format!("cannot read {}: {e}", data.display())))?
        .expect("the newest snapshot always exists");
    match report.errors.first() {
        None => Ok(()),
        Some(first) => Err(Error::corruption(format!("{what} is damaged: {first} ({} problems)", report.errors.len()))),
    }
}

fn require_free(path: &Path, what: &str) -> Result<()> {
    if is_empty_or_missing(path)? {
        Ok(())
    } else {
        Err(Error::already_exists(format!("{what} {} already exists and is not empty", path.display())))
    }
}

fn is_empty_or_missing(path: &Path) -> Result<bool> {
    match std::fs::read_dir(path) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(Error::invalid(format!("{} is a file, not a directory", path.display()))),
        Err(e) => Err(Error::new(Code::Io, format!("cannot read {}: {e}", path.display()))),
    }
}

/// A hidden working directory next to `path`, unique to this process.
fn sibling(path: &Path, purpose: &str) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| Error::invalid(format!("{} does not name a directory", path.display())))?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Ok(parent.join(format!(".{}.{purpose}-{}", name.to_string_lossy(), std::process::id())))
}

/// `path` made absolute with its symbolic links resolved, as far as it exists.
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut missing = Vec::new();
    loop {
        if let Ok(mut real) = existing.canonicalize() {
            real.extend(missing.iter().rev());
            return real;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Removes the working directories [`sibling`] made for `path` and
/// `purpose` in processes that are gone (killed mid-way): a process still
/// running may be using its own. Best effort.
fn clear_stale_siblings(path: &Path, purpose: &str) {
    let (Some(name), Ok(own)) = (path.file_name(), sibling(path, purpose)) else { return };
    let Some(parent) = own.parent() else { return };
    let prefix = format!(".{}.{purpose}-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)).and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        let stale = entry.path();
        let _ = match std::fs::symlink_metadata(&stale) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&stale),
            _ => std::fs::remove_file(&stale),
        };
    }
}

/// Whether a process with this id exists (one we may not signal counts).
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let signalled = unsafe { libc::kill(pid, 0) } == 0;
    signalled || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Renames `from` to `to`, which is missing or an empty directory.
fn move_into_place(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::new(Code::Io, format!("cannot create {}: {e}", parent.display())))?;
    }
    std::fs::rename(from, to).map_err(|e| Error::new(Code::Io, format!("cannot move {} to {}: {e}", from.display(), to.display())))?;
    if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| Error::new(Code::Io, format!("cannot create {}: {e}", path.display())))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| Error::new(Code::Io, format!("cannot write {}: {e}", path.display())))
}

fn copy_file(from: &Path, to: &Path, expected: u64, progress: Progress) -> Result<()> {
    use std::io::{Read, Write};
    let io = |e: std::io::Error| Error::new(Code::Io, format!("cannot copy {} to {}: {e}", from.display(), to.display()));
    let mut src = std::fs::File::open(from).map_err(io)?;
    let mut dst = std::fs::File::options().write(true).create_new(true).open(to).map_err(io)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = src.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        dst.write_all(&buf[..n]).map_err(io)?;
        done += n as u64;
        if !progress(done, expected.max(done)) {
            return Err(Error::new(Code::Io, format!("restoring {} was cancelled", to.display())));
        }
    }
    dst.sync_all().map_err(io)
}

impl Database {
    /// See [`backup`].
    pub fn backup(&self, dest: &Path, progress: Progress) -> Result<BackupReport> {
        backup(self, dest, progress)
    }

    /// See [`restore`]. The target must not be open (in any process).
    pub fn restore(backup_dir: &Path, target: &Path, overwrite: bool, progress: Progress) -> Result<RestoreReport> {
        restore(backup_dir, target, overwrite, progress)
    }

    /// Checks a backup's manifest and hash without restoring it.
    pub fn check_backup(backup_dir: &Path) -> Result<Manifest> {
        check_backup(backup_dir)
    }
}

/// Properties: whatever bytes a backup's manifest holds, `check_backup`
/// answers with an error (`CORRUPTION` for an unreadable manifest or a
/// missing data file, `UNSUPPORTED` for versions it does not read) and
/// never panics.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn checked(manifest: &[u8]) -> Result<Manifest> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST), manifest).unwrap();
        check_backup(dir.path())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn manifests_of_any_bytes_are_refused(bytes in any::<Vec<u8>>()) {
            let e = checked(&bytes).unwrap_err();
            prop_assert!(matches!(e.code, Code::Corruption | Code::Unsupported), "{e:?}");
        }

        #[test]
        fn well_formed_manifests_without_data_are_refused(version in any::<u32>(), format in any::<u32>(), created in any::<i64>(), bytes in any::<u64>(), sum in "[0-9a-f]{0,20}") {
            let text = format!(r#"{{"loomdbBackup":{version},"formatVersion":{format},"createdAt":{created},"dataBytes":{bytes},"dataXxh3":"{sum}"}}"#);
            let e = checked(text.as_bytes()).unwrap_err();
            let expected = if version != MANIFEST_VERSION || format > FORMAT_VERSION { Code::Unsupported } else { Code::Corruption };
            prop_assert_eq!(e.code, expected, "{:?}", e);
        }
    }
}
