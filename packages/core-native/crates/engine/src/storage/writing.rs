//! `Writing`: the tables as one write call sees them, plus the database's
//! counters (next internal id, clock, change sequence) and the index
//! definitions per node type, each read on first use and the counters
//! written back once by [`Writing::finish`], instead of a meta read and
//! write per record.
//!
//! It also holds back the puts into the id maps, type and adjacency tables
//! and applies them in key order at `finish`: a batch's keys land at random
//! places of those B-trees, and inserting them sorted walks each page once
//! instead of jumping between them (several times faster on large batches).
//!
//! Invariants: a `Writing` lives for one write call in one transaction, and
//! `finish` runs before that transaction commits; a call that fails drops it
//! with its transaction, so nothing stale is ever written. No read of the
//! same call looks for a held-back key (batches reject repeated ids before
//! writing; an insert only checks ids that existed before the call); a call
//! that must read back what it wrote calls [`Writing::apply_held`] first.
//! The layers above storage that follow node writes come as [`Followers`],
//! so storage calls them without importing them.

use crate::error::{Error, Result};
use crate::storage::index_defs::{self, IndexDef};
use crate::storage::records::PropertyChange;
use crate::storage::meta::{get_meta_u64, put_meta_u64};
use crate::storage::store::{Table, Tables};
use heed::{PutFlags, RwTxn};
use std::cell::{Cell, RefCell};
use std::any::Any;
use std::collections::HashMap;
use std::rc::Rc;
use std::ops::Deref;

pub(crate) const META_NEXT_ID: &[u8] = b"next_id";
pub(crate) const META_CHANGE_SEQ: &[u8] = b"change_seq";
const META_CLOCK: &[u8] = b"clock";

/// The sequence of the newest change-log entry committed as of `txn`.
pub(crate) fn committed_change_seq(txn: &heed::RoTxn, t: &Tables) -> Result<u64> {
    Ok(get_meta_u64(txn, t, META_CHANGE_SEQ)?.unwrap_or(0))
}

/// What the layers above storage keep derived from node records, told of
/// every node write by `storage::nodes` inside the write's transaction. The
/// facade (the facade (`database`)) fills it in when a handle is opened.
pub struct Followers {
    /// A node of this type got, changed or lost properties (the text indexes).
    pub properties: fn(&mut RwTxn, &Writing, &str, u64, &PropertyChange) -> Result<()>,
    /// A node is being deleted, after its edges and before its record (its embeddings).
    pub deleting: fn(&mut RwTxn, &Writing, u64) -> Result<()>,
}

pub struct Writing<'t> {
    tables: &'t Tables,
    next_id: Cell<Option<u64>>,
    clock: Cell<Option<i64>>,
    change_seq: Cell<Option<u64>>,
    index_defs: RefCell<HashMap<String, Vec<IndexDef>>>,
    /// Definitions a follower read once for this call (the text indexes'),
    /// of whatever type it keeps; see [`Writing::follower_defs`].
    follower_defs: RefCell<Option<Rc<dyn Any>>>,
    followers: &'static Followers,
    /// Per [`Held`] table, in [`Held::ALL`] order.
    held: RefCell<[Puts; Held::ALL.len()]>,
    node_keys: RefCell<HashMap<String, u64>>,
    /// Largest encoded node or edge record this write may store (`OpenOptions::max_record_bytes`).
    max_record_bytes: usize,
}

/// The tables whose puts are held back until `finish`.
#[derive(Clone, Copy)]
pub enum Held {
    NodeIds,
    EdgeIds,
    NodeTypes,
    OutAdj,
    InAdj,
}

/// Key → value puts.
type Puts = Vec<(Vec<u8>, Vec<u8>)>;

impl Held {
    const ALL: [Held; 5] = [Held::NodeIds, Held::EdgeIds, Held::NodeTypes, Held::OutAdj, Held::InAdj];

    fn table(self, t: &Tables) -> Table {
        match self {
            Held::NodeIds => t.node_ids,
            Held::EdgeIds => t.edge_ids,
            Held::NodeTypes => t.node_types,
            Held::OutAdj => t.out_adj,
            Held::InAdj => t.in_adj,
        }
    }
}

impl Deref for Writing<'_> {
    type Target = Tables;
    fn deref(&self) -> &Tables {
        self.tables
    }
}

impl<'t> Writing<'t> {
    pub fn new(tables: &'t Tables, max_record_bytes: usize, followers: &'static Followers) -> Self {
        Writing {
            max_record_bytes,
            tables,
            next_id: Cell::new(None),
            clock: Cell::new(None),
            change_seq: Cell::new(None),
            index_defs: RefCell::default(),
            follower_defs: RefCell::default(),
            followers,
            held: RefCell::default(),
            node_keys: RefCell::default(),
        }
    }

