//! A structural check of an LMDB data file that reads it with `pread` and
//! bounds-checks every field, so a damaged file is reported, never followed
//! through a bad pointer. LMDB itself trusts its pages: a flipped node
//! offset or size can make it read outside the map and take the process
//! down, so no file reaches LMDB before this check has passed (see
//! `store`), and `verify` runs it on a pinned snapshot of a live database.
//!
//! What it proves, for the snapshot of one meta page: both meta pages are
//! well formed; every tree (free list, main table, each named table) is a
//! B+tree whose pages are in the file, each reached once, with the expected
//! page number, flags and depth, node offsets and sizes inside their page,
//! keys in strictly ascending order within the bounds their parent gives,
//! overflow runs of the right length, and counts that match the table
//! record; every page is a meta page, in a tree, or listed free, exactly
//! once. It does not look at record contents (`verify` checks those
//! through the engine, which seals every value with a checksum).
//!
//! Layout constants are LMDB's (`mdb.c`) for 64-bit builds with
//! `MDB_DEVEL` off, which is what `lmdb-master-sys` compiles.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

const MAGIC: u32 = 0xBEEF_C0DE;
const DATA_VERSION: u32 = 1;
const HEADER: usize = 16;
const NODE: usize = 8;
const DB_RECORD: usize = 48;
const P_BRANCH: u16 = 0x01;
const P_LEAF: u16 = 0x02;
const P_OVERFLOW: u16 = 0x04;
const P_META: u16 = 0x08;
/// Bits LMDB may leave set on pages written to disk that carry no layout meaning.
const P_TRANSIENT: u16 = 0x10 | 0x4000 | 0x8000;
const F_BIGDATA: u16 = 0x01;
const F_SUBDATA: u16 = 0x02;
/// Table flag: keys are native-endian integers (LMDB's free list), not byte strings.
const INTEGER_KEY: u16 = 0x08;
const FREE_LIST: &str = "free list";
const NO_PAGE: u64 = u64::MAX;
/// LMDB's cursor stack depth: no tree can be deeper.
const MAX_DEPTH: u16 = 32;
/// Stop collecting after this many problems; one is enough to refuse a file.
const MAX_ERRORS: usize = 50;

/// One B+tree's record: what LMDB says the tree holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeRecord {
    pub flags: u16,
    pub depth: u16,
    pub branch_pages: u64,
    pub leaf_pages: u64,
    pub overflow_pages: u64,
    pub entries: u64,
    pub root: u64,
}

impl TreeRecord {
    fn parse(b: &[u8]) -> TreeRecord {
        TreeRecord {
            flags: u16_at(b, 4),
            depth: u16_at(b, 6),
            branch_pages: u64_at(b, 8),
            leaf_pages: u64_at(b, 16),
            overflow_pages: u64_at(b, 24),
            entries: u64_at(b, 32),
            root: u64_at(b, 40),
        }
    }

    /// Pages the tree occupies.
    pub fn pages(&self) -> u64 {
        self.branch_pages.saturating_add(self.leaf_pages).saturating_add(self.overflow_pages)
    }
}

/// The outcome of a check. `errors` empty means the file is sound.
#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<String>,
    pub page_size: u64,
    pub txnid: u64,
    /// Pages `0..=last_page` make up the data.
    pub last_page: u64,
    /// Pages listed in the free list (reusable, or given back by compaction).
    pub free_pages: u64,
    /// Named tables and their records, from the main table.
    pub tables: Vec<(String, TreeRecord)>,
}

/// Which meta page to check against.
#[derive(Debug, Clone, Copy)]
pub enum Snapshot {
    /// The newest, as LMDB would pick when opening the file.
    Newest,
    /// The one committed by this transaction (a pinned read snapshot).
    Txn(u64),
}

struct Meta {
    txnid: u64,
    last_page: u64,
    free: TreeRecord,
    main: TreeRecord,
}

