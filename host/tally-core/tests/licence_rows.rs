//! One test per row of the seeds' violation tables (seed 002: Model 2013; seed 003: Model
//! 2019), each named after its row (`Row::name`) and what Tally then does. Each builds the
//! state the row describes, asserts the exact outcome, and checks the state just short of it
//! passes. Counting the usage from a database is the store's (tally-store tests/licence.rs).

use chrono::NaiveDate;
use tally_core::licence::*;
use tally_core::users::Counting;

const DAY: i64 = 86_400;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn at(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp()
}

fn v(s: &str) -> DottedVersion {
    DottedVersion::parse(s).expect("version")
}

/// Tally 0.4.2, released 2026-06-01.
fn product() -> Product {
    Product {
        version: v("0.4.2"),
        released: day(2026, 6, 1),
    }
}

/// A day well inside every licence below.
fn now() -> i64 {
    at(day(2026, 9, 1))
}

fn key() -> IssuerKey {
    IssuerKey::from_seed([9; 32])
}

/// Issued and read back through the signed file, as an operator installs it.
fn licence(terms: Terms) -> Licence {
    Licence::from_file(&terms.issue(&key()), &[key().public()]).expect("valid licence")
}

fn terms(kind: LicenceType, limits: Limits) -> Terms {
    Terms {
        licensee: "Example Engineering".into(),
        kind,
        start: day(2026, 1, 1),
        expiry: (kind != LicenceType::Perpetual).then(|| day(2027, 12, 31)),
        maintenance_end: Some(day(2026, 12, 31)),
        version: v("0.4"),
        limits,
    }
}

fn limits_2019() -> Limits2019 {
    Limits2019 {
        users: 100,
        servers: 10,
        hpc: false,
        harvesting_agents: 2,
    }
}

fn limits_2013() -> Limits2013 {
    Limits2013 {
        counting: Counting::UserHost,
        realtime_users: Some(50),
        realtime_servers: Some(5),
        import: true,
        imported_users: Some(20),
        imported_servers: Some(2),
    }
}

fn lic_2019(kind: LicenceType) -> Licence {
    licence(terms(kind, Limits::Model2019(limits_2019())))
}

fn lic_2013(kind: LicenceType) -> Licence {
    licence(terms(kind, Limits::Model2013(limits_2013())))
}

fn usage_2019(u: Usage2019) -> Usage {
    Usage {
        counts: Counts::Model2019(u),
        earliest_data: None,
    }
}

fn usage_2013(u: Usage2013) -> Usage {
    Usage {
        counts: Counts::Model2013(u),
        earliest_data: None,
    }
}

/// Within every limit of `limits_2019`.
fn fine_2019() -> Usage2019 {
    Usage2019 {
        users: 100,
        hosts: 125,
        monitored_servers: 8,
        imported_servers: 2,
        servers: 10,
        harvesting_agents: 2,
    }
}

/// Within every limit of `limits_2013`.
fn fine_2013() -> Usage2013 {
    Usage2013 {
        realtime_users: 50,
        imported_users: 20,
        realtime_servers: 5,
        imported_servers: 2,
    }
}

fn assess_at(
    licence: &Licence,
    product: &Product,
    usage: &Usage,
    moment: Moment,
) -> Vec<Violation> {
    assess(licence, product, usage, moment, now())
}

/// The one violation of `found`, checked against its row of the table.
fn only(found: Vec<Violation>, name: &str, outcome: Outcome) -> Violation {
    assert_eq!(found.len(), 1, "expected only {name}, found {found:#?}");
    let v = found.into_iter().next().expect("one");
    assert_eq!(v.row.name(), name);
    assert_eq!(v.outcome, outcome);
    let spec = v.row.spec();
    assert_eq!(v.next, spec.next);
    assert!(v.message.starts_with(spec.issue), "{}", v.message);
    assert!(v.explain().contains(spec.next[0]));
    v
}

fn none(found: Vec<Violation>) {
    assert!(found.is_empty(), "expected no violation, found {found:#?}");
}

// ---- Seed 002, Model 2013, when starting ----

