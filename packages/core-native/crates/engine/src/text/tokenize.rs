//! Text → index terms: Unicode word segmentation (UAX #29), lower case,
//! diacritics folded away, stop words dropped, Snowball stemming.
//!
//! Invariant: documents and queries of one index go through the same
//! [`Analyzer`], so a query term matches exactly the postings it should.

use crate::error::{Error, Result};
use rust_stemmers::{Algorithm, Stemmer};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
use unicode_segmentation::UnicodeSegmentation;

/// The analyzers built so far, by language and whether stop words are dropped.
type Built = HashMap<(String, bool), Arc<Analyzer>>;

/// Longest term kept, in bytes; longer words (hashes, base64) are cut there.
pub const MAX_TERM_BYTES: usize = 64;

/// The tokenizer of one index's language.
pub struct Analyzer {
    stemmer: Option<Stemmer>,
    stop: HashSet<String>,
    /// Stems of words seen (stemming is most of the work of analyzing a text;
    /// chat reuses its words), emptied when it reaches [`STEM_CACHE`] entries.
    stems: Mutex<HashMap<String, String>>,
}

const STEM_CACHE: usize = 65_536;

/// Languages with a Snowball stemmer, by ISO 639-1 code; `none` only folds.
const LANGUAGES: &[(&str, Option<Algorithm>)] = &[
    ("none", None),
    ("ar", Some(Algorithm::Arabic)),
    ("da", Some(Algorithm::Danish)),
    ("de", Some(Algorithm::German)),
    ("el", Some(Algorithm::Greek)),
    ("en", Some(Algorithm::English)),
    ("es", Some(Algorithm::Spanish)),
    ("fi", Some(Algorithm::Finnish)),
    ("fr", Some(Algorithm::French)),
    ("hu", Some(Algorithm::Hungarian)),
    ("it", Some(Algorithm::Italian)),
    ("nl", Some(Algorithm::Dutch)),
    ("no", Some(Algorithm::Norwegian)),
    ("pt", Some(Algorithm::Portuguese)),
    ("ro", Some(Algorithm::Romanian)),
    ("ru", Some(Algorithm::Russian)),
    ("sv", Some(Algorithm::Swedish)),
    ("ta", Some(Algorithm::Tamil)),
    ("tr", Some(Algorithm::Turkish)),
];

/// NLTK stop-word list names by the codes above.
const STOP_LISTS: &[(&str, &str)] = &[
    ("ar", "ar"), ("da", "da"), ("de", "de"), ("el", "el"), ("en", "en"), ("es", "es"), ("fi", "fi"), ("fr", "fr"), ("hu", "hu"),
    ("it", "it"), ("nl", "nl"), ("no", "no"), ("pt", "pt"), ("ro", "ro"), ("ru", "ru"), ("sv", "sv"), ("ta", "ta"), ("tr", "tr"),
];

impl Analyzer {
    /// The analyzer for `language`, built once per process (a write analyzes
    /// every indexed node with it; building one reads a stop-word list).
    pub fn shared(language: &str, stop_words: bool) -> Result<Arc<Analyzer>> {
        static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
        let mut built = BUILT.get_or_init(Mutex::default).lock();
        if let Some(a) = built.get(&(language.to_owned(), stop_words)) {
            return Ok(Arc::clone(a));
        }
        let a = Arc::new(Analyzer::new(language, stop_words)?);
        built.insert((language.to_owned(), stop_words), Arc::clone(&a));
        Ok(a)
    }

    /// The analyzer for `language` (a code of [`LANGUAGES`]), with or without its stop words.
    pub fn new(language: &str, stop_words: bool) -> Result<Analyzer> {
        let Some((_, algorithm)) = LANGUAGES.iter().find(|(code, _)| *code == language) else {
            let known: Vec<&str> = LANGUAGES.iter().map(|(c, _)| *c).collect();
            return Err(Error::invalid(format!("text index language must be one of {}, got {language:?}", known.join(", "))));
        };
        let stop = match STOP_LISTS.iter().find(|(code, _)| *code == language) {
            Some((_, list)) if stop_words => stop_words::lookup(list).unwrap_or(&[]).iter().map(|w| fold(w)).collect(),
            _ => HashSet::new(),
        };
        Ok(Analyzer { stemmer: algorithm.map(Stemmer::create), stop, stems: Mutex::default() })
    }

    /// The terms of `text`, in order, repeats kept.
    pub fn terms(&self, text: &str) -> Vec<String> {
        text.unicode_words().filter_map(|word| self.term(word)).collect()
    }