/// Checks the data file at `path`. `Err` only for I/O failures; damage is
/// reported in `Report::errors`. `Ok(None)` when `Snapshot::Txn` names a
/// transaction neither meta page holds (a newer commit replaced it).
pub fn check_file(path: &Path, snapshot: Snapshot) -> std::io::Result<Option<Report>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut walker = Walker { file, len, page_size: 0, pages_in_file: 0, seen: PageSet::default(), report: Report::default() };
    let Some(meta) = walker.metas(snapshot)? else { return Ok(None) };
    if walker.report.errors.is_empty() {
        walker.report.txnid = meta.txnid;
        walker.report.last_page = meta.last_page;
        walker.walk_all(&meta)?;
    }
    Ok(Some(walker.report))
}

struct Walker {
    file: File,
    len: u64,
    page_size: u64,
    pages_in_file: u64,
    /// Every page reached so far, in any tree.
    seen: PageSet,
    report: Report,
}

/// A leaf entry's data: in the page, or in an overflow run.
enum Data {
    Inline(Vec<u8>),
    Overflow { first: u64, bytes: u64 },
}

impl Walker {
    fn error(&mut self, message: String) {
        if self.report.errors.len() < MAX_ERRORS {
            self.report.errors.push(message);
        }
    }

    fn full(&self) -> bool {
        self.report.errors.len() >= MAX_ERRORS
    }

