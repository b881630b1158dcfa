//! Full-text search: the tokenizer (`tokenize`) and the BM25 indexes built
//! with it (`index`).
//!
//! Invariants: imports only `storage` (and `error`); postings follow every
//! node write in its transaction, through the `storage::writing::Followers`
//! hook the facade registers (`index::update`), so a text index is never
//! behind the records it covers.

pub mod index;
pub mod tokenize;

pub use index::{TextIndexSpec, TextIndexStats};

use crate::error::Result;
use crate::storage::filter::NodeFilter;
use crate::storage::handle::Database;
use serde::Serialize;

/// A text search result: a node and its BM25 score (higher is better).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextHit {
    pub id: String,
    pub score: f64,
}

impl Database {
    /// Declares a text index and fills it from existing nodes (see `text::index::create`).
    pub fn create_text_index(&self, name: &str, spec: &TextIndexSpec, progress: crate::Progress) -> Result<bool> {
        spec.validate(name)?;
        // Declared again as it is: nothing to write (so a read-only open may declare it too).
        if self.read(|txn, t| index::find(txn, t, name))?.is_some_and(|d| &d.spec == spec) {
            return Ok(false);
        }
        self.write(|txn, t| index::create(txn, t, name, spec, &mut *progress))
    }

    /// Removes a text index; `false` when there was none.
    pub fn drop_text_index(&self, name: &str) -> Result<bool> {
        self.write(|txn, t| index::drop(txn, t, name))
    }

