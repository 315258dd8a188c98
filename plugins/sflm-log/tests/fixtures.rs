//! Hand-made fixtures (see `tests/fixtures/`), one per quirk of the format, and a generated
//! multi-day log checked against the check-outs it was made from.
//!
//! **No public sample of this log exists** (`/work/shared/corpus/FORMATS.md` §10 lists the
//! column-style "SFLM" usage log as not found publicly). Every fixture was written by hand from
//! the seed `/work/shared/seeds/004_fbf409565d933aae.txt` ("Log Column Title" table: UserName,
//! HostName, ProcessId, ProductId, ProductName, StartTime(InSeconds), EndTime(inSeconds),
//! NumberDesired, NumberGranted, Date (YYYY/MM/DD), StartTime, EndTime (HH:MM:SS); all in UTC;
//! a check-out spanning dates ends at the end of the day and continues on a new entry from the
//! beginning of the next day; one file per day, here concatenated in date order with the title
//! line repeated). The dates are the seed's own example, July 1 2007. The seed does not show
//! the separator: the fixtures use TABs (`day_files_midnight`, `partial_grants`,
//! `broken_lines`) and aligned runs of spaces (`space_aligned_names`). The absolute columns
//! were computed as seconds since 0001-01-01T00:00:00 (proleptic Gregorian) with Python's
//! `datetime`, independently of the parser's arithmetic.

use sflm_log::SflmLog;
use sflm_log::date::CE_TO_UNIX;
use tally_plugin_sdk::civil::{DAY, days_from_civil};
use tally_plugin_sdk::testing::{self, config, denials, diags, line_starts, sessions, strs};
use tally_plugin_sdk::{Batch, ImportConfig, Importer};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    testing::fixture(format!("{DIR}/{name}"))
}

/// The fixture imported every way the host may cut it (`testing::check_import`).
fn parse(name: &str) -> Batch {
    testing::check_import::<SflmLog>(&fixture(name), &config(0, None))
}

#[test]
fn day_files_joined_at_midnight() {
    let b = parse("day_files_midnight.log");
    assert_eq!(b.lines, 16);
    assert_eq!(
        sessions(&b),
        strs(&[
            "sflm|Solver Pro|alice|ws-alice|1|2007-07-01T08:15:00Z|2007-07-01T09:00:00Z|Checkin|-",
            "sflm|Mesher|bob|ws-bob|2|2007-07-01T09:30:00Z|2007-07-01T12:45:10Z|Checkin|-",
            // carol's second process (pid 6099): 23:59:59 joined with 00:00:00.
            "sflm|Solver Pro|carol|lab-07|1|2007-07-01T23:30:00Z|2007-07-02T00:10:00Z|Checkin|-",
            // pid 6001, read before 6099 on July 1, joined after it: lines of a day in any order.
            "sflm|Solver Pro|carol|lab-07|1|2007-07-01T21:00:00Z|2007-07-02T01:30:00Z|Checkin|-",
            // Starts at 00:00:00 with no first half: a check-out of its own.
            "sflm|Viewer|frank|ws-frank|1|2007-07-02T00:00:00Z|2007-07-02T00:45:00Z|Checkin|-",
            "sflm|Mesher|bob|ws-bob|2|2007-07-02T10:00:00Z|2007-07-02T11:00:00Z|Checkin|-",
            // erin checked in at 23:59:59 for real: July 2 had no next half, July 3 closes it.
            "sflm|Solver Pro|erin|ws-erin|1|2007-07-01T23:00:00Z|2007-07-01T23:59:59Z|Checkin|-",
            // Three lines, three days (24:00:00, 00:00:00–24:00:00, 00:00:00): one session.
            "sflm|Mesher|dave|lab-08|1|2007-07-01T22:10:00Z|2007-07-03T02:00:00Z|Checkin|-",
            // Still out when the input ends.
            "sflm|Solver Pro|gina|ws-gina|1|2007-07-03T22:00:00Z|2007-07-04T00:00:00Z|EndOfLog|-",
        ])
    );
    assert!(b.denials.is_empty());
    assert!(b.diagnostics.is_empty(), "{:?}", b.diagnostics);
}

