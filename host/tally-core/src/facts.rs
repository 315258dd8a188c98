//! Usage facts as they arrive from an importer: one [`Batch`] per chunk of a log.
//!
//! Records name users, hosts and features by [`Sym`], an index into the batch's `strings`, the
//! same shape as the WIT batch; the store resolves each distinct string once per batch.

use serde::Serialize;

/// Index into [`Batch::strings`].
pub type Sym = u32;

/// Seconds since 1970-01-01T00:00:00Z.
pub type Timestamp = i64;

/// Defines a fieldless enum with a stable lower-case name for storage and JSON.
macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The name stored in the database and shown in the API.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// Why a session ended.
    EndReason {
        Checkin => "checkin",
        Inactive => "inactive",
        Shutdown => "shutdown",
        Unknown => "unknown",
        ServerRestart => "server-restart",
        EndOfLog => "end-of-log",
        MonitorStopped => "monitor-stopped",
    }
);

named_enum!(DenialKind { Denied => "denied", Unsupported => "unsupported" });

named_enum!(ServerEventKind {
    ServerStart => "server-start",
    ServerStop => "server-stop",
    DaemonStart => "daemon-start",
    DaemonStop => "daemon-stop",
    Reread => "reread",
    LicensesDisabled => "licenses-disabled",
    Queued => "queued",
    Dequeued => "dequeued",
    Other => "other",
});

named_enum!(DiagnosticKind { Malformed => "malformed", Unrecognised => "unrecognised", Assumption => "assumption" });

/// A license checkout with its start and end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub vendor: Sym,
    pub feature: Sym,
    pub user: Sym,
    pub host: Sym,
    pub count: u32,
    pub start: Timestamp,
    pub end: Timestamp,
    pub end_reason: EndReason,
    pub project: Option<Sym>,
}

/// A FlexNet-style error code `(-major,minor[:errno])`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    pub major: i32,
    pub minor: Option<i32>,
    pub errno: Option<i32>,
}

impl ErrorCode {
    /// Reads back what [`Display`](std::fmt::Display) wrote: `-4,342:10054`, `-4,342`, `-22`.
    pub fn parse(text: &str) -> Option<ErrorCode> {
        let (rest, errno) = match text.split_once(':') {
            Some((rest, e)) => (rest, Some(e.trim().parse().ok()?)),
            None => (text, None),
        };
        let (major, minor) = match rest.split_once(',') {
            Some((m, n)) => (m, Some(n.trim().parse().ok()?)),
            None => (rest, None),
        };
        Some(ErrorCode {
            major: major.trim().parse().ok()?,
            minor,
            errno,
        })
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.major)?;
        if let Some(minor) = self.minor {
            write!(f, ",{minor}")?;
        }
        if let Some(errno) = self.errno {
            write!(f, ":{errno}")?;
        }
        Ok(())
    }
}

/// A refused license request: at one instant, or lasting (`until`) when part of a request was
/// granted and the rest stays wanted while the granted part is held (SFLM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub vendor: Sym,
    pub feature: Sym,
    pub user: Sym,
    pub host: Sym,
    pub count: u32,
    pub time: Timestamp,
    pub kind: DenialKind,
    pub code: Option<ErrorCode>,
    pub reason: Option<Sym>,
    pub requested_version: Option<Sym>,
    /// The end of a lasting shortfall (after `time`); `None`: a refusal at `time` only.
    pub until: Option<Timestamp>,
}

/// A request waiting in the license server's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub vendor: Sym,
    pub feature: Sym,
    pub user: Sym,
    pub host: Sym,
    pub count: u32,
    pub time: Option<Timestamp>,
}

/// Something the license server did: a start, a stop, a reread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvent {
    pub time: Timestamp,
    pub kind: ServerEventKind,
    pub daemon: Sym,
    pub text: Sym,
}

/// A line an importer could not turn into facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub line: u64,
    pub kind: DiagnosticKind,
    pub text: String,
}

/// The facts of one chunk of a log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub strings: Vec<String>,
    pub sessions: Vec<Session>,
    pub denials: Vec<Denial>,
    pub queued: Vec<Queued>,
    pub server_events: Vec<ServerEvent>,
    pub diagnostics: Vec<Diagnostic>,
    /// Licences issued per feature, as the log or license file states them.
    pub capacities: Vec<crate::capacity::Capacity>,
    /// Lines consumed so far in the whole input.
    pub lines: u64,
}

impl Batch {
    /// The string a [`Sym`] names. Batches are validated when they cross the plugin boundary,
    /// so an index is always in range here.
    pub fn str(&self, sym: Sym) -> &str {
        &self.strings[sym as usize]
    }

