//! Durable queues: named FIFO inboxes in the database file (the weaver's
//! event inbox), with dedupe by item id, leases and a dead-letter list.
//!
//! Every operation is a method of [`Database`] and runs through its write or
//! read path, so inside an open transaction it joins that transaction: a
//! consumer acknowledges items in the same commit as the work they caused.
//!
//! Layout of the `queues` table (`q` = queue name, never containing NUL):
//! - `c ‖ q`               → counters: next sequence, pending, done, dead (u64 each)
//! - `i ‖ q ‖ 0 ‖ seq`     → a pending item: id, enqueued at, payload
//! - `l ‖ q ‖ 0 ‖ seq`     → its lease: holder, expiry (ms), attempts so far
//! - `d ‖ q ‖ 0 ‖ id`      → every id ever pushed: its sequence and state
//! - `x ‖ q ‖ 0 ‖ seq`     → a dead letter: id, failed at, attempts, error, payload
//!
//! Invariants:
//! - An id is stored at most once per queue, ever: `d` entries are never
//!   removed, so a repeated push (even after the item was done) is a no-op.
//! - An item is pending (`i` present) until acknowledged or dead-lettered;
//!   `pending` counts `i` entries, `done` and `dead` count the transitions.
//! - An item can be leased when it has no lease record or its expiry has
//!   passed. A lease with an empty holder is a released item waiting until
//!   its expiry (retry back-off). Only the current holder may acknowledge,
//!   release or dead-letter an item; anyone else gets `CONFLICT`, so a
//!   consumer whose lease was taken over cannot commit work for it.

use crate::storage::codec::{open as unseal, read_u64_be, seal, Reader, Writer};
use crate::storage::handle::Database;
use crate::error::{Code, Error, Result};
use crate::storage::writing::Writing;
use heed::{RoTxn, RwTxn};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Longest queue name, in UTF-8 bytes.
pub const MAX_QUEUE_NAME_BYTES: usize = 64;
/// Longest item id, in UTF-8 bytes.
pub const MAX_QUEUE_ID_BYTES: usize = 256;

/// An item to push.
#[derive(Debug, Clone, Deserialize)]
pub struct QueueItem {
    pub id: String,
    pub payload: String,
}

/// An item handed to a consumer by [`Database::queue_lease`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeasedItem {
    pub seq: u64,
    pub id: String,
    pub payload: String,
    /// Leases taken on this item so far, this one included.
    pub attempts: u32,
    #[serde(rename = "enqueuedAt")]
    pub enqueued_at: i64,
}

/// An item that failed for good, with the reason.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeadLetter {
    pub seq: u64,
    pub id: String,
    pub payload: String,
    pub attempts: u32,
    pub error: String,
    #[serde(rename = "failedAt")]
    pub failed_at: i64,
}

/// Counts of one queue, committed state only.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct QueueStats {
    /// Pushed and not yet acknowledged or dead-lettered (leased ones included).
    pub pending: u64,
    pub done: u64,
    pub dead: u64,
}

#[derive(Clone, Copy, Default)]
struct Counters {
    next_seq: u64,
    stats: QueueStats,
}

/// The state of an id in the `d` entries.
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq)]
enum IdState {
    Pending = 0,
    Done = 1,
    Dead = 2,
}

struct Lease {
    holder: String,
    expires: i64,
    attempts: u32,
}

fn check_name(queue: &str) -> Result<()> {
    if queue.is_empty() || queue.len() > MAX_QUEUE_NAME_BYTES || queue.contains('\0') {
        return Err(Error::invalid(format!(
            "queue name must be 1 to {MAX_QUEUE_NAME_BYTES} bytes without NUL, got {queue:?}"
        )));
    }
    Ok(())
}

fn check_holder(holder: &str) -> Result<()> {
    if holder.is_empty() || holder.len() > MAX_QUEUE_ID_BYTES {
        return Err(Error::invalid(format!("lease holder must be 1 to {MAX_QUEUE_ID_BYTES} bytes, got {holder:?}")));
    }
    Ok(())
}

fn key(tag: u8, queue: &str, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + queue.len() + rest.len());
    k.push(tag);
    k.extend_from_slice(queue.as_bytes());
    k.push(0);
    k.extend_from_slice(rest);
    k
}