#[test]
fn model_2013_startup_version_mismatch_starts_restricted() {
    let l = lic_2013(LicenceType::Perpetual);
    let newer = Product {
        version: v("0.5.0"),
        ..product()
    };
    let u = usage_2013(fine_2013());
    let found = assess_at(&l, &newer, &u, Moment::StartUp);
    let v = only(
        found,
        "model_2013_startup_version_mismatch",
        Outcome::RestrictedAccess,
    );
    assert!(
        v.message.contains("0.5.0") && v.message.contains("0.4"),
        "{}",
        v.message
    );
    none(assess_at(&l, &product(), &u, Moment::StartUp));
}

#[test]
fn model_2013_startup_invalid_license_starts_restricted() {
    let u = usage_2013(fine_2013());
    // The Import add-on without its imported server limit, and import limits without it.
    for limits in [
        Limits2013 {
            imported_servers: None,
            ..limits_2013()
        },
        Limits2013 {
            import: false,
            ..limits_2013()
        },
    ] {
        let l = licence(terms(LicenceType::Perpetual, Limits::Model2013(limits)));
        let found = assess_at(&l, &product(), &u, Moment::StartUp);
        let v = only(
            found,
            "model_2013_startup_invalid_license",
            Outcome::RestrictedAccess,
        );
        assert!(v.message.contains("Import add-on"), "{}", v.message);
    }
}

#[test]
fn model_2013_startup_no_realtime_license_starts_restricted() {
    let u = usage_2013(Usage2013::default());
    for limits in [
        Limits2013 {
            realtime_servers: None,
            ..limits_2013()
        },
        Limits2013 {
            realtime_servers: Some(0),
            ..limits_2013()
        },
        Limits2013 {
            realtime_users: None,
            ..limits_2013()
        },
    ] {
        let l = licence(terms(LicenceType::Perpetual, Limits::Model2013(limits)));
        let found = assess_at(&l, &product(), &u, Moment::StartUp);
        only(
            found,
            "model_2013_startup_no_realtime_license",
            Outcome::RestrictedAccess,
        );
    }
}

#[test]
fn model_2013_startup_maintenance_expired_starts_restricted() {
    let mut t = terms(LicenceType::Perpetual, Limits::Model2013(limits_2013()));
    // Tally 0.4.2 was released on 2026-06-01, the day after maintenance ended.
    t.maintenance_end = Some(day(2026, 5, 31));
    let l = licence(t.clone());
    let u = usage_2013(fine_2013());
    let found = assess_at(&l, &product(), &u, Moment::StartUp);
    let v = only(
        found,
        "model_2013_startup_maintenance_expired",
        Outcome::RestrictedAccess,
    );
    assert!(v.message.contains("2026-05-31"), "{}", v.message);
    // Released on maintenance's last day: covered.
    t.maintenance_end = Some(day(2026, 6, 1));
    none(assess_at(&licence(t), &product(), &u, Moment::StartUp));
}

#[test]
fn model_2013_startup_trial_data_before_start_starts_restricted() {
    let l = lic_2013(LicenceType::Trial);
    let start = at(day(2026, 1, 1));
    let mut u = usage_2013(fine_2013());
    u.earliest_data = Some(start - 1);
    let found = assess_at(&l, &product(), &u, Moment::StartUp);
    only(
        found,
        "model_2013_startup_trial_data_before_start",
        Outcome::RestrictedAccess,
    );
    u.earliest_data = Some(start);
    none(assess_at(&l, &product(), &u, Moment::StartUp));
    // Only a Trial starts with an empty database.
    u.earliest_data = Some(start - 1);
    none(assess_at(
        &lic_2013(LicenceType::Perpetual),
        &product(),
        &u,
        Moment::StartUp,
    ));
}

#[test]
fn model_2013_startup_license_expired_starts_restricted() {
    let u = usage_2013(fine_2013());
    for kind in [
        LicenceType::Trial,
        LicenceType::University,
        LicenceType::Test,
    ] {
        let l = lic_2013(kind);
        // Valid through 2027-12-31.
        let last_day = at(day(2027, 12, 31)) + DAY - 1;
        none(assess(&l, &product(), &u, Moment::StartUp, last_day));
        let found = assess(&l, &product(), &u, Moment::StartUp, last_day + 1);
        only(
            found,
            "model_2013_startup_license_expired",
            Outcome::RestrictedAccess,
        );
    }
}