    fn read(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, offset)?;
        Ok(buf)
    }

    /// Reads and checks both meta pages; returns the one to walk.
    fn metas(&mut self, snapshot: Snapshot) -> std::io::Result<Option<Meta>> {
        const META_END: usize = HEADER + 136;
        if self.len < 2 * 512 {
            self.error(format!("the data file is {} bytes, too short to hold LMDB's two meta pages", self.len));
            return Ok(Some(Meta { txnid: 0, last_page: 0, free: TreeRecord::default(), main: TreeRecord::default() }));
        }
        let first = self.read(0, META_END)?;
        let page_size = u64::from(u32_at(&first, HEADER + 24));
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() || self.len < 2 * page_size {
            self.error(format!("meta page 0 gives a page size of {page_size} bytes, which is impossible for this {}-byte file", self.len));
            return Ok(Some(Meta { txnid: 0, last_page: 0, free: TreeRecord::default(), main: TreeRecord::default() }));
        }
        self.page_size = page_size;
        self.pages_in_file = self.len / page_size;
        self.report.page_size = page_size;
        let mut metas = Vec::new();
        for i in 0..2u64 {
            let b = if i == 0 { first.clone() } else { self.read(page_size, META_END)? };
            let (pgno, flags) = (u64_at(&b, 0), u16_at(&b, 10));
            let m = HEADER;
            let meta = Meta {
                txnid: u64_at(&b, m + 128),
                last_page: u64_at(&b, m + 120),
                free: TreeRecord::parse(&b[m + 24..m + 24 + DB_RECORD]),
                main: TreeRecord::parse(&b[m + 72..m + 72 + DB_RECORD]),
            };
            let problem = if pgno != i || flags & !P_TRANSIENT != P_META {
                Some(format!("has page number {pgno} and flags {flags:#x}"))
            } else if u32_at(&b, m) != MAGIC {
                Some(format!("has magic {:#x}, not LMDB's", u32_at(&b, m)))
            } else if u32_at(&b, m + 4) != DATA_VERSION {
                Some(format!("has data version {}, this build reads {DATA_VERSION}", u32_at(&b, m + 4)))
            } else if u64::from(u32_at(&b, m + 24)) != page_size {
                Some("disagrees with meta page 0 about the page size".to_owned())
            } else if meta.last_page < 1 || meta.last_page >= (1 << 40) {
                Some(format!("says the last page is {}", meta.last_page))
            } else {
                None
            };
            match problem {
                Some(p) => self.error(format!("meta page {i} {p}")),
                None => metas.push(meta),
            }
        }
        if !self.report.errors.is_empty() {
            return Ok(Some(Meta { txnid: 0, last_page: 0, free: TreeRecord::default(), main: TreeRecord::default() }));
        }
        let chosen = match snapshot {
            Snapshot::Newest => metas.into_iter().max_by_key(|m| m.txnid),
            Snapshot::Txn(id) => {
                let found = metas.into_iter().find(|m| m.txnid == id);
                if found.is_none() {
                    return Ok(None);
                }
                found
            }
        };
        Ok(chosen)
    }

    fn walk_all(&mut self, meta: &Meta) -> std::io::Result<()> {
        let mut free_lists = Vec::new();
        self.walk_tree(FREE_LIST, meta.free, meta.last_page, &mut |_, data| free_lists.push(data))?;
        let mut tables = Vec::new();
        let mut plain = Vec::new();
        self.walk_tree("main table", meta.main, meta.last_page, &mut |key, data| match data {
            Subdata::Table(record) => tables.push((String::from_utf8_lossy(&key).into_owned(), record)),
            Subdata::Value(_) => plain.push(String::from_utf8_lossy(&key).into_owned()),
        })?;
        for name in plain {
            self.error(format!("main table entry \"{name}\" is not a table"));
        }
        for (name, record) in &tables {
            if self.full() {
                break;
            }
            self.walk_tree(&format!("table \"{name}\""), *record, meta.last_page, &mut |_, _| {})?;
        }
        self.report.tables = tables;
        // Free pages: listed once, in range, not in any tree.
        let mut free = PageSet::default();
        for data in free_lists {
            let Subdata::Value(data) = data else { continue };
            let bytes = match data {
                Data::Inline(b) => b,
                Data::Overflow { first, bytes } => self.read(first * self.page_size + HEADER as u64, bytes as usize)?,
            };
            if bytes.len() < 8 || bytes.len() % 8 != 0 {
                self.error(format!("a free-list entry is {} bytes, not a list of page numbers", bytes.len()));
                continue;
            }
            let n = u64_at(&bytes, 0);
            if n.checked_add(1).and_then(|n| n.checked_mul(8)).is_none_or(|need| need > bytes.len() as u64) {
                self.error(format!("a free-list entry claims {n} pages but holds {}", bytes.len() / 8 - 1));
                continue;
            }
            for i in 0..n as usize {
                let page = u64_at(&bytes, 8 + i * 8);
                if page < 2 || page > meta.last_page {
                    self.error(format!("the free list names page {page}, outside pages 2..={}", meta.last_page));
                } else if self.seen.contains(page) {
                    self.error(format!("page {page} is both free and in use"));
                } else if !free.insert(page) {
                    self.error(format!("page {page} is listed free twice"));
                }
            }
        }
        self.report.free_pages = free.len as u64;
        let accounted = 2 + self.seen.len as u64 + free.len as u64;
        if self.report.errors.is_empty() && accounted != meta.last_page + 1 {
            self.error(format!("{} pages are neither in use nor free (pages 0..={})", (meta.last_page + 1).abs_diff(accounted), meta.last_page));
        }
        Ok(())
    }

    /// Walks one tree from its record, checking every page it reaches, and
    /// hands each leaf entry to `visit`.
    fn walk_tree(&mut self, name: &str, record: TreeRecord, last_page: u64, visit: &mut dyn FnMut(Vec<u8>, Subdata)) -> std::io::Result<()> {
        if record.root == NO_PAGE {
            if record.pages() != 0 || record.entries != 0 || record.depth != 0 {
                self.error(format!("{name} is empty but its record counts {} pages and {} entries", record.pages(), record.entries));
            }
            return Ok(());
        }
        if record.depth == 0 || record.depth > MAX_DEPTH {
            self.error(format!("{name} has depth {}", record.depth));
            return Ok(());
        }
        // The free list orders integer keys (its record's flags also carry
        // the environment's); LoomDB's tables are plain byte strings.
        let free_list = name == FREE_LIST;
        let integer_keys = free_list;
        if free_list && record.flags & INTEGER_KEY == 0 || !free_list && record.flags != 0 {
            self.error(format!("{name} has table flags {:#x}, which LoomDB never sets", record.flags));
            return Ok(());
        }
        let order = |a: &[u8], b: &[u8]| if integer_keys { int_key(a).cmp(&int_key(b)) } else { a.cmp(b) };
        let mut counted = TreeRecord::default();
        // (page, depth, lower bound, upper bound)
        let mut stack: Vec<Pending> = vec![Pending { pgno: record.root, depth: 1, low: None, high: None }];
        while let Some(Pending { pgno, depth, low, high }) = stack.pop() {
            if self.full() {
                return Ok(());
            }
            let Some(page) = self.page(name, pgno, last_page)? else { continue };
            let flags = u16_at(&page, 10) & !P_TRANSIENT;
            let leaf = match flags {
                P_LEAF => true,
                P_BRANCH => false,
                _ => {
                    self.error(format!("{name}: page {pgno} has flags {flags:#x}, not a branch or leaf page"));
                    continue;
                }
            };
            if leaf != (depth == record.depth) {
                self.error(format!("{name}: page {pgno} is a {} at depth {depth} of {}", if leaf { "leaf" } else { "branch" }, record.depth));
                continue;
            }
            let nodes = match self.nodes(&page) {
                Ok(n) => n,
                Err(problem) => {
                    self.error(format!("{name}: page {pgno} {problem}"));
                    continue;
                }
            };
            if leaf {
                counted.leaf_pages += 1;
            } else {
                counted.branch_pages += 1;
            }
            let mut previous: Option<&[u8]> = None;
            let mut children = Vec::new();
            for (i, &(offset, flags, ksize, low_hi)) in nodes.iter().enumerate() {
                let key = &page[offset + NODE..offset + NODE + ksize];
                // A branch page's first key is unused (it stands for "everything below the second").
                let ordered = !leaf && i == 0
                    || (previous.is_none_or(|p| order(p, key).is_lt())
                        && low.as_deref().is_none_or(|l| order(key, l).is_ge())
                        && high.as_deref().is_none_or(|h| order(key, h).is_lt()));
                if !ordered {
                    self.error(format!("{name}: page {pgno} has keys out of order at entry {i}"));
                    break;
                }
                if leaf || i > 0 {
                    previous = Some(key);
                }
                if leaf {
                    counted.entries += 1;
                    let dsize = low_hi as usize;
                    let data_at = offset + NODE + ksize;
                    let data = if flags & F_BIGDATA != 0 {
                        if data_at + 8 > page.len() {
                            self.error(format!("{name}: page {pgno} entry {i} overflows its page"));
                            break;
                        }
                        let first = u64_at(&page, data_at);
                        match self.overflow(name, first, dsize as u64, last_page)? {
                            Some(n) => counted.overflow_pages += n,
                            None => break,
                        }
                        Data::Overflow { first, bytes: dsize as u64 }
                    } else {
                        if data_at + dsize > page.len() {
                            self.error(format!("{name}: page {pgno} entry {i} has {dsize} bytes of data, past the end of its page"));
                            break;
                        }
                        Data::Inline(page[data_at..data_at + dsize].to_vec())
                    };
                    let sub = if flags & F_SUBDATA != 0 {
                        match data {
                            Data::Inline(b) if b.len() == DB_RECORD => Subdata::Table(TreeRecord::parse(&b)),
                            _ => {
                                self.error(format!("{name}: page {pgno} entry {i} is marked as a table but holds no table record"));
                                break;
                            }
                        }
                    } else {
                        Subdata::Value(data)
                    };
                    if flags & !(F_BIGDATA | F_SUBDATA) != 0 {
                        self.error(format!("{name}: page {pgno} entry {i} has flags {flags:#x} LoomDB never writes"));
                        break;
                    }
                    visit(key.to_vec(), sub);
                } else {
                    let child = low_hi | (u64::from(flags) << 32);
                    let lower = if i == 0 { low.clone() } else { Some(key.to_vec()) };
                    children.push((child, lower));
                }
            }
            let mut upper = high.clone();
            for (child, lower) in children.into_iter().rev() {
                let bound = lower.clone();
                stack.push(Pending { pgno: child, depth: depth + 1, low: lower, high: upper });
                upper = bound;
            }
        }
        if self.report.errors.is_empty()
            && (counted.branch_pages, counted.leaf_pages, counted.overflow_pages, counted.entries)
                != (record.branch_pages, record.leaf_pages, record.overflow_pages, record.entries)
        {
            self.error(format!(
                "{name}: its record counts {}/{}/{} branch/leaf/overflow pages and {} entries; the tree has {}/{}/{} and {}",
                record.branch_pages, record.leaf_pages, record.overflow_pages, record.entries, counted.branch_pages, counted.leaf_pages, counted.overflow_pages, counted.entries
            ));
        }
        Ok(())
    }

    /// Reads page `pgno` once, checking it is in range and not reached before.
    fn page(&mut self, name: &str, pgno: u64, last_page: u64) -> std::io::Result<Option<Vec<u8>>> {
        if pgno < 2 || pgno > last_page || pgno >= self.pages_in_file {
            self.error(format!("{name}: a pointer leads to page {pgno}, outside pages 2..={} of a {}-page file", last_page, self.pages_in_file));
            return Ok(None);
        }
        if !self.seen.insert(pgno) {
            self.error(format!("{name}: page {pgno} is reached twice"));
            return Ok(None);
        }
        let page = self.read(pgno * self.page_size, self.page_size as usize)?;
        if u64_at(&page, 0) != pgno {
            self.error(format!("{name}: page {pgno} says it is page {}", u64_at(&page, 0)));
            return Ok(None);
        }
        Ok(Some(page))
    }

    /// `(offset, flags, key size, lo|hi)` of each node, all inside the page.
    fn nodes(&self, page: &[u8]) -> Result<Vec<(usize, u16, usize, u64)>, String> {
        let (lower, upper) = (u16_at(page, 12) as usize, u16_at(page, 14) as usize);
        if lower < HEADER || lower > upper || upper > page.len() || !(lower - HEADER).is_multiple_of(2) {
            return Err(format!("has free-space bounds {lower}..{upper}"));
        }
        let count = (lower - HEADER) / 2;
        if count == 0 {
            return Err("has no entries".into());
        }
        (0..count)
            .map(|i| {
                let offset = u16_at(page, HEADER + 2 * i) as usize;
                if offset < upper || offset + NODE > page.len() {
                    return Err(format!("entry {i} starts at {offset}, outside the used part {upper}..{}", page.len()));
                }
                let low_hi = u64::from(u16_at(page, offset)) | (u64::from(u16_at(page, offset + 2)) << 16);
                let (flags, ksize) = (u16_at(page, offset + 4), u16_at(page, offset + 6) as usize);
                if offset + NODE + ksize > page.len() || ksize > 511 {
                    return Err(format!("entry {i} has a {ksize}-byte key, past the end of its page"));
                }
                Ok((offset, flags, ksize, low_hi))
            })
            .collect()
    }

    /// Checks an overflow run; returns its length in pages.
    fn overflow(&mut self, name: &str, first: u64, bytes: u64, last_page: u64) -> std::io::Result<Option<u64>> {
        let need = (HEADER as u64 - 1 + bytes) / self.page_size + 1;
        let Some(head) = self.page(name, first, last_page)? else { return Ok(None) };
        let (flags, pages) = (u16_at(&head, 10) & !P_TRANSIENT, u64::from(u32_at(&head, 12)));
        if flags != P_OVERFLOW || pages != need {
            self.error(format!("{name}: overflow page {first} has flags {flags:#x} and {pages} pages; its entry needs {need}"));
            return Ok(None);
        }
        for p in first + 1..first + need {
            if p > last_page || p >= self.pages_in_file || !self.seen.insert(p) {
                self.error(format!("{name}: overflow run at page {first} runs into page {p}, which is out of range or in use"));
                return Ok(None);
            }
        }
        Ok(Some(need))
    }
}