fn counters_key(queue: &str) -> Vec<u8> {
    let mut k = vec![b'c'];
    k.extend_from_slice(queue.as_bytes());
    k
}

fn read_counters(txn: &RoTxn, w: &crate::storage::store::Tables, queue: &str) -> Result<Counters> {
    let k = counters_key(queue);
    let Some(v) = w.queues.get(txn, &k)? else { return Ok(Counters { next_seq: 1, ..Counters::default() }) };
    decode_counters(queue, &k, v)
}

/// A sealed counters entry, as [`write_counters`] writes it.
fn decode_counters(queue: &str, k: &[u8], v: &[u8]) -> Result<Counters> {
    let mut r = Reader::new(unseal(k, v, || format!("queue \"{queue}\" counters"))?);
    Ok(Counters { next_seq: r.u64()?, stats: QueueStats { pending: r.u64()?, done: r.u64()?, dead: r.u64()? } })
}

fn write_counters(txn: &mut RwTxn, w: &Writing, queue: &str, c: Counters) -> Result<()> {
    let k = counters_key(queue);
    let mut out = Writer::default();
    out.u64(c.next_seq).u64(c.stats.pending).u64(c.stats.done).u64(c.stats.dead);
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    Ok(w.queues.put(txn, &k, &seal(&k, &out.buf))?)
}

fn read_lease(txn: &RoTxn, w: &crate::storage::store::Tables, queue: &str, seq: u64) -> Result<Option<Lease>> {
    let k = key(b'l', queue, &seq.to_be_bytes());
    let Some(v) = w.queues.get(txn, &k)? else { return Ok(None) };
    decode_lease(queue, seq, &k, v).map(Some)
}

/// A sealed lease entry, as [`write_lease`] writes it.
fn decode_lease(queue: &str, seq: u64, k: &[u8], v: &[u8]) -> Result<Lease> {
    let mut r = Reader::new(unseal(k, v, || format!("queue \"{queue}\" lease #{seq}"))?);
    Ok(Lease { holder: r.str()?.to_owned(), expires: r.i64()?, attempts: r.u32()? })
}

fn write_lease(txn: &mut RwTxn, w: &Writing, queue: &str, seq: u64, lease: &Lease) -> Result<()> {
    let k = key(b'l', queue, &seq.to_be_bytes());
    let mut out = Writer::default();
    out.str(&lease.holder).i64(lease.expires).u32(lease.attempts);
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    Ok(w.queues.put(txn, &k, &seal(&k, &out.buf))?)
}

fn set_id_state(txn: &mut RwTxn, w: &Writing, queue: &str, id: &str, seq: u64, state: IdState) -> Result<()> {
    let k = key(b'd', queue, id.as_bytes());
    let mut out = Writer::default();
    out.u64(seq).buf.push(state as u8);
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    Ok(w.queues.put(txn, &k, &seal(&k, &out.buf))?)
}

/// A sealed dead letter under key `prefix ‖ seq` (`prefix_len` bytes of
/// prefix); a key too short for its sequence is `CORRUPTION`.
fn decode_dead_letter(queue: &str, prefix_len: usize, k: &[u8], v: &[u8]) -> Result<DeadLetter> {
    let seq = match k.get(prefix_len..) {
        Some(rest) if rest.len() == 8 => read_u64_be(rest),
        _ => return Err(Error::corruption(format!("queue \"{queue}\" has a dead letter key of {} bytes", k.len()))),
    };
    let mut r = Reader::new(unseal(k, v, || format!("queue \"{queue}\" dead letter #{seq}"))?);
    let id = r.str()?.to_owned();
    let failed_at = r.i64()?;
    let attempts = r.u32()?;
    let error = r.str()?.to_owned();
    let payload = String::from_utf8(r.tail().to_vec()).map_err(|_| Error::corruption(format!("queue \"{queue}\" dead letter #{seq} holds invalid UTF-8")))?;
    Ok(DeadLetter { seq, id, payload, attempts, error, failed_at })
}

/// A pending item: `(id, enqueued at, payload)`.
fn read_item<'t>(queue: &str, seq: u64, k: &[u8], v: &'t [u8]) -> Result<(&'t str, i64, &'t str)> {
    let mut r = Reader::new(unseal(k, v, || format!("queue \"{queue}\" item #{seq}"))?);
    let id = r.str()?;
    let at = r.i64()?;
    let payload = std::str::from_utf8(r.tail()).map_err(|_| Error::corruption(format!("queue \"{queue}\" item #{seq} holds invalid UTF-8")))?;
    Ok((id, at, payload))
}

