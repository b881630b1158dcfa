//! Full-text indexes: BM25 over the string fields of chosen node types.
//!
//! Invariants:
//! - Definitions live in meta under `text_index/<name>`; the `text` table
//!   holds, per index id (u32, big-endian), postings `id ‖ 0 ‖ term ‖ 0 ‖
//!   node (u64)` → term frequency and the document's length in terms (two
//!   u32, so scoring reads nothing but the postings); meta `text_stats/<id>`
//!   counts the documents and their terms (for the average length).
//! - Every write of a node of an indexed type updates the postings in the
//!   same write transaction (see `database`), so an index always matches
//!   the records: rollbacks, other processes and `kill -9` need nothing more.
//! - A document is the indexed fields' strings (a field holding an array
//!   contributes its strings) joined; one with no terms has no entries.
//! - Scores are FTS5's BM25: Σ idf·tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen)),
//!   idf = ln((N − n + 0.5) / (n + 0.5)), at least 1e-6; higher is better.

use super::tokenize::{Analyzer, QueryTerm};
use crate::storage::codec::{read_u64_be, seal, u64_key};
use crate::storage::meta::{get_meta, put_meta, validate_name};
use crate::storage::nodes::{nodes_of_type, read_node};
use crate::storage::records::{parse, PropertyChange};
use crate::error::{Error, Result};
use crate::storage::filter::NodeFilter;
use crate::storage::records::Node;
use crate::storage::store::Tables;
use crate::storage::writing::Writing;
use heed::{RoTxn, RwTxn};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

const DEF_PREFIX: &str = "text_index/";
const STATS_PREFIX: &str = "text_stats/";
const NEXT_ID: &[u8] = b"next_text_index_id";
const POSTING: u8 = 0;
/// Most indexes a database may have (each write of an indexed type analyzes its text once per index).
const MAX_INDEXES: usize = 32;

/// A text index as declared; defaults filled in when created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TextIndexSpec {
    /// Node types whose nodes it indexes.
    pub types: Vec<String>,
    /// Properties whose strings make a node's text.
    pub fields: Vec<String>,
    /// ISO 639-1 code of the stemmer and stop words (`en` by default), or `none`.
    #[serde(default = "default_language")]
    pub language: String,
    /// Drop the language's stop words (default true).
    #[serde(default = "default_true")]
    pub stop_words: bool,
    #[serde(default = "default_k1")]
    pub k1: f64,
    #[serde(default = "default_b")]
    pub b: f64,
}

fn default_language() -> String {
    "en".into()
}
fn default_true() -> bool {
    true
}
fn default_k1() -> f64 {
    1.2
}
fn default_b() -> f64 {
    0.75
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TextIndexDef {
    pub id: u32,
    pub name: String,
    pub spec: TextIndexSpec,
}

/// A text index in `stats()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextIndexStats {
    pub name: String,
    #[serde(flatten)]
    pub spec: TextIndexSpec,
    /// Nodes with at least one term.
    pub documents: u64,
}

impl TextIndexSpec {
    pub fn validate(&self, name: &str) -> Result<()> {
        validate_name("text index name", name)?;
        let what = |s: &str| format!("text index \"{name}\": {s}");
        if self.types.is_empty() || self.types.iter().any(|t| t.is_empty() || t.contains('\0')) {
            return Err(Error::invalid(what("types must be a non-empty list of node types")));
        }
        if self.fields.is_empty() || self.fields.iter().any(|f| f.is_empty() || f.contains('\0')) {
            return Err(Error::invalid(what("fields must be a non-empty list of property names")));
        }
        if !(self.k1.is_finite() && self.k1 >= 0.0 && self.k1 <= 10.0) {
            return Err(Error::invalid(what(&format!("k1 must be from 0 to 10, got {}", self.k1))));
        }
        if !(self.b.is_finite() && (0.0..=1.0).contains(&self.b)) {
            return Err(Error::invalid(what(&format!("b must be from 0 to 1, got {}", self.b))));
        }
        Analyzer::shared(&self.language, self.stop_words).map(|_| ()).map_err(|e| Error::invalid(what(&e.message)))
    }
}

/// Every text index, in name order.
pub fn list(txn: &RoTxn, t: &Tables) -> Result<Vec<TextIndexDef>> {
    let mut out = Vec::new();
    for entry in t.meta.prefix_iter(txn, DEF_PREFIX.as_bytes())? {
        let (k, v) = entry?;
        let json = crate::storage::codec::open(k, v, || format!("meta {}", String::from_utf8_lossy(k)))?;
        out.push(serde_json::from_slice(json).map_err(|e| Error::corruption(format!("text index definition: {e}")))?);
    }
    Ok(out)
}

