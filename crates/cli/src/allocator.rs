//! The process's allocator, and how an import tunes it.

/// mimalloc: several times cheaper than glibc's allocator for the millions of
/// small JSON values an import allocates on one thread and frees on another
/// (a 200,000-user import went from 15 s to 11 s).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in `mimalloc.h` (15 in mimalloc 2 and 3; the
/// bindings have no constant for it, so a test pins it).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps memory the import frees for its next allocations instead of
/// handing it back to the OS after a second (mimalloc's default). An import
/// frees and reallocates gigabytes phase after phase, and memory handed back
/// comes back as fresh pages the kernel zeroes: on the 2-core VM a
/// 1,000,000-user import bench spent 27–37 s of system time that way,
/// 12.4–13.4 s without purging (first import 45.3–45.7 → 40.4–43.2 s; see
/// BENCHMARKS.md). The import is a short-lived process; the server keeps the
/// default. (`crates/csv/tests/bench.rs` mirrors this call.)
pub fn keep_freed_memory() {
    // SAFETY: `mi_option_set` only stores an integer option; any value is
    // valid for the purge delay (-1: never purge).
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, -1)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Option 15 is the purge delay: mimalloc 3's default for it is 1,000 ms,
    /// which no neighbouring option has. Fails if upstream renumbers.
    #[test]
    fn the_option_set_is_the_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            panic!("unset MIMALLOC_PURGE_DELAY to run this test: it reads the default");
        }
        // SAFETY: reads an integer option.
        #[allow(unsafe_code)]
        let delay = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        assert_eq!(delay, 1000);
    }
}
