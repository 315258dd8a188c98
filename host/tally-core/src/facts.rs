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
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

named_enum!(
    /// What a denial says about the licenses: all were in use, or the request could not be
    /// served as the licenses are configured whatever their use.
    DenialCause {
        Capacity => "capacity",
        Configuration => "configuration",
        Other => "other",
    }
);

/// FlexNet's major codes of requests the license file or options refuse: no such feature (-5),
/// wrong host (-9), feature or version not served (-18, -21, -25), user or host excluded or
/// not included (-38, -39).
const CONFIGURATION_CODES: [&str; 7] = ["-5", "-9", "-18", "-21", "-25", "-38", "-39"];

/// Why a denial happened: capacity when every license was in use (FlexNet's -4, "licensed
/// number of users already reached", or a lasting shortfall of a partly granted request),
/// configuration when the request could never be served as licensed (an unsupported feature,
/// or one of [`CONFIGURATION_CODES`]), else other. `code` is the manager's code, major first
/// (`-4,342:10054`).
pub fn denial_cause(kind: DenialKind, code: Option<&str>, lasting: bool) -> DenialCause {
    let major = code.map(|c| c.split([',', ':']).next().unwrap_or(c).trim());
    if kind == DenialKind::Unsupported || major.is_some_and(|m| CONFIGURATION_CODES.contains(&m)) {
        DenialCause::Configuration
    } else if lasting || major == Some("-4") {
        DenialCause::Capacity
    } else {
        DenialCause::Other
    }
}

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
        from_sessions
            .chain(from_denials)
            .chain(from_queued)
            .chain(from_events)
            .flatten()
            .find(|&s| bad(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_causes() {
        use DenialCause::*;
        let cause = |kind, code, lasting| denial_cause(kind, code, lasting);
        assert_eq!(
            cause(DenialKind::Denied, Some("-4,342:10054"), false),
            Capacity
        );
        assert_eq!(cause(DenialKind::Denied, None, true), Capacity);
        assert_eq!(
            cause(DenialKind::Denied, Some("-5,414"), false),
            Configuration
        );
        assert_eq!(cause(DenialKind::Denied, Some("-39"), true), Configuration);
        assert_eq!(cause(DenialKind::Unsupported, None, false), Configuration);
        assert_eq!(cause(DenialKind::Denied, Some("-15,10"), false), Other);
        assert_eq!(cause(DenialKind::Denied, Some("-40"), false), Other);
        assert_eq!(cause(DenialKind::Denied, None, false), Other);
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