/// The current holder's lease on `seq`; otherwise `NOT_FOUND` for an item
/// the queue never had, or `CONFLICT` saying what became of it.
fn held_lease(txn: &RoTxn, w: &crate::storage::store::Tables, queue: &str, holder: &str, seq: u64) -> Result<Lease> {
    let item = w.queues.get(txn, &key(b'i', queue, &seq.to_be_bytes()))?;
    match (item, read_lease(txn, w, queue, seq)?) {
        (Some(_), Some(lease)) if lease.holder == holder => Ok(lease),
        (Some(_), Some(lease)) => Err(Error::new(
            Code::Conflict,
            format!("queue \"{queue}\" item #{seq} is leased by \"{}\", not \"{holder}\" (a lease that expired was taken over)", lease.holder),
        )),
        (Some(_), None) => Err(Error::new(Code::Conflict, format!("queue \"{queue}\" item #{seq} is pending but not leased; lease it before acknowledging or releasing it"))),
        (None, _) if seq == 0 || seq >= read_counters(txn, w, queue)?.next_seq => {
            Err(Error::not_found(format!("queue \"{queue}\" has no item #{seq}; seqs come from the items a lease returns")))
        }
        (None, _) => Err(Error::new(Code::Conflict, format!("queue \"{queue}\" item #{seq} is no longer pending (it was acknowledged or dead-lettered)"))),
    }
}

impl Database {
    /// Appends the items whose ids the queue has never seen, in order, and
    /// returns for each whether it was stored (`false`: a duplicate id, also
    /// when repeated within `items`).
    pub fn queue_push(&self, queue: &str, items: &[QueueItem], now: i64) -> Result<Vec<bool>> {
        check_name(queue)?;
        for (i, item) in items.iter().enumerate() {
            if item.id.is_empty() || item.id.len() > MAX_QUEUE_ID_BYTES {
                return Err(Error::invalid(format!("items[{i}].id must be 1 to {MAX_QUEUE_ID_BYTES} bytes, got {:?}", item.id)));
            }
        }
        self.write(|txn, w| {
            let mut c = read_counters(txn, w, queue)?;
            let mut seen = HashSet::with_capacity(items.len());
            let mut stored = Vec::with_capacity(items.len());
            for item in items {
                let fresh = seen.insert(item.id.as_str()) && w.queues.get(txn, &key(b'd', queue, item.id.as_bytes()))?.is_none();
                if fresh {
                    let seq = c.next_seq;
                    c.next_seq += 1;
                    c.stats.pending += 1;
                    let k = key(b'i', queue, &seq.to_be_bytes());
                    let mut out = Writer::default();
                    out.str(&item.id).i64(now).tail(item.payload.as_bytes());
                    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
                    w.queues.put(txn, &k, &seal(&k, &out.buf))?;
                    set_id_state(txn, w, queue, &item.id, seq, IdState::Pending)?;
                }
                stored.push(fresh);
            }
            write_counters(txn, w, queue, c)?;
            Ok(stored)
        })
    }

    /// Leases up to `max` items, oldest first, to `holder` until
    /// `now + lease_ms`: items never leased, released ones whose back-off has
    /// passed, and ones whose lease expired (a consumer that died).
    pub fn queue_lease(&self, queue: &str, holder: &str, max: usize, lease_ms: u64, now: i64) -> Result<Vec<LeasedItem>> {
        check_name(queue)?;
        check_holder(holder)?;
        let expires = now.saturating_add(i64::try_from(lease_ms).unwrap_or(i64::MAX));
        self.write(|txn, w| {
            let mut taken = Vec::new();
            let prefix = key(b'i', queue, &[]);
            for entry in w.queues.prefix_iter(txn, &prefix)? {
                if taken.len() >= max {
                    break;
                }
                let (k, v) = entry?;
                let seq = read_u64_be(&k[prefix.len()..]);
                let attempts = match read_lease(txn, w, queue, seq)? {
                    Some(lease) if lease.expires > now => continue,
                    Some(lease) => lease.attempts,
                    None => 0,
                };
                let (id, enqueued_at, payload) = read_item(queue, seq, k, v)?;
                taken.push(LeasedItem { seq, id: id.to_owned(), payload: payload.to_owned(), attempts: attempts + 1, enqueued_at });
            }
            for item in &taken {
                write_lease(txn, w, queue, item.seq, &Lease { holder: holder.to_owned(), expires, attempts: item.attempts })?;
            }
            Ok(taken)
        })
    }

