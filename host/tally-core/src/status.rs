//! License-server statuses per data source, named exactly as seed `001` names them.

use serde::Serialize;

use crate::facts::Timestamp;

/// Remote (polling) status of a license server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RemoteStatus {
    Online,
    Offline,
    /// Set when a server is created or changed, until its first poll answers.
    Verifying,
    /// Tally itself was not running while the server was enabled.
    Unmonitored,
    #[serde(rename = "License Exceeded")]
    LicenseExceeded,
    Disabled,
    #[serde(rename = "N/A")]
    NotApplicable,
}

/// Import status of a license server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ImportStatus {
    Ready,
    Success,
    Failure,
    #[serde(rename = "License Exceeded")]
    LicenseExceeded,
    Disabled,
    #[serde(rename = "N/A")]
    NotApplicable,
}

macro_rules! seed_names {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
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

seed_names!(RemoteStatus {
    Online => "Online",
    Offline => "Offline",
    Verifying => "Verifying",
    Unmonitored => "Unmonitored",
    LicenseExceeded => "License Exceeded",
    Disabled => "Disabled",
    NotApplicable => "N/A",
});

seed_names!(ImportStatus {
    Ready => "Ready",
    Success => "Success",
    Failure => "Failure",
    LicenseExceeded => "License Exceeded",
    Disabled => "Disabled",
    NotApplicable => "N/A",
});

/// Polls missed before a server counts as unmonitored: a poll can be late by a slow neighbour or
/// a slow command, but three intervals (plus a minute) without any answer means nobody polled.
pub const MISSED_POLLS: i64 = 3;

impl RemoteStatus {
    /// The status to show at `now`: a stored Online/Offline whose last poll is long past means
    /// Tally was not running (or not polling) — Unmonitored.
    pub fn at(self, last_poll: Option<Timestamp>, interval: i64, now: Timestamp) -> RemoteStatus {
        let stale = last_poll.is_some_and(|t| now - t > MISSED_POLLS * interval + 60);
        match self {
            RemoteStatus::Online | RemoteStatus::Offline if stale => RemoteStatus::Unmonitored,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_seeds() {
        assert_eq!(RemoteStatus::NotApplicable.as_str(), "N/A");
        assert_eq!(
            RemoteStatus::parse("License Exceeded"),
            Some(RemoteStatus::LicenseExceeded)
        );
        assert_eq!(ImportStatus::parse("Failure"), Some(ImportStatus::Failure));
        assert_eq!(
            serde_json::to_string(&ImportStatus::NotApplicable)
                .ok()
                .as_deref(),
            Some("\"N/A\"")
        );
    }

    #[test]
    fn a_stale_poll_reads_as_unmonitored() {
        let online = RemoteStatus::Online;
        assert_eq!(online.at(Some(1000), 60, 1100), RemoteStatus::Online);
        assert_eq!(
            online.at(Some(1000), 60, 1000 + 241),
            RemoteStatus::Unmonitored
        );
        assert_eq!(
            RemoteStatus::Disabled.at(Some(0), 60, 10_000),
            RemoteStatus::Disabled
        );
        assert_eq!(
            RemoteStatus::Verifying.at(None, 60, 10_000),
            RemoteStatus::Verifying
        );
    }
}