    /// The `k` nodes of index `name` that best match `query` and pass `filter`, best first.
    pub fn search_text(&self, name: &str, query: &str, k: usize, filter: &NodeFilter) -> Result<Vec<TextHit>> {
        let _timer = self.timer(crate::storage::metrics::Op::Search);
        self.read(|txn, t| {
            Ok(index::search(txn, t, name, query, k, filter)?.into_iter().map(|(score, node)| TextHit { id: node.id, score }).collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{TextHit, TextIndexSpec};
    use crate::{Code, Database, NewNode, NodeFilter, OpenOptions};

    fn spec() -> TextIndexSpec {
        serde_json::from_str(r#"{ "types": ["Message"], "fields": ["content", "tags"] }"#).unwrap()
    }

    fn message(db: &Database, id: &str, content: &str) {
        let properties = serde_json::json!({ "content": content }).to_string();
        db.insert_node(&NewNode { id: id.into(), node_type: "Message".into(), properties }, 1).unwrap();
    }

    fn ids(hits: Vec<TextHit>) -> Vec<String> {
        hits.into_iter().map(|h| h.id).collect()
    }

    fn search(db: &Database, q: &str) -> Vec<String> {
        ids(db.search_text("messages", q, 10, &NodeFilter::default()).unwrap())
    }

    #[test]
    fn ranks_by_bm25_and_follows_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        message(&db, "old", "we hiked the Alps in June");
        // Created over existing nodes, then kept current.
        assert!(db.create_text_index("messages", &spec(), &mut |_, _| true).unwrap());
        assert!(!db.create_text_index("messages", &spec(), &mut |_, _| true).unwrap());
        message(&db, "a", "coffee coffee coffee beans");
        message(&db, "b", "a long message that mentions coffee once among many other words about hiking trips");
        message(&db, "c", "tea only");
        assert_eq!(search(&db, "coffee"), ["a", "b"]);
        assert_eq!(search(&db, "hiking"), ["old", "b"], "stemmed: hiked/hiking; the shorter document first");
        assert_eq!(search(&db, "the of and"), Vec::<String>::new());
        db.update_node("c", r#"{"content":"coffee and tea"}"#, 2).unwrap();
        assert_eq!(search(&db, "tea"), ["c"]);
        assert_eq!(search(&db, "coffee")[0], "a");
        assert!(search(&db, "coffee").contains(&"c".to_owned()));
        db.update_node("c", r#"{"content":null,"tags":["espresso","Crème"]}"#, 3).unwrap();
        assert_eq!(search(&db, "creme"), ["c"]);
        assert!(!search(&db, "tea").contains(&"c".to_owned()));
        db.delete_node("a").unwrap();
        assert_eq!(search(&db, "coffee"), ["b"]);
        // A rolled-back transaction leaves no postings.
        let (tx, in_tx) = db.begin(db.lock_writer().unwrap()).unwrap();
        message(&in_tx, "t", "coffee in a transaction");
        assert_eq!(search(&in_tx, "transaction"), ["t"]);
        tx.rollback().unwrap();
        assert_eq!(search(&db, "transaction"), Vec::<String>::new());
        let stats = db.stats().unwrap();
        assert_eq!(stats.text_indexes[0].documents, 3);
        let report = db.verify().unwrap();
        assert!(report.ok, "{:?}", report.errors);
        // A posting written behind the index's back is found.
        db.write(|txn, t| {
            let k = super::index::posting_key(1, "ghost", 99);
            Ok(t.text.put(txn, &k, &crate::storage::codec::seal(&k, &[1, 0, 0, 0, 1, 0, 0, 0]))?)
        })
        .unwrap();
        let report = db.verify().unwrap();
        assert!(!report.ok && report.errors.iter().any(|e| e.message.contains("belongs to no indexed text")), "{:?}", report.errors);
        db.write(|txn, t| Ok(t.text.delete(txn, &super::index::posting_key(1, "ghost", 99)).map(|_| ())?)).unwrap();
        // Another handle (process) sees the committed index.
        drop(db);
        let again = Database::open(dir.path(), OpenOptions::default()).unwrap();
        assert_eq!(search(&again, "coffee"), ["b"]);
        let filtered = again.search_text("messages", "hiking", 10, &serde_json::from_str(r#"{"ids":["b"]}"#).unwrap()).unwrap();
        assert_eq!(ids(filtered), ["b"]);
        assert!(again.drop_text_index("messages").unwrap());
        assert_eq!(again.search_text("messages", "coffee", 10, &NodeFilter::default()).unwrap_err().code, Code::NotFound);
    }

    #[test]
    fn a_prefix_matches_every_term_it_starts_as_one_term() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        db.create_text_index("messages", &spec(), &mut |_, _| true).unwrap();
        message(&db, "ferry", "the ferry leaves at noon");
        message(&db, "both", "ferries and a ferry: ferry terminal");
        message(&db, "fern", "a fern in the garden");
        message(&db, "other", "coffee at noon");
        assert_eq!(search(&db, "ferr*"), ["both", "ferry"], "ferri (stem of ferries, ferry) ×3 outranks ×1");
        assert_eq!(search(&db, "fer* garden"), ["fern", "both", "ferry"]);
        assert_eq!(search(&db, "noon*"), ["other", "ferry"], "the shorter document first");
        assert_eq!(search(&db, "zz*"), Vec::<String>::new());
        assert_eq!(search(&db, "*"), Vec::<String>::new());
    }

    #[test]
    fn refuses_bad_definitions_and_stops_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), OpenOptions::default()).unwrap();
        let bad = |json: &str| db.create_text_index("x", &serde_json::from_str(json).unwrap(), &mut |_, _| true).unwrap_err().code;
        assert_eq!(bad(r#"{ "types": [], "fields": ["content"] }"#), Code::InvalidArgument);
        assert_eq!(bad(r#"{ "types": ["M"], "fields": ["content"], "language": "xx" }"#), Code::InvalidArgument);
        assert_eq!(bad(r#"{ "types": ["M"], "fields": ["content"], "b": 2 }"#), Code::InvalidArgument);
        db.create_text_index("messages", &spec(), &mut |_, _| true).unwrap();
        let other: TextIndexSpec = serde_json::from_str(r#"{ "types": ["Message"], "fields": ["title"] }"#).unwrap();
        assert_eq!(db.create_text_index("messages", &other, &mut |_, _| true).unwrap_err().code, Code::InvalidArgument);
        for i in 0..3000 {
            message(&db, &format!("m{i}"), "words");
        }
        let err = db.create_text_index("later", &spec(), &mut |done, _| done == 0).unwrap_err();
        assert_eq!(err.code, Code::Aborted);
        assert_eq!(db.stats().unwrap().text_indexes.len(), 1, "an aborted creation writes nothing");
    }
}
