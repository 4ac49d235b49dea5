//! The contract: api-spec/openapi.yaml names exactly the routes the hub serves, and both
//! migration trees carry the same migration names.
use std::collections::BTreeSet;
use std::path::Path;

/// `(METHOD, path)` pairs named in the spec's `paths` (two-space path keys, four-space
/// method keys: the file keeps that layout).
fn spec_routes() -> BTreeSet<(String, String)> {
    let spec = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("api-spec/openapi.yaml"),
    )
    .unwrap();
    let mut out = BTreeSet::new();
    let mut in_paths = false;
    let mut current: Option<String> = None;
    for line in spec.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line.trim_end() == "paths:";
            current = None;
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(rest) = line.strip_prefix("  ") {
            if !rest.starts_with(' ') {
                current = Some(
                    rest.trim_end()
                        .trim_end_matches(':')
                        .trim_matches('\'')
                        .to_owned(),
                );
                continue;
            }
        }
        if let (Some(path), Some(rest)) = (&current, line.strip_prefix("    ")) {
            if !rest.starts_with(' ') {
                let key = rest.trim_end().trim_end_matches(':');
                if ["get", "post", "put", "patch", "delete"].contains(&key) {
                    out.insert((key.to_uppercase(), path.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn the_spec_names_exactly_the_served_routes() {
    let served: BTreeSet<(String, String)> = msht_hub::http::routes::served().into_iter().collect();
    let spec = spec_routes();
    let missing: Vec<_> = served.difference(&spec).collect();
    let extra: Vec<_> = spec.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "served but not in api-spec/openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "in api-spec/openapi.yaml but not served: {extra:?}"
    );
    assert!(spec.len() >= 10);
}

fn migration_names(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect()
}

#[test]
fn both_backends_have_the_same_migrations() {
    let sqlite = migration_names("sqlite");
    let postgres = migration_names("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
    for name in &sqlite {
        for backend in ["sqlite", "postgres"] {
            for file in ["up.sql", "down.sql"] {
                let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("migrations")
                    .join(backend)
                    .join(name)
                    .join(file);
                assert!(p.exists(), "{} is missing", p.display());
            }
        }
    }
}
