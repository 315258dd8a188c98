//! The facts a plugin produces, as plain Rust values. The export glue turns them into the WIT
//! records (with their per-batch string table); authors never see the generated bindings.

/// Seconds since 1970-01-01T00:00:00Z.
pub type Timestamp = i64;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    /// The input is not in this plugin's format.
    BadInput(String),
    /// Something the plugin does not implement.
    Unsupported(String),
    /// A bug in the plugin.
    Internal(String),
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadInput(m) => write!(f, "bad input: {m}"),
            Self::Unsupported(m) => write!(f, "unsupported: {m}"),
            Self::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for PluginError {}

/// What a plugin recognised in the head of a file or output: one of its `FORMATS` and how sure
/// it is (0.0–1.0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sniffed {
    pub format: &'static str,
    pub confidence: f32,
}

/// The license server an http poller asks ([`crate::Poller::poll`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    pub host: String,
    pub port: Option<u16>,
}

/// What the host tells an importer about the log it is about to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportConfig {
    /// Offset of the license server's local time from UTC, in seconds.
    pub utc_offset: i32,
    /// The file's modification time: the date of last resort for a log that never states one.
    pub modified: Option<Timestamp>,
    /// State from an earlier `checkpoint`, when an interrupted import resumes.
    pub resume: Option<Vec<u8>>,
    /// The host reads the times in the server's time zone itself (WIT 0.4.0): return local
    /// wall-clock times as if they were UTC (`utc_offset` is then 0) and apply no zone or
    /// offset the log states. Most importers need do nothing: they convert with `utc_offset`.
    pub local_times: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    Checkin,
    Inactive,
    Shutdown,
    Unknown,
    ServerRestart,
    EndOfLog,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub vendor: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub start: Timestamp,
    pub end: Timestamp,
    pub end_reason: EndReason,
    pub project: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialKind {
    Denied,
    Unsupported,
}

/// A FlexNet-style error code `(-major,minor[:errno])`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    pub major: i32,
    pub minor: Option<i32>,
    pub errno: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub vendor: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub time: Timestamp,
    pub kind: DenialKind,
    pub code: Option<ErrorCode>,
    pub reason: Option<String>,
    pub requested_version: Option<String>,
    /// The end of a lasting shortfall: part of the request was granted and the rest stayed
    /// wanted while the granted part was held (an SFLM partial grant). `None`: refused at
    /// `time` only.
    pub until: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub vendor: String,
    pub feature: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub time: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerEventKind {
    ServerStart,
    ServerStop,
    DaemonStart,
    DaemonStop,
    Reread,
    LicensesDisabled,
    Queued,
    Dequeued,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvent {
    pub time: Timestamp,
    pub kind: ServerEventKind,
    pub daemon: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticKind {
    Malformed,
    Unrecognised,
    Assumption,
}

/// A line the plugin could not turn into facts; the host counts and reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line number in the whole input.
    pub line: u64,
    pub kind: DiagnosticKind,
    pub text: String,
}

/// Where a capacity statement comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacitySource {
    /// The license server's own record of what it serves (RLM `PRODUCT` lines, a count a log
    /// states).
    Server,
    /// A license file (FlexNet `FEATURE`/`INCREMENT`, RLM `LICENSE` lines).
    LicenseFile,
}

/// Licences of one feature (one pool of it) issued from `valid_from` until `expiry` (new in
/// WIT 0.4.0). State only what the input says: a feature whose count is not known is left out,
/// never given `Some(0)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capacity {
    pub vendor: String,
    pub feature: String,
    pub version: Option<String>,
    /// Tells apart several pools of one feature (INCREMENT lines, RLM pools); pools add up.
    pub pool: Option<String>,
    /// `None`: uncounted.
    pub issued: Option<u32>,
    /// From when the count holds (when the log stated it, the licence's start date).
    pub valid_from: Option<Timestamp>,
    /// `None`: permanent.
    pub expiry: Option<Timestamp>,
    pub source: CapacitySource,
}

/// What one `feed` or `finish` produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub sessions: Vec<Session>,
    pub denials: Vec<Denial>,
    pub queued: Vec<Queued>,
    pub server_events: Vec<ServerEvent>,
    pub diagnostics: Vec<Diagnostic>,
    /// Licences issued per feature, as the log or license file states them.
    pub capacities: Vec<Capacity>,
    /// Lines consumed so far, across all chunks.
    pub lines: u64,
}

impl Batch {
    /// Moves everything of `other` into `self` (lines: the later count wins).
    pub fn append(&mut self, mut other: Batch) {
        self.sessions.append(&mut other.sessions);
        self.denials.append(&mut other.denials);
        self.queued.append(&mut other.queued);
        self.server_events.append(&mut other.server_events);
        self.diagnostics.append(&mut other.diagnostics);
        self.capacities.append(&mut other.capacities);
        self.lines = self.lines.max(other.lines);
    }
}

// ---- poller snapshots ----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerStatus {
    Up,
    Down,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorDaemon {
    pub name: String,
    pub status: ServerStatus,
    pub version: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseServer {
    pub host: String,
    pub port: Option<u16>,
    pub status: ServerStatus,
    pub version: Option<String>,
    pub vendor_daemons: Vec<VendorDaemon>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    Floating,
    NodeLocked,
    Uncounted,
    Package,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub name: String,
    pub vendor: String,
    pub version: Option<String>,
    pub pool: Option<String>,
    pub issued: Option<u32>,
    pub in_use: u32,
    pub expiry: Option<Timestamp>,
    pub kind: FeatureKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub feature: String,
    pub vendor: String,
    pub user: String,
    pub host: String,
    pub display: Option<String>,
    pub count: u32,
    pub start: Option<Timestamp>,
    pub handle: Option<String>,
    pub linger: Option<u32>,
    pub borrowed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationTarget {
    User,
    Host,
    Display,
    Group,
    HostGroup,
    Internet,
    Project,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub feature: String,
    pub vendor: String,
    pub count: u32,
    pub target_kind: ReservationTarget,
    pub target: String,
}

/// What one status output shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub servers: Vec<LicenseServer>,
    pub features: Vec<Feature>,
    pub checkouts: Vec<Checkout>,
    pub reservations: Vec<Reservation>,
    pub queued: Vec<Queued>,
    pub diagnostics: Vec<Diagnostic>,
}
