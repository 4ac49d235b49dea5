//! Reading hub roles out of a token's claims: a dotted path (`roles`, `realm_access.roles`,
//! `groups`) to a list of strings or a space-separated string, mapped through `role_map`.
use std::collections::BTreeMap;

use serde_json::Value;

use crate::domain::role::{Role, RoleSet};

/// Follows `path` (already split on dots) into `claims`.
pub fn lookup<'a>(
    claims: &'a serde_json::Map<String, Value>,
    path: &[String],
) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut v = claims.get(first)?;
    for seg in rest {
        v = v.as_object()?.get(seg)?;
    }
    Some(v)
}

/// The hub roles named by the claim at `path`; values without a mapping are ignored.
pub fn roles(
    claims: &serde_json::Map<String, Value>,
    path: &[String],
    role_map: &BTreeMap<String, Role>,
) -> RoleSet {
    let mut set = RoleSet::empty();
    let mut add = |s: &str| {
        if let Some(r) = role_map.get(s) {
            set.insert(*r);
        }
    };
    match lookup(claims, path) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut add),
        Some(Value::String(s)) => s.split_whitespace().for_each(&mut add),
        _ => {}
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map() -> BTreeMap<String, Role> {
        BTreeMap::from([
            ("msht-ig".to_owned(), Role::IgOfficer),
            ("msht-user".to_owned(), Role::Practitioner),
        ])
    }

    #[test]
    fn nested_list_claims() {
        let c = json!({"realm_access": {"roles": ["msht-ig", "offline_access"]}});
        let path = vec!["realm_access".to_owned(), "roles".to_owned()];
        let r = roles(c.as_object().unwrap(), &path, &map());
        assert!(r.contains(Role::IgOfficer));
        assert!(!r.contains(Role::Practitioner));
    }

    #[test]
    fn space_separated_claims() {
        let c = json!({"scope": "openid msht-user"});
        let r = roles(c.as_object().unwrap(), &["scope".to_owned()], &map());
        assert!(r.contains(Role::Practitioner));
    }

    #[test]
    fn missing_or_odd_claims_give_no_roles() {
        let c = json!({"roles": 7});
        assert!(roles(c.as_object().unwrap(), &["roles".to_owned()], &map()).is_empty());
        assert!(roles(c.as_object().unwrap(), &["nope".to_owned()], &map()).is_empty());
    }
}
