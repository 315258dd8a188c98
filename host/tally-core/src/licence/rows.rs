//! The seeds' violation tables, row by row: when each applies, what Tally does, and what to do
//! next. [`ROWS`] is the one place they are written; `assess` only decides which hold.

use std::fmt;

use serde::Serialize;

use super::file::{LicenceType, Model};

/// When a violation is found: the two halves of each seed's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Moment {
    /// When Tally starts, or a licence is put in force.
    StartUp,
    /// While Tally runs.
    RunTime,
}

impl Moment {
    fn slug(self) -> &'static str {
        match self {
            Moment::StartUp => "startup",
            Moment::RunTime => "runtime",
        }
    }
}

/// What a row is about (the seeds' Type and Description columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// The running Tally is newer than the version licensed.
    VersionMismatch,
    /// Model 2013: the realtime and imported configuration conflict.
    InvalidLicence,
    /// Model 2013: no realtime licence.
    NoRealtimeLicence,
    /// The running Tally was released after maintenance ended.
    MaintenanceExpired,
    /// Trial: history from before the trial started.
    TrialDataBeforeStart,
    /// The expiration date has passed.
    LicenceExpired,
    /// Model 2019: users over all history; Model 2013: realtime users of the last 14 days.
    UserLimitExceeded,
    /// Model 2013: imported users over all history.
    ImportedUserLimitExceeded,
    /// Model 2019: hosts above 125 % of the user limit.
    HostLimitExceeded,
    /// Model 2019: servers with imported data; Model 2013: servers imported in the last 3
    /// months.
    ServerLimitExceeded,
    /// A license server was created or updated to a version newer than it (or its kind) had
    /// before maintenance ended.
    ServerVersionAfterMaintenance,
    /// A poll would save users past the user limit.
    UserLimitAboutToExceed,
    /// A poll would save hosts past the host limit.
    HostLimitAboutToExceed,
    /// A new realtime server past the server limit.
    NewServerPastLimit,
    /// An import that needs a server past the server limit.
    ImportPastServerLimit,
    /// A License Harvesting agent past the agents limit.
    HarvestingAgentsExceeded,
}

impl Condition {
    fn slug(self) -> &'static str {
        match self {
            Condition::VersionMismatch => "version_mismatch",
            Condition::InvalidLicence => "invalid_license",
            Condition::NoRealtimeLicence => "no_realtime_license",
            Condition::MaintenanceExpired => "maintenance_expired",
            Condition::TrialDataBeforeStart => "trial_data_before_start",
            Condition::LicenceExpired => "license_expired",
            Condition::UserLimitExceeded => "user_limit_exceeded",
            Condition::ImportedUserLimitExceeded => "imported_user_limit_exceeded",
            Condition::HostLimitExceeded => "host_limit_exceeded",
            Condition::ServerLimitExceeded => "server_limit_exceeded",
            Condition::ServerVersionAfterMaintenance => "server_version_after_maintenance",
            Condition::UserLimitAboutToExceed => "user_limit_about_to_exceed",
            Condition::HostLimitAboutToExceed => "host_limit_about_to_exceed",
            Condition::NewServerPastLimit => "new_server_past_limit",
            Condition::ImportPastServerLimit => "import_past_server_limit",
            Condition::HarvestingAgentsExceeded => "harvesting_agents_exceeded",
        }
    }
}

/// One row of a seed's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Row {
    pub model: Model,
    pub moment: Moment,
    pub condition: Condition,
}

impl Row {
    /// A stable name, e.g. `model_2013_runtime_user_limit_about_to_exceed`: incidents are
    /// stored under it and each row's test is named after it.
    pub fn name(&self) -> String {
        format!(
            "model_{}_{}_{}",
            self.model.year(),
            self.moment.slug(),
            self.condition.slug()
        )
    }

