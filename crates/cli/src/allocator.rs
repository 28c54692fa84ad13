//! The process's allocator, and how an import tunes it.

/// mimalloc: several times cheaper than glibc's allocator for the millions of
/// small JSON values an import allocates on one thread and frees on another
/// (a 200,000-user import went from 15 s to 11 s).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in `mimalloc.h` (the same in mimalloc 2 and 3).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps memory the import frees for its next allocations instead of
/// handing it back to the OS after a second (mimalloc's default). An import
/// frees and reallocates gigabytes phase after phase, and memory handed back
/// comes back as fresh pages the kernel zeroes: on the 2-core VM a
/// 1,000,000-user import spent 27–37 s of system time that way, 12.5 s
/// without purging (first import 45.3–45.7 → 40.4–41.6 s). The import is a
/// short-lived process; the server keeps the default.
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` only stores an integer option; any value is
    // valid for the purge delay (-1: never purge).
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, -1)
    };
}