    /// Applies the held-back puts in key order and writes the counters
    /// back; call once, before the commit.
    pub fn finish(&self, txn: &mut RwTxn) -> Result<()> {
        self.apply_held(txn)?;
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

    /// The encoded record of node or edge `id`, or `INVALID_ARGUMENT` when it
    /// is larger than `maxRecordBytes`, naming its largest property (checked
    /// before anything of the write is stored).
    pub fn sized_record(&self, what: &str, id: &str, record: Vec<u8>, properties: &str) -> Result<Vec<u8>> {
        if record.len() <= self.max_record_bytes {
            return Ok(record);
        }
        let largest = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(properties)
            .ok()
            .and_then(|props| props.iter().map(|(k, v)| (v.to_string().len(), k.clone())).max())
            .map_or(String::new(), |(bytes, key)| format!(": its largest property is {key:?} ({bytes} bytes)"));
        Err(Error::invalid(format!(
            "{what} \"{id}\" would be a {} byte record, over the limit of {} bytes (open option maxRecordBytes){largest}",
            record.len(),
            self.max_record_bytes
        )))
    }

    /// Applies the held-back puts now, in key order.
    pub fn apply_held(&self, txn: &mut RwTxn) -> Result<()> {
        let held = std::mem::take(&mut *self.held.borrow_mut());
        for (which, mut puts) in Held::ALL.into_iter().zip(held) {
            let table = which.table(self.tables);
            puts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (k, v) in puts {
                crate::storage::fault::check(crate::storage::fault::Point::Write)?;
                table.put(txn, &k, &v)?;
            }
        }
        Ok(())
    }

    /// Puts a record under a key that sorts after every key of `table` (a
    /// fresh [`Writing::next_id`] or [`Writing::next_change`]): LMDB appends
    /// it without a search and fills pages instead of splitting them in half.
    pub fn append(&self, txn: &mut RwTxn, table: Table, key: &[u8], value: &[u8]) -> Result<()> {
        crate::storage::fault::check(crate::storage::fault::Point::Write)?;
        Ok(table.put_with_flags(txn, PutFlags::APPEND, key, value)?)
    }

    /// Puts `key` → `value` into `table` at `finish` (see the module invariants).
    pub fn put_held(&self, table: Held, key: Vec<u8>, value: Vec<u8>) {
        self.held.borrow_mut()[table as usize].push((key, value));
    }

    /// The internal key of node `id` as of the start of this call, looked up
    /// once per call (an edge batch names the same popular nodes again and
    /// again). `delete_node` must call [`Writing::forget_node_keys`].
    pub fn node_key(&self, txn: &RwTxn, id: &str) -> Result<Option<u64>> {
        if let Some(&key) = self.node_keys.borrow().get(id) {
            return Ok(Some(key));
        }
        let key = crate::storage::ids::lookup(txn, self.node_ids, id)?;
        if let Some(key) = key {
            self.node_keys.borrow_mut().insert(id.to_owned(), key);
        }
        Ok(key)
    }

    pub fn forget_node_keys(&self) {
        self.node_keys.borrow_mut().clear();
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

    /// The layers that follow node writes.
    pub fn followers(&self) -> &'static Followers {
        self.followers
    }

    /// The definitions a follower keeps (read once per call with `load`,
    /// again after [`Writing::forget_follower_defs`]).
    pub fn follower_defs<T: 'static>(&self, load: impl FnOnce() -> Result<T>) -> Result<Rc<T>> {
        if let Some(defs) = self.follower_defs.borrow().as_ref() {
            if let Ok(defs) = Rc::clone(defs).downcast::<T>() {
                return Ok(defs);
            }
        }
        let defs = Rc::new(load()?);
        *self.follower_defs.borrow_mut() = Some(Rc::clone(&defs) as Rc<dyn Any>);
        Ok(defs)
    }

    pub fn forget_follower_defs(&self) {
        self.follower_defs.borrow_mut().take();
    }

    /// The property indexes of `node_type` (read once per call).
    pub fn index_defs(&self, txn: &RwTxn, node_type: &str) -> Result<Vec<IndexDef>> {
        if let Some(defs) = self.index_defs.borrow().get(node_type) {
            return Ok(defs.clone());
        }
        let defs = index_defs::list(txn, self, Some(node_type))?;
        self.index_defs.borrow_mut().insert(node_type.to_owned(), defs.clone());
        Ok(defs)
    }
}
