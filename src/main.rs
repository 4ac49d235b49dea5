//! The `msht-hub` binary: parses the command line and runs the chosen command.
//!
//! The process allocates through mimalloc: a hub's requests, JSON and SQLite pages make many
//! small short-lived allocations across threads, where glibc's allocator spent a sixth of the
//! hub's CPU under load (`perf record` on `cargo bench --bench hub`). Freed memory goes back
//! to the system at once and arenas are committed as used, so the hub's resident memory
//! stays that of its live data (without this its peak under the benchmark was 185 MiB).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3's option numbers (`mi_option_e` in its `mimalloc.h`): eager commit of arenas
/// (default 2) and the purge delay in milliseconds (default 1000).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // SAFETY: setting an option is safe at any time; these are read as memory is reserved
    // and purged.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
    msht_hub::cli::main()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_numbers_are_mimallocs() {
        // Their documented defaults identify them.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT), 2);
            assert_eq!(libmimalloc_sys::mi_option_get(PURGE_DELAY), 1000);
        }
    }
}