#[test]
fn model_2013_startup_user_limit_exceeded_starts_restricted() {
    let l = lic_2013(LicenceType::Perpetual);
    let u = usage_2013(Usage2013 {
        realtime_users: 51,
        ..fine_2013()
    });
    let found = assess_at(&l, &product(), &u, Moment::StartUp);
    let v = only(
        found,
        "model_2013_startup_user_limit_exceeded",
        Outcome::RestrictedAccess,
    );
    assert!(
        v.message.contains("51 realtime users in the last 14 days")
            && v.message.contains("allows 50")
    );
    // Limits are not enforced on the types the row does not list.
    none(assess_at(
        &lic_2013(LicenceType::University),
        &product(),
        &u,
        Moment::StartUp,
    ));
}

#[test]
fn model_2013_startup_imported_user_limit_exceeded_starts_restricted() {
    let l = lic_2013(LicenceType::Test);
    let u = usage_2013(Usage2013 {
        imported_users: 21,
        ..fine_2013()
    });
    let found = assess_at(&l, &product(), &u, Moment::StartUp);
    let v = only(
        found,
        "model_2013_startup_imported_user_limit_exceeded",
        Outcome::RestrictedAccess,
    );
    assert!(v.message.contains("21 imported users"));
}

#[test]
fn model_2013_startup_server_limit_exceeded_starts_restricted() {
    let l = lic_2013(LicenceType::Perpetual);
    let u = usage_2013(Usage2013 {
        imported_servers: 3,
        ..fine_2013()
    });
    let found = assess_at(&l, &product(), &u, Moment::StartUp);
    let v = only(
        found,
        "model_2013_startup_server_limit_exceeded",
        Outcome::RestrictedAccess,
    );
    assert!(
        v.message
            .contains("3 license servers imported in the last 3 months")
    );
}

// ---- Seed 002, Model 2013, while running ----

fn poll(new_users: u64, new_hosts: u64, mv: Option<ManagerVersion>) -> PollCheck {
    PollCheck {
        server: 7,
        new_users,
        new_hosts,
        manager_version: mv,
    }
}

/// `current` shown since `since`; `before` the version at maintenance end (2026-12-31).
fn manager(current: &str, since: NaiveDate, before: Option<&str>) -> Option<ManagerVersion> {
    Some(ManagerVersion {
        current: v(current),
        since: at(since),
        before_maintenance_end: before.map(v),
    })
}

fn server_version_row(l: &Licence, u: &Usage, name: &str) {
    // Updated on 2027-01-01, after maintenance ended on 2026-12-31, to a higher version.
    let found = check_poll(
        l,
        u,
        &poll(0, 0, manager("11.19.2", day(2027, 1, 1), Some("11.16"))),
    );
    let v = only(found, name, Outcome::PollSkippedServerOffline);
    assert_eq!(v.subject, Subject::Server(7));
    assert!(
        v.message.contains("11.19.2") && v.message.contains("11.16"),
        "{}",
        v.message
    );
    // Updated on maintenance's last day, reverted to the old version, or no version known before.
    none(check_poll(
        l,
        u,
        &poll(0, 0, manager("11.19.2", day(2026, 12, 31), Some("11.16"))),
    ));
    none(check_poll(
        l,
        u,
        &poll(0, 0, manager("11.16", day(2027, 1, 1), Some("11.16"))),
    ));
    none(check_poll(
        l,
        u,
        &poll(0, 0, manager("11.19.2", day(2027, 1, 1), None)),
    ));
}

#[test]
fn model_2013_runtime_server_version_after_maintenance_skips_poll_and_sets_offline() {
    server_version_row(
        &lic_2013(LicenceType::Perpetual),
        &usage_2013(fine_2013()),
        "model_2013_runtime_server_version_after_maintenance",
    );
}