    /// Facts in this batch (everything but the string table).
    pub fn records(&self) -> usize {
        self.sessions.len()
            + self.denials.len()
            + self.queued.len()
            + self.server_events.len()
            + self.diagnostics.len()
            + self.capacities.len()
    }

    /// The latest time stamp of the batch's facts: about when its newest line was written
    /// (clock skew, `clock.rs`). `None` for a batch without dated facts.
    pub fn latest_time(&self) -> Option<Timestamp> {
        let sessions = self.sessions.iter().map(|s| s.start.max(s.end));
        let denials = self.denials.iter().map(|d| d.time);
        let queued = self.queued.iter().filter_map(|q| q.time);
        let events = self.server_events.iter().map(|e| e.time);
        sessions.chain(denials).chain(queued).chain(events).max()
    }

    /// Appends `next`, the batch of the chunk after this one: its facts after these, its
    /// strings after these (its `Sym`s moved along; equal strings are not merged), its line
    /// count the total's. Gives `next` back when the strings of both outnumber a `Sym`.
    pub fn append(&mut self, next: Batch) -> Result<(), Batch> {
        let Ok(base) = Sym::try_from(self.strings.len()) else {
            return Err(next);
        };
        if Sym::try_from(self.strings.len() + next.strings.len()).is_err() {
            return Err(next);
        }
        let Batch {
            strings,
            sessions,
            denials,
            queued,
            server_events,
            diagnostics,
            capacities,
            lines,
        } = next;
        let at = |s: Sym| s + base;
        self.strings.extend(strings);
        self.sessions.extend(sessions.into_iter().map(|s| Session {
            vendor: at(s.vendor),
            feature: at(s.feature),
            user: at(s.user),
            host: at(s.host),
            project: s.project.map(at),
            ..s
        }));
        self.denials.extend(denials.into_iter().map(|d| Denial {
            vendor: at(d.vendor),
            feature: at(d.feature),
            user: at(d.user),
            host: at(d.host),
            reason: d.reason.map(at),
            requested_version: d.requested_version.map(at),
            ..d
        }));
        self.queued.extend(queued.into_iter().map(|q| Queued {
            vendor: at(q.vendor),
            feature: at(q.feature),
            user: at(q.user),
            host: at(q.host),
            ..q
        }));
        self.server_events
            .extend(server_events.into_iter().map(|e| ServerEvent {
                daemon: at(e.daemon),
                text: at(e.text),
                ..e
            }));
        self.diagnostics.extend(diagnostics);
        self.capacities
            .extend(capacities.into_iter().map(|c| crate::capacity::Capacity {
                vendor: at(c.vendor),
                feature: at(c.feature),
                version: c.version.map(at),
                pool: c.pool.map(at),
                ..c
            }));
        self.lines = lines;
        Ok(())
    }

