//! The coverage of an area (pure): for each pathway stage, the services that serve the area
//! with their capacity and occupancy; stages no service serves; and the people (by referral)
//! in each stage with no support in place, with the days they have gone without. People
//! whose referral the reader's agency holds are listed; the others are only counted, under
//! the small-number protection of [`crate::domain::disclosure`].
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::super::agency::GssCode;
use super::super::disclosure::{Published, Rule};
use super::{CapacityUnit, ServiceType, Stage};

/// A service serving the area, with its load now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceLoad {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ServiceType,
    pub capacity: Capacity,
    pub occupied: u32,
    /// Places free now (capacity plus any exception in force, less occupancy).
    pub available: u32,
    #[serde(skip)]
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capacity {
    pub places: u32,
    pub unit: CapacityUnit,
}

/// A person in the area on the support pathway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub referral_id: String,
    pub stage: Stage,
    /// The reader's agency made or received the referral.
    pub held: bool,
    /// A placement is open for them now.
    pub supported: bool,
    /// Since when they have had no support: the end of their last placement, else the
    /// referral.
    pub since: DateTime<Utc>,
}

/// Someone the reader's agency holds, without support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unsupported {
    pub referral_id: String,
    pub since: DateTime<Utc>,
    pub days_without_support: i64,
}

/// The people of a stage without support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WithoutSupport {
    /// Those whose referral the reader's agency holds, by referral.
    pub people: Vec<Unsupported>,
    /// Those held by other agencies, counted under the small-number protection.
    pub elsewhere: Published,
}

/// One stage of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageCoverage {
    pub stage: Stage,
    pub services: Vec<ServiceLoad>,
    /// No service serves this stage in the area.
    pub uncovered: bool,
    pub without_support: WithoutSupport,
}

/// `GET /reports/support-coverage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub area: GssCode,
    pub as_of: DateTime<Utc>,
    pub rule: Rule,
    pub stages: Vec<StageCoverage>,
    pub uncovered_stages: Vec<Stage>,
}

/// Whole days from `since` to `now` (never negative).
pub fn days_between(since: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - since).num_days().max(0)
}

/// Builds the report from the services serving `area` and the people in it.
pub fn report(
    area: GssCode,
    now: DateTime<Utc>,
    rule: Rule,
    services: &[ServiceLoad],
    people: &[Person],
) -> Report {
    let stages: Vec<StageCoverage> = Stage::ALL
        .iter()
        .map(|&stage| {
            let serving: Vec<ServiceLoad> = services
                .iter()
                .filter(|s| s.stages.contains(&stage))
                .cloned()
                .collect();
            let waiting = people.iter().filter(|p| p.stage == stage && !p.supported);
            let mut listed = Vec::new();
            let mut elsewhere = 0u64;
            for p in waiting {
                if p.held {
                    listed.push(Unsupported {
                        referral_id: p.referral_id.clone(),
                        since: p.since,
                        days_without_support: days_between(p.since, now),
                    });
                } else {
                    elsewhere += 1;
                }
            }
            listed.sort_by(|a, b| {
                b.days_without_support
                    .cmp(&a.days_without_support)
                    .then_with(|| a.referral_id.cmp(&b.referral_id))
            });
            StageCoverage {
                stage,
                uncovered: serving.is_empty(),
                services: serving,
                without_support: WithoutSupport {
                    people: listed,
                    elsewhere: rule.publish(elsewhere),
                },
            }
        })
        .collect();
    Report {
        uncovered_stages: stages
            .iter()
            .filter(|s| s.uncovered)
            .map(|s| s.stage)
            .collect(),
        area,
        as_of: now,
        rule,
        stages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn uncovered_stages_and_people_without_support() {
        let now = DateTime::UNIX_EPOCH + Duration::days(400);
        let svc = ServiceLoad {
            id: Uuid::nil(),
            name: "Crisis beds".into(),
            kind: ServiceType::PlaceOfSafety,
            capacity: Capacity {
                places: 4,
                unit: CapacityUnit::Beds,
            },
            occupied: 1,
            available: 3,
            stages: vec![Stage::PreNrm],
        };
        let person = |id: &str, stage, held, supported| Person {
            referral_id: id.into(),
            stage,
            held,
            supported,
            since: now - Duration::days(3),
        };
        let people = vec![
            person("a", Stage::PreNrm, true, false),
            person("b", Stage::PreNrm, true, true),
            person("c", Stage::PostCg, false, false),
        ];
        let area = GssCode::parse("E08000025").unwrap();
        let r = report(area, now, Rule::new(7, 5), &[svc], &people);
        let pre = &r.stages[0];
        assert!(!pre.uncovered);
        assert_eq!(pre.without_support.people.len(), 1);
        assert_eq!(pre.without_support.people[0].days_without_support, 3);
        let post = r.stages.iter().find(|s| s.stage == Stage::PostCg).unwrap();
        assert!(post.uncovered);
        assert!(post.without_support.elsewhere.suppressed);
        assert!(r.uncovered_stages.contains(&Stage::PostCg));
        assert!(!r.uncovered_stages.contains(&Stage::PreNrm));
    }
}