#[test]
fn partial_grants_become_a_session_and_a_denial() {
    let b = parse("partial_grants.log");
    assert_eq!(
        sessions(&b),
        strs(&[
            "sflm|CFD Solver|hank|ws-hank|6|2007-07-01T08:00:00Z|2007-07-01T10:00:00Z|Checkin|-",
            // More granted than desired: taken as granted, no denial.
            "sflm|Post|kim|ws-kim|2|2007-07-01T10:00:00Z|2007-07-01T11:00:00Z|Checkin|-",
            "sflm|CFD Solver|hank|ws-hank|12|2007-07-01T23:00:00Z|2007-07-02T03:00:00Z|Checkin|-",
            // Empty ProductName: the ProductId names the feature.
            "sflm|2003|lee|ws-lee|1|2007-07-02T04:00:00Z|2007-07-02T05:00:00Z|Checkin|-",
        ])
    );
    assert_eq!(
        denials(&b),
        strs(&[
            // The shortfall lasts as long as the check-out (the seed's TotalDesired).
            "sflm|CFD Solver|hank|ws-hank|2|2007-07-01T08:00:00Z|Denied|-|partially granted|-|until 2007-07-01T10:00:00Z",
            "sflm|CFD Solver|ivy|ws-ivy|4|2007-07-01T09:00:00Z|Denied|-|not granted|-|until 2007-07-01T09:05:00Z",
            // Across midnight: one denial for the joined check-out, from its start to its end,
            // emitted when it closes (ivy's second half comes first on July 2).
            "sflm|CFD Solver|ivy|ws-ivy|2|2007-07-01T23:50:00Z|Denied|-|not granted|-|until 2007-07-02T00:20:00Z",
            "sflm|CFD Solver|hank|ws-hank|4|2007-07-01T23:00:00Z|Denied|-|partially granted|-|until 2007-07-02T03:00:00Z",
        ])
    );
    // jack desired nothing and was granted nothing.
    assert_eq!(diags(&b), strs(&["4|Unrecognised"]));
}

#[test]
fn aligned_columns_names_with_spaces_bom_crlf_no_final_newline() {
    let b = parse("space_aligned_names.log");
    assert_eq!(b.lines, 6);
    assert_eq!(
        sessions(&b),
        strs(&[
            "sflm|Design Suite|Jane Doe|PC 12|1|2007-07-01T08:00:00Z|2007-07-01T08:30:00Z|Checkin|-",
            "sflm|Design Suite|José Galera|Plasmon|1|2007-07-01T08:05:00Z|2007-07-01T09:00:00Z|Checkin|-",
            // Single spaces, no name with a space: 12 columns, unambiguous; `9:05:00`.
            "sflm|Viewer|mx|ws9|1|2007-07-01T09:05:00Z|2007-07-01T09:10:00Z|Checkin|-",
            // A TAB-separated line with trailing spaces in the same file.
            "sflm|Viewer|t.user|ws10|1|2007-07-01T09:20:00Z|2007-07-01T09:40:00Z|Checkin|-",
            "sflm|Design Suite|Mª Cruz|mcruz|1|2007-07-01T10:00:00Z|2007-07-01T11:00:00Z|Checkin|-",
        ])
    );
    assert_eq!(
        denials(&b),
        strs(&[
            "sflm|Design Suite|Mª Cruz|mcruz|1|2007-07-01T10:00:00Z|Denied|-|partially granted|-|until 2007-07-01T11:00:00Z"
        ])
    );
    assert!(b.diagnostics.is_empty(), "{:?}", b.diagnostics);
}

#[test]
fn broken_lines_are_diagnosed_and_skipped() {
    let b = parse("broken_lines.log");
    assert_eq!(
        diags(&b),
        strs(&[
            "2|Malformed",    // 5 columns
            "3|Malformed",    // ProcessId x42
            "4|Malformed",    // 2007/02/30
            "5|Malformed",    // the two clocks disagree by a second
            "6|Malformed",    // ends before it starts
            "7|Unrecognised", // a Summary file's title line
            "8|Unrecognised", // a title line with other columns
            "11|Malformed",   // long garbage
            "12|Malformed",   // single spaces and names with spaces: ambiguous
            "13|Malformed",   // 63318874500.5
        ])
    );
    let text = |line: u64| {
        &b.diagnostics
            .iter()
            .find(|d| d.line == line)
            .expect("diagnostic")
            .text
    };
    assert!(text(2).starts_with("expected 12 columns"), "{}", text(2));
    assert!(text(3).starts_with("ProcessId is not a number"));
    assert!(text(4).starts_with("Date is not a valid"));
    assert!(text(5).starts_with(
        "StartTime(InSeconds) is 2007-07-01T08:15:00Z but Date and StartTime say 2007-07-01T08:15:01Z"
    ));
    assert!(text(6).starts_with("EndTime is before StartTime"));
    assert!(text(7).contains("Summary file"));
    assert!(text(11).ends_with('…') && text(11).chars().count() < 240);
    assert!(text(13).starts_with("StartTime(InSeconds) is not a number"));
    assert_eq!(
        sessions(&b),
        strs(&["sflm|Solver Pro|alice|ws1|1|2007-07-01T08:15:00Z|2007-07-01T09:00:00Z|Checkin|-"])
    );
}

