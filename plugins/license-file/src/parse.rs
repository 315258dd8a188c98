//! The grammar of license files and the importer's state.
//!
//! **FlexNet** (License Administration Guide, "License File Format"):
//! `FEATURE|INCREMENT name vendor version exp_date num_lic [key] [KEYWORD=value …]`, where
//! `exp_date` is `dd-mmm-yyyy`, `permanent`, or a year 0 (`1-jan-0`, `01-jan-0000`: permanent)
//! and `num_lic` a count, `uncounted` or `0` (uncounted, node-locked). Every `INCREMENT` line is
//! a pool of its own and pools add up; of several `FEATURE` lines of one feature only the first
//! counts. `SERVER host hostid [port]`, `VENDOR`/`DAEMON name …`, `USE_SERVER`, `PACKAGE`,
//! `UPGRADE` and `FEATURESET` lines grant no licences. A line ending in `\` continues on the
//! next; `#` starts a comment line.
//!
//! **RLM** (License Administration manual, "The License File"):
//! `LICENSE isv product version exp-date count [keyword=value …]`, `exp-date` a date or
//! `permanent` (or `0`), `count` a number, `uncounted` or `0` (uncounted), or `single` (one,
//! node-locked). `HOST` and `ISV` lines grant nothing; `\` continues a line too.
//!
//! Dates are local to the license server: a licence counts from the start of its `START=` date
//! and until the end of its expiry date, both read with the configured offset.

use tally_plugin_sdk::checkpoint::{Reader, Writer};
use tally_plugin_sdk::civil::{DAY, checked_days, month_from_abbrev};
use tally_plugin_sdk::text::{shown, text};
use tally_plugin_sdk::{
    Batch, Capacity, CapacitySource, Diagnostic, DiagnosticKind, ImportConfig, Importer,
    PluginError, Timestamp,
};

const PLUGIN: &str = "license-file";
const CHECKPOINT_VERSION: u8 = 1;
/// The longest logical line kept (continued lines joined): a licence with a long signature is
/// a few KiB; anything longer is not a license file.
const MAX_LOGICAL: usize = 64 * 1024;
/// `FEATURE` names remembered for the first-one-counts rule.
const MAX_FEATURES: usize = 100_000;

/// The kind of license file, known from its first keyword line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    FlexNet,
    Rlm,
}

impl Format {
    pub fn id(self) -> &'static str {
        match self {
            Format::FlexNet => "flexlm-license",
            Format::Rlm => "rlm-license",
        }
    }

    /// The format a keyword (upper case) belongs to.
    pub(crate) fn of(keyword: &str) -> Option<Format> {
        match keyword {
            "SERVER" | "VENDOR" | "DAEMON" | "USE_SERVER" | "FEATURE" | "INCREMENT" | "PACKAGE"
            | "FEATURESET" => Some(Format::FlexNet),
            "HOST" | "ISV" | "LICENSE" => Some(Format::Rlm),
            _ => None,
        }
    }
}

/// A logical line still being continued (`\`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Pending {
    first: u64,
    text: String,
}

/// License-file importer: capacity records, one per licence line.
#[derive(Debug, Default)]
pub struct LicenseFile {
    offset: i64,
    lines: u64,
    format: Option<Format>,
    pending: Option<Pending>,
    /// `vendor feature` of the `FEATURE` lines seen: later ones of the same feature are void.
    features: Vec<String>,
}

impl Importer for LicenseFile {
    const FORMATS: &'static [&'static str] = &["flexlm-license", "rlm-license"];

    fn sniff_format(head: &[u8]) -> Option<tally_plugin_sdk::Sniffed> {
        crate::sniff::sniff(head)
    }

    fn begin(&mut self, config: &ImportConfig) -> Result<(), PluginError> {
        self.offset = i64::from(config.utc_offset);
        if let Some(state) = &config.resume {
            self.restore(state)?;
        }
        Ok(())
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), PluginError> {
        let chunk = chunk.strip_suffix(b"\n").unwrap_or(chunk);
        for raw in chunk.split(|&b| b == b'\n') {
            self.physical(raw, out);
        }
        out.lines = self.lines;
        Ok(())
    }

    fn checkpoint(&self) -> Result<Vec<u8>, PluginError> {
        let mut w = Writer::new(CHECKPOINT_VERSION);
        w.u64(self.lines);
        w.byte(match self.format {
            None => 0,
            Some(Format::FlexNet) => 1,
            Some(Format::Rlm) => 2,
        });
        w.opt_str(self.pending.as_ref().map(|p| p.text.as_str()));
        w.u64(self.pending.as_ref().map_or(0, |p| p.first));
        w.u64(self.features.len() as u64);
        for f in &self.features {
            w.str(f);
        }
        Ok(w.finish())
    }

    fn finish(&mut self, out: &mut Batch) -> Result<(), PluginError> {
        if let Some(p) = self.pending.take() {
            out.diagnostics.push(Diagnostic {
                line: self.lines,
                kind: DiagnosticKind::Assumption,
                text: "the file ends inside a line continued with `\\`: read as it is".into(),
            });
            self.logical(p.first, &p.text, out);
        }
        out.lines = self.lines;
        Ok(())
    }
}

