//! Small-number protection for counts shown outside the agencies that hold the records: a
//! count from 1 to `threshold` is suppressed (published as `null` with `suppressed: true`),
//! any other is rounded to the nearest multiple of `base` (halves up), and never published
//! at or below `threshold` unless it is zero. A published count is therefore never between 1
//! and `threshold` and always a multiple of `base`. Thresholds come from configuration.
use serde::Serialize;

/// The rule in force (`threshold` and `base` from configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub threshold: u64,
    pub base: u64,
}

/// A count as it may be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Published {
    pub count: Option<u64>,
    pub suppressed: bool,
}

impl Rule {
    /// A rule; a base of 0 is taken as 1 (no rounding).
    pub fn new(threshold: u64, base: u64) -> Rule {
        Rule {
            threshold,
            base: base.max(1),
        }
    }

    /// `count` as it may be shown outside the agencies that hold the records.
    pub fn publish(self, count: u64) -> Published {
        if count == 0 {
            return Published {
                count: Some(0),
                suppressed: false,
            };
        }
        if count <= self.threshold {
            return Published {
                count: None,
                suppressed: true,
            };
        }
        let base = self.base.max(1);
        let mut rounded = count.saturating_add(base / 2) / base * base;
        // Rounding down must not land at or below the threshold: take the next multiple.
        if rounded <= self.threshold {
            rounded = (self.threshold / base + 1).saturating_mul(base);
        }
        Published {
            count: Some(rounded),
            suppressed: false,
        }
    }
}

/// A two-way table of true counts (rows by columns) with its row, column and grand totals,
/// given separately because a record can fall in several rows (an incident with two
/// exploitation types), so a total is not always the sum of its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub cells: Vec<Vec<u64>>,
    pub row_totals: Vec<u64>,
    pub column_totals: Vec<u64>,
    pub total: u64,
}

/// A table as it may be published: every cell and total published under the rule, with
/// secondary suppression so that no line (a row, a column, or the row or column totals
/// against the grand total) whose total is published has exactly one suppressed entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedTable {
    pub cells: Vec<Vec<Published>>,
    pub row_totals: Vec<Published>,
    pub column_totals: Vec<Published>,
    pub total: Published,
    /// Cells (row, column) suppressed only to protect another suppressed cell.
    pub secondary: Vec<(usize, usize)>,
}

const SUPPRESSED: Published = Published {
    count: None,
    suppressed: true,
};

/// One line of a table: its entries (true count, published) and its total.
struct Line<'a> {
    entries: Vec<(u64, &'a mut Published)>,
    total: &'a mut Published,
}

impl Line<'_> {
    /// Suppresses a second entry (the smallest non-zero count, else the smallest) where
    /// exactly one is suppressed and the total is published, or the total itself where the
    /// line has no other entry. Returns the index suppressed, or `None` if nothing changed.
    fn protect(&mut self) -> Option<Option<usize>> {
        if self.total.suppressed {
            return None;
        }
        let hidden = self.entries.iter().filter(|(_, p)| p.suppressed).count();
        if hidden != 1 {
            return None;
        }
        let pick = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, (_, p))| !p.suppressed)
            .min_by_key(|(_, (n, _))| (*n == 0, *n))
            .map(|(i, _)| i);
        match pick {
            Some(i) => {
                if let Some((_, p)) = self.entries.get_mut(i) {
                    **p = SUPPRESSED;
                }
                Some(Some(i))
            }
            None => {
                *self.total = SUPPRESSED;
                Some(None)
            }
        }
    }
}

