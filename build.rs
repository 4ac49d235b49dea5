//! Rebuilds when migrations change, so the embedded migrations are never stale.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=config/default.toml");
}
