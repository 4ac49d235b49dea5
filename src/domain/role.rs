//! Hub roles and sets of them. Roles come from a token's claim through the issuer's `role_map`;
//! the hub roles `hub_admin` and `hub_auditor` only ever come from the operator's issuers.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role inside the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    HubAdmin,
    HubAuditor,
    AgencyAdmin,
    IgOfficer,
    Practitioner,
    Analyst,
    /// Commissioning staff of a PCC office or a local authority: records the services it
    /// funds and reads their spend.
    Commissioner,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::HubAdmin,
        Role::HubAuditor,
        Role::AgencyAdmin,
        Role::IgOfficer,
        Role::Practitioner,
        Role::Analyst,
        Role::Commissioner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::HubAdmin => "hub_admin",
            Role::HubAuditor => "hub_auditor",
            Role::AgencyAdmin => "agency_admin",
            Role::IgOfficer => "ig_officer",
            Role::Practitioner => "practitioner",
            Role::Analyst => "analyst",
            Role::Commissioner => "commissioner",
        }
    }

    /// Roles that belong to the hub operator, never to an agency.
    pub fn is_operator_role(self) -> bool {
        matches!(self, Role::HubAdmin | Role::HubAuditor)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a hub role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole)
    }
}

/// A small set of roles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RoleSet(u8);

impl RoleSet {
    pub fn empty() -> Self {
        RoleSet(0)
    }

    pub fn insert(&mut self, role: Role) {
        self.0 |= role.bit();
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// Whether the set holds at least one of `roles`.
    pub fn any_of(self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.contains(*r))
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// The roles as their wire names, in a fixed order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Role::as_str).collect()
    }
}

impl FromIterator<Role> for RoleSet {
    fn from_iter<I: IntoIterator<Item = Role>>(iter: I) -> Self {
        let mut s = RoleSet::empty();
        for r in iter {
            s.insert(r);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert_eq!("root".parse::<Role>(), Err(UnknownRole));
    }

    #[test]
    fn role_set_membership() {
        let s: RoleSet = [Role::IgOfficer, Role::Analyst].into_iter().collect();
        assert!(s.contains(Role::IgOfficer));
        assert!(!s.contains(Role::HubAdmin));
        assert!(s.any_of(&[Role::HubAdmin, Role::Analyst]));
        assert_eq!(s.names(), vec!["ig_officer", "analyst"]);
    }
}
