//! Engine errors and panics → JS `Error` objects carrying a stable `code`.
//! `@loomdb/db` turns them into `LoomError` subclasses.

use loomdb_engine::{Code, Error};
use neon::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Throws `err` as a JS `Error` with `code` set.
pub fn throw<'a, C: Context<'a>, T>(cx: &mut C, err: Error) -> NeonResult<T> {
    let js = cx.error(&err.message)?;
    let code = cx.string(err.code.as_str());
    js.set(cx, "code", code)?;
    cx.throw(js)
}

/// Runs engine work, turning a panic into an `INTERNAL` error so the process lives on.
pub fn guarded<T>(work: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::new(Code::Internal, format!("internal error in the LoomDB engine: {what}")))
        }
    }
}

/// An argument that failed to convert: `INVALID_ARGUMENT` naming it.
pub fn bad_argument(name: &str, expected: &str) -> Error {
    Error::new(Code::InvalidArgument, format!("{name} must be {expected}"))
}