impl LicenseFile {
    fn restore(&mut self, state: &[u8]) -> Result<(), PluginError> {
        let mut r = Reader::new(PLUGIN, CHECKPOINT_VERSION, state)?;
        self.lines = r.u64()?;
        self.format = match r.byte()? {
            0 => None,
            1 => Some(Format::FlexNet),
            2 => Some(Format::Rlm),
            _ => return Err(r.damaged()),
        };
        let pending = r.opt_string()?;
        let first = r.u64()?;
        self.pending = pending.map(|text| Pending { first, text });
        let n = r.len()?;
        if n > MAX_FEATURES {
            return Err(r.damaged());
        }
        self.features = (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
        r.finish()
    }

    /// One physical line: joined to a pending continuation, or a logical line of its own.
    fn physical(&mut self, raw: &[u8], out: &mut Batch) {
        self.lines += 1;
        let mut l = raw.strip_suffix(b"\r").unwrap_or(raw);
        if self.lines == 1 {
            l = l.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(l);
        }
        let t = text(l);
        let line = t.trim_end();
        let (body, continued) = match line.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (line, false),
        };
        let mut p = self.pending.take().unwrap_or(Pending {
            first: self.lines,
            text: String::new(),
        });
        if p.text.len() + body.len() > MAX_LOGICAL {
            out.diagnostics.push(Diagnostic {
                line: p.first,
                kind: DiagnosticKind::Malformed,
                text: format!(
                    "a line continued past {MAX_LOGICAL} bytes: {}",
                    shown(p.text.as_bytes())
                ),
            });
            return;
        }
        if !p.text.is_empty() {
            p.text.push(' ');
        }
        p.text.push_str(body.trim_start());
        if continued {
            self.pending = Some(p);
        } else {
            self.logical(p.first, &p.text, out);
        }
    }

    /// One logical line (continuations joined), first physical line `no`.
    fn logical(&mut self, no: u64, line: &str, out: &mut Batch) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return;
        }
        let tokens = tokens(line);
        let Some(first) = tokens.first() else {
            return;
        };
        let kw = first.to_ascii_uppercase();
        let format = match (self.format, Format::of(&kw)) {
            (Some(f), _) => f,
            (None, Some(f)) => {
                self.format = Some(f);
                f
            }
            // `UPGRADE` and unknown lines before the first telling keyword: read as FlexNet's.
            (None, None) => Format::FlexNet,
        };
        let diag = |out: &mut Batch, kind, text: String| {
            out.diagnostics.push(Diagnostic {
                line: no,
                kind,
                text,
            })
        };
        let result = match (format, kw.as_str()) {
            (Format::FlexNet, "FEATURE" | "INCREMENT") => {
                let feature_line = kw == "FEATURE";
                match self.licence(format, &tokens, no) {
                    Ok(c) if feature_line && !self.first_feature(&c) => {
                        diag(
                            out,
                            DiagnosticKind::Assumption,
                            format!(
                                "a second FEATURE line of {} ({}) adds no licences: only the first counts (INCREMENT lines add)",
                                c.feature, c.vendor
                            ),
                        );
                        Ok(())
                    }
                    Ok(c) => {
                        out.capacities.push(c);
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            (Format::Rlm, "LICENSE") => match self.licence(format, &tokens, no) {
                Ok(c) => {
                    out.capacities.push(c);
                    Ok(())
                }
                Err(e) => Err(e),
            },
            (
                Format::FlexNet,
                "SERVER" | "VENDOR" | "DAEMON" | "USE_SERVER" | "PACKAGE" | "FEATURESET",
            )
            | (Format::Rlm, "HOST" | "ISV") => Ok(()),
            (_, "UPGRADE") => {
                diag(
                    out,
                    DiagnosticKind::Assumption,
                    "an UPGRADE line moves licences to a newer version: the total is unchanged"
                        .into(),
                );
                Ok(())
            }
            _ => {
                diag(
                    out,
                    DiagnosticKind::Unrecognised,
                    format!("not a {} line: {}", format.id(), shown(line.as_bytes())),
                );
                Ok(())
            }
        };
        if let Err(e) = result {
            diag(
                out,
                DiagnosticKind::Malformed,
                format!("{e}: {}", shown(line.as_bytes())),
            );
        }
    }

    /// Whether `c` is the first FEATURE line of its feature (and remembers it).
    fn first_feature(&mut self, c: &Capacity) -> bool {
        let key = format!("{} {}", c.vendor, c.feature);
        if self.features.contains(&key) {
            return false;
        }
        if self.features.len() < MAX_FEATURES {
            self.features.push(key);
        }
        true
    }

    /// A FlexNet `FEATURE`/`INCREMENT` or RLM `LICENSE` line as a capacity record.
    fn licence(&self, format: Format, t: &[String], no: u64) -> Result<Capacity, String> {
        if t.len() < 6 {
            return Err(format!("{} needs at least 6 fields, has {}", t[0], t.len()));
        }
        let (feature, vendor) = match format {
            Format::FlexNet => (&t[1], &t[2]),
            Format::Rlm => (&t[2], &t[1]),
        };
        let version = &t[3];
        let expiry =
            expiry(&t[4]).ok_or_else(|| format!("expiry date `{}` not understood", t[4]))?;
        let issued =
            count(&t[5]).ok_or_else(|| format!("licence count `{}` not understood", t[5]))?;
        let start = t[6..]
            .iter()
            .find_map(|kv| {
                kv.split_once('=')
                    .filter(|(k, _)| k.eq_ignore_ascii_case("START"))
            })
            .map(|(_, v)| day(v).ok_or_else(|| format!("START date `{v}` not understood")))
            .transpose()?;
        Ok(Capacity {
            vendor: vendor.clone(),
            feature: feature.clone(),
            version: Some(version.clone()),
            pool: Some(format!("line {no}")),
            issued,
            valid_from: start.map(|d| self.local_midnight(d)),
            expiry: expiry.map(|d| self.local_midnight(d + 1)),
            source: CapacitySource::LicenseFile,
        })
    }

    /// Local midnight starting day `days` (since 1970-01-01), in UTC.
    fn local_midnight(&self, days: i64) -> Timestamp {
        days.saturating_mul(DAY).saturating_sub(self.offset)
    }
}

/// Whitespace-separated fields; `"…"` quotes spaces (the quotes are dropped, `KEY="a b"` is
/// `KEY=a b`).
pub(crate) fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut any) = (false, false);
    for ch in line.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// `Some(None)`: permanent; `Some(Some(day))`: the last day the licence holds.
