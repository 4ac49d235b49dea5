//! The threat picture (`GET /reports/threat-picture`): counts of incidents, victims and
//! referrals by period (month or quarter) and by one or more dimensions (exploitation type,
//! interconnected threat, age band, pathway, area, 4P strand, outcome type). Each measure is a
//! table of rows (one per combination of dimension values) by periods, with row, period and
//! grand totals; the table is published under the small-number rule with secondary
//! suppression. A record with several values of a dimension (an incident of labour and sexual
//! exploitation) counts once in each of its rows, and once in its period's total.
//!
//! Incidents and their victims fall in the period of `occurred_at` (victims' age bands are
//! their ages then); referrals in the period they were made.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::domain::disclosure::{Published, Rule, Table};
use crate::domain::incident::{age_band, Incident, NrmStatus};
use crate::domain::referral::Referral;

str_enum! {
    /// What a row of the report is cut by.
    pub enum Dimension ("dimension") {
        ExploitationType = "exploitation_type",
        Threat = "threat",
        AgeBand = "age_band",
        Pathway = "pathway",
        Area = "area",
        FourP = "four_p",
        OutcomeType = "outcome_type",
    }
}

str_enum! {
    /// What is counted.
    pub enum Measure ("measure") {
        Incidents = "incidents",
        Victims = "victims",
        Referrals = "referrals",
    }
}

str_enum! {
    /// The length of a column.
    pub enum Period ("period") {
        Month = "month",
        Quarter = "quarter",
    }
}

impl Period {
    /// The column `day` falls in: `2026-05` or `2026-Q2`.
    pub fn key(self, day: NaiveDate) -> String {
        match self {
            Period::Month => format!("{:04}-{:02}", day.year(), day.month()),
            Period::Quarter => format!("{:04}-Q{}", day.year(), (day.month() - 1) / 3 + 1),
        }
    }

    /// Every column from `from` to `to`, in order.
    pub fn columns(self, from: NaiveDate, to: NaiveDate) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut d = from.with_day(1).unwrap_or(from);
        while d <= to {
            let k = self.key(d);
            if out.last() != Some(&k) {
                out.push(k);
            }
            match d.checked_add_months(chrono::Months::new(1)) {
                Some(next) => d = next,
                None => break,
            }
        }
        out
    }
}

/// What the reader asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub period: Period,
    pub by: Vec<Dimension>,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// One counted unit: what it counts, the day it falls on, and its values of each dimension
/// asked for (in the query's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub measure: Measure,
    pub on: NaiveDate,
    pub values: Vec<BTreeSet<String>>,
}

fn set<I: IntoIterator<Item = S>, S: Into<String>>(items: I, empty: &str) -> BTreeSet<String> {
    let mut s: BTreeSet<String> = items.into_iter().map(Into::into).collect();
    if s.is_empty() {
        s.insert(empty.to_owned());
    }
    s
}

fn pathway_of(status: Option<NrmStatus>) -> &'static str {
    match status {
        None | Some(NrmStatus::NotReferred) => "not_referred",
        Some(_) => "nrm",
    }
}

/// The facts of an incident: the incident itself and each of its victims.
pub fn incident_facts(x: &Incident, by: &[Dimension]) -> Vec<Fact> {
    let on = x.occurred_at.date_naive();
    let bands = |v: &crate::domain::incident::Victim| age_band(v.age_at(x.occurred_at));
    let outcomes = set(x.outcomes.iter().map(|o| o.kind.as_str()), "none");
    let four_p = set(
        x.four_p
            .iter()
            .map(|p| p.as_str())
            .chain(x.outcomes.iter().map(|o| o.four_p().as_str())),
        "none",
    );
    let shared = |d: Dimension| -> Option<BTreeSet<String>> {
        Some(match d {
            Dimension::ExploitationType => {
                set(x.exploitation_types.iter().map(|e| e.as_str()), "unknown")
            }
            Dimension::Threat => set(x.threats.iter().map(|t| t.as_str()), "none"),
            Dimension::Area => set([x.area.as_str()], "unknown"),
            Dimension::FourP => four_p.clone(),
            Dimension::OutcomeType => outcomes.clone(),
            Dimension::AgeBand | Dimension::Pathway => return None,
        })
    };
    let incident = Fact {
        measure: Measure::Incidents,
        on,
        values: by
            .iter()
            .map(|d| {
                shared(*d).unwrap_or_else(|| match d {
                    Dimension::AgeBand => set(x.victims.iter().map(bands), "unknown"),
                    _ => set(
                        x.victims.iter().map(|v| pathway_of(v.nrm_status)),
                        "not_referred",
                    ),
                })
            })
            .collect(),
    };
    let mut out = vec![incident];
    for v in &x.victims {
        out.push(Fact {
            measure: Measure::Victims,
            on,
            values: by
                .iter()
                .map(|d| {
                    shared(*d).unwrap_or_else(|| match d {
                        Dimension::AgeBand => set([bands(v)], "unknown"),
                        _ => set([pathway_of(v.nrm_status)], "not_referred"),
                    })
                })
                .collect(),
        });
    }
    out
}

