//! Minimisation by projection: a record (as the API returns it) projected onto the field
//! paths an agreement allows a recipient. Paths name fields with dots and list items with
//! `[]` (`area`, `victims[].age_band`, `potential_victim.name`). Whatever is not named is
//! left out; a `safe_address` is dropped wherever it appears, whatever the paths say.
use serde_json::{Map, Value};

/// The key that is never disclosed.
pub const NEVER_DISCLOSED: &str = "safe_address";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg<'a> {
    Key(&'a str),
    Each,
}

fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        match part.strip_suffix("[]") {
            Some(key) => {
                out.push(Seg::Key(key));
                out.push(Seg::Each);
            }
            None => out.push(Seg::Key(part)),
        }
    }
    out
}

/// `record` with only the fields named by `paths`.
pub fn project(record: &Value, paths: &[String]) -> Value {
    let mut out = Value::Object(Map::new());
    for path in paths {
        let segs = segments(path);
        copy(record, &mut out, &segs);
    }
    strip_never_disclosed(&mut out);
    out
}

fn copy(src: &Value, dst: &mut Value, segs: &[Seg<'_>]) {
    let Some((first, rest)) = segs.split_first() else {
        *dst = src.clone();
        return;
    };
    match first {
        Seg::Key(k) => {
            let Some(value) = src.get(*k) else { return };
            if !dst.is_object() {
                *dst = Value::Object(Map::new());
            }
            if let Some(obj) = dst.as_object_mut() {
                let slot = obj
                    .entry((*k).to_owned())
                    .or_insert_with(|| match rest.first() {
                        Some(Seg::Each) => Value::Array(Vec::new()),
                        Some(Seg::Key(_)) => Value::Object(Map::new()),
                        None => Value::Null,
                    });
                copy(value, slot, rest);
            }
        }
        Seg::Each => {
            let Some(items) = src.as_array() else { return };
            if !dst.is_array() {
                *dst = Value::Array(Vec::new());
            }
            if let Some(out) = dst.as_array_mut() {
                while out.len() < items.len() {
                    out.push(Value::Object(Map::new()));
                }
                for (item, slot) in items.iter().zip(out.iter_mut()) {
                    copy(item, slot, rest);
                }
            }
        }
    }
}

fn strip_never_disclosed(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove(NEVER_DISCLOSED);
            m.values_mut().for_each(strip_never_disclosed);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_never_disclosed),
        _ => {}
    }
}

/// Every leaf field path present in `value` (lists as `[]`), for checking what left the hub.
pub fn paths_present(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out.sort();
    out.dedup();
    out
}

fn walk(v: &Value, prefix: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(child, p, out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for item in items {
                walk(item, format!("{prefix}[]"), out);
            }
        }
        _ if !prefix.is_empty() => out.push(prefix),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> Value {
        json!({
            "reference": "WMP-1", "area": "E08000025", "exploitation_types": ["labour"],
            "narrative": "secret",
            "victims": [
                {"reference": "V1", "age_band": "13-15", "name": "A", "safe_address": "1 Road"},
                {"reference": "V2", "age_band": "25-34", "name": "B", "safe_address": "2 Road"}
            ],
            "grading": {"source": "1", "intelligence": "B"}
        })
    }

    #[test]
    fn projects_only_named_fields() {
        let p = project(
            &record(),
            &[
                "area".into(),
                "exploitation_types".into(),
                "victims[].age_band".into(),
                "grading.source".into(),
            ],
        );
        assert_eq!(
            p,
            json!({"area": "E08000025", "exploitation_types": ["labour"],
                   "victims": [{"age_band": "13-15"}, {"age_band": "25-34"}],
                   "grading": {"source": "1"}})
        );
    }

    #[test]
    fn safe_address_never_leaves() {
        let p = project(
            &record(),
            &["victims".into(), "victims[].safe_address".into()],
        );
        assert!(!p.to_string().contains("Road"), "{p}");
        assert_eq!(p["victims"][0]["name"], "A");
    }

    #[test]
    fn missing_fields_are_skipped_and_paths_are_listed() {
        let p = project(
            &record(),
            &["operation_name".into(), "victims[].reference".into()],
        );
        assert_eq!(
            p,
            json!({"victims": [{"reference": "V1"}, {"reference": "V2"}]})
        );
        assert_eq!(paths_present(&record()).len(), 10);
        assert!(paths_present(&record()).contains(&"victims[].safe_address".to_owned()));
    }
}
