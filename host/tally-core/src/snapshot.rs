//! What one status-command output shows: the license servers, their features and who holds
//! them, as a poller plugin read it. Small (one output), so names are owned strings.

use serde::Serialize;

use crate::facts::{Diagnostic, Timestamp};

named_enum!(ServerStatus { Up => "up", Down => "down", Unknown => "unknown" });

named_enum!(FeatureKind {
    Floating => "floating",
    NodeLocked => "node-locked",
    Uncounted => "uncounted",
    Package => "package",
    Unknown => "unknown",
});

named_enum!(ReservationTarget {
    User => "user",
    Host => "host",
    Display => "display",
    Group => "group",
    HostGroup => "host-group",
    Internet => "internet",
    Project => "project",
    Other => "other",
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VendorDaemon {
    pub name: String,
    pub status: ServerStatus,
    pub version: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseServer {
    pub host: String,
    pub port: Option<u16>,
    pub status: ServerStatus,
    pub version: Option<String>,
    pub vendor_daemons: Vec<VendorDaemon>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feature {
    pub name: String,
    pub vendor: String,
    pub version: Option<String>,
    pub pool: Option<String>,
    /// `None` for uncounted licenses.
    pub issued: Option<u32>,
    pub in_use: u32,
    pub expiry: Option<Timestamp>,
    pub kind: FeatureKind,
}

/// Licenses of a feature free for anyone now: issued less those in use and those reserved for
/// someone; `None` when the issued count is unknown (uncounted licenses), never a guess.
pub fn available(issued: Option<u32>, in_use: u32, reserved: u32) -> Option<u32> {
    issued.map(|n| n.saturating_sub(in_use).saturating_sub(reserved))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservation {
    pub feature: String,
    pub vendor: String,
    pub count: u32,
    pub target_kind: ReservationTarget,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedRequest {
    pub feature: String,
    pub vendor: String,
    pub user: String,
    pub host: String,
    pub count: u32,
    pub time: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub servers: Vec<LicenseServer>,
    pub features: Vec<Feature>,
    pub checkouts: Vec<Checkout>,
    pub reservations: Vec<Reservation>,
    pub queued: Vec<QueuedRequest>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Snapshot {
    /// Up when any server the output names is up: one live member of a triad serves licenses.
    pub fn status(&self) -> ServerStatus {
        let mut statuses = self.servers.iter().map(|s| s.status);
        if self.servers.iter().any(|s| s.status == ServerStatus::Up) {
            ServerStatus::Up
        } else if statuses.any(|s| s == ServerStatus::Down) {
            ServerStatus::Down
        } else {
            ServerStatus::Unknown
        }
    }

    /// Why the servers are down, as the manager said it (the first message found).
    pub fn down_reason(&self) -> Option<&str> {
        self.servers.iter().find_map(|s| {
            s.message.as_deref().or_else(|| {
                s.vendor_daemons
                    .iter()
                    .find(|d| d.status == ServerStatus::Down)
                    .and_then(|d| d.message.as_deref())
            })
        })
    }

    /// Records in the snapshot: what the host bounds against the output's size.
    pub fn records(&self) -> usize {
        self.servers.len()
            + self
                .servers
                .iter()
                .map(|s| s.vendor_daemons.len())
                .sum::<usize>()
            + self.features.len()
            + self.checkouts.len()
            + self.reservations.len()
            + self.queued.len()
            + self.diagnostics.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_is_issued_less_used_and_reserved() {
        assert_eq!(available(Some(10), 3, 2), Some(5));
        assert_eq!(available(Some(4), 3, 2), Some(0));
        assert_eq!(available(None, 3, 0), None);
    }

    fn server(status: ServerStatus, message: Option<&str>) -> LicenseServer {
        LicenseServer {
            host: "h".into(),
            port: Some(27000),
            status,
            version: None,
            vendor_daemons: vec![],
            message: message.map(Into::into),
        }
    }

    #[test]
    fn one_live_triad_member_is_enough() {
        let mut s = Snapshot::default();
        assert_eq!(s.status(), ServerStatus::Unknown);
        s.servers
            .push(server(ServerStatus::Down, Some("Cannot connect")));
        assert_eq!(s.status(), ServerStatus::Down);
        assert_eq!(s.down_reason(), Some("Cannot connect"));
        s.servers.push(server(ServerStatus::Up, None));
        assert_eq!(s.status(), ServerStatus::Up);
    }
}