    /// Marks leased items done: removes them and their leases. `CONFLICT` if
    /// any is not (or no longer) leased by `holder`; then nothing changes.
    pub fn queue_ack(&self, queue: &str, holder: &str, seqs: &[u64]) -> Result<()> {
        check_name(queue)?;
        check_holder(holder)?;
        self.write(|txn, w| {
            let mut c = read_counters(txn, w, queue)?;
            for &seq in unique(seqs)? {
                held_lease(txn, w, queue, holder, seq)?;
                let id = take_item(txn, w, queue, seq)?.0;
                set_id_state(txn, w, queue, &id, seq, IdState::Done)?;
                c.stats.pending -= 1;
                c.stats.done += 1;
            }
            write_counters(txn, w, queue, c)
        })
    }

    /// Gives leased items back for another attempt, not before
    /// `now + delay_ms`. Items `holder` no longer holds are skipped.
    pub fn queue_release(&self, queue: &str, holder: &str, seqs: &[u64], delay_ms: u64, now: i64) -> Result<()> {
        check_name(queue)?;
        check_holder(holder)?;
        let not_before = now.saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX));
        self.write(|txn, w| {
            for &seq in unique(seqs)? {
                if let Ok(lease) = held_lease(txn, w, queue, holder, seq) {
                    write_lease(txn, w, queue, seq, &Lease { holder: String::new(), expires: not_before, attempts: lease.attempts })?;
                }
            }
            Ok(())
        })
    }

    /// Moves a leased item to the dead letters with `error`. `CONFLICT` if
    /// `holder` does not hold it.
    pub fn queue_dead_letter(&self, queue: &str, holder: &str, seq: u64, error: &str, now: i64) -> Result<()> {
        check_name(queue)?;
        check_holder(holder)?;
        self.write(|txn, w| {
            let lease = held_lease(txn, w, queue, holder, seq)?;
            let (id, payload) = take_item(txn, w, queue, seq)?;
            let k = key(b'x', queue, &seq.to_be_bytes());
            let mut out = Writer::default();
            out.str(&id).i64(now).u32(lease.attempts).str(error).tail(payload.as_bytes());
            crate::storage::fault::check(crate::storage::fault::Point::Write)?;
            w.queues.put(txn, &k, &seal(&k, &out.buf))?;
            set_id_state(txn, w, queue, &id, seq, IdState::Dead)?;
            let mut c = read_counters(txn, w, queue)?;
            c.stats.pending -= 1;
            c.stats.dead += 1;
            write_counters(txn, w, queue, c)
        })
    }

    pub fn queue_stats(&self, queue: &str) -> Result<QueueStats> {
        check_name(queue)?;
        self.read(|txn, t| Ok(read_counters(txn, t, queue)?.stats))
    }

    /// The oldest `limit` dead letters.
    pub fn queue_dead_letters(&self, queue: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        check_name(queue)?;
        self.read(|txn, t| {
            let prefix = key(b'x', queue, &[]);
            let mut out = Vec::new();
            for entry in t.queues.prefix_iter(txn, &prefix)?.take(limit) {
                let (k, v) = entry?;
                out.push(decode_dead_letter(queue, prefix.len(), k, v)?);
            }
            Ok(out)
        })
    }
}

/// `seqs`, refusing repeats (acknowledging an item twice is a caller bug).
fn unique(seqs: &[u64]) -> Result<&[u64]> {
    let mut seen = HashSet::with_capacity(seqs.len());
    match seqs.iter().find(|s| !seen.insert(**s)) {
        Some(s) => Err(Error::invalid(format!("seqs lists item #{s} twice"))),
        None => Ok(seqs),
    }
}

