//! The ground truth of a server: every session, denial and down period, as a table or JSON, to
//! compare what Tally derives against.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tally_plugin_sdk::civil::format_utc;

use crate::workload::Workload;

/// Tab-separated: `kind feature user host count start end end_reason`, one row per session
/// (`end` and `end_reason` are `-`/`open` when still out at `until`), denial (`start` is its
/// time) and down period. Times are UTC.
pub fn table(w: &Workload<'_>, until: Option<i64>) -> String {
    let until = until.unwrap_or(i64::MAX);
    let mut out = String::from("kind\tfeature\tuser\thost\tcount\tstart\tend\tend_reason\n");
    for &(a, b) in w.downs.iter().filter(|d| d.0 <= until) {
        let _ = writeln!(
            out,
            "down\t-\t-\t-\t-\t{}\t{}\t-",
            format_utc(a),
            format_utc(b)
        );
    }
    for s in w.sessions.iter().filter(|s| s.start <= until) {
        let (end, reason) = if s.end <= until {
            (format_utc(s.end), s.end_reason.name())
        } else {
            ("-".into(), "open")
        };
        let _ = writeln!(
            out,
            "session\t{}\t{}\t{}\t{}\t{}\t{end}\t{reason}",
            w.server.features[s.feature].name,
            w.user(s.user),
            w.host(s.user),
            s.count,
            format_utc(s.start)
        );
    }
    for d in w.denials.iter().filter(|d| d.time <= until) {
        let _ = writeln!(
            out,
            "denial\t{}\t{}\t{}\t{}\t{}\t-\t-",
            w.server.features[d.feature].name,
            w.user(d.user),
            w.host(d.user),
            d.count,
            format_utc(d.time)
        );
    }
    out
}

/// The ground truth as `sessions --json` prints it; times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub server: String,
    pub manager: String,
    pub host: String,
    pub port: u16,
    pub vendor: String,
    /// When the server first starts (`sim_start`).
    pub start: i64,
    pub down: Vec<Down>,
    pub sessions: Vec<TruthSession>,
    pub denials: Vec<TruthDenial>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Down {
    pub start: i64,
    pub end: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthSession {
    /// The server's checkout sequence number (lmstat handle `100 + id`, RLM handle `0x40 + id`).
    pub id: u32,
    pub feature: String,
    pub version: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub start: i64,
    /// `None` while still out at `until`.
    pub end: Option<i64>,
    /// `checkin`, `shutdown` (the server went down) or `open`.
    pub end_reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthDenial {
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub time: i64,
}

/// What happened up to `until` (everything when `None`); a session still out at `until` has no
/// end and the reason `open`.
pub fn truth(w: &Workload<'_>, until: Option<i64>) -> Truth {
    let until = until.unwrap_or(i64::MAX);
    let s = w.server;
    Truth {
        server: s.name.clone(),
        manager: s.manager.name().into(),
        host: s.host().into(),
        port: s.port(),
        vendor: s.vendor().into(),
        start: w.start,
        down: w
            .downs
            .iter()
            .filter(|d| d.0 <= until)
            .map(|&(start, end)| Down { start, end })
            .collect(),
        sessions: w
            .sessions
            .iter()
            .filter(|x| x.start <= until)
            .map(|x| {
                let closed = x.end <= until;
                TruthSession {
                    id: x.id,
                    feature: s.features[x.feature].name.clone(),
                    version: s.features[x.feature].version().into(),
                    user: w.user(x.user),
                    host: w.host(x.user),
                    count: x.count,
                    start: x.start,
                    end: closed.then_some(x.end),
                    end_reason: if closed { x.end_reason.name() } else { "open" }.into(),
                }
            })
            .collect(),
        denials: w
            .denials
            .iter()
            .filter(|d| d.time <= until)
            .map(|d| TruthDenial {
                feature: s.features[d.feature].name.clone(),
                user: w.user(d.user),
                host: w.host(d.user),
                count: d.count,
                time: d.time,
            })
            .collect(),
    }
}