    /// The row's entry in [`ROWS`].
    pub fn spec(&self) -> &'static RowSpec {
        ROWS.iter()
            .find(|s| s.row == *self)
            .unwrap_or_else(|| panic!("{} is not a row of the seeds' tables", self.name()))
    }

    /// The row called `name` ([`Row::name`]).
    pub fn parse(name: &str) -> Option<Row> {
        ROWS.iter().map(|s| s.row).find(|r| r.name() == name)
    }

    /// The row for `condition` at `moment` under `model`, if the seed has one.
    pub fn find(model: Model, moment: Moment, condition: Condition) -> Option<Row> {
        let row = Row {
            model,
            moment,
            condition,
        };
        ROWS.iter().any(|s| s.row == row).then_some(row)
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What Tally does about a violation (the seeds' Result column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Restricted access mode: reads, the dashboard and the API's reads work; every other
    /// write is refused naming the violation; monitoring and imports stop. Loading a licence
    /// and removing data stay allowed to administrators.
    RestrictedAccess,
    /// Restricted access mode, and every license server shows Disabled (Model 2013 at run
    /// time): monitoring stops, no more logs are imported.
    RestrictedAccessServersDisabled,
    /// The poll's data is skipped and the server shows Offline with the reason.
    PollSkippedServerOffline,
    /// The new server is not monitored and shows "License Exceeded".
    NotMonitoredLicenseExceeded,
    /// The import is refused: no data imported, no server created.
    ImportRefused,
    /// Harvesting does not start on the agent, which shows "No License".
    HarvestingNotStartedNoLicense,
}

impl Outcome {
    /// Whether this outcome puts the whole installation in restricted access mode.
    pub fn restricts(self) -> bool {
        matches!(
            self,
            Outcome::RestrictedAccess | Outcome::RestrictedAccessServersDisabled
        )
    }
}

/// Which licence types a row applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Types {
    All,
    Trial,
    /// Licences with an end: the seeds' Trial, University and Test, and Subscription (which
    /// the seeds' tables do not list; a subscription ends by nature).
    Expiring,
    /// Licences whose limits are enforced: the seeds' Perpetual and Test, and Subscription
    /// (a commercial licence, which the seeds say comes with limits).
    Limited,
}

impl Types {
    pub fn include(self, t: LicenceType) -> bool {
        use LicenceType::*;
        match self {
            Types::All => true,
            Types::Trial => t == Trial,
            Types::Expiring => matches!(t, Trial | University | Test | Subscription),
            Types::Limited => matches!(t, Perpetual | Test | Subscription),
        }
    }
}

/// A row as the seed writes it.
#[derive(Debug, Clone, Copy)]
pub struct RowSpec {
    pub row: Row,
    /// The seed's Type column.
    pub issue: &'static str,
    pub description: &'static str,
    pub types: Types,
    /// Applies only to licences with the Import add-on (Model 2013).
    pub import_only: bool,
    pub outcome: Outcome,
    /// The seed says a notification about the incident is sent (where configured).
    pub notify: bool,
    /// The seed's "What to do next?".
    pub next: &'static [&'static str],
}

const NEXT_VERSION: &[&str] = &["Load a licence with a version equal to or higher than Tally's."];
const NEXT_SUPPORT: &[&str] = &["Contact the licence's issuer (support)."];
const NEXT_MAINTENANCE: &[&str] = &["Load a licence with active maintenance."];
const NEXT_TRIAL: &[&str] = &[
    "Load a commercial licence.",
    "Start a Trial licence with an empty database.",
];
const NEXT_EXPIRED: &[&str] = &[
    "Load a licence with an active expiration time.",
    "Load a Perpetual licence.",
];
const NEXT_SERVER_VERSION: &[&str] = &[
    "Revert the license server to a version with a date prior to maintenance expiration.",
    "Load a licence with active maintenance.",
];

use Condition as C;
use Model::{Model2013 as M13, Model2019 as M19};
use Moment::{RunTime as Run, StartUp as Start};
use Outcome as O;

// One row per call, in the seed's column order: the table below reads like the seed's.
#[allow(clippy::too_many_arguments)]
const fn row(
    model: Model,
    moment: Moment,
    condition: Condition,
    issue: &'static str,
    description: &'static str,
    types: Types,
    outcome: Outcome,
    next: &'static [&'static str],
) -> RowSpec {
    RowSpec {
        row: Row {
            model,
            moment,
            condition,
        },
        issue,
        description,
        types,
        import_only: false,
        outcome,
        notify: false,
        next,
    }
}

const fn import_only(mut r: RowSpec) -> RowSpec {
    r.import_only = true;
    r
}

const fn notifies(mut r: RowSpec) -> RowSpec {
    r.notify = true;
    r
}