/// The fact of a referral.
pub fn referral_facts(x: &Referral, by: &[Dimension]) -> Vec<Fact> {
    let values = by
        .iter()
        .map(|d| match d {
            Dimension::ExploitationType => {
                set(x.exploitation_types.iter().map(|e| e.as_str()), "unknown")
            }
            Dimension::Threat => set(["not_recorded"], "not_recorded"),
            Dimension::AgeBand => set(
                [age_band(x.potential_victim.age_on(x.created_at))],
                "unknown",
            ),
            Dimension::Pathway => set([x.pathway.as_str()], "unknown"),
            Dimension::Area => set([x.area.as_str()], "unknown"),
            Dimension::FourP | Dimension::OutcomeType => set(["not_applicable"], "not_applicable"),
        })
        .collect();
    vec![Fact {
        measure: Measure::Referrals,
        on: x.created_at.date_naive(),
        values,
    }]
}

/// One row of a published table: its dimension values, one cell per period, and its total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub key: BTreeMap<String, String>,
    pub cells: Vec<Published>,
    pub total: Published,
}

/// One measure's published table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeasureTable {
    pub measure: Measure,
    pub rows: Vec<Row>,
    pub period_totals: Vec<Published>,
    pub total: Published,
    /// How many cells were suppressed only to protect another.
    pub secondarily_suppressed: usize,
}

/// The rule applied, as the report states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleStatement {
    pub threshold: u64,
    pub base: u64,
    pub statement: String,
}

/// The report, before the use case adds whose records it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Picture {
    pub period: Period,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub by: Vec<Dimension>,
    pub periods: Vec<String>,
    pub disclosure_control: RuleStatement,
    pub measures: Vec<MeasureTable>,
}

/// Every combination of one value from each set.
fn combinations(values: &[BTreeSet<String>]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for vs in values {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                vs.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push(v.clone());
                    p
                })
            })
            .collect();
    }
    out
}

fn table_of(
    q: &Query,
    periods: &[String],
    facts: &[&Fact],
    rule: Rule,
) -> (Vec<Vec<String>>, Table, Rule) {
    let column = |f: &Fact| periods.iter().position(|p| *p == q.period.key(f.on));
    let mut rows: BTreeMap<Vec<String>, Vec<u64>> = BTreeMap::new();
    let mut column_totals = vec![0u64; periods.len()];
    let mut total = 0u64;
    for f in facts {
        let Some(j) = column(f) else { continue };
        total += 1;
        if let Some(c) = column_totals.get_mut(j) {
            *c += 1;
        }
        for key in combinations(&f.values) {
            let row = rows.entry(key).or_insert_with(|| vec![0; periods.len()]);
            if let Some(c) = row.get_mut(j) {
                *c += 1;
            }
        }
    }
    let keys: Vec<Vec<String>> = rows.keys().cloned().collect();
    let cells: Vec<Vec<u64>> = rows.into_values().collect();
    let row_totals = cells.iter().map(|r| r.iter().sum()).collect();
    (
        keys,
        Table {
            cells,
            row_totals,
            column_totals,
            total,
        },
        rule,
    )
}