/// Removes a pending item and its lease; returns its id and payload.
fn take_item(txn: &mut RwTxn, w: &Writing, queue: &str, seq: u64) -> Result<(String, String)> {
    let k = key(b'i', queue, &seq.to_be_bytes());
    let v = w.queues.get(txn, &k)?.ok_or_else(|| Error::new(Code::Conflict, format!("queue \"{queue}\" item #{seq} is not pending")))?;
    let (id, _, payload) = read_item(queue, seq, &k, v)?;
    let (id, payload) = (id.to_owned(), payload.to_owned());
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    w.queues.delete(txn, &k)?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    w.queues.delete(txn, &key(b'l', queue, &seq.to_be_bytes()))?;
    Ok((id, payload))
}

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

/// Problems in the queues table (for `verify`): counters that disagree
/// with the entries, pending items without their id record, leases or id
/// states without the item they describe. Reads only.
pub(crate) fn consistency(txn: &RoTxn, t: &crate::storage::store::Tables) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut queues = Vec::new();
    for entry in t.queues.prefix_iter(txn, b"c")? {
        let (k, _) = entry?;
        queues.push(String::from_utf8_lossy(&k[1..]).into_owned());
    }
    for queue in queues {
        let counters = read_counters(txn, t, &queue)?;
        let seq_of = |k: &[u8]| k.len().checked_sub(8).map(|at| read_u64_be(&k[at..]));
        let mut pending = HashSet::new();
        for entry in t.queues.prefix_iter(txn, &key(b'i', &queue, &[]))? {
            let (k, v) = entry?;
            let seq = seq_of(k).unwrap_or(u64::MAX);
            let (id, _, _) = read_item(&queue, seq, k, v)?;
            let state = t.queues.get(txn, &key(b'd', &queue, id.as_bytes()))?.map(|v| unseal(&key(b'd', &queue, id.as_bytes()), v, String::new).map(<[u8]>::to_vec)).transpose()?;
            if seq >= counters.next_seq || state.as_deref().is_none_or(|d| d.len() != 9 || le_u64(d) != seq || d[8] != IdState::Pending as u8) {
                problems.push(format!("queue \"{queue}\" item #{seq} (id \"{id}\") has no matching pending id record"));
            }
            pending.insert(seq);
        }
        let mut dead = HashSet::new();
        for entry in t.queues.prefix_iter(txn, &key(b'x', &queue, &[]))? {
            dead.insert(seq_of(entry?.0).unwrap_or(u64::MAX));
        }
        for entry in t.queues.prefix_iter(txn, &key(b'l', &queue, &[]))? {
            let seq = seq_of(entry?.0).unwrap_or(u64::MAX);
            if !pending.contains(&seq) {
                problems.push(format!("queue \"{queue}\" has a lease on item #{seq}, which is not pending"));
            }
        }
        let mut done = 0u64;
        for entry in t.queues.prefix_iter(txn, &key(b'd', &queue, &[]))? {
            let (k, v) = entry?;
            let d = unseal(k, v, String::new)?;
            if d.len() != 9 {
                problems.push(format!("queue \"{queue}\" id record {} is malformed", crate::storage::codec::hex(k)));
                continue;
            }
            let seq = le_u64(d);
            let ok = match d[8] {
                x if x == IdState::Pending as u8 => pending.contains(&seq),
                x if x == IdState::Dead as u8 => dead.contains(&seq),
                x if x == IdState::Done as u8 => {
                    done += 1;
                    true
                }
                _ => false,
            };
            if !ok {
                problems.push(format!("queue \"{queue}\" id record for item #{seq} disagrees with the items and dead letters"));
            }
        }
        let found = QueueStats { pending: pending.len() as u64, done, dead: dead.len() as u64 };
        if found != counters.stats {
            problems.push(format!("queue \"{queue}\" counts {:?}; its entries make {found:?}", counters.stats));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OpenOptions;

    fn items(ids: &[&str]) -> Vec<QueueItem> {
        ids.iter().map(|id| QueueItem { id: (*id).into(), payload: format!("payload of {id}") }).collect()
    }

    fn open(dir: &std::path::Path) -> Database {
        Database::open(dir, OpenOptions::default()).unwrap()
    }

    #[test]
    fn ids_are_stored_once_even_after_they_are_done() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        assert_eq!(db.queue_push("q", &items(&["a", "b", "a"]), 1).unwrap(), [true, true, false]);
        let leased = db.queue_lease("q", "w1", 10, 1000, 2).unwrap();
        assert_eq!(leased.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(leased[0].payload, "payload of a");
        db.queue_ack("q", "w1", &[leased[0].seq, leased[1].seq]).unwrap();
        assert_eq!(db.queue_push("q", &items(&["a", "c"]), 3).unwrap(), [false, true]);
        assert_eq!(db.queue_stats("q").unwrap(), QueueStats { pending: 1, done: 2, dead: 0 });
        assert_eq!(db.queue_stats("other").unwrap(), QueueStats::default());
    }

    #[test]
    fn leases_exclude_others_until_they_expire_and_the_old_holder_cannot_ack() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.queue_push("q", &items(&["a", "b", "c"]), 0).unwrap();
        let first = db.queue_lease("q", "w1", 2, 100, 10).unwrap();
        assert_eq!(first.len(), 2);
        let second = db.queue_lease("q", "w2", 10, 1000, 50).unwrap();
        assert_eq!(second.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["c"]);
        // w1 died; at t=200 its lease has expired and w2 takes over.
        let taken = db.queue_lease("q", "w2", 10, 100, 200).unwrap();
        assert_eq!(taken.iter().map(|i| (i.id.as_str(), i.attempts)).collect::<Vec<_>>(), [("a", 2), ("b", 2)]);
        let err = db.queue_ack("q", "w1", &[first[0].seq]).unwrap_err();
        assert_eq!(err.code, Code::Conflict);
        db.queue_ack("q", "w2", &[taken[0].seq, taken[1].seq, second[0].seq]).unwrap();
        assert_eq!(db.queue_stats("q").unwrap(), QueueStats { pending: 0, done: 3, dead: 0 });
        assert_eq!(db.queue_ack("q", "w2", &[taken[0].seq]).unwrap_err().code, Code::Conflict);
    }

    #[test]
    fn a_failed_ack_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.queue_push("q", &items(&["a", "b"]), 0).unwrap();
        let a = db.queue_lease("q", "w1", 1, 100, 0).unwrap();
        let b = db.queue_lease("q", "w2", 1, 100, 0).unwrap();
        assert_eq!(db.queue_ack("q", "w1", &[a[0].seq, b[0].seq]).unwrap_err().code, Code::Conflict);
        assert_eq!(db.queue_stats("q").unwrap().pending, 2);
        assert_eq!(db.queue_ack("q", "w1", &[a[0].seq, a[0].seq]).unwrap_err().code, Code::InvalidArgument);
        db.queue_ack("q", "w1", &[a[0].seq]).unwrap();
    }

    #[test]
    fn released_items_wait_out_their_back_off() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.queue_push("q", &items(&["a"]), 0).unwrap();
        let a = db.queue_lease("q", "w1", 1, 1000, 0).unwrap();
        db.queue_release("q", "w1", &[a[0].seq], 50, 10).unwrap();
        assert!(db.queue_lease("q", "w1", 1, 1000, 59).unwrap().is_empty());
        let again = db.queue_lease("q", "w1", 1, 1000, 60).unwrap();
        assert_eq!(again[0].attempts, 2);
    }

    #[test]
    fn dead_letters_keep_the_item_and_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.queue_push("q", &items(&["a", "b"]), 0).unwrap();
        let leased = db.queue_lease("q", "w1", 2, 1000, 0).unwrap();
        assert_eq!(db.queue_dead_letter("q", "w2", leased[0].seq, "nope", 5).unwrap_err().code, Code::Conflict);
        db.queue_dead_letter("q", "w1", leased[0].seq, "bad input: x", 5).unwrap();
        let dead = db.queue_dead_letters("q", 10).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].id.as_str(), dead[0].error.as_str(), dead[0].payload.as_str(), dead[0].attempts), ("a", "bad input: x", "payload of a", 1));
        assert_eq!(db.queue_stats("q").unwrap(), QueueStats { pending: 1, done: 0, dead: 1 });
        assert_eq!(db.queue_push("q", &items(&["a"]), 6).unwrap(), [false]);
    }

    #[test]
    fn acks_inside_a_transaction_roll_back_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        db.queue_push("q", &items(&["a"]), 0).unwrap();
        let a = db.queue_lease("q", "w1", 1, 1000, 0).unwrap();
        let (tx, in_tx) = db.begin(db.lock_writer().unwrap()).unwrap();
        in_tx.queue_ack("q", "w1", &[a[0].seq]).unwrap();
        assert_eq!(in_tx.queue_stats("q").unwrap().pending, 0);
        tx.rollback().unwrap();
        assert_eq!(db.queue_stats("q").unwrap().pending, 1);
    }

    #[test]
    fn names_and_ids_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path());
        assert_eq!(db.queue_push("", &items(&["a"]), 0).unwrap_err().code, Code::InvalidArgument);
        assert_eq!(db.queue_push("q\0", &items(&["a"]), 0).unwrap_err().code, Code::InvalidArgument);
        let err = db.queue_push("q", &items(&["ok", ""]), 0).unwrap_err();
        assert!(err.message.contains("items[1].id"));
        assert_eq!(db.queue_stats("q").unwrap().pending, 0);
        assert_eq!(db.queue_lease("q", "", 1, 1, 0).unwrap_err().code, Code::InvalidArgument);
    }
}

