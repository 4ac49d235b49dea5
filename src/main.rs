//! The `msht-hub` binary: parses the command line and runs the chosen command.
fn main() -> std::process::ExitCode {
    msht_hub::cli::main()
}