    /// The terms of a search: as [`Analyzer::terms`], except that a word
    /// written with a `*` right after it (`ferr*`) is a prefix: folded but
    /// neither stemmed nor dropped as a stop word, it matches every indexed
    /// term that starts with it (which are stems: `booki*` does not match
    /// "booking", stored as `book`).
    pub fn query_terms(&self, text: &str) -> Vec<QueryTerm> {
        let mut out = Vec::new();
        for (at, word) in text.unicode_word_indices() {
            if text[at + word.len()..].starts_with('*') {
                let folded = truncate(fold(word));
                if !folded.is_empty() {
                    out.push(QueryTerm::Prefix(folded));
                }
            } else if let Some(term) = self.term(word) {
                out.push(QueryTerm::Exact(term));
            }
        }
        out
    }

    /// One word's term, or `None` for a stop word or a word that folds to nothing.
    fn term(&self, word: &str) -> Option<String> {
        let folded = fold(word);
        if folded.is_empty() || self.stop.contains(&folded) {
            return None;
        }
        let term = match &self.stemmer {
            Some(s) => self.stem(s, folded),
            None => folded,
        };
        Some(truncate(term))
    }
}

/// One term of a search.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum QueryTerm {
    /// Matches the postings of exactly this term.
    Exact(String),
    /// Matches the postings of every term starting with this text.
    Prefix(String),
}

impl Analyzer {
    fn stem(&self, stemmer: &Stemmer, word: String) -> String {
        let mut stems = self.stems.lock();
        if let Some(stem) = stems.get(&word) {
            return stem.clone();
        }
        let stem = stemmer.stem(&word).into_owned();
        if stems.len() >= STEM_CACHE {
            stems.clear();
        }
        stems.insert(word, stem.clone());
        stem
    }
}

/// Lower case without diacritics (`Crème` → `creme`), as compatibility characters decompose (`ﬁ` → `fi`).
fn fold(word: &str) -> String {
    if word.is_ascii() {
        return word.to_ascii_lowercase();
    }
    word.nfkd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

fn truncate(mut term: String) -> String {
    if term.len() > MAX_TERM_BYTES {
        let mut end = MAX_TERM_BYTES;
        while !term.is_char_boundary(end) {
            end -= 1;
        }
        term.truncate(end);
    }
    term
}

#[cfg(test)]
mod tests {
    use super::Analyzer;

    fn terms(language: &str, text: &str) -> Vec<String> {
        Analyzer::new(language, true).unwrap().terms(text)
    }

    #[test]
    fn folds_case_and_diacritics_and_stems() {
        assert_eq!(terms("en", "The Crème BRÛLÉE recipes were running"), ["creme", "brule", "recip", "run"]);
        assert_eq!(terms("none", "Crème Brûlée"), ["creme", "brulee"]);
        assert_eq!(terms("fr", "les pâtisseries françaises"), ["patisser", "francais"]);
    }

    #[test]
    fn segments_cjk_emoji_urls_and_numbers() {
        assert_eq!(terms("none", "東京タワー"), ["東", "京", "タワー"]);
        assert_eq!(terms("en", "coffee ☕ 🎉 tastes sour"), ["coffe", "tast", "sour"]);
        assert_eq!(terms("none", "see https://example.com/a-b?x=1"), ["see", "https", "example.com", "a", "b", "x", "1"]);
        assert_eq!(terms("none", "pi is 3.14, not 3,000"), ["pi", "is", "3.14", "not", "3,000"]);
    }

    #[test]
    fn drops_stop_words_and_punctuation_only_text() {
        assert!(terms("en", "the and of, to!").is_empty());
        assert!(terms("en", "?!… --").is_empty());
        assert_eq!(Analyzer::new("en", false).unwrap().terms("the cat"), ["the", "cat"]);
        assert_eq!(Analyzer::new("xx", true).err().unwrap().code, crate::Code::InvalidArgument);
    }

    #[test]
    fn reads_a_star_after_a_word_as_a_prefix() {
        use super::QueryTerm::{Exact, Prefix};
        let en = Analyzer::new("en", true).unwrap();
        assert_eq!(en.query_terms("Booking the FERR* to Bellà*"), [Exact("book".into()), Prefix("ferr".into()), Prefix("bella".into())]);
        // A stop word written as a prefix is kept; a star alone or after a space is punctuation.
        assert_eq!(en.query_terms("the* * cat *"), [Prefix("the".into()), Exact("cat".into())]);
        assert!(en.query_terms("the and *").is_empty());
    }

    #[test]
    fn cuts_very_long_words() {
        let long = "é".repeat(100);
        assert_eq!(terms("none", &long)[0].len(), 64);
    }
}