#[test]
fn model_2013_runtime_license_expired_restricts_and_disables_all_servers() {
    let l = lic_2013(LicenceType::University);
    let u = usage_2013(fine_2013());
    let after = at(day(2028, 1, 1));
    let found = assess(&l, &product(), &u, Moment::RunTime, after);
    only(
        found,
        "model_2013_runtime_license_expired",
        Outcome::RestrictedAccessServersDisabled,
    );
    assert!(status(&l, &product(), &u, Moment::RunTime, after).restricted);
    none(assess(&l, &product(), &u, Moment::RunTime, after - 1));
}

#[test]
fn model_2013_runtime_user_limit_about_to_exceed_skips_poll_and_sets_offline() {
    let l = lic_2013(LicenceType::Perpetual);
    let u = usage_2013(Usage2013 {
        realtime_users: 49,
        ..fine_2013()
    });
    none(check_poll(&l, &u, &poll(1, 1, None)));
    let found = check_poll(&l, &u, &poll(2, 0, None));
    let v = only(
        found,
        "model_2013_runtime_user_limit_about_to_exceed",
        Outcome::PollSkippedServerOffline,
    );
    assert!(v.notify, "the seed sends a notification");
    assert_eq!(v.subject, Subject::Server(7));
    assert!(v.message.contains("add 2 realtime users to 49") && v.message.contains("allows 50"));
    // Users already counted add nothing.
    let full = usage_2013(fine_2013());
    none(check_poll(&l, &full, &poll(0, 3, None)));
}

#[test]
fn model_2013_runtime_new_server_past_limit_shows_license_exceeded_and_is_not_monitored() {
    let l = lic_2013(LicenceType::Perpetual);
    let u = usage_2013(fine_2013());
    let candidates: Vec<ServerCandidate> = (1..=7)
        .map(|server| ServerCandidate {
            server,
            counted: false,
        })
        .collect();
    let admitted = admit_servers(&l, &u, &candidates);
    let monitored: Vec<i64> = admitted
        .iter()
        .filter(|a| a.monitored)
        .map(|a| a.server)
        .collect();
    assert_eq!(monitored, [1, 2, 3, 4, 5]);
    for a in &admitted[5..] {
        let v = a.violation.clone().expect("refused with its row");
        let v = only(
            vec![v],
            "model_2013_runtime_new_server_past_limit",
            Outcome::NotMonitoredLicenseExceeded,
        );
        assert_eq!(v.subject, Subject::Server(a.server));
    }
    // A Trial's limits are not enforced.
    assert!(
        admit_servers(&lic_2013(LicenceType::Trial), &u, &candidates)
            .iter()
            .all(|a| a.monitored)
    );
}

#[test]
fn model_2013_runtime_import_past_server_limit_refuses_import() {
    let l = lic_2013(LicenceType::Perpetual);
    let room = usage_2013(Usage2013 {
        imported_servers: 1,
        ..fine_2013()
    });
    assert_eq!(admit_import(&l, &room, ImportTarget::Uncounted), Ok(()));
    let full = usage_2013(fine_2013());
    let refused = admit_import(&l, &full, ImportTarget::Uncounted).expect_err("no licence left");
    let v = only(
        vec![refused],
        "model_2013_runtime_import_past_server_limit",
        Outcome::ImportRefused,
    );
    assert!(
        v.message.contains("2 of 2 imported license servers"),
        "{}",
        v.message
    );
    // A server imported in the last 3 months, and denials onto a realtime server, need none.
    assert_eq!(admit_import(&l, &full, ImportTarget::Counted), Ok(()));
    assert_eq!(
        admit_import(&l, &full, ImportTarget::DenialsOntoRealtime),
        Ok(())
    );
    // Without the Import add-on no usage import is licensed, denials onto realtime servers are.
    let no_addon = licence(terms(
        LicenceType::Perpetual,
        Limits::Model2013(Limits2013 {
            import: false,
            imported_users: None,
            imported_servers: None,
            ..limits_2013()
        }),
    ));
    let empty = usage_2013(Usage2013::default());
    assert!(admit_import(&no_addon, &empty, ImportTarget::Uncounted).is_err());
    assert_eq!(
        admit_import(&no_addon, &empty, ImportTarget::DenialsOntoRealtime),
        Ok(())
    );
}

