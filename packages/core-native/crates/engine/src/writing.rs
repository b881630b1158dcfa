//! `Writing`: the tables as one write call sees them, plus the database's
//! counters (next internal id, clock, change sequence) and the index
//! definitions per node type, each read on first use and the counters
//! written back once by [`Writing::finish`], instead of a meta read and
//! write per record.
//!
//! Invariant: a `Writing` lives for one write call in one transaction, and
//! `finish` runs before that transaction commits; a call that fails drops it
//! with its transaction, so nothing stale is ever written.

use crate::database::{get_meta_u64, put_meta_u64};
use crate::error::Result;
use crate::indexes::{self, IndexDef};
use crate::store::Tables;
use heed::RwTxn;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ops::Deref;

const META_NEXT_ID: &[u8] = b"next_id";
const META_CHANGE_SEQ: &[u8] = b"change_seq";
const META_CLOCK: &[u8] = b"clock";

/// The sequence of the newest change-log entry committed as of `txn`.
pub(crate) fn committed_change_seq(txn: &heed::RoTxn, t: &Tables) -> Result<u64> {
    Ok(get_meta_u64(txn, t, META_CHANGE_SEQ)?.unwrap_or(0))
}

pub struct Writing<'t> {
    tables: &'t Tables,
    next_id: Cell<Option<u64>>,
    clock: Cell<Option<i64>>,
    change_seq: Cell<Option<u64>>,
    index_defs: RefCell<HashMap<String, Vec<IndexDef>>>,
}

impl Deref for Writing<'_> {
    type Target = Tables;
    fn deref(&self) -> &Tables {
        self.tables
    }
}

impl<'t> Writing<'t> {
    pub fn new(tables: &'t Tables) -> Self {
        Writing { tables, next_id: Cell::new(None), clock: Cell::new(None), change_seq: Cell::new(None), index_defs: RefCell::default() }
    }

    /// Writes the counters back; call once, before the commit.
    pub fn finish(&self, txn: &mut RwTxn) -> Result<()> {
        if let Some(v) = self.next_id.get() {
            put_meta_u64(txn, self, META_NEXT_ID, v)?;
        }
        if let Some(v) = self.clock.get() {
            put_meta_u64(txn, self, META_CLOCK, v as u64)?;
        }
        if let Some(v) = self.change_seq.get() {
            put_meta_u64(txn, self, META_CHANGE_SEQ, v)?;
        }
        Ok(())
    }

    /// A fresh internal id for a node or edge (ids are never reused).
    pub fn next_id(&self, txn: &RwTxn) -> Result<u64> {
        let id = match self.next_id.get() {
            Some(v) => v,
            None => get_meta_u64(txn, self, META_NEXT_ID)?.unwrap_or(1),
        };
        self.next_id.set(Some(id + 1));
        Ok(id)
    }

    /// `now`, but never earlier than a time this database already handed
    /// out, so creation times follow insertion order even if the wall clock
    /// steps back.
    pub fn monotonic(&self, txn: &RwTxn, now: i64) -> Result<i64> {
        let last = match self.clock.get() {
            Some(v) => v,
            None => get_meta_u64(txn, self, META_CLOCK)?.map_or(i64::MIN, |v| v as i64),
        };
        let now = now.max(last);
        self.clock.set(Some(now));
        Ok(now)
    }

    /// The next change-log sequence number.
    pub fn next_change(&self, txn: &RwTxn) -> Result<u64> {
        let seq = match self.change_seq.get() {
            Some(v) => v,
            None => get_meta_u64(txn, self, META_CHANGE_SEQ)?.unwrap_or(0),
        } + 1;
        self.change_seq.set(Some(seq));
        Ok(seq)
    }

    /// The property indexes of `node_type` (read once per call).
    pub fn index_defs(&self, txn: &RwTxn, node_type: &str) -> Result<Vec<IndexDef>> {
        if let Some(defs) = self.index_defs.borrow().get(node_type) {
            return Ok(defs.clone());
        }
        let defs = indexes::list(txn, self, Some(node_type))?;
        self.index_defs.borrow_mut().insert(node_type.to_owned(), defs.clone());
        Ok(defs)
    }
}
