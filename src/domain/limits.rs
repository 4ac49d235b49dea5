//! Caps on what one request or one agency may hold (`[limits]` in the settings): lists in
//! incident, referral and subscription bodies, addresses per e-mail subscription,
//! subscriptions per agency. Going over one is a 422 whose pointer names the field and whose
//! detail names the setting.
use serde::Deserialize;

use super::validate::Errors;

/// The configured caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Active subscriptions one agency may hold.
    pub subscriptions_per_agency: usize,
    /// Addresses one e-mail subscription may name.
    pub addresses_per_email_subscription: usize,
    /// Victims, and suspects, in one incident.
    pub people_per_incident: usize,
    /// Items in any other list of an incident, referral or subscription body.
    pub list_items: usize,
}

impl Default for Limits {
    /// The shipped defaults (`config/default.toml`).
    fn default() -> Self {
        Limits {
            subscriptions_per_agency: 50,
            addresses_per_email_subscription: 10,
            people_per_incident: 500,
            list_items: 50,
        }
    }
}

impl Limits {
    /// Records a 422 at `pointer` when a list of `len` items is longer than `limits.list_items`.
    pub fn list(&self, e: &mut Errors, pointer: &str, len: usize) {
        over(e, pointer, len, self.list_items, "list_items");
    }

    /// The same for the victims or suspects of an incident (`limits.people_per_incident`).
    pub fn people(&self, e: &mut Errors, pointer: &str, len: usize) {
        over(
            e,
            pointer,
            len,
            self.people_per_incident,
            "people_per_incident",
        );
    }

    /// The same for the addresses of an e-mail subscription.
    pub fn addresses(&self, e: &mut Errors, pointer: &str, len: usize) {
        over(
            e,
            pointer,
            len,
            self.addresses_per_email_subscription,
            "addresses_per_email_subscription",
        );
    }
}

fn over(e: &mut Errors, pointer: &str, len: usize, max: usize, setting: &str) {
    if len > max {
        e.add(
            pointer,
            format!("at most {max} items (limits.{setting}); {len} were sent"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn an_over_long_list_names_its_field_and_the_setting() {
        let l = Limits::default();
        let mut e = Errors::new();
        l.list(&mut e, "/victims/0/needs", 50);
        assert!(e.is_empty());
        l.list(&mut e, "/victims/0/needs", 51);
        let Err(AppError::Validation(v)) = e.finish() else {
            unreachable!("a 422")
        };
        assert_eq!(v[0].pointer, "/victims/0/needs");
        assert!(v[0].detail.contains("limits.list_items"), "{}", v[0].detail);
    }
}