#[test]
fn model_2013_runtime_version_mismatch_restricts_and_disables_all_servers() {
    let l = lic_2013(LicenceType::Perpetual);
    let newer = Product {
        version: v("0.5.0"),
        ..product()
    };
    let found = assess_at(&l, &newer, &usage_2013(fine_2013()), Moment::RunTime);
    only(
        found,
        "model_2013_runtime_version_mismatch",
        Outcome::RestrictedAccessServersDisabled,
    );
}

#[test]
fn model_2013_runtime_user_limit_exceeded_restricts_and_disables_all_servers() {
    let l = lic_2013(LicenceType::Perpetual);
    let u = usage_2013(Usage2013 {
        realtime_users: 51,
        ..fine_2013()
    });
    let found = assess_at(&l, &product(), &u, Moment::RunTime);
    only(
        found,
        "model_2013_runtime_user_limit_exceeded",
        Outcome::RestrictedAccessServersDisabled,
    );
    // The mode lifts with the violation: a licence with a higher realtime user limit.
    let higher = licence(terms(
        LicenceType::Perpetual,
        Limits::Model2013(Limits2013 {
            realtime_users: Some(60),
            ..limits_2013()
        }),
    ));
    assert!(!status(&higher, &product(), &u, Moment::RunTime, now()).restricted);
}

#[test]
fn model_2013_runtime_imported_user_limit_exceeded_restricts_and_disables_all_servers() {
    let l = lic_2013(LicenceType::Perpetual);
    let u = usage_2013(Usage2013 {
        imported_users: 21,
        ..fine_2013()
    });
    let found = assess_at(&l, &product(), &u, Moment::RunTime);
    only(
        found,
        "model_2013_runtime_imported_user_limit_exceeded",
        Outcome::RestrictedAccessServersDisabled,
    );
}

#[test]
fn model_2013_runtime_server_limit_exceeded_restricts_and_disables_all_servers() {
    let l = lic_2013(LicenceType::Test);
    let u = usage_2013(Usage2013 {
        imported_servers: 3,
        ..fine_2013()
    });
    let found = assess_at(&l, &product(), &u, Moment::RunTime);
    only(
        found,
        "model_2013_runtime_server_limit_exceeded",
        Outcome::RestrictedAccessServersDisabled,
    );
}

// ---- Seed 003, Model 2019, when starting ----

#[test]
fn model_2019_startup_version_mismatch_starts_restricted() {
    let l = lic_2019(LicenceType::Perpetual);
    let newer = Product {
        version: v("1.0.0"),
        ..product()
    };
    let u = usage_2019(fine_2019());
    only(
        assess_at(&l, &newer, &u, Moment::StartUp),
        "model_2019_startup_version_mismatch",
        Outcome::RestrictedAccess,
    );
    // Older Tally versions are covered.
    let older = Product {
        version: v("0.3.9"),
        ..product()
    };
    none(assess_at(&l, &older, &u, Moment::StartUp));
}

#[test]
fn model_2019_startup_maintenance_expired_starts_restricted() {
    let mut t = terms(LicenceType::Subscription, Limits::Model2019(limits_2019()));
    t.maintenance_end = Some(day(2026, 3, 1));
    let found = assess_at(
        &licence(t),
        &product(),
        &usage_2019(fine_2019()),
        Moment::StartUp,
    );
    only(
        found,
        "model_2019_startup_maintenance_expired",
        Outcome::RestrictedAccess,
    );
}

#[test]
fn model_2019_startup_trial_data_before_start_starts_restricted() {
    let l = lic_2019(LicenceType::Trial);
    let mut u = usage_2019(fine_2019());
    u.earliest_data = Some(at(day(2025, 12, 31)) + 23 * 3_600);
    only(
        assess_at(&l, &product(), &u, Moment::StartUp),
        "model_2019_startup_trial_data_before_start",
        Outcome::RestrictedAccess,
    );
    u.earliest_data = None;
    none(assess_at(&l, &product(), &u, Moment::StartUp));
}