/// A page still to visit, with the key range its parent allows.
struct Pending {
    pgno: u64,
    depth: u16,
    low: Option<Vec<u8>>,
    high: Option<Vec<u8>>,
}

/// One bit per page: 32 MiB of bits cover a 1 TiB file of 4 KiB pages.
#[derive(Default)]
struct PageSet {
    bits: Vec<u64>,
    len: usize,
}

impl PageSet {
    /// Adds `page`; false when it was there.
    fn insert(&mut self, page: u64) -> bool {
        let (word, bit) = ((page / 64) as usize, page % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let fresh = self.bits[word] & (1 << bit) == 0;
        self.bits[word] |= 1 << bit;
        self.len += usize::from(fresh);
        fresh
    }

    fn contains(&self, page: u64) -> bool {
        self.bits.get((page / 64) as usize).is_some_and(|w| w & (1 << (page % 64)) != 0)
    }
}

enum Subdata {
    Table(TreeRecord),
    Value(Data),
}

/// An integer key (4 or 8 bytes, little endian); other lengths sort first, by length.
fn int_key(b: &[u8]) -> (usize, u64) {
    match b.len() {
        8 => (8, u64_at(b, 0)),
        4 => (4, u64::from(u32_at(b, 0))),
        n => (n, 0),
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Database, NewNode, OpenOptions};

    fn sample(dir: &Path) {
        let db = Database::open(dir, OpenOptions::default()).unwrap();
        let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(9000));
        let nodes: Vec<NewNode> =
            (0..400).map(|i| NewNode { id: format!("n{i}"), node_type: "T".into(), properties: if i % 50 == 0 { big.clone() } else { format!(r#"{{"i":{i}}}"#) } }).collect();
        db.insert_nodes(&nodes, 1).unwrap();
        db.delete_node("n7").unwrap();
    }

    #[test]
    fn a_sound_file_passes_and_is_fully_accounted() {
        let dir = tempfile::tempdir().unwrap();
        sample(dir.path());
        let report = check_file(&dir.path().join("data.mdb"), Snapshot::Newest).unwrap().unwrap();
        assert_eq!(report.errors, Vec::<String>::new());
        assert!(report.tables.iter().any(|(n, r)| n == "nodes" && r.entries == 399));
    }

    #[test]
    fn free_list_keys_are_ordered_as_integers() {
        // Across transaction 255 → 256 the free list's little-endian keys no
        // longer sort as bytes; the check must compare them as LMDB does. A
        // reader pinning an old snapshot keeps those entries in the list.
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions { durability: crate::Durability::Relaxed, ..OpenOptions::default() }).unwrap();
        let (pinned, release) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let reader = {
            let db = db.clone();
            std::thread::spawn(move || {
                db.store()
                    .pinned(|_, _| {
                        pinned.0.send(()).unwrap();
                        release.1.recv().unwrap();
                        Ok(())
                    })
                    .unwrap();
            })
        };
        pinned.1.recv().unwrap();
        for i in 0..300 {
            db.insert_node(&NewNode { id: format!("n{i}"), node_type: "T".into(), properties: "{}".into() }, 1).unwrap();
        }
        release.0.send(()).unwrap();
        reader.join().unwrap();
        let report = check_file(&dir.path().join("data.mdb"), Snapshot::Newest).unwrap().unwrap();
        assert_eq!(report.errors, Vec::<String>::new());
        assert!(report.txnid > 256 && report.free_pages > 0, "{report:?}");
    }

    #[test]
    fn flipped_bytes_are_found_without_crashing() {
        let dir = tempfile::tempdir().unwrap();
        sample(dir.path());
        let original = std::fs::read(dir.path().join("data.mdb")).unwrap();
        let damaged = dir.path().join("damaged.mdb");
        let mut found = 0;
        // Page headers and node tables are where structure lives.
        for page in 0..(original.len() / 4096) {
            for offset in [0usize, 10, 12, 16, 18] {
                let mut bytes = original.clone();
                bytes[page * 4096 + offset] ^= 0x5a;
                std::fs::write(&damaged, &bytes).unwrap();
                let report = check_file(&damaged, Snapshot::Newest).unwrap().unwrap();
                found += usize::from(!report.errors.is_empty());
            }
        }
        let sound = check_file(&dir.path().join("data.mdb"), Snapshot::Newest).unwrap().unwrap();
        // Free pages and overflow continuations carry no structure; the rest do.
        let in_use = sound.last_page + 1 - sound.free_pages;
        assert!(found as u64 >= 2 * in_use, "header damage found in {found} of {} cases", 5 * (original.len() / 4096));
    }
}
