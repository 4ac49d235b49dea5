//! Optimistic concurrency for versioned records: a change names the version it was made
//! from (`If-Match`), and is refused when the record has moved on, so two editors never
//! silently overwrite each other. The entity tag of version `n` is `"n"`.

/// The versions a change may apply to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// `If-Match: *`: whatever the current version.
    Any,
    /// `If-Match: "3"` (or a list): one of these versions.
    Versions(Vec<i32>),
}

impl Expected {
    /// Whether a record at `version` may be changed.
    pub fn allows(&self, version: i32) -> bool {
        match self {
            Expected::Any => true,
            Expected::Versions(v) => v.contains(&version),
        }
    }

    /// Parses an `If-Match` value: `*`, or a comma-separated list of strong entity tags
    /// (`"3"`); weak tags (`W/"3"`) never match, as RFC 9110 requires for `If-Match`.
    pub fn parse(value: &str) -> Result<Expected, String> {
        let value = value.trim();
        if value == "*" {
            return Ok(Expected::Any);
        }
        let mut versions = Vec::new();
        for tag in value.split(',').map(str::trim) {
            if tag.starts_with("W/") {
                continue;
            }
            let inner = tag
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .ok_or_else(|| format!("`{tag}` is not an entity tag (send the ETag as given)"))?;
            match inner.parse::<i32>() {
                Ok(v) => versions.push(v),
                // A tag this hub never issued matches no version.
                Err(_) => continue,
            }
        }
        Ok(Expected::Versions(versions))
    }
}

/// The entity tag of `version`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_values() {
        assert_eq!(Expected::parse("*").unwrap(), Expected::Any);
        assert!(Expected::parse("\"3\"").unwrap().allows(3));
        assert!(!Expected::parse("\"3\"").unwrap().allows(4));
        assert!(Expected::parse("\"2\", \"4\"").unwrap().allows(4));
        assert!(
            !Expected::parse("W/\"3\"").unwrap().allows(3),
            "weak never matches"
        );
        assert!(!Expected::parse("\"abc\"").unwrap().allows(3));
        assert!(Expected::parse("3").is_err());
        assert_eq!(etag(7), "\"7\"");
    }
}