pub fn find(txn: &RoTxn, t: &Tables, name: &str) -> Result<Option<TextIndexDef>> {
    Ok(list(txn, t)?.into_iter().find(|d| d.name == name))
}

pub fn stats(txn: &RoTxn, t: &Tables) -> Result<Vec<TextIndexStats>> {
    list(txn, t)?.into_iter().map(|d| Ok(TextIndexStats { documents: counts(txn, t, d.id)?.0, name: d.name, spec: d.spec })).collect()
}

/// Declares an index and fills it from the nodes there are, reporting
/// `(done, total)` nodes to `progress` (which stops it by returning false:
/// `ABORTED`, nothing written); `false` when an index of that name with the
/// same spec existed, `INVALID_ARGUMENT` when one with another spec does.
pub fn create(txn: &mut RwTxn, t: &Writing, name: &str, spec: &TextIndexSpec, progress: crate::Progress) -> Result<bool> {
    spec.validate(name)?;
    if let Some(existing) = find(txn, t, name)? {
        if &existing.spec == spec {
            return Ok(false);
        }
        return Err(Error::invalid(format!(
            "text index \"{name}\" already exists as {}; it was declared again as {}",
            serde_json::to_string(&existing.spec).expect("serializes"),
            serde_json::to_string(spec).expect("serializes")
        )));
    }
    if list(txn, t)?.len() >= MAX_INDEXES {
        return Err(Error::invalid(format!("a database holds at most {MAX_INDEXES} text indexes")));
    }
    let id = u32::try_from(crate::storage::meta::get_meta_u64(txn, t, NEXT_ID)?.unwrap_or(1)).map_err(|_| Error::internal("text index ids exhausted"))?;
    crate::storage::meta::put_meta_u64(txn, t, NEXT_ID, u64::from(id) + 1)?;
    let def = TextIndexDef { id, name: name.to_owned(), spec: spec.clone() };
    put_meta(txn, t, format!("{DEF_PREFIX}{name}").as_bytes(), serde_json::to_string(&def).expect("serializes").as_bytes())?;
    let analyzer = Analyzer::shared(&spec.language, spec.stop_words)?;
    let nodes = indexed_nodes(txn, t, spec)?;
    let total = nodes.len() as u64;
    for (i, node) in nodes.into_iter().enumerate() {
        if i % 1024 == 0 && !progress(i as u64, total) {
            return Err(Error::new(crate::Code::Aborted, format!("creating text index \"{name}\" was aborted; nothing was written")));
        }
        add(txn, t, id, node, &node_terms(txn, t, spec, &analyzer, node)?)?;
    }
    progress(total, total);
    t.forget_follower_defs();
    Ok(true)
}

/// Removes an index and its postings; `false` when there was none.
pub fn drop(txn: &mut RwTxn, t: &Writing, name: &str) -> Result<bool> {
    let Some(def) = find(txn, t, name)? else { return Ok(false) };
    let prefix = def.id.to_be_bytes();
    let doomed: Vec<Vec<u8>> = t.text.prefix_iter(txn, &prefix)?.map(|e| e.map(|(k, _)| k.to_vec())).collect::<std::result::Result<_, _>>()?;
    for k in doomed {
        crate::storage::fault::check(crate::storage::fault::Point::Write)?;
        t.text.delete(txn, &k)?;
    }
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.meta.delete(txn, format!("{DEF_PREFIX}{name}").as_bytes())?;
    crate::storage::fault::check(crate::storage::fault::Point::Write)?;
    t.meta.delete(txn, format!("{STATS_PREFIX}{}", def.id).as_bytes())?;
    t.forget_follower_defs();
    Ok(true)
}

/// Keeps every text index over `node_type` in step with a node's properties changing as `change` says.
pub fn update(txn: &mut RwTxn, t: &Writing, node_type: &str, node: u64, change: &PropertyChange) -> Result<()> {
    let defs = t.follower_defs(|| list(txn, t))?;
    let defs: Vec<&TextIndexDef> = defs.iter().filter(|d| d.spec.types.iter().any(|ty| ty == node_type)).collect();
    if defs.is_empty() {
        return Ok(());
    }
    let (before, after) = change.parsed()?;
    for def in defs {
        let old = before.map(|p| document(&def.spec.fields, p));
        let new = after.map(|p| document(&def.spec.fields, p));
        if old == new {
            continue;
        }
        let analyzer = Analyzer::shared(&def.spec.language, def.spec.stop_words)?;
        if let Some(old) = old {
            remove(txn, t, def.id, node, &analyzer.terms(&old))?;
        }
        if let Some(new) = new {
            add(txn, t, def.id, node, &analyzer.terms(&new))?;
        }
    }
    Ok(())
}

