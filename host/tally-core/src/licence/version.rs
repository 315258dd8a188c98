//! Dotted version numbers: Tally's own (`0.4.1`, a licence's `0.4`) and license managers'
//! (`v11.16.2`, RLM's `v15.1BL2`), compared number by number.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;

/// The leading dotted numbers of a version string; `v11.16.2 build 3` is `11.16.2`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct DottedVersion(Vec<u64>);

impl DottedVersion {
    /// Reads the leading numbers of `text` (after an optional `v`); `None` when it has none.
    /// At most 8 parts are kept: versions have 2 to 4.
    pub fn parse(text: &str) -> Option<DottedVersion> {
        let t = text.trim();
        let t = t
            .strip_prefix('v')
            .or_else(|| t.strip_prefix('V'))
            .unwrap_or(t);
        let mut parts = Vec::new();
        for piece in t.split('.') {
            let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
            let Ok(n) = digits.parse::<u64>() else { break };
            parts.push(n);
            if parts.len() == 8 || digits.len() < piece.len() {
                break;
            }
        }
        (!parts.is_empty()).then_some(DottedVersion(parts))
    }

    /// Whether a licence for version `self` covers the running version `running`: compared to
    /// the licence's precision, so a `0.4` licence covers `0.4.7` and a `1` licence every `1.x`.
    pub fn covers(&self, running: &DottedVersion) -> bool {
        let n = self.0.len();
        let running: Vec<u64> = (0..n)
            .map(|i| running.0.get(i).copied().unwrap_or(0))
            .collect();
        running <= self.0
    }
}

impl PartialOrd for DottedVersion {
    fn partial_cmp(&self, other: &DottedVersion) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DottedVersion {
    /// Missing parts are zeros: `11.16` = `11.16.0`.
    fn cmp(&self, other: &DottedVersion) -> Ordering {
        let n = self.0.len().max(other.0.len());
        (0..n)
            .map(|i| {
                let a = self.0.get(i).copied().unwrap_or(0);
                let b = other.0.get(i).copied().unwrap_or(0);
                a.cmp(&b)
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl fmt::Display for DottedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

impl From<DottedVersion> for String {
    fn from(v: DottedVersion) -> String {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> DottedVersion {
        DottedVersion::parse(s).expect(s)
    }

    #[test]
    fn reads_managers_versions() {
        assert_eq!(v("v11.16.2"), v("11.16.2"));
        assert_eq!(v("v15.1BL2").to_string(), "15.1");
        assert_eq!(v("11.16.2 build 3").to_string(), "11.16.2");
        assert_eq!(DottedVersion::parse("unknown"), None);
        assert_eq!(DottedVersion::parse(""), None);
    }

    #[test]
    fn orders_number_by_number() {
        assert!(v("11.16.2") < v("11.18"));
        assert!(v("11.9") < v("11.10"));
        assert_eq!(v("11.16").cmp(&v("11.16.0")), Ordering::Equal);
    }

    #[test]
    fn a_licence_covers_its_versions_and_older() {
        assert!(v("0.4").covers(&v("0.4.7")));
        assert!(v("0.4").covers(&v("0.3.9")));
        assert!(!v("0.4").covers(&v("0.5.0")));
        assert!(v("1").covers(&v("1.9.2")));
        assert!(!v("1.2.3").covers(&v("1.2.4")));
    }
}