#[test]
fn the_utc_offset_is_ignored() {
    for (name, data) in testing::fixtures(DIR) {
        assert_eq!(
            testing::run::<SflmLog>(&data, &config(-18_000, Some(1_700_000_000)), 65_536),
            testing::run::<SflmLog>(&data, &config(0, None), 65_536),
            "{name}"
        );
    }
}

/// Every fixture imports alike in one chunk, a line per chunk, 64-byte chunks and resumed at
/// every line, and passes the host's checks after every feed; the fuzz target's body holds on it.
#[test]
fn every_fixture_imports_alike_however_cut() {
    let configs = [config(0, None)];
    for (name, b) in testing::check_import_dir::<SflmLog>(DIR, &configs) {
        let records = testing::batch_records(&b) as u64;
        assert!(records <= 2 * b.lines, "{name}: {records} records");
    }
}

#[test]
fn good_fixtures_sniff_as_sflm() {
    for name in [
        "day_files_midnight.log",
        "partial_grants.log",
        "space_aligned_names.log",
    ] {
        let data = fixture(name);
        let score = SflmLog::sniff(&data[..data.len().min(4096)]);
        assert!(score >= 0.9, "{name}: {score}");
    }
}

#[test]
fn damaged_checkpoint_is_refused() {
    let cfg = ImportConfig {
        resume: Some(vec![200, 1, 2]),
        ..ImportConfig::default()
    };
    assert!(SflmLog::default().begin(&cfg).is_err());
}

// ---- a generated log, checked against the check-outs it was written from -------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

struct Checkout {
    user: String,
    pid: u32,
    product: &'static str,
    desired: u32,
    granted: u32,
    start: i64,
    end: i64,
}

