//! A report's answer: named columns and rows of cells.

use std::fmt;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{ReportError, ReportName, list};

/// One value of a report row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(u64),
    Num(f64),
    Empty,
}

impl Cell {
    pub(super) fn opt_num(v: Option<f64>) -> Cell {
        v.map_or(Cell::Empty, Cell::Num)
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Text(t) => s.serialize_str(t),
            Cell::Int(n) => s.serialize_u64(*n),
            Cell::Num(x) => s.serialize_f64(*x),
            Cell::Empty => s.serialize_none(),
        }
    }
}

impl fmt::Display for Cell {
    /// The exact value (CSV): floats in their shortest round-trip form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Text(t) => f.write_str(t),
            Cell::Int(n) => write!(f, "{n}"),
            Cell::Num(x) => write!(f, "{x}"),
            Cell::Empty => Ok(()),
        }
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}
impl From<u64> for Cell {
    fn from(n: u64) -> Cell {
        Cell::Int(n)
    }
}
impl From<f64> for Cell {
    fn from(x: f64) -> Cell {
        Cell::Num(x)
    }
}

/// A report's answer: named columns and rows of cells. Serialises as a JSON array of objects
/// whose keys keep the column order.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl ReportRows {
    pub(super) fn new(columns: &[&str]) -> ReportRows {
        ReportRows {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}

/// Columns that add up across rows (license-hours, counts of events): a table's totals line
/// sums them. Peaks, averages, percentages and distinct counts do not add up.
const ADDITIVE: [&str; 6] = [
    "used_hours",
    "desired_hours",
    "denials",
    "checkouts",
    "refusals",
    "licenses",
];

impl ReportRows {
    /// Sorted by `sort` (numbers largest first, text in order; a column of the report) and cut
    /// to the first `top` rows.
    pub(super) fn arranged(
        mut self,
        report: ReportName,
        sort: Option<&str>,
        top: Option<usize>,
    ) -> Result<ReportRows, ReportError> {
        if let Some(column) = sort {
            let Some(i) = self.columns.iter().position(|c| c == column) else {
                return Err(ReportError::Invalid(format!(
                    "the {report} report has no column `{column}` to sort by; its columns are {}",
                    list(self.columns.iter().map(String::as_str))
                )));
            };
            self.rows.sort_by(|a, b| order(&a[i], &b[i]));
        }
        if let Some(n) = top {
            self.rows.truncate(n);
        }
        Ok(self)
    }

    /// The sums of the columns that add up, `None` in the others; `None` when none adds up or
    /// there are no rows.
    pub fn totals(&self) -> Option<Vec<Option<f64>>> {
        if self.rows.is_empty() || !self.columns.iter().any(|c| ADDITIVE.contains(&c.as_str())) {
            return None;
        }
        let sums = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                ADDITIVE.contains(&c.as_str()).then(|| {
                    self.rows
                        .iter()
                        .map(|r| match r[i] {
                            Cell::Int(n) => n as f64,
                            Cell::Num(x) => x,
                            _ => 0.0,
                        })
                        .sum()
                })
            })
            .collect();
        Some(sums)
    }
}

/// Numbers largest first, then text in order, empty cells last.
fn order(a: &Cell, b: &Cell) -> std::cmp::Ordering {
    let number = |c: &Cell| match c {
        Cell::Int(n) => Some(*n as f64),
        Cell::Num(x) => Some(*x),
        _ => None,
    };
    match (number(a), number(b), a, b) {
        (Some(x), Some(y), _, _) => y.total_cmp(&x),
        (_, _, Cell::Empty, Cell::Empty) => std::cmp::Ordering::Equal,
        (_, _, Cell::Empty, _) => std::cmp::Ordering::Greater,
        (_, _, _, Cell::Empty) => std::cmp::Ordering::Less,
        _ => a.to_string().cmp(&b.to_string()),
    }
}

impl Serialize for ReportRows {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Row<'a>(&'a [String], &'a [Cell]);
        impl Serialize for Row<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (c, v) in self.0.iter().zip(self.1) {
                    m.serialize_entry(c, v)?;
                }
                m.end()
            }
        }
        let mut seq = s.serialize_seq(Some(self.rows.len()))?;
        for r in &self.rows {
            seq.serialize_element(&Row(&self.columns, r))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_serialise_in_column_order() -> Result<(), serde_json::Error> {
        let rows = ReportRows {
            columns: vec!["z".into(), "a".into(), "n".into()],
            rows: vec![vec!["x".into(), 2u64.into(), Cell::Empty]],
        };
        assert_eq!(
            serde_json::to_string(&rows)?,
            r#"[{"z":"x","a":2,"n":null}]"#
        );
        assert_eq!(Cell::Num(0.75).to_string(), "0.75");
        Ok(())
    }

    fn users() -> ReportRows {
        ReportRows {
            columns: vec!["user".into(), "used_hours".into(), "users".into()],
            rows: vec![
                vec!["bob".into(), 2.5.into(), 1u64.into()],
                vec!["ann".into(), 7u64.into(), 1u64.into()],
                vec!["cy".into(), Cell::Empty, 1u64.into()],
            ],
        }
    }

    #[test]
    fn sorted_numbers_come_largest_first_and_text_in_order() -> Result<(), ReportError> {
        let by_hours = users().arranged(ReportName::Users, Some("used_hours"), Some(2))?;
        assert_eq!(
            by_hours
                .rows
                .iter()
                .map(|r| r[0].to_string())
                .collect::<Vec<_>>(),
            ["ann", "bob"]
        );
        let by_name = users().arranged(ReportName::Users, Some("user"), None)?;
        assert_eq!(
            by_name
                .rows
                .iter()
                .map(|r| r[0].to_string())
                .collect::<Vec<_>>(),
            ["ann", "bob", "cy"]
        );
        let wrong = users().arranged(ReportName::Users, Some("hours"), None);
        assert!(
            matches!(wrong, Err(ReportError::Invalid(m)) if m.contains("no column `hours`") && m.contains("used_hours"))
        );
        Ok(())
    }

    #[test]
    fn totals_add_up_only_what_adds_up() {
        assert_eq!(users().totals(), Some(vec![None, Some(9.5), None]));
        let none = ReportRows {
            columns: vec!["users".into()],
            rows: vec![vec![1u64.into()]],
        };
        assert_eq!(none.totals(), None);
    }
}
