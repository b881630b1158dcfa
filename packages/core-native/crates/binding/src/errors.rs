//! Engine errors and panics → JS `Error` objects carrying a stable `code`.
//! `@loomdb/db` turns them into `LoomError` subclasses.
//!
//! Invariant: no panic leaves an exported function, and nothing here calls
//! into JS once the environment can no longer run it (a worker being
//! terminated): Neon answers a failed Node-API call with a panic, and a
//! panic that reaches Neon's own boundary while the environment is going
//! away aborts the whole process.

use loomdb_engine::{Code, Error};
use neon::prelude::*;
use neon::result::Throw;
use neon::sys::bindings as napi;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Can this environment still run JavaScript? `false` once its worker is
/// being terminated (or its main thread is exiting). Probes the same
/// Node-API preamble every JS-running call checks, without running any:
/// `napi_throw` with no value fails with `InvalidArg` exactly when the
/// preamble passed.
pub fn can_call_into_js<'a>(cx: &impl Context<'a>) -> bool {
    // SAFETY: `to_raw` is the live env of `cx`; a null value is rejected
    // by `napi_throw` before anything is thrown.
    unsafe { napi::throw(cx.to_raw(), std::ptr::null_mut()) == Err(napi::Status::InvalidArg) }
}

/// The `Err` of a call that has thrown, or whose environment is going
/// away (there is no one to throw to, so nothing is thrown).
fn abandoned<T>() -> NeonResult<T> {
    // SAFETY: Neon asks that a `Throw` stand for a pending exception; here
    // the environment is terminating (V8's termination is what is
    // pending), and Node-API ignores what the callback returns.
    Err(unsafe { Throw::new() })
}

/// Wraps an export: it does not start once its environment can no longer
/// run JS, and a panic inside it (ours or a Neon `unwrap` of a Node-API
/// call refused mid-termination) becomes an `INTERNAL` error — or nothing,
/// when the environment is gone — instead of reaching Neon's boundary.
pub fn exported<V: Value>(f: fn(FunctionContext) -> JsResult<V>) -> impl Fn(FunctionContext) -> JsResult<JsValue> + 'static {
    move |cx| {
        if !can_call_into_js(&cx) {
            return abandoned();
        }
        let env = cx.to_raw();
        match catch_unwind(AssertUnwindSafe(|| f(cx).map(|v| v.upcast::<JsValue>()))) {
            Ok(result) => result,
            Err(panic) => {
                // SAFETY: the callback's handle scope is still open (we are
                // inside it); `f`'s context is gone, so this is the only one.
                let mut cx = unsafe { neon::context::Cx::from_raw(env) };
                let error = Error::new(Code::Internal, format!("internal error in the LoomDB binding: {}", panic_message(&*panic)));
                // Either the error is now pending or the environment is
                // gone; a panic while throwing is one more reason to stop.
                let _ = catch_unwind(AssertUnwindSafe(|| throw::<_, ()>(&mut cx, error)));
                abandoned()
            }
        }
    }
}

/// Runs the JS half of an asynchronous call (settling its promise) under the
/// same rule as [`exported`]: a panic becomes an `INTERNAL` rejection, or
/// nothing once the environment is gone, never a panic into Neon (which
/// aborts the process when it cannot reject any more).
pub fn contained<'a, C: Context<'a>>(cx: &mut C, f: impl FnOnce(&mut C) -> JsResult<'a, JsValue>) -> JsResult<'a, JsValue> {
    match catch_unwind(AssertUnwindSafe(|| f(cx))) {
        Ok(result) => result,
        Err(panic) => {
            let error = Error::new(Code::Internal, format!("internal error in the LoomDB binding: {}", panic_message(&*panic)));
            match catch_unwind(AssertUnwindSafe(|| throw(cx, error))) {
                Ok(result) => result,
                Err(_) => abandoned(),
            }
        }
    }
}

/// Throws `err` as a JS `Error` with `code` set; throws nothing (but still
/// fails) once the environment can no longer run JS.
pub fn throw<'a, C: Context<'a>, T>(cx: &mut C, err: Error) -> NeonResult<T> {
    if !can_call_into_js(cx) {
        return abandoned();
    }
    let js = cx.error(&err.message)?;
    let code = cx.string(err.code.as_str());
    js.set(cx, "code", code)?;
    cx.throw(js)
}

/// Runs engine work, turning a panic into an `INTERNAL` error so the process lives on.
pub fn guarded<T>(work: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(panic) => Err(Error::new(Code::Internal, format!("internal error in the LoomDB engine: {}", panic_message(&*panic)))),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// An argument that failed to convert: `INVALID_ARGUMENT` naming it.
pub fn bad_argument(name: &str, expected: &str) -> Error {
    Error::new(Code::InvalidArgument, format!("{name} must be {expected}"))
}
