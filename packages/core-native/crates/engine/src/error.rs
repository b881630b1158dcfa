//! The engine's one error type. Every variant maps to a stable code that the
//! JavaScript layer turns into a `LoomError` subclass; messages name the
//! offending value or path.

use std::fmt;

/// Stable error codes shared with `@loomdb/db` (`LoomErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    NotFound,
    AlreadyExists,
    InvalidArgument,
    DimensionMismatch,
    Locked,
    ReadOnly,
    Closed,
    Conflict,
    Backpressure,
    Corruption,
    Io,
    Unsupported,
    Aborted,
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DimensionMismatch => "DIMENSION_MISMATCH",
            Code::Locked => "LOCKED",
            Code::ReadOnly => "READ_ONLY",
            Code::Closed => "CLOSED",
            Code::Conflict => "CONFLICT",
            Code::Backpressure => "BACKPRESSURE",
            Code::Corruption => "CORRUPTION",
            Code::Io => "IO",
            Code::Unsupported => "UNSUPPORTED",
            Code::Aborted => "ABORTED",
            Code::Internal => "INTERNAL",
        }
    }
}

/// An engine failure: a stable code plus a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error { code, message: message.into() }
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(Code::NotFound, m)
    }
    pub fn already_exists(m: impl Into<String>) -> Self {
        Self::new(Code::AlreadyExists, m)
    }
    pub fn invalid(m: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, m)
    }
    pub fn corruption(m: impl Into<String>) -> Self {
        Self::new(Code::Corruption, m)
    }
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(Code::Internal, m)
    }
    /// A put that found the LMDB map full; `Store::write` grows the map and
    /// retries, so this never reaches a caller.
    pub(crate) fn is_map_full(&self) -> bool {
        self.code == Code::Io && self.message == MAP_FULL
    }
}

const MAP_FULL: &str = "LMDB map full";

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(Code::Io, e.to_string())
    }
}

/// LMDB errors that reach a caller. `MapFull` and `MapResized` are handled by
/// the store before they get here; what remains is I/O or damage.
impl From<heed::Error> for Error {
    fn from(e: heed::Error) -> Self {
        match e {
            heed::Error::Mdb(heed::MdbError::MapFull) => Error::new(Code::Io, MAP_FULL),
            heed::Error::Io(io) => Error::new(Code::Io, io.to_string()),
            heed::Error::Mdb(heed::MdbError::Corrupted | heed::MdbError::PageNotFound | heed::MdbError::Invalid | heed::MdbError::VersionMismatch) => {
                Error::corruption(format!("LMDB reports a damaged file: {e}"))
            }
            heed::Error::Mdb(heed::MdbError::ReadersFull) => {
                Error::new(Code::Locked, "too many concurrent readers on this database (LMDB reader table full)")
            }
            other => Error::new(Code::Io, format!("LMDB: {other}")),
        }
    }
}

/// Prefixes an error with the part of a call it came from. A full map
/// passes unchanged: `Store::write` grows the map and runs the call again.
pub(crate) fn within(part: &str, e: Error) -> Error {
    if e.is_map_full() {
        return e;
    }
    Error::new(e.code, format!("{part}: {}", e.message))
}

/// Prefixes a batch item's error with its position (see [`within`]).
pub(crate) fn in_batch(what: &str, i: usize, e: Error) -> Error {
    within(&format!("{what}[{i}]"), e)
}