/// The published report of `facts` for `q` under `rule`.
pub fn picture(q: &Query, facts: &[Fact], rule: Rule) -> Picture {
    let periods = q.period.columns(q.from, q.to);
    let in_range: Vec<&Fact> = facts
        .iter()
        .filter(|f| f.on >= q.from && f.on <= q.to)
        .collect();
    let measures = Measure::ALL
        .iter()
        .map(|m| {
            let mine: Vec<&Fact> = in_range
                .iter()
                .copied()
                .filter(|f| f.measure == *m)
                .collect();
            let (keys, table, rule) = table_of(q, &periods, &mine, rule);
            let p = rule.publish_table(&table);
            let rows = keys
                .into_iter()
                .zip(p.cells)
                .zip(p.row_totals)
                .map(|((key, cells), total)| Row {
                    key: q
                        .by
                        .iter()
                        .map(|d| d.as_str().to_owned())
                        .zip(key)
                        .collect(),
                    cells,
                    total,
                })
                .collect();
            MeasureTable {
                measure: *m,
                rows,
                period_totals: p.column_totals,
                total: p.total,
                secondarily_suppressed: p.secondary.len(),
            }
        })
        .collect();
    Picture {
        period: q.period,
        from: q.from,
        to: q.to,
        by: q.by.clone(),
        periods,
        disclosure_control: RuleStatement {
            threshold: rule.threshold,
            base: rule.base,
            statement: rule.statement(),
        },
        measures,
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The report as CSV: one line per cell and per total (`period` is `total` for row totals;
/// dimension columns are `total` for period totals), with `count` empty where suppressed.
pub fn to_csv(p: &Picture) -> String {
    let dims: Vec<&str> = p.by.iter().map(|d| d.as_str()).collect();
    let mut out = format!("measure,period,{},count,suppressed\n", dims.join(","));
    let line = |out: &mut String, m: Measure, period: &str, key: &[String], c: &Published| {
        let fields: Vec<String> = key.iter().map(|k| csv_field(k)).collect();
        let count = c.count.map(|n| n.to_string()).unwrap_or_default();
        out.push_str(&format!(
            "{m},{},{},{count},{}\n",
            csv_field(period),
            fields.join(","),
            c.suppressed
        ));
    };
    let all_total: Vec<String> = dims.iter().map(|_| "total".to_owned()).collect();
    for t in &p.measures {
        for r in &t.rows {
            let key: Vec<String> = dims
                .iter()
                .map(|d| r.key.get(*d).cloned().unwrap_or_default())
                .collect();
            for (period, c) in p.periods.iter().zip(&r.cells) {
                line(&mut out, t.measure, period, &key, c);
            }
            line(&mut out, t.measure, "total", &key, &r.total);
        }
        for (period, c) in p.periods.iter().zip(&t.period_totals) {
            line(&mut out, t.measure, period, &all_total, c);
        }
        line(&mut out, t.measure, "total", &all_total, &t.total);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn periods_cover_the_range() {
        assert_eq!(
            Period::Month.columns(d("2026-01-15"), d("2026-03-02")),
            vec!["2026-01", "2026-02", "2026-03"]
        );
        assert_eq!(
            Period::Quarter.columns(d("2025-11-01"), d("2026-04-30")),
            vec!["2025-Q4", "2026-Q1", "2026-Q2"]
        );
        assert_eq!(
            Period::Month.columns(d("2026-05-31"), d("2026-05-31")),
            vec!["2026-05"]
        );
    }

    #[test]
    fn multi_valued_records_count_once_per_row_and_once_in_the_totals() {
        let q = Query {
            period: Period::Month,
            by: vec![Dimension::ExploitationType],
            from: d("2026-01-01"),
            to: d("2026-03-31"),
        };
        let fact = |on: &str, types: &[&str]| Fact {
            measure: Measure::Incidents,
            on: d(on),
            values: vec![types.iter().map(|t| t.to_string()).collect()],
        };
        let mut facts: Vec<Fact> = (0..20)
            .map(|_| fact("2026-01-10", &["labour", "sexual"]))
            .collect();
        facts.extend((0..3).map(|_| fact("2026-02-10", &["criminal"])));
        facts.extend((0..15).map(|_| fact("2026-03-10", &["labour"])));
        facts.push(fact("2025-12-31", &["labour"]));
        let p = picture(&q, &facts, Rule::new(7, 5));
        let t = &p.measures[0];
        assert_eq!(t.measure, Measure::Incidents);
        let labour = t
            .rows
            .iter()
            .find(|r| r.key["exploitation_type"] == "labour")
            .unwrap();
        // Labour: 20 in January (with sexual) and 15 in March; the grand total counts the
        // 38 incidents once each (58 if the January ones counted twice).
        assert_eq!(labour.total.count, Some(35));
        let criminal = t
            .rows
            .iter()
            .find(|r| r.key["exploitation_type"] == "criminal")
            .unwrap();
        assert!(criminal.cells[1].suppressed && criminal.total.suppressed);
        assert!(t.period_totals[1].suppressed);
        assert!(t.secondarily_suppressed > 0);
        assert_eq!(t.total.count, Some(40));
        assert!(p.disclosure_control.statement.contains("1 to 7"));
        let csv = to_csv(&p);
        assert!(csv.starts_with("measure,period,exploitation_type,count,suppressed\n"));
        assert!(csv.contains("incidents,2026-02,criminal,,true\n"), "{csv}");
        assert!(csv.contains("incidents,total,total,40,false\n"), "{csv}");
    }
}
