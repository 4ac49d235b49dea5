//! The `msht-hub` binary: parses the command line and runs the chosen command.
//!
//! The process allocates through mimalloc: a hub's requests, JSON and SQLite pages make many
//! small short-lived allocations across threads, where glibc's allocator spent a sixth of the
//! hub's CPU under load (`perf record` on `cargo bench --bench hub`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    msht_hub::cli::main()
}