    /// The first `Sym` out of range, if any: how a batch from a guest is checked.
    pub fn dangling_sym(&self) -> Option<Sym> {
        let n = self.strings.len() as u64;
        let bad = |s: Sym| u64::from(s) >= n;
        let from_sessions = self.sessions.iter().flat_map(|s| {
            [
                Some(s.vendor),
                Some(s.feature),
                Some(s.user),
                Some(s.host),
                s.project,
            ]
        });
        let from_denials = self.denials.iter().flat_map(|d| {
            [
                Some(d.vendor),
                Some(d.feature),
                Some(d.user),
                Some(d.host),
                d.reason,
                d.requested_version,
            ]
        });
        let from_queued = self
            .queued
            .iter()
            .flat_map(|q| [Some(q.vendor), Some(q.feature), Some(q.user), Some(q.host)]);
        let from_events = self
            .server_events
            .iter()
            .flat_map(|e| [Some(e.daemon), Some(e.text)]);
        let from_capacities = self
            .capacities
            .iter()
            .flat_map(|c| [Some(c.vendor), Some(c.feature), c.version, c.pool]);
        from_sessions
            .chain(from_denials)
            .chain(from_queued)
            .chain(from_events)
            .chain(from_capacities)
            .flatten()
            .find(|&s| bad(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_appended_batch_names_the_same_strings() {
        let batch = |names: [&str; 5], start: i64, lines: u64| Batch {
            strings: names.iter().map(|s| s.to_string()).collect(),
            sessions: vec![Session {
                vendor: 0,
                feature: 1,
                user: 2,
                host: 3,
                count: 1,
                start,
                end: start + 10,
                end_reason: EndReason::ALL[0],
                project: Some(4),
            }],
            denials: vec![Denial {
                vendor: 0,
                feature: 1,
                user: 3,
                host: 2,
                count: 1,
                time: start,
                kind: DenialKind::ALL[0],
                code: None,
                reason: Some(4),
                requested_version: None,
                until: None,
            }],
            queued: vec![Queued {
                vendor: 0,
                feature: 1,
                user: 2,
                host: 3,
                count: 1,
                time: None,
            }],
            server_events: vec![ServerEvent {
                time: start,
                kind: ServerEventKind::Other,
                daemon: 0,
                text: 4,
            }],
            diagnostics: Vec::new(),
            capacities: vec![crate::capacity::Capacity {
                vendor: 0,
                feature: 1,
                version: Some(4),
                pool: None,
                issued: Some(3),
                from: None,
                expiry: None,
                source: crate::capacity::CapacitySource::Server,
            }],
            lines,
        };
        let first = batch(["v", "f", "u", "h", "p"], 100, 7);
        let second = batch(["w", "g", "x", "y", "q"], 200, 12);
        let mut both = first.clone();
        both.append(second.clone()).expect("room");
        assert_eq!(both.lines, 12);
        assert_eq!(both.sessions.len(), 2);
        assert_eq!(both.dangling_sym(), None);
        for (i, one) in [&first, &second].into_iter().enumerate() {
            let s = (&both.sessions[i], &one.sessions[0]);
            assert_eq!(both.str(s.0.user), one.str(s.1.user));
            assert_eq!(both.str(s.0.feature), one.str(s.1.feature));
            assert_eq!(
                s.0.project.map(|p| both.str(p)),
                s.1.project.map(|p| one.str(p))
            );
            assert_eq!(s.0.start, s.1.start);
            let d = (&both.denials[i], &one.denials[0]);
            assert_eq!(both.str(d.0.host), one.str(d.1.host));
            assert_eq!(
                d.0.reason.map(|r| both.str(r)),
                d.1.reason.map(|r| one.str(r))
            );
            let q = (&both.queued[i], &one.queued[0]);
            assert_eq!(both.str(q.0.vendor), one.str(q.1.vendor));
            let e = (&both.server_events[i], &one.server_events[0]);
            assert_eq!(both.str(e.0.text), one.str(e.1.text));
            let c = (&both.capacities[i], &one.capacities[0]);
            assert_eq!(
                c.0.version.map(|v| both.str(v)),
                c.1.version.map(|v| one.str(v))
            );
        }
    }

    #[test]
    fn enum_names_round_trip() {
        for r in EndReason::ALL {
            assert_eq!(EndReason::parse(r.as_str()), Some(*r));
        }
        assert_eq!(EndReason::parse("nonsense"), None);
    }

    #[test]
    fn error_code_prints_like_flexnet() {
        let code = ErrorCode {
            major: -4,
            minor: Some(342),
            errno: Some(10054),
        };
        assert_eq!(code.to_string(), "-4,342:10054");
        assert_eq!(ErrorCode::parse("-4,342:10054"), Some(code));
        assert_eq!(
            ErrorCode::parse("-22").map(|c| (c.major, c.minor)),
            Some((-22, None))
        );
        assert_eq!(ErrorCode::parse("x"), None);
    }

    #[test]
    fn the_latest_time_is_the_newest_dated_fact() {
        let mut b = Batch::default();
        assert_eq!(b.latest_time(), None);
        b.server_events.push(ServerEvent {
            time: 500,
            kind: ServerEventKind::Other,
            daemon: 0,
            text: 0,
        });
        b.queued.push(Queued {
            vendor: 0,
            feature: 0,
            user: 0,
            host: 0,
            count: 1,
            time: None,
        });
        assert_eq!(b.latest_time(), Some(500));
        b.denials.push(Denial {
            vendor: 0,
            feature: 0,
            user: 0,
            host: 0,
            count: 1,
            time: 700,
            kind: DenialKind::Denied,
            code: None,
            reason: None,
            requested_version: None,
            until: None,
        });
        assert_eq!(b.latest_time(), Some(700));
    }

    #[test]
    fn dangling_sym_is_found() {
        let mut b = Batch {
            strings: vec!["a".into()],
            ..Batch::default()
        };
        b.server_events.push(ServerEvent {
            time: 0,
            kind: ServerEventKind::Other,
            daemon: 0,
            text: 0,
        });
        assert_eq!(b.dangling_sym(), None);
        b.server_events.push(ServerEvent {
            time: 0,
            kind: ServerEventKind::Other,
            daemon: 0,
            text: 7,
        });
        assert_eq!(b.dangling_sym(), Some(7));
    }
}