/// Properties: every decoder of a queue entry answers `Ok` or `CORRUPTION`
/// for any bytes, never panics; what the writers lay out reads back.
#[cfg(test)]
mod props {
    use super::*;
    use crate::Code;
    use proptest::prelude::*;

    /// Every decoder of queue entries on one key and value: each must give Ok or CORRUPTION.
    fn decode_all(k: &[u8], v: &[u8], prefix_len: usize) -> Vec<Code> {
        [
            decode_counters("q", k, v).err(),
            decode_lease("q", 1, k, v).err(),
            decode_dead_letter("q", prefix_len, k, v).err(),
            read_item("q", 1, k, v).err(),
        ]
        .into_iter()
        .flatten()
        .map(|e| e.code)
        .collect()
    }

    proptest! {
        #[test]
        fn decoders_take_any_bytes(k in prop::collection::vec(any::<u8>(), 0..24), v in any::<Vec<u8>>(), prefix_len in 0usize..24) {
            for code in decode_all(&k, &v, prefix_len) {
                prop_assert_eq!(code, Code::Corruption);
            }
        }

        #[test]
        fn sealed_garbage_is_corruption_not_a_panic(k in prop::collection::vec(any::<u8>(), 0..24), payload in any::<Vec<u8>>(), prefix_len in 0usize..24) {
            // Past the checksum: the layouts themselves meet arbitrary payloads.
            let v = seal(&k, &payload);
            for code in decode_all(&k, &v, prefix_len) {
                prop_assert_eq!(code, Code::Corruption);
            }
        }

        #[test]
        fn entries_round_trip(queue in "[a-z]{1,8}", seq in any::<u64>(), id in any::<String>(), holder in any::<String>(), at in any::<i64>(), attempts in any::<u32>(), error in any::<String>(), payload in any::<String>(), counts in any::<[u64; 4]>()) {
            let k = counters_key(&queue);
            let mut out = Writer::default();
            out.u64(counts[0]).u64(counts[1]).u64(counts[2]).u64(counts[3]);
            let c = decode_counters(&queue, &k, &seal(&k, &out.buf)).unwrap();
            prop_assert_eq!([c.next_seq, c.stats.pending, c.stats.done, c.stats.dead], counts);

            let k = key(b'l', &queue, &seq.to_be_bytes());
            let mut out = Writer::default();
            out.str(&holder).i64(at).u32(attempts);
            let l = decode_lease(&queue, seq, &k, &seal(&k, &out.buf)).unwrap();
            prop_assert_eq!((l.holder, l.expires, l.attempts), (holder, at, attempts));

            let prefix = key(b'x', &queue, &[]);
            let k = key(b'x', &queue, &seq.to_be_bytes());
            let mut out = Writer::default();
            out.str(&id).i64(at).u32(attempts).str(&error).tail(payload.as_bytes());
            let d = decode_dead_letter(&queue, prefix.len(), &k, &seal(&k, &out.buf)).unwrap();
            prop_assert_eq!(d, DeadLetter { seq, id: id.clone(), payload: payload.clone(), attempts, error, failed_at: at });

            let k = key(b'i', &queue, &seq.to_be_bytes());
            let mut out = Writer::default();
            out.str(&id).i64(at).tail(payload.as_bytes());
            let v = seal(&k, &out.buf);
            prop_assert_eq!(read_item(&queue, seq, &k, &v).unwrap(), (id.as_str(), at, payload.as_str()));
        }
    }
}