fn hms(t: i64) -> String {
    format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

/// Writes `checkouts` as SFLM day files for `days` days from `first` (days since 1970): one
/// line per check-out and day, cut at every midnight as
/// the seed describes (the end of the day written `23:59:59` or `24:00:00` at random).
fn day_files(checkouts: &[Checkout], first: i64, days: i64, rng: &mut Rng) -> String {
    let mut log = String::new();
    for day in first..first + days {
        let (lo, hi) = (day * DAY, (day + 1) * DAY);
        let mut lines: Vec<(i64, String)> = Vec::new();
        for c in checkouts.iter().filter(|c| c.start < hi && c.end > lo) {
            let s = c.start.max(lo);
            let cut = c.end > hi;
            let (e, end_text) = if cut {
                if rng.next().is_multiple_of(2) {
                    (hi - 1, "23:59:59".to_string())
                } else {
                    (hi, "24:00:00".to_string())
                }
            } else {
                (c.end, hms(c.end - lo))
            };
            let (y, m, d) = civil(day);
            lines.push((
                e,
                format!(
                    "{}\tpc-{}\t{}\t{}-id\t{}\t{}\t{}\t{}\t{}\t{y:04}/{m:02}/{d:02}\t{}\t{end_text}\n",
                    c.user,
                    c.user,
                    c.pid,
                    c.product,
                    c.product,
                    s + CE_TO_UNIX,
                    e + CE_TO_UNIX,
                    c.desired,
                    c.granted,
                    hms(s - lo),
                ),
            ));
        }
        // Check-in order (how the seed's log is written), or any order on odd days: the
        // importer must not depend on the order within a day.
        lines.sort_by_key(|(e, _)| *e);
        if day % 2 == 1 {
            for i in (1..lines.len()).rev() {
                lines.swap(i, rng.below(i as u64 + 1) as usize);
            }
        }
        log.push_str("UserName\tHostName\tProcessId\tProductId\tProductName\tStartTime(InSeconds)\tEndTime(inSeconds)\tNumberDesired\tNumberGranted\tDate\tStartTime\tEndTime\n");
        for (_, l) in lines {
            log.push_str(&l);
        }
    }
    log
}

fn civil(day: i64) -> (i64, u32, u32) {
    // Linear search is fine for a test over a few days.
    let mut y = 2007;
    while days_from_civil(y + 1, 1, 1) <= day {
        y += 1;
    }
    let mut m = 1;
    while m < 12 && days_from_civil(y, m + 1, 1) <= day {
        m += 1;
    }
    (y, m, (day - days_from_civil(y, m, 1) + 1) as u32)
}

#[test]
fn generated_day_files_give_back_the_checkouts() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let first = days_from_civil(2007, 7, 1);
    let days = 9;
    let last_midnight = (first + days) * DAY;
    let products = ["Solver Pro", "Mesher", "Viewer", "CFD Solver"];
    let mut checkouts = Vec::new();
    for i in 0..1500u32 {
        let start = first * DAY + rng.below((days as u64 - 1) * DAY as u64);
        // Mostly short, some over several days; never ending exactly at a midnight.
        let len = match rng.below(10) {
            0 => 3600 + rng.below(3 * DAY as u64),
            1 => 60 + rng.below(DAY as u64),
            _ => 60 + rng.below(4 * 3600),
        };
        let mut end = start + len;
        if end.rem_euclid(DAY) == 0 {
            end += 1;
        }
        let desired = 1 + rng.below(4) as u32;
        let granted = if rng.below(5) == 0 {
            rng.below(u64::from(desired)) as u32
        } else {
            desired
        };
        checkouts.push(Checkout {
            user: format!("user{}", i % 40),
            pid: 1000 + i,
            product: products[i as usize % products.len()],
            desired,
            granted,
            start,
            end,
        });
    }
    let log = day_files(&checkouts, first, days, &mut rng);
    let data = log.as_bytes();
    let got = testing::run::<SflmLog>(data, &config(0, None), 64 * 1024);
    assert!(got.diagnostics.is_empty(), "{:?}", &got.diagnostics[..1]);

    let fmt = tally_plugin_sdk::civil::format_utc;
    let mut expected: Vec<String> = Vec::new();
    for c in checkouts.iter().filter(|c| c.granted > 0) {
        let (end, reason) = if c.end > last_midnight {
            ("cut".to_string(), "EndOfLog")
        } else {
            (fmt(c.end), "Checkin")
        };
        expected.push(format!(
            "{}|{}|{}|{}|{end}|{reason}",
            c.user,
            c.product,
            c.granted,
            fmt(c.start)
        ));
    }
    let mut actual: Vec<String> = got
        .sessions
        .iter()
        .map(|s| {
            let end = if s.end_reason == tally_plugin_sdk::EndReason::EndOfLog
                && (s.end == last_midnight || s.end == last_midnight - 1)
            {
                "cut".to_string()
            } else {
                fmt(s.end)
            };
            format!(
                "{}|{}|{}|{}|{end}|{:?}",
                s.user,
                s.feature,
                s.count,
                fmt(s.start),
                s.end_reason
            )
        })
        .collect();
    expected.sort();
    actual.sort();
    assert_eq!(actual.len(), expected.len());
    assert_eq!(actual, expected);

    let mut want_denials: Vec<String> = checkouts
        .iter()
        .filter(|c| c.desired > c.granted)
        .map(|c| format!("{}|{}|{}", c.user, c.desired - c.granted, fmt(c.start)))
        .collect();
    let mut got_denials: Vec<String> = got
        .denials
        .iter()
        .map(|d| format!("{}|{}|{}", d.user, d.count, fmt(d.time)))
        .collect();
    want_denials.sort();
    got_denials.sort();
    assert_eq!(got_denials, want_denials);

    // Resume anywhere gives the same records in the same order.
    let starts = line_starts(data);
    for k in 1..40 {
        let split = starts[starts.len() * k / 40];
        assert_eq!(
            testing::run_split::<SflmLog>(data, &config(0, None), 16 * 1024, split),
            got,
            "split at byte {split}"
        );
    }
}
