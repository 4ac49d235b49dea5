//! Routing an incident to the partners who must or asked to know (pure): the MASH for the
//! area always; the children's safeguarding partnership and the ICTG service when a victim is
//! a child; the adults' safeguarding board when an adult is at risk; and every subscriber
//! whose filters match. A referral goes to the police force(s) and the MASH for the area, and
//! for a child also to the children's safeguarding partnership and the ICTG service (no
//! subscribers: a referral is about one person). Each candidate is then put to the policy
//! function; this module only says who is a candidate and why.
use serde::Serialize;

pub mod plan;

use super::agency::AgencyKind;
use super::ids::AgencyId;

/// Why an agency is a candidate recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// The police force for the area (referrals).
    Police,
    Mash,
    ChildrenPartnership,
    Ictg,
    AdultsBoard,
    Subscription,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Police => "police",
            Route::Mash => "mash",
            Route::ChildrenPartnership => "children_partnership",
            Route::Ictg => "ictg",
            Route::AdultsBoard => "adults_board",
            Route::Subscription => "subscription",
        }
    }

    pub fn parse(s: &str) -> Option<Route> {
        [
            Route::Police,
            Route::Mash,
            Route::ChildrenPartnership,
            Route::Ictg,
            Route::AdultsBoard,
            Route::Subscription,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// The statutory recipients' kinds for an incident in one area.
pub fn statutory_kinds(any_child: bool, any_adult_at_risk: bool) -> Vec<(AgencyKind, Route)> {
    let mut out = vec![(AgencyKind::Mash, Route::Mash)];
    if any_child {
        out.push((
            AgencyKind::ChildrenSafeguardingPartnership,
            Route::ChildrenPartnership,
        ));
        out.push((AgencyKind::IctgService, Route::Ictg));
    }
    if any_adult_at_risk {
        out.push((AgencyKind::AdultsSafeguardingBoard, Route::AdultsBoard));
    }
    out
}

/// The statutory recipients' kinds for a referral in one area: the police force(s) and the
/// MASH, and for a child also the children's safeguarding partnership and the ICTG service.
pub fn referral_kinds(child: bool) -> Vec<(AgencyKind, Route)> {
    let mut out = vec![
        (AgencyKind::PoliceForce, Route::Police),
        (AgencyKind::Mash, Route::Mash),
    ];
    if child {
        out.push((
            AgencyKind::ChildrenSafeguardingPartnership,
            Route::ChildrenPartnership,
        ));
        out.push((AgencyKind::IctgService, Route::Ictg));
    }
    out
}

/// One candidate recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub agency_id: AgencyId,
    pub route: Route,
}

/// Statutory recipients first, then subscribers; each agency once (its statutory route wins),
/// never the reporting agency itself.
pub fn candidates(
    reporter: AgencyId,
    statutory: &[(AgencyId, Route)],
    subscribers: &[AgencyId],
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::with_capacity(statutory.len() + subscribers.len());
    let routes = statutory
        .iter()
        .copied()
        .chain(subscribers.iter().map(|a| (*a, Route::Subscription)));
    for (agency_id, route) in routes {
        if agency_id != reporter && !out.iter().any(|c| c.agency_id == agency_id) {
            out.push(Candidate { agency_id, route });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_victims_bring_the_childrens_partnership_and_ictg() {
        let kinds: Vec<Route> = statutory_kinds(true, false)
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        assert_eq!(
            kinds,
            vec![Route::Mash, Route::ChildrenPartnership, Route::Ictg]
        );
        let kinds: Vec<Route> = statutory_kinds(false, true)
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        assert_eq!(kinds, vec![Route::Mash, Route::AdultsBoard]);
    }

    #[test]
    fn each_agency_once_and_never_the_reporter() {
        let (police, mash, ngo) = (AgencyId::new(), AgencyId::new(), AgencyId::new());
        let c = candidates(
            police,
            &[(mash, Route::Mash), (police, Route::Mash)],
            &[mash, ngo, police, ngo],
        );
        assert_eq!(
            c,
            vec![
                Candidate {
                    agency_id: mash,
                    route: Route::Mash
                },
                Candidate {
                    agency_id: ngo,
                    route: Route::Subscription
                }
            ]
        );
    }
}
