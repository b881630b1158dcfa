//! Write transactions that span several calls (`db.transaction(fn)` in JS).
//!
//! Invariants:
//! - From [`Transaction::begin`] until it ends, a transaction holds the
//!   writer lock (no other writer in any process) and a hold on the map
//!   guard (no map resize in this process).
//! - Only the thread that began it uses it, because LMDB's writer mutex
//!   belongs to that thread; a call from another thread gets `INTERNAL`.
//! - `levels[0]` is the root LMDB transaction and every later level a nested
//!   transaction (a savepoint) of the one before; only the top level is read
//!   or written. Each write call runs in a nested transaction of its own on
//!   top, so a call that fails leaves nothing behind and the transaction
//!   stays usable.
//! - Commit, rollback and drop end it; levels are aborted top first.
//!   Afterwards every call gets `INVALID_ARGUMENT`.

use crate::error::{Code, Error, Result};
use crate::storage::store::{MapHold, Store, Tables};
use crate::storage::writer_lock::WriterGuard;
use heed::{RoTxn, RwTxn};
use parking_lot::Mutex;
use std::sync::Arc;
use std::thread::{self, ThreadId};

pub struct Transaction {
    store: Arc<Store>,
    owner: ThreadId,
    durable: bool,
    state: Mutex<State>,
}

struct State {
    open: Option<Levels>,
    /// A call hit the end of the map; grow it once the transaction ends.
    outgrew_map: bool,
}

struct Levels {
    txns: Vec<RwTxn<'static>>,
    // Dropped after `txns` are aborted (see `Drop`), in this order.
    _hold: MapHold,
    _writer: WriterGuard,
}

impl Drop for Levels {
    fn drop(&mut self) {
        while let Some(txn) = self.txns.pop() {
            txn.abort();
        }
    }
}

impl Transaction {
    /// Begins a transaction on the calling thread with a writer lock taken
    /// on any thread.
    pub(crate) fn begin(store: &Arc<Store>, writer: WriterGuard, durable: bool) -> Result<Transaction> {
        writer.adopt();
        let (hold, root) = store.begin_long()?;
        Ok(Transaction {
            store: Arc::clone(store),
            owner: thread::current().id(),
            durable,
            state: Mutex::new(State { open: Some(Levels { txns: vec![root], _hold: hold, _writer: writer }), outgrew_map: false }),
        })
    }

    fn with_levels<T>(&self, f: impl FnOnce(&mut Levels, &mut bool) -> Result<T>) -> Result<T> {
        if thread::current().id() != self.owner {
            return Err(Error::internal("a transaction was used from a thread other than the one that began it"));
        }
        let mut state = self.state.lock();
        let State { open, outgrew_map } = &mut *state;
        match open {
            Some(levels) => f(levels, outgrew_map),
            None => Err(Error::invalid("the transaction has already ended")),
        }
    }

