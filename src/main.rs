//! The `msht-hub` binary: parses the command line and runs the chosen command.
//!
//! The process allocates through mimalloc: a hub's requests, JSON and SQLite pages make many
//! small short-lived allocations across threads, where glibc's allocator spent a sixth of the
//! hub's CPU under load (`perf record` on `cargo bench --bench hub`; with mimalloc the hub
//! answers about a fifth more incidents and reads). Arenas are committed as they are used
//! (built so by `.cargo/config.toml`, as that is decided before `main`) and freed memory goes
//! back to the system at once, so the hub's resident memory stays that of its live data
//! (with mimalloc's defaults its peak under the benchmark was 159-185 MiB, not 75-85).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3's option number (`mi_option_e` in its `mimalloc.h`) of the purge delay in
/// milliseconds (default 1000).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // SAFETY: setting an option is safe at any time; the purge delay is read at each purge.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) };
    msht_hub::cli::main()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option number of eager arena commit.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

    #[test]
    fn mimalloc_commits_arenas_as_used_and_the_option_numbers_are_its_own() {
        unsafe {
            // Built with MI_DEFAULT_ARENA_EAGER_COMMIT=0 (mimalloc's own default is 2).
            assert_eq!(libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT), 0);
            // The documented default identifies the option.
            assert_eq!(libmimalloc_sys::mi_option_get(PURGE_DELAY), 1000);
        }
    }
}