/// Every row of both seeds' tables, in the seeds' order: Model 2013 (seed 002), then Model 2019
/// (seed 003); start-up, then run time.
#[rustfmt::skip]
pub const ROWS: &[RowSpec] = &[
    // Seed 002, Model 2013, when starting.
    row(M13, Start, C::VersionMismatch, "Version mismatch",
        "The Tally version does not match the licence version.",
        Types::All, O::RestrictedAccess, NEXT_VERSION),
    import_only(row(M13, Start, C::InvalidLicence, "Invalid licence",
        "Conflict in configuration between realtime and imported configuration.",
        Types::All, O::RestrictedAccess, NEXT_SUPPORT)),
    row(M13, Start, C::NoRealtimeLicence, "Lack of the required licence",
        "There is no realtime licence to load.",
        Types::All, O::RestrictedAccess, NEXT_SUPPORT),
    row(M13, Start, C::MaintenanceExpired, "Maintenance expired",
        "The Tally version is newer than the maintenance expiration date in the licence.",
        Types::All, O::RestrictedAccess, NEXT_MAINTENANCE),
    row(M13, Start, C::TrialDataBeforeStart, "Licence expired",
        "Historical data from before the date when the trial was started exists in the database.",
        Types::Trial, O::RestrictedAccess, NEXT_TRIAL),
    row(M13, Start, C::LicenceExpired, "Licence expired",
        "The licence expiration date has been exceeded.",
        Types::Expiring, O::RestrictedAccess, NEXT_EXPIRED),
    row(M13, Start, C::UserLimitExceeded, "User limit exceeded",
        "The number of realtime users in the database from the last 14 days exceeds the licence limit.",
        Types::Limited, O::RestrictedAccess, &["Load a licence with a higher realtime user limit."]),
    import_only(row(M13, Start, C::ImportedUserLimitExceeded, "User limit exceeded",
        "The number of all imported users in the database exceeds the licence limit.",
        Types::Limited, O::RestrictedAccess, &["Load a licence with a higher imported user limit."])),
    import_only(row(M13, Start, C::ServerLimitExceeded, "License server limit exceeded",
        "The number of imported license servers in the database from the last 3 months exceeds the licence limit.",
        Types::Limited, O::RestrictedAccess, &["Load a licence with a higher imported license server limit."])),
    // Seed 002, Model 2013, while running.
    row(M13, Run, C::ServerVersionAfterMaintenance, "Maintenance expired",
        "The license server was created or updated to a version higher than the last monitored before the maintenance expiration date passed.",
        Types::All, O::PollSkippedServerOffline, NEXT_SERVER_VERSION),
    row(M13, Run, C::LicenceExpired, "Licence expired",
        "The licence expiration date has passed.",
        Types::Expiring, O::RestrictedAccessServersDisabled, NEXT_EXPIRED),
    notifies(row(M13, Run, C::UserLimitAboutToExceed, "User limit exceeded",
        "While monitoring the license server, the number of users to save exceeds the realtime user licence limit.",
        Types::Limited, O::PollSkippedServerOffline,
        &["Load a licence with a higher realtime user limit.", "Disable some license servers to reduce load."])),
    row(M13, Run, C::NewServerPastLimit, "License server limit exceeded",
        "One or more new realtime license servers were created, but there are no more available licences.",
        Types::Limited, O::NotMonitoredLicenseExceeded,
        &["Load a licence with a higher realtime license server limit.", "Disable or remove other realtime license servers to free the licence."]),
    import_only(row(M13, Run, C::ImportPastServerLimit, "License server limit exceeded",
        "Tried to import a new license server, but there are no more available licences.",
        Types::Limited, O::ImportRefused,
        &["Load a licence with a higher imported license server limit.", "Remove other imported license servers to free the licence."])),
    row(M13, Run, C::VersionMismatch, "Version mismatch",
        "The Tally version does not match the licence version.",
        Types::All, O::RestrictedAccessServersDisabled, NEXT_VERSION),
    row(M13, Run, C::UserLimitExceeded, "User limit exceeded",
        "The number of realtime users in the database from the last 14 days exceeds the licence limit.",
        Types::Limited, O::RestrictedAccessServersDisabled, &["Load a licence with a higher realtime user limit."]),
    import_only(row(M13, Run, C::ImportedUserLimitExceeded, "User limit exceeded",
        "The number of all imported users in the database exceeds the licence limit.",
        Types::Limited, O::RestrictedAccessServersDisabled, &["Load a licence with a higher imported user limit."])),
    import_only(row(M13, Run, C::ServerLimitExceeded, "License server limit exceeded",
        "The number of imported license servers in the database from the last 3 months exceeds the licence limit.",
        Types::Limited, O::RestrictedAccessServersDisabled, &["Load a licence with a higher imported license server limit."])),
    // Seed 003, Model 2019, when starting.
    row(M19, Start, C::VersionMismatch, "Version mismatch",
        "The Tally version does not match the licence version.",
        Types::All, O::RestrictedAccess, NEXT_VERSION),
    row(M19, Start, C::MaintenanceExpired, "Maintenance expired",
        "The Tally version is newer than the maintenance expiration date in the licence.",
        Types::All, O::RestrictedAccess, NEXT_MAINTENANCE),
    row(M19, Start, C::TrialDataBeforeStart, "Licence expired",
        "Historical data prior to the date when the trial was started exists in the database.",
        Types::Trial, O::RestrictedAccess, NEXT_TRIAL),
    row(M19, Start, C::LicenceExpired, "Licence expired",
        "The licence expiration date has been exceeded.",
        Types::Expiring, O::RestrictedAccess, NEXT_EXPIRED),
    row(M19, Start, C::UserLimitExceeded, "User limit exceeded",
        "The number of users in the database exceeds the licence limit.",
        Types::Limited, O::RestrictedAccess,
        &["Load a licence with a higher user limit.", "Remove some data (e.g., a feature or a server)."]),
    row(M19, Start, C::HostLimitExceeded, "Host limit exceeded",
        "The number of hosts in the database exceeds 125% of the user limit.",
        Types::Limited, O::RestrictedAccess,
        &["Load a licence with a higher user limit.", "Get a licence with the High Performance Computing (HPC) add-on to allow unlimited hosts."]),
    row(M19, Start, C::ServerLimitExceeded, "License server limit exceeded",
        "The number of license servers with imported data in the database exceeds the licence limit.",
        Types::Limited, O::RestrictedAccess,
        &["Load a licence with a higher license server limit.", "Remove some data (e.g., a feature or a server)."]),
    // Seed 003, Model 2019, while running.
    row(M19, Run, C::ServerVersionAfterMaintenance, "Maintenance expired",
        "The license server was created or updated to a version higher than the last monitored version before the maintenance expiration date was exceeded.",
        Types::All, O::PollSkippedServerOffline, NEXT_SERVER_VERSION),
    row(M19, Run, C::LicenceExpired, "Licence expired",
        "The licence expiration date has passed.",
        Types::Expiring, O::RestrictedAccess, NEXT_EXPIRED),
    notifies(row(M19, Run, C::UserLimitAboutToExceed, "User limit about to exceed",
        "While monitoring the license server, the number of users to save exceeds the user licence limit.",
        Types::Limited, O::PollSkippedServerOffline,
        &["Load a licence with a higher user limit.", "Disable some license servers to reduce load.", "Remove some data (e.g., a feature or a server)."])),
    notifies(row(M19, Run, C::HostLimitAboutToExceed, "Host limit about to exceed",
        "While monitoring the license server, the number of hosts to save exceeds 125% of the user licence limit.",
        Types::Limited, O::PollSkippedServerOffline,
        &["Load a licence with a higher user limit.", "Disable some license servers to reduce load.", "Remove some data (e.g., a feature or a server).", "Get a licence with the High Performance Computing (HPC) add-on to allow unlimited hosts."])),
    row(M19, Run, C::NewServerPastLimit, "License server limit about to exceed",
        "One or more new realtime license servers were created, but there are no more available licences.",
        Types::Limited, O::NotMonitoredLicenseExceeded,
        &["Load a licence with a higher license server limit.", "Disable or remove other license servers to free the licence."]),
    row(M19, Run, C::ImportPastServerLimit, "License server limit about to exceed",
        "Tried to import data to a new license server, but all licences are consumed already.",
        Types::Limited, O::ImportRefused,
        &["Load a licence with a higher license server limit.", "Disable or remove other license servers to free the licence."]),
    row(M19, Run, C::HarvestingAgentsExceeded, "License Harvesting agents limit exceeded",
        "One or more new agents were added to a License Harvesting agent group, but there are no more available licences.",
        Types::Limited, O::HarvestingNotStartedNoLicense,
        &["Load a licence with a higher License Harvesting agents limit.", "Remove other agents from License Harvesting groups to free licences."]),
    row(M19, Run, C::VersionMismatch, "Version mismatch",
        "The Tally version does not match the licence version.",
        Types::All, O::RestrictedAccess, NEXT_VERSION),
    row(M19, Run, C::UserLimitExceeded, "User limit exceeded",
        "The number of users in the database exceeds the licence limit.",
        Types::Limited, O::RestrictedAccess,
        &["Load a licence with a higher user limit.", "Remove some data (e.g., a feature or a server)."]),
    row(M19, Run, C::HostLimitExceeded, "Host limit exceeded",
        "The number of hosts in the database exceeds 125% of the user limit.",
        Types::Limited, O::RestrictedAccess,
        &["Load a licence with a higher user limit.", "Remove some data (e.g., a feature or a server).", "Get a licence with the High Performance Computing (HPC) add-on to allow unlimited hosts."]),
    row(M19, Run, C::ServerLimitExceeded, "License server limit exceeded",
        "The number of license servers with imported data in the database exceeds the licence limit.",
        Types::Limited, O::RestrictedAccess,
        &["Load a licence with a higher license server limit.", "Remove some imported license servers."]),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn each_seed_has_18_rows_each_once() {
        let names: HashSet<String> = ROWS.iter().map(|s| s.row.name()).collect();
        assert_eq!(names.len(), ROWS.len());
        for model in [M13, M19] {
            let n = ROWS.iter().filter(|s| s.row.model == model).count();
            assert_eq!(n, 18, "{model}");
        }
    }

    #[test]
    fn every_row_says_what_to_do_next() {
        for s in ROWS {
            assert_eq!(Row::parse(&s.row.name()), Some(s.row));
            assert!(!s.next.is_empty(), "{}", s.row);
            assert!(s.row.spec().description == s.description);
        }
    }
}