#[test]
fn model_2019_startup_license_expired_starts_restricted() {
    let l = lic_2019(LicenceType::Test);
    let found = assess(
        &l,
        &product(),
        &usage_2019(fine_2019()),
        Moment::StartUp,
        at(day(2028, 1, 1)),
    );
    only(
        found,
        "model_2019_startup_license_expired",
        Outcome::RestrictedAccess,
    );
}

#[test]
fn model_2019_startup_user_limit_exceeded_starts_restricted() {
    let l = lic_2019(LicenceType::Perpetual);
    let u = usage_2019(Usage2019 {
        users: 101,
        ..fine_2019()
    });
    let v = only(
        assess_at(&l, &product(), &u, Moment::StartUp),
        "model_2019_startup_user_limit_exceeded",
        Outcome::RestrictedAccess,
    );
    assert!(v.message.contains("101 users") && v.message.contains("allows 100"));
    assert!(v.next.iter().any(|n| n.starts_with("Remove some data")));
}

#[test]
fn model_2019_startup_host_limit_exceeded_starts_restricted() {
    let l = lic_2019(LicenceType::Perpetual);
    let u = usage_2019(Usage2019 {
        hosts: 126,
        ..fine_2019()
    });
    let v = only(
        assess_at(&l, &product(), &u, Moment::StartUp),
        "model_2019_startup_host_limit_exceeded",
        Outcome::RestrictedAccess,
    );
    assert!(v.message.contains("126 hosts") && v.message.contains("allows 125"));
    // The HPC add-on lifts the host limit.
    let hpc = licence(terms(
        LicenceType::Perpetual,
        Limits::Model2019(Limits2019 {
            hpc: true,
            ..limits_2019()
        }),
    ));
    none(assess_at(&hpc, &product(), &u, Moment::StartUp));
}

#[test]
fn model_2019_startup_server_limit_exceeded_starts_restricted() {
    let l = lic_2019(LicenceType::Perpetual);
    // Realtime servers past the limit are simply not monitored; servers with imported data
    // past it are a violation.
    let many_polled = usage_2019(Usage2019 {
        monitored_servers: 30,
        servers: 32,
        ..fine_2019()
    });
    none(assess_at(&l, &product(), &many_polled, Moment::StartUp));
    let u = usage_2019(Usage2019 {
        imported_servers: 11,
        servers: 11,
        monitored_servers: 0,
        ..fine_2019()
    });
    let v = only(
        assess_at(&l, &product(), &u, Moment::StartUp),
        "model_2019_startup_server_limit_exceeded",
        Outcome::RestrictedAccess,
    );
    assert!(v.message.contains("11 license servers with imported data"));
}

// ---- Seed 003, Model 2019, while running ----

#[test]
fn model_2019_runtime_server_version_after_maintenance_skips_poll_and_sets_offline() {
    server_version_row(
        &lic_2019(LicenceType::Perpetual),
        &usage_2019(fine_2019()),
        "model_2019_runtime_server_version_after_maintenance",
    );
}

#[test]
fn model_2019_runtime_license_expired_restricts() {
    let l = lic_2019(LicenceType::Trial);
    let found = assess(
        &l,
        &product(),
        &usage_2019(fine_2019()),
        Moment::RunTime,
        at(day(2028, 2, 1)),
    );
    only(
        found,
        "model_2019_runtime_license_expired",
        Outcome::RestrictedAccess,
    );
}

#[test]
fn model_2019_runtime_user_limit_about_to_exceed_skips_poll_and_sets_offline() {
    let l = lic_2019(LicenceType::Perpetual);
    let u = usage_2019(Usage2019 {
        users: 99,
        hosts: 100,
        ..fine_2019()
    });
    none(check_poll(&l, &u, &poll(1, 1, None)));
    let v = only(
        check_poll(&l, &u, &poll(2, 1, None)),
        "model_2019_runtime_user_limit_about_to_exceed",
        Outcome::PollSkippedServerOffline,
    );
    assert!(v.notify);
    assert!(v.message.contains("add 2 users to 99"));
}