/// The nodes of the index's types, in key order per type.
fn indexed_nodes(txn: &RoTxn, t: &Tables, spec: &TextIndexSpec) -> Result<Vec<u64>> {
    let mut nodes = Vec::new();
    for ty in &spec.types {
        nodes.extend(nodes_of_type(txn, t, ty)?);
    }
    Ok(nodes)
}

/// The terms of a stored node's indexed text.
fn node_terms(txn: &RoTxn, t: &Tables, spec: &TextIndexSpec, analyzer: &Analyzer, node: u64) -> Result<Vec<String>> {
    Ok(analyzer.terms(&document(&spec.fields, &parse(&read_node(txn, t, node)?.properties)?)))
}

/// The indexed text of a node: its fields' strings, one per line.
fn document(fields: &[String], properties: &Map<String, Value>) -> String {
    let mut out = String::new();
    for field in fields {
        let mut push = |s: &str| {
            out.push_str(s);
            out.push('\n');
        };
        match properties.get(field) {
            Some(Value::String(s)) => push(s),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(push),
            _ => {}
        }
    }
    out
}

fn frequencies(terms: &[String]) -> HashMap<&str, u32> {
    let mut tf = HashMap::new();
    for term in terms {
        *tf.entry(term.as_str()).or_insert(0) += 1;
    }
    tf
}

fn posting_prefix(index: u32, term: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + 2 + term.len() + 8);
    k.extend_from_slice(&index.to_be_bytes());
    k.push(POSTING);
    k.extend_from_slice(term.as_bytes());
    k.push(0);
    k
}

/// The start of the posting keys of every term beginning with `start`.
fn term_range(index: u32, start: &str) -> Vec<u8> {
    let mut k = posting_prefix(index, start);
    k.pop();
    k
}

pub(crate) fn posting_key(index: u32, term: &str, node: u64) -> Vec<u8> {
    let mut k = posting_prefix(index, term);
    k.extend_from_slice(&u64_key(node));
    k
}

/// `(documents, terms in all of them)`.
fn counts(txn: &RoTxn, t: &Tables, index: u32) -> Result<(u64, u64)> {
    match get_meta(txn, t, format!("{STATS_PREFIX}{index}").as_bytes())? {
        Some(v) if v.len() == 16 => Ok((read_u64_be(&v[..8]), read_u64_be(&v[8..]))),
        Some(_) => Err(Error::corruption(format!("text index #{index} statistics are malformed"))),
        None => Ok((0, 0)),
    }
}

fn bump(txn: &mut RwTxn, t: &Tables, index: u32, documents: i64, terms: i64) -> Result<()> {
    let (d, n) = counts(txn, t, index)?;
    let mut v = u64_key(d.saturating_add_signed(documents)).to_vec();
    v.extend_from_slice(&u64_key(n.saturating_add_signed(terms)));
    put_meta(txn, t, format!("{STATS_PREFIX}{index}").as_bytes(), &v)
}

fn add(txn: &mut RwTxn, t: &Tables, index: u32, node: u64, terms: &[String]) -> Result<()> {
    if terms.is_empty() {
        return Ok(());
    }
    for (term, tf) in frequencies(terms) {
        let k = posting_key(index, term, node);
        crate::storage::fault::check(crate::storage::fault::Point::Write)?;
        t.text.put(txn, &k, &seal(&k, &posting_value(tf, terms)))?;
    }
    bump(txn, t, index, 1, terms.len() as i64)
}

fn remove(txn: &mut RwTxn, t: &Tables, index: u32, node: u64, terms: &[String]) -> Result<()> {
    if terms.is_empty() {
        return Ok(());
    }
    for term in frequencies(terms).keys() {
        crate::storage::fault::check(crate::storage::fault::Point::Write)?;
        t.text.delete(txn, &posting_key(index, term, node))?;
    }
    bump(txn, t, index, -1, -(terms.len() as i64))
}

/// A posting's value: the term's frequency and the document's length in terms.
fn posting_value(tf: u32, terms: &[String]) -> [u8; 8] {
    let mut v = [0; 8];
    v[..4].copy_from_slice(&tf.to_le_bytes());
    v[4..].copy_from_slice(&u32::try_from(terms.len()).unwrap_or(u32::MAX).to_le_bytes());
    v
}

/// A posting's term frequency and document length.
fn read_posting(key: &[u8], v: &[u8]) -> Result<(u32, u32)> {
    let payload = crate::storage::codec::open(key, v, || "text index posting".to_owned())?;
    match payload {
        [a, b, c, d, e, f, g, h] => Ok((u32::from_le_bytes([*a, *b, *c, *d]), u32::from_le_bytes([*e, *f, *g, *h]))),
        _ => Err(Error::corruption(format!("text index posting holds {} bytes, not 8", payload.len()))),
    }
}

