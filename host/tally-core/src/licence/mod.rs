//! Tally's own licence (seeds 002 and 003): the signed licence file, the seeds' violation
//! tables row by row, and the decisions on them. Pure: the store counts, the caller acts.
//!
//! * [`file`]: the TOML licence, its canonical bytes and Ed25519 signature, the issuer's keys,
//!   and the built-in Community licence (Model 2019, 100 users, 10 license servers).
//! * [`rows`]: [`ROWS`], every row of both seeds' tables: its licence types, its outcome and
//!   what to do next.
//! * [`counted`]: who counts against the user and host limits, by name, for a poll's check.
//! * [`assess`]: which rows hold for a licence, the usage counted and the moment; the usage
//!   view; and the run-time decisions on a poll, new servers, an import and harvesting agents.
//!
//! Tally is open source: a licence does not lock anyone out, it lets a site (or a vendor of
//! Tally-based services) cap what an installation monitors, by rules anyone can read here.

pub mod assess;
pub mod counted;
pub mod file;
pub mod rows;
pub mod version;

pub use assess::{
    Admission, Counts, HarvestDecision, ImportTarget, LimitKind, LimitUsage, ManagerVersion,
    PollCheck, Product, ServerCandidate, Status, Subject, Usage, Usage2013, Usage2019, Violation,
    admit_harvesting, admit_import, admit_servers, assess, check_poll, day_end, status, usage_view,
};
pub use counted::{Counted, Newcomers, REALTIME_USER_DAYS, UserAtHost, imported_servers_since};
pub use file::{
    IssuerKey, KeyError, Licence, LicenceError, LicenceType, Limits, Limits2013, Limits2019, Model,
    Origin, PublicKey, Terms,
};
pub use rows::{Condition, Moment, Outcome, ROWS, Row, RowSpec, Types};
pub use version::DottedVersion;