#[test]
fn model_2019_runtime_host_limit_about_to_exceed_skips_poll_and_sets_offline() {
    let l = lic_2019(LicenceType::Perpetual);
    let u = usage_2019(Usage2019 {
        users: 50,
        hosts: 124,
        ..fine_2019()
    });
    none(check_poll(&l, &u, &poll(0, 1, None)));
    let v = only(
        check_poll(&l, &u, &poll(0, 2, None)),
        "model_2019_runtime_host_limit_about_to_exceed",
        Outcome::PollSkippedServerOffline,
    );
    assert!(v.notify);
    assert!(v.message.contains("add 2 hosts to 124") && v.message.contains("allows 125"));
    let hpc = licence(terms(
        LicenceType::Perpetual,
        Limits::Model2019(Limits2019 {
            hpc: true,
            ..limits_2019()
        }),
    ));
    none(check_poll(&hpc, &u, &poll(0, 500, None)));
}

#[test]
fn model_2019_runtime_new_server_past_limit_shows_license_exceeded_and_is_not_monitored() {
    let l = lic_2019(LicenceType::Perpetual);
    // 3 servers with imported data take 3 of the 10 licences; server 2 is one of them.
    let u = usage_2019(Usage2019 {
        imported_servers: 3,
        ..fine_2019()
    });
    let candidates: Vec<ServerCandidate> = (1..=10)
        .map(|server| ServerCandidate {
            server,
            counted: server == 2,
        })
        .collect();
    let admitted = admit_servers(&l, &u, &candidates);
    let monitored: Vec<i64> = admitted
        .iter()
        .filter(|a| a.monitored)
        .map(|a| a.server)
        .collect();
    assert_eq!(monitored, [1, 2, 3, 4, 5, 6, 7, 8]);
    for a in &admitted[8..] {
        let v = a.violation.clone().expect("refused with its row");
        only(
            vec![v],
            "model_2019_runtime_new_server_past_limit",
            Outcome::NotMonitoredLicenseExceeded,
        );
    }
}

#[test]
fn model_2019_runtime_import_past_server_limit_refuses_import() {
    let l = lic_2019(LicenceType::Perpetual);
    let room = usage_2019(Usage2019 {
        servers: 9,
        ..fine_2019()
    });
    assert_eq!(admit_import(&l, &room, ImportTarget::Uncounted), Ok(()));
    let full = usage_2019(fine_2019());
    let refused = admit_import(&l, &full, ImportTarget::Uncounted).expect_err("all consumed");
    let v = only(
        vec![refused],
        "model_2019_runtime_import_past_server_limit",
        Outcome::ImportRefused,
    );
    assert!(v.message.contains("10 of 10 license servers"));
    // More data for a server already counted is fine.
    assert_eq!(admit_import(&l, &full, ImportTarget::Counted), Ok(()));
    assert_eq!(
        admit_import(&l, &full, ImportTarget::DenialsOntoRealtime),
        Ok(())
    );
}

#[test]
fn model_2019_runtime_harvesting_agents_exceeded_reports_no_license() {
    let l = lic_2019(LicenceType::Perpetual);
    let decisions = admit_harvesting(&l, &[30, 10, 20]);
    let harvesting: Vec<i64> = decisions
        .iter()
        .filter(|d| d.harvest)
        .map(|d| d.agent)
        .collect();
    assert_eq!(harvesting, [30, 10]);
    let v = decisions[2].violation.clone().expect("No License");
    let v = only(
        vec![v],
        "model_2019_runtime_harvesting_agents_exceeded",
        Outcome::HarvestingNotStartedNoLicense,
    );
    assert_eq!(v.subject, Subject::Agent(20));
    // The Community licence has no License Harvesting; Model 2013 none at all.
    let community = Licence::community(&v_running());
    assert!(
        admit_harvesting(&community, &[1])
            .iter()
            .all(|d| !d.harvest && d.violation.is_some())
    );
    let old = admit_harvesting(&lic_2013(LicenceType::Perpetual), &[1]);
    assert!(!old[0].harvest && old[0].violation.is_none());
}

fn v_running() -> DottedVersion {
    product().version
}