/// Every node matching `query` in index `name` with its BM25 score, best
/// first (equal scores in node key order). A query without terms (only stop
/// words or punctuation) matches nothing.
pub fn rank(txn: &RoTxn, t: &Tables, name: &str, query: &str) -> Result<Vec<(f64, u64)>> {
    let def = find(txn, t, name)?.ok_or_else(|| Error::not_found(format!("text index \"{name}\" does not exist")))?;
    let analyzer = Analyzer::shared(&def.spec.language, def.spec.stop_words)?;
    let mut terms = analyzer.query_terms(query);
    terms.sort();
    terms.dedup();
    let (documents, total_terms) = counts(txn, t, def.id)?;
    if terms.is_empty() || documents == 0 {
        return Ok(Vec::new());
    }
    let average = total_terms as f64 / documents as f64;
    let (k1, b) = (def.spec.k1, def.spec.b);
    let mut scores: HashMap<u64, f64> = HashMap::new();
    let mut hits: Vec<(u64, u32, u32)> = Vec::new();
    for term in &terms {
        // A prefix is scored as FTS5 scores one: a single term whose
        // frequency in a document is that of all its expansions together.
        let (scan, exact) = match term {
            QueryTerm::Exact(term) => (posting_prefix(def.id, term), true),
            QueryTerm::Prefix(start) => (term_range(def.id, start), false),
        };
        hits.clear();
        let mut by_node: HashMap<u64, usize> = HashMap::new();
        for entry in t.text.prefix_iter(txn, &scan)? {
            let (key, v) = entry?;
            let (tf, length) = read_posting(key, v)?;
            let node = read_u64_be(&key[key.len() - 8..]);
            if exact {
                hits.push((node, tf, length));
            } else if let Some(&i) = by_node.get(&node) {
                hits[i].1 += tf;
            } else {
                by_node.insert(node, hits.len());
                hits.push((node, tf, length));
            }
        }
        let n = hits.len() as f64;
        let idf = ((documents as f64 - n + 0.5) / (n + 0.5)).ln().max(1e-6);
        for &(node, tf, length) in &hits {
            let (tf, length) = (f64::from(tf), f64::from(length));
            *scores.entry(node).or_insert(0.0) += idf * tf * (k1 + 1.0) / (tf + k1 * (1.0 - b + b * length / average));
        }
    }
    let mut ranked: Vec<(f64, u64)> = scores.into_iter().map(|(node, s)| (s, node)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(ranked)
}

/// The `k` best of [`rank`] that pass `filter`.
pub fn search(txn: &RoTxn, t: &Tables, name: &str, query: &str, k: usize, filter: &NodeFilter) -> Result<Vec<(f64, Node)>> {
    let mut out = Vec::with_capacity(k.min(64));
    for (score, key) in rank(txn, t, name, query)? {
        if out.len() == k {
            break;
        }
        let node = read_node(txn, t, key)?;
        if filter.admits_node(&node)? {
            out.push((score, node));
        }
    }
    Ok(out)
}

/// What `verify` finds wrong with the text indexes: every posting must be
/// what analyzing its node's text gives now, every term of every indexed
/// node must have its posting, and the counts must add up.
pub fn consistency(txn: &RoTxn, t: &Tables) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for def in list(txn, t)? {
        let analyzer = Analyzer::shared(&def.spec.language, def.spec.stop_words)?;
        let mut expected: HashMap<Vec<u8>, [u8; 8]> = HashMap::new();
        let (mut documents, mut terms_total) = (0u64, 0u64);
        for node in indexed_nodes(txn, t, &def.spec)? {
            let terms = node_terms(txn, t, &def.spec, &analyzer, node)?;
            if terms.is_empty() {
                continue;
            }
            documents += 1;
            terms_total += terms.len() as u64;
            for (term, tf) in frequencies(&terms) {
                expected.insert(posting_key(def.id, term, node), posting_value(tf, &terms));
            }
        }
        for entry in t.text.prefix_iter(txn, &def.id.to_be_bytes())? {
            let (k, v) = entry?;
            let payload = crate::storage::codec::open(k, v, || "text index posting".to_owned())?;
            match expected.remove(k) {
                Some(want) if want.as_slice() == payload => {}
                Some(_) => problems.push(format!("text index \"{}\": posting {} disagrees with its node's text", def.name, crate::storage::codec::hex(k))),
                None => problems.push(format!("text index \"{}\": posting {} belongs to no indexed text", def.name, crate::storage::codec::hex(k))),
            }
        }
        if !expected.is_empty() {
            problems.push(format!("text index \"{}\": {} postings of indexed nodes are missing", def.name, expected.len()));
        }
        if counts(txn, t, def.id)? != (documents, terms_total) {
            problems.push(format!("text index \"{}\": its counts are {:?}; the nodes give {:?}", def.name, counts(txn, t, def.id)?, (documents, terms_total)));
        }
    }
    Ok(problems)
}