impl Rule {
    /// `table` as it may be published: cells and totals each published under the rule (the
    /// totals rounded on their own, from the true totals), then secondary suppression until
    /// no row, column or margin reveals a single suppressed entry through its total.
    pub fn publish_table(self, table: &Table) -> PublishedTable {
        let mut cells: Vec<Vec<Published>> = table
            .cells
            .iter()
            .map(|r| r.iter().map(|n| self.publish(*n)).collect())
            .collect();
        let mut row_totals: Vec<Published> =
            table.row_totals.iter().map(|n| self.publish(*n)).collect();
        let mut column_totals: Vec<Published> = table
            .column_totals
            .iter()
            .map(|n| self.publish(*n))
            .collect();
        let mut total = self.publish(table.total);
        let mut secondary = Vec::new();
        let width = table.column_totals.len();
        // Each pass suppresses at least one more entry or stops; there are finitely many.
        loop {
            let mut changed = false;
            for (i, (row, t)) in cells.iter_mut().zip(row_totals.iter_mut()).enumerate() {
                let counts = table.cells.get(i).map(Vec::as_slice).unwrap_or_default();
                let mut line = Line {
                    entries: counts.iter().copied().zip(row.iter_mut()).collect(),
                    total: t,
                };
                if let Some(hit) = line.protect() {
                    changed = true;
                    if let Some(j) = hit {
                        secondary.push((i, j));
                    }
                }
            }
            for j in 0..width {
                let counts: Vec<u64> = table
                    .cells
                    .iter()
                    .map(|r| r.get(j).copied().unwrap_or(0))
                    .collect();
                let Some(t) = column_totals.get_mut(j) else {
                    continue;
                };
                let mut line = Line {
                    entries: counts
                        .into_iter()
                        .zip(cells.iter_mut().filter_map(|r| r.get_mut(j)))
                        .collect(),
                    total: t,
                };
                if let Some(hit) = line.protect() {
                    changed = true;
                    if let Some(i) = hit {
                        secondary.push((i, j));
                    }
                }
            }
            // The margins: row totals (and column totals) against the grand total. A total
            // suppressed while every cell of its line is published is no secret (it follows
            // from the cells), so it does not count as hidden; a partner is taken, where it
            // can be, from a line that already hides a cell, and otherwise the partner's
            // smallest cell is suppressed with it.
            let height = table.row_totals.len();
            for rows in [true, false] {
                if total.suppressed {
                    continue;
                }
                let (n, across) = if rows {
                    (height, width)
                } else {
                    (width, height)
                };
                let at = |k: usize, m: usize| if rows { (k, m) } else { (m, k) };
                let hides = |cells: &Vec<Vec<Published>>, k: usize| {
                    (0..across).any(|m| {
                        let (i, j) = at(k, m);
                        cells
                            .get(i)
                            .and_then(|r| r.get(j))
                            .is_some_and(|c| c.suppressed)
                    })
                };
                let (true_totals, published) = if rows {
                    (&table.row_totals, &mut row_totals)
                } else {
                    (&table.column_totals, &mut column_totals)
                };
                let hidden = (0..n)
                    .filter(|k| {
                        published.get(*k).is_some_and(|p| p.suppressed) && hides(&cells, *k)
                    })
                    .count();
                if hidden != 1 {
                    continue;
                }
                let open: Vec<usize> = (0..n)
                    .filter(|k| published.get(*k).is_some_and(|p| !p.suppressed))
                    .collect();
                let value = |k: &usize| true_totals.get(*k).copied().unwrap_or(0);
                let pick = open
                    .iter()
                    .copied()
                    .filter(|k| hides(&cells, *k))
                    .min_by_key(value)
                    .map(|k| (k, false))
                    .or_else(|| open.iter().copied().min_by_key(value).map(|k| (k, true)));
                changed = true;
                let Some((k, with_cell)) = pick else {
                    total = SUPPRESSED;
                    continue;
                };
                if let Some(p) = published.get_mut(k) {
                    *p = SUPPRESSED;
                }
                if with_cell {
                    let smallest = (0..across)
                        .map(|m| {
                            let (i, j) = at(k, m);
                            let n = table.cells.get(i).and_then(|r| r.get(j)).copied();
                            (m, n.unwrap_or(0))
                        })
                        .min_by_key(|(_, n)| (*n == 0, *n));
                    if let Some((m, _)) = smallest {
                        let (i, j) = at(k, m);
                        if let Some(c) = cells.get_mut(i).and_then(|r| r.get_mut(j)) {
                            *c = SUPPRESSED;
                            secondary.push((i, j));
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        secondary.sort_unstable();
        secondary.dedup();
        PublishedTable {
            cells,
            row_totals,
            column_totals,
            total,
            secondary,
        }
    }

    /// The rule in words, for the reports that apply it.
    pub fn statement(self) -> String {
        format!(
            "Counts from 1 to {t} are suppressed (count null, suppressed true); every other count \
             is rounded to the nearest multiple of {b}, and never shown at or below {t} unless it \
             is zero. Totals are computed from the unrounded counts and rounded separately. \
             Where a row or column (or the row or column totals) has exactly one suppressed \
             entry and a published total, a second entry (the smallest other count) is \
             suppressed, or the total where there is none.",
            t = self.threshold,
            b = self.base
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_default_rule_suppresses_one_to_seven_and_rounds_to_fives() {
        let r = Rule::new(7, 5);
        assert_eq!(r.publish(0).count, Some(0));
        for n in 1..=7 {
            assert_eq!(
                r.publish(n),
                Published {
                    count: None,
                    suppressed: true
                }
            );
        }
        assert_eq!(r.publish(8).count, Some(10));
        assert_eq!(r.publish(12).count, Some(10));
        assert_eq!(r.publish(13).count, Some(15));
        assert_eq!(r.publish(100).count, Some(100));
    }

    proptest! {
        #[test]
        fn a_published_count_is_never_small_and_always_a_multiple(
            count in 0u64..1_000_000, threshold in 0u64..50, base in 1u64..20
        ) {
            let p = Rule::new(threshold, base).publish(count);
            match p.count {
                None => {
                    prop_assert!(p.suppressed);
                    prop_assert!(count >= 1 && count <= threshold);
                }
                Some(c) => {
                    prop_assert!(!p.suppressed);
                    prop_assert!(c == 0 || c > threshold, "{c} within 1..={threshold}");
                    prop_assert_eq!(c % base, 0);
                    prop_assert_eq!(c == 0, count == 0);
                }
            }
        }

        #[test]
        fn the_default_rule_stays_within_half_a_base(count in 8u64..1_000_000) {
            let c = Rule::new(7, 5).publish(count).count.unwrap_or(0);
            prop_assert!(c.abs_diff(count) <= 2, "{count} -> {c}");
        }

        #[test]
        fn publishing_never_decreases_with_the_count(a in 0u64..100_000, b in 0u64..100_000) {
            let r = Rule::new(7, 5);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (pl, ph) = (r.publish(lo).count.unwrap_or(0), r.publish(hi).count.unwrap_or(0));
            prop_assert!(r.publish(hi).suppressed || pl <= ph);
        }
    }

    fn lines_ok(p: &PublishedTable) -> Result<(), String> {
        let check = |entries: Vec<&Published>, total: &Published, what: String| {
            let hidden = entries.iter().filter(|e| e.suppressed).count();
            if !total.suppressed && hidden == 1 {
                Err(format!("{what} reveals its one suppressed entry"))
            } else {
                Ok(())
            }
        };
        for (i, r) in p.cells.iter().enumerate() {
            check(r.iter().collect(), &p.row_totals[i], format!("row {i}"))?;
        }
        for j in 0..p.column_totals.len() {
            let col = p.cells.iter().map(|r| &r[j]).collect();
            check(col, &p.column_totals[j], format!("column {j}"))?;
        }
        // A suppressed total whose cells are all published follows from them: not hidden.
        let open = Published {
            count: Some(0),
            suppressed: false,
        };
        let rows: Vec<Published> = p
            .row_totals
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if p.cells[i].iter().all(|c| !c.suppressed) {
                    open
                } else {
                    *t
                }
            })
            .collect();
        let cols: Vec<Published> = p
            .column_totals
            .iter()
            .enumerate()
            .map(|(j, t)| {
                if p.cells.iter().all(|r| !r[j].suppressed) {
                    open
                } else {
                    *t
                }
            })
            .collect();
        check(rows.iter().collect(), &p.total, "row totals".into())?;
        check(cols.iter().collect(), &p.total, "column totals".into())
    }

    fn table_of(cells: Vec<Vec<u64>>) -> Table {
        let width = cells.first().map_or(0, Vec::len);
        Table {
            row_totals: cells.iter().map(|r| r.iter().sum()).collect(),
            column_totals: (0..width)
                .map(|j| cells.iter().map(|r| r[j]).sum())
                .collect(),
            total: cells.iter().flatten().sum(),
            cells,
        }
    }

    #[test]
    fn a_single_suppressed_cell_gets_a_partner() {
        let t = table_of(vec![vec![3, 40, 22], vec![30, 50, 60]]);
        let p = Rule::new(7, 5).publish_table(&t);
        assert!(p.cells[0][0].suppressed);
        // Row 0: the next smallest (22) goes; column 0: row 1's 30 goes too.
        assert!(p.cells[0][2].suppressed, "{p:?}");
        assert!(p.cells[1][0].suppressed, "{p:?}");
        assert!(p.secondary.contains(&(0, 2)) && p.secondary.contains(&(1, 0)));
        assert_eq!(p.row_totals[0].count, Some(65));
        assert_eq!(p.total.count, Some(205));
        lines_ok(&p).unwrap();
    }

    /// The case that once revealed a suppressed row total from the column totals and the
    /// grand total: the margins are checked against the grand total too.
    #[test]
    fn the_margins_never_reveal_a_single_suppressed_total() {
        let t = table_of(vec![vec![2, 35], vec![1, 0], vec![10, 0]]);
        let p = Rule::new(1, 1).publish_table(&t);
        lines_ok(&p).unwrap();
    }

    #[test]
    fn a_one_cell_line_hides_its_total() {
        let t = table_of(vec![vec![4]]);
        let p = Rule::new(7, 5).publish_table(&t);
        assert!(p.cells[0][0].suppressed && p.row_totals[0].suppressed && p.total.suppressed);
    }

    proptest! {
        #[test]
        fn a_published_table_never_shows_small_counts_and_hides_what_it_suppresses(
            cells in proptest::collection::vec(proptest::collection::vec(0u64..40, 1..5), 1..5),
            threshold in 1u64..10, base in 1u64..10,
        ) {
            let width = cells[0].len();
            let cells: Vec<Vec<u64>> = cells.into_iter()
                .map(|mut r| { r.resize(width, 0); r }).collect();
            let rule = Rule::new(threshold, base);
            let p = rule.publish_table(&table_of(cells));
            let all = p.cells.iter().flatten()
                .chain(&p.row_totals).chain(&p.column_totals).chain(std::iter::once(&p.total));
            for c in all {
                match c.count {
                    None => prop_assert!(c.suppressed),
                    Some(n) => {
                        prop_assert!(n == 0 || n > threshold, "{n} published");
                        prop_assert_eq!(n % base, 0);
                    }
                }
            }
            prop_assert!(lines_ok(&p).is_ok(), "{:?}", lines_ok(&p));
        }
    }
}