#[test]
fn model_2019_runtime_version_mismatch_restricts() {
    let l = lic_2019(LicenceType::Perpetual);
    let newer = Product {
        version: v("0.5"),
        ..product()
    };
    only(
        assess_at(&l, &newer, &usage_2019(fine_2019()), Moment::RunTime),
        "model_2019_runtime_version_mismatch",
        Outcome::RestrictedAccess,
    );
}

#[test]
fn model_2019_runtime_user_limit_exceeded_restricts() {
    let l = lic_2019(LicenceType::Perpetual);
    let u = usage_2019(Usage2019 {
        users: 101,
        ..fine_2019()
    });
    only(
        assess_at(&l, &product(), &u, Moment::RunTime),
        "model_2019_runtime_user_limit_exceeded",
        Outcome::RestrictedAccess,
    );
    // Removing data lifts it.
    assert!(
        !status(
            &l,
            &product(),
            &usage_2019(fine_2019()),
            Moment::RunTime,
            now()
        )
        .restricted
    );
}

#[test]
fn model_2019_runtime_host_limit_exceeded_restricts() {
    let l = lic_2019(LicenceType::Test);
    let u = usage_2019(Usage2019 {
        hosts: 126,
        ..fine_2019()
    });
    only(
        assess_at(&l, &product(), &u, Moment::RunTime),
        "model_2019_runtime_host_limit_exceeded",
        Outcome::RestrictedAccess,
    );
}

#[test]
fn model_2019_runtime_server_limit_exceeded_restricts() {
    let l = lic_2019(LicenceType::Perpetual);
    let u = usage_2019(Usage2019 {
        imported_servers: 11,
        servers: 11,
        monitored_servers: 0,
        ..fine_2019()
    });
    let v = only(
        assess_at(&l, &product(), &u, Moment::RunTime),
        "model_2019_runtime_server_limit_exceeded",
        Outcome::RestrictedAccess,
    );
    assert_eq!(
        v.next,
        [
            "Load a licence with a higher license server limit.",
            "Remove some imported license servers."
        ]
    );
}

// ---- Across the tables ----

#[test]
fn every_row_has_its_test_above() {
    let source = include_str!("licence_rows.rs");
    for spec in ROWS {
        let name = spec.row.name();
        assert!(
            source.contains(&format!("fn {name}_")),
            "no test for row {name}"
        );
    }
}

#[test]
fn a_start_up_violation_without_a_run_time_row_lasts_under_its_start_up_row() {
    let l = licence(terms(
        LicenceType::Perpetual,
        Limits::Model2013(Limits2013 {
            realtime_servers: None,
            ..limits_2013()
        }),
    ));
    let found = assess_at(&l, &product(), &usage_2013(fine_2013()), Moment::RunTime);
    only(
        found,
        "model_2013_startup_no_realtime_license",
        Outcome::RestrictedAccess,
    );
}

#[test]
fn the_community_licence_on_an_empty_database() {
    let c = Licence::community(&v_running());
    let s = status(
        &c,
        &product(),
        &Usage::empty(Model::Model2019),
        Moment::StartUp,
        now(),
    );
    assert_eq!(s.title, "Community licence (built in)");
    assert!(!s.restricted && s.violations.is_empty());
    let limits: Vec<(LimitKind, Option<u64>, u64)> = s
        .limits
        .iter()
        .map(|l| (l.limit, l.allowed, l.used))
        .collect();
    assert_eq!(
        limits,
        [
            (LimitKind::Users, Some(100), 0),
            (LimitKind::Hosts, Some(125), 0),
            (LimitKind::Servers, Some(10), 0),
            (LimitKind::HarvestingAgents, Some(0), 0),
        ]
    );
}

#[test]
fn usage_shows_percentages() {
    let l = lic_2019(LicenceType::Perpetual);
    let view = usage_view(
        &l,
        &usage_2019(Usage2019 {
            users: 33,
            hosts: 1,
            servers: 10,
            ..fine_2019()
        }),
    );
    assert_eq!(view[0].percent, Some(33.0));
    assert_eq!(view[1].percent, Some(0.8));
    assert_eq!(view[2].percent, Some(100.0));
    let c = Licence::community(&v_running());
    assert_eq!(
        usage_view(&c, &Usage::empty(Model::Model2019))[3].percent,
        None
    );
}