fn expiry(s: &str) -> Option<Option<i64>> {
    if s.eq_ignore_ascii_case("permanent") || s == "0" {
        return Some(None);
    }
    let (_, _, y) = date_parts(s)?;
    if y.trim_start_matches('0').is_empty() {
        // `1-jan-0`, `1-jan-00`, `01-jan-0000`: no expiry.
        return Some(None);
    }
    day(s).map(Some)
}

/// `dd-mmm-yyyy` → days since 1970-01-01.
fn day(s: &str) -> Option<i64> {
    let (d, m, y) = date_parts(s)?;
    if y.len() != 4 {
        return None;
    }
    let month = month_from_abbrev(m.as_bytes()).filter(|_| m.len() == 3)?;
    checked_days(y.parse().ok()?, month, d.parse().ok()?)
}

fn date_parts(s: &str) -> Option<(&str, &str, &str)> {
    let mut p = s.splitn(3, '-');
    let (d, m, y) = (p.next()?, p.next()?, p.next()?);
    let digits = |x: &str| !x.is_empty() && x.len() <= 4 && x.bytes().all(|b| b.is_ascii_digit());
    (digits(d) && d.len() <= 2 && digits(y)).then_some((d, m, y))
}

/// `Some(None)`: uncounted (`uncounted`, `0`); `single` is one.
fn count(s: &str) -> Option<Option<u32>> {
    if s.eq_ignore_ascii_case("uncounted") {
        return Some(None);
    }
    if s.eq_ignore_ascii_case("single") {
        return Some(Some(1));
    }
    let n: u32 = s.parse().ok()?;
    Some((n > 0).then_some(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tally_plugin_sdk::civil::days_from_civil;

    #[test]
    fn fields_dates_and_counts() {
        assert_eq!(
            tokens(r#"FEATURE f v 1.0 permanent 4 VENDOR_STRING="a b" SIGN="1 2""#),
            [
                "FEATURE",
                "f",
                "v",
                "1.0",
                "permanent",
                "4",
                "VENDOR_STRING=a b",
                "SIGN=1 2"
            ]
        );
        assert_eq!(expiry("permanent"), Some(None));
        assert_eq!(expiry("1-jan-0"), Some(None));
        assert_eq!(expiry("01-jan-0000"), Some(None));
        assert_eq!(
            expiry("31-dec-2025"),
            Some(Some(days_from_civil(2025, 12, 31)))
        );
        assert_eq!(
            expiry("31-Dec-2025"),
            Some(Some(days_from_civil(2025, 12, 31)))
        );
        for bad in [
            "31-foo-2025",
            "32-dec-2025",
            "2025-12-31",
            "31-dec-25",
            "-",
            "soon",
        ] {
            assert_eq!(expiry(bad), None, "{bad}");
        }
        assert_eq!(count("uncounted"), Some(None));
        assert_eq!(count("0"), Some(None));
        assert_eq!(count("single"), Some(Some(1)));
        assert_eq!(count("25"), Some(Some(25)));
        assert_eq!(count("-1"), None);
        assert_eq!(count("many"), None);
    }
}