    /// Runs a read in the transaction: it sees the transaction's own writes.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&RoTxn<'_>, &Tables) -> Result<T>) -> Result<T> {
        self.with_levels(|levels, _| f(levels.txns.last().expect("a live transaction has a root"), self.store.held_tables()))
    }

    /// Runs one write call in a nested transaction: kept on success, undone on error.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut RwTxn<'_>, &Tables) -> Result<T>) -> Result<T> {
        self.with_levels(|levels, outgrew_map| {
            let top = levels.txns.last_mut().expect("a live transaction has a root");
            let mut call = self.store.nested(top)?;
            match f(&mut call, self.store.held_tables()) {
                Ok(v) => {
                    call.commit().map_err(|e| self.map_full(e.into(), outgrew_map))?;
                    Ok(v)
                }
                Err(e) => {
                    call.abort();
                    Err(self.map_full(e, outgrew_map))
                }
            }
        })
    }

    /// Opens a savepoint: later writes can be undone without ending the transaction.
    pub fn savepoint(&self) -> Result<()> {
        self.with_levels(|levels, _| {
            let top = levels.txns.last_mut().expect("a live transaction has a root");
            let child = self.store.nested(top)?;
            levels.txns.push(child);
            Ok(())
        })
    }

    /// Ends the newest savepoint, keeping (`keep`) or undoing its writes.
    pub fn end_savepoint(&self, keep: bool) -> Result<()> {
        self.with_levels(|levels, outgrew_map| {
            if levels.txns.len() < 2 {
                return Err(Error::invalid("there is no open savepoint"));
            }
            let txn = levels.txns.pop().expect("checked above");
            if keep {
                txn.commit().map_err(|e| self.map_full(e.into(), outgrew_map))?;
            } else {
                txn.abort();
            }
            Ok(())
        })
    }

    /// Commits every level; on `immediate` durability the data is on disk when this returns.
    pub fn commit(&self) -> Result<()> {
        self.with_levels(|_, _| Ok(()))?;
        let _timer = self.store.metrics.time(crate::storage::metrics::Op::Commit);
        let (levels, outgrew_map) = self.take();
        let Some(mut levels) = levels else { return Err(Error::invalid("the transaction has already ended")) };
        let mut result = Ok(());
        while let Some(txn) = levels.txns.pop() {
            if let Err(e) = crate::storage::fault::check(crate::storage::fault::Point::Commit) {
                txn.abort();
                result = Err(e);
                break;
            }
            if let Err(e) = txn.commit() {
                result = Err(Error::from(e));
                break;
            }
        }
        drop(levels);
        let full = result.as_ref().is_err_and(Error::is_map_full);
        if full {
            self.state.lock().outgrew_map = true;
        }
        if result.is_err() && (outgrew_map || full) {
            self.store.grow_map()?;
        }
        match result {
            Ok(()) => {
                if outgrew_map {
                    // Committed: the growth is for later writes, which grow
                    // the map themselves when they fill it, so failing to grow
                    // it now must not report this transaction as failed (nor
                    // skip its sync).
                    let _ = self.store.grow_map();
                }
                self.store.sync_if(self.durable)
            }
            Err(e) if e.is_map_full() => Err(Error::new(
                Code::Io,
                "the transaction did not fit in the database map and was rolled back; the map has grown, so running it again will fit",
            )),
            Err(e) => Err(e),
        }
    }

    /// Undoes everything the transaction wrote.
    pub fn rollback(&self) -> Result<()> {
        self.with_levels(|_, _| Ok(()))?;
        let (levels, outgrew_map) = self.take();
        drop(levels);
        if outgrew_map {
            self.store.grow_map()?;
        }
        Ok(())
    }

    /// Whether a write did not fit in the map, which then grew as the
    /// transaction ended: running the transaction again will fit.
    pub(crate) fn grew_map(&self) -> bool {
        self.state.lock().outgrew_map
    }

    pub fn is_open(&self) -> bool {
        self.state.lock().open.is_some()
    }

    fn take(&self) -> (Option<Levels>, bool) {
        let mut state = self.state.lock();
        (state.open.take(), state.outgrew_map)
    }

    /// A call that found the map full: explain, and remember to grow it.
    fn map_full(&self, e: Error, outgrew_map: &mut bool) -> Error {
        if !e.is_map_full() {
            return e;
        }
        *outgrew_map = true;
        Error::new(
            Code::Io,
            "this write does not fit in the database map while a transaction is open; it was undone. \
             End the transaction (the map grows then) and run the rest in a new one",
        )
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // An unfinished transaction rolls back. Only the owning thread may
        // end an LMDB write transaction (the binding drops transactions on
        // their JS thread); anywhere else, leaking it is the safe failure.
        if thread::current().id() == self.owner {
            let _ = self.rollback();
        } else {
            std::mem::forget(self.take().0);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Code, Database, NewNode, OpenOptions};
    use std::time::{Duration, Instant};

    fn node(id: &str) -> NewNode {
        NewNode { id: id.into(), node_type: "P".into(), properties: "{}".into() }
    }

    fn open(dir: &std::path::Path, busy_timeout_ms: u64) -> Database {
        Database::open(dir, OpenOptions { busy_timeout_ms, ..OpenOptions::default() }).unwrap()
    }

    #[test]
    fn reads_see_own_writes_and_others_see_them_after_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path(), 50);
        let (tx, in_tx) = db.begin(db.lock_writer().unwrap()).unwrap();
        in_tx.insert_node(&node("a"), 1).unwrap();
        assert!(in_tx.get_node("a").unwrap().is_some());
        assert!(db.get_node("a").unwrap().is_none(), "uncommitted writes are invisible outside");
        tx.commit().unwrap();
        assert!(db.get_node("a").unwrap().is_some());
        assert_eq!(in_tx.get_node("a").unwrap_err().code, Code::InvalidArgument, "an ended transaction refuses calls");
    }

    #[test]
    fn a_transaction_may_commit_with_its_own_durability() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path(), 50);
        let (tx, in_tx) = db.begin_with(db.lock_writer().unwrap(), crate::Durability::Relaxed).unwrap();
        in_tx.insert_node(&node("a"), 1).unwrap();
        tx.commit().unwrap();
        drop(in_tx);
        drop(db);
        assert!(open(dir.path(), 50).get_node("a").unwrap().is_some());
    }

    #[test]
    fn rollback_and_drop_undo_everything() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path(), 50);
        let (tx, in_tx) = db.begin(db.lock_writer().unwrap()).unwrap();
        in_tx.insert_node(&node("a"), 1).unwrap();
        tx.rollback().unwrap();
        drop(in_tx);
        let (tx, in_tx) = db.begin(db.lock_writer().unwrap()).unwrap();
        in_tx.insert_node(&node("b"), 1).unwrap();
        drop((tx, in_tx));
        assert_eq!(db.stats().unwrap().nodes, 0);
        db.insert_node(&node("c"), 1).unwrap();
    }

    #[test]
    fn a_failed_call_leaves_nothing_and_the_transaction_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path(), 50);
        db.insert_node(&node("taken"), 1).unwrap();
        let (tx, in_tx) = db.begin(db.lock_writer().unwrap()).unwrap();
        let err = in_tx.insert_nodes(&[node("fresh"), node("taken")], 1).unwrap_err();
        assert_eq!(err.code, Code::AlreadyExists);
        assert!(in_tx.get_node("fresh").unwrap().is_none());
        in_tx.insert_node(&node("later"), 1).unwrap();
        tx.commit().unwrap();
        assert_eq!(db.stats().unwrap().nodes, 2);
    }

    #[test]
    fn savepoints_undo_only_their_own_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path(), 50);
        let (tx, in_tx) = db.begin(db.lock_writer().unwrap()).unwrap();
        in_tx.insert_node(&node("outer"), 1).unwrap();
        tx.savepoint().unwrap();
        in_tx.insert_node(&node("inner"), 1).unwrap();
        tx.end_savepoint(false).unwrap();
        tx.savepoint().unwrap();
        in_tx.insert_node(&node("kept"), 1).unwrap();
        tx.end_savepoint(true).unwrap();
        assert_eq!(tx.end_savepoint(true).unwrap_err().code, Code::InvalidArgument);
        tx.commit().unwrap();
        let ids: Vec<bool> = ["outer", "inner", "kept"].iter().map(|id| db.get_node(id).unwrap().is_some()).collect();
        assert_eq!(ids, [true, false, true]);
    }

    #[test]
    fn other_writers_wait_and_the_owning_thread_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path(), 100);
        let (tx, _in_tx) = db.begin(db.lock_writer().unwrap()).unwrap();
        let started = Instant::now();
        assert_eq!(db.insert_node(&node("x"), 1).unwrap_err().code, Code::Locked);
        assert!(started.elapsed() < Duration::from_millis(50), "the owning thread must not wait for itself");
        let other = db.clone();
        let waited = std::thread::spawn(move || other.insert_node(&node("y"), 1).map_err(|e| e.code)).join().unwrap();
        assert_eq!(waited.unwrap_err(), Code::Locked);
        let other = db.clone();
        let writer = std::thread::spawn(move || {
            let o = Database::open(other.path(), OpenOptions { busy_timeout_ms: 5_000, ..OpenOptions::default() }).unwrap();
            o.insert_node(&node("z"), 1)
        });
        std::thread::sleep(Duration::from_millis(50));
        tx.commit().unwrap();
        writer.join().unwrap().unwrap();
        assert!(db.get_node("z").unwrap().is_some());
    }

    #[test]
    fn a_writer_lock_taken_on_another_thread_can_begin_here() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(dir.path(), 50);
        let other = db.clone();
        let guard = std::thread::spawn(move || other.lock_writer().unwrap()).join().unwrap();
        let (tx, in_tx) = db.begin(guard).unwrap();
        in_tx.insert_node(&node("a"), 1).unwrap();
        tx.commit().unwrap();
        let from_other_thread = std::thread::spawn({
            let db = db.clone();
            move || db.insert_node(&node("b"), 1)
        });
        from_other_thread.join().unwrap().unwrap();
        assert_eq!(db.stats().unwrap().nodes, 2);
    }
}
