//! A report's answer: named columns and rows of cells.

use std::fmt;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

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
}
