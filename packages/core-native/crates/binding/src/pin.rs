//! Keeps this addon mapped for the life of the process.
//!
//! Node unloads (`dlclose`) an addon when the last worker that loaded it is
//! torn down, e.g. by `worker.terminate()`. LMDB registers a `pthread_key`
//! destructor per open environment (its reader slot) and Rust std may keep
//! thread-local destructors too; their code lives in this library. A thread
//! exiting after the unload (the worker's own thread, a writer thread, a
//! libuv pool thread) then jumps into unmapped memory and the whole process
//! dies with SIGSEGV.
//!
//! Invariant: after [`pin`] returns `Ok`, the library is never unmapped
//! (`RTLD_NODELETE`), so every destructor it registered stays callable.
//! The cost is one mapping kept until exit, which a process that loaded
//! the addon once would keep anyway. Tested where it matters, in a real
//! Node process: `packages/db/test/worker-terminate.test.ts` (a Rust test
//! binary is an executable, which `dlopen` cannot re-open by path).

/// Re-opens this library with `RTLD_NODELETE`, pinning it in memory.
#[cfg(unix)]
pub fn pin() -> Result<(), String> {
    use std::ffi::CStr;
    // SAFETY: `dladdr` only reads the address we pass (a function of this
    // library) and fills `info`; `dli_fname` points into the loader's own
    // storage, valid while the library is loaded, and is used at once.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let here = pin as *const libc::c_void;
        if libc::dladdr(here, &mut info) == 0 || info.dli_fname.is_null() {
            return Err("dladdr found no library for the addon".into());
        }
        // `RTLD_NOLOAD`: only take another reference to the library already
        // loaded; `RTLD_NODELETE`: never unmap it. The handle is deliberately
        // leaked — closing it would drop the reference again.
        let handle = libc::dlopen(info.dli_fname, libc::RTLD_NOW | libc::RTLD_NOLOAD | libc::RTLD_NODELETE);
        if handle.is_null() {
            let name = CStr::from_ptr(info.dli_fname).to_string_lossy().into_owned();
            return Err(format!("dlopen(RTLD_NODELETE) failed for {name}"));
        }
    }
    Ok(())
}

/// Not handled off unix: Windows would need `GetModuleHandleExW` with
/// `GET_MODULE_HANDLE_EX_FLAG_PIN`, which nobody has needed (or tested) yet.
#[cfg(not(unix))]
pub fn pin() -> Result<(), String> {
    Ok(())
}
