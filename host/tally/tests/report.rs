//! End-to-end: `tally report NAME` on logs imported by the real binary, every figure checked
//! against a hand computation from the fixtures, and `--format json` equal to what
//! `GET /api/v1/reports/NAME` answers.
//!
//! Fixtures (`tests/fixtures/report/`), both Monday 2024-03-04, UTC, hand-made: no public SFLM
//! usage log exists (the corpus's FORMATS.md §10), so the SFLM day file is written from the
//! column table of seed 004.
//!
//! **`sflm_2024-03-04.log`** (server `sflm`): alice Solver ×1 09:00-11:00; bob Solver ×2
//! 10:00-10:30; carol Solver desired 3, granted 1, 10:15-10:45 (a session of 1 and a denial of
//! the 2 short lasting as long: 2 × 1800 s more desired, desired peak 1 + 2 + 3 = 6 at
//! 10:15-10:30); alice Mesher ×1 13:00-14:30. Logged: the import's first to last event,
//! 09:00-14:30 → hours 09..14 = **6 hours**.
//!
//! | hour | Solver used s                           | peak | Mesher used s |
//! |------|-----------------------------------------|------|---------------|
//! | 09   | alice 3600                              | 1    | 0             |
//! | 10   | alice 3600 + bob 2×1800 + carol 1800 = 9000 | 4 (10:15-10:30) | 0 |
//! | 11, 12 | 0                                     | 0    | 0             |
//! | 13   | 0                                       | 0    | 3600          |
//! | 14   | 0                                       | 0    | 1800          |
//!
//! **`flexnet_2024-03-04.log`** (server `flex`): cad: ann@pc1 09:00-10:00, bob@pc2 09:30-10:30,
//! ann@pc4 11:00-12:00, cat@pc3 denied at 09:45 and 09:50; viewer: bob@pc2 11:30-11:45.
//! Logged 09:00-12:00 → hours 09..12 = **4 hours**. cad per hour: 09 = 3600 + 1800 = 5400 s
//! (peak 2), 10 = 1800 s, 11 = 3600 s, 12 = 0 → 10800 s = 3 license-hours.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::{Env, corpus_dir};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/report")
        .join(name)
}

/// Both fixtures imported.
fn imported() -> Env {
    let env = Env::new();
    for (server, format, file) in [
        ("sflm", "sflm-log", "sflm_2024-03-04.log"),
        ("flex", "flexlm-debuglog", "flexnet_2024-03-04.log"),
    ] {
        let path = fixture(file);
        let path = path.to_str().expect("UTF-8 path");
        env.import(&["--server", server, "--format", format, path]);
    }
    env
}

/// `tally report ARGS…`, which must succeed: its stdout.
fn report(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    let out = env.tally(&all);
    assert!(
        out.status.success(),
        "tally {all:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

type Row = BTreeMap<String, String>;

/// `tally report ARGS… --format csv`: the header and the rows by column name.
fn csv(env: &Env, args: &[&str]) -> (Vec<String>, Vec<Row>) {
    let mut all = args.to_vec();
    all.extend(["--format", "csv"]);
    let text = report(env, &all);
    let mut lines = text.lines();
    // The fixtures hold no commas or quotes: a plain split reads them.
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(String::from)
        .collect();
    let rows = lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

/// The one row whose columns hold `values`.
fn row<'a>(rows: &'a [Row], values: &[(&str, &str)]) -> &'a Row {
    let found: Vec<&Row> = rows
        .iter()
        .filter(|r| {
            values
                .iter()
                .all(|(c, v)| r.get(*c).map(String::as_str) == Some(v))
        })
        .collect();
    assert_eq!(found.len(), 1, "rows with {values:?} in {rows:#?}");
    found[0]
}

fn num(r: &Row, column: &str) -> f64 {
    r[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = `{}` is not a number", r[column]))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The seed 004 summary columns (after `Period` and `Server`), in the seed's order.
fn seed_columns(weekdays: bool) -> Vec<String> {
    let seven = |hours: &str, suffix: &str| {
        [
            hours.to_string(),
            format!("AverageDesired{suffix}"),
            format!("AverageUsed{suffix}"),
            format!("MaxDesired{suffix}"),
            format!("MaxUsed{suffix}"),
            format!("TotalDesired{suffix}"),
            format!("TotalUsed{suffix}"),
        ]
    };
    let mut c: Vec<String> = ["UserName", "ProductId", "ProductName"]
        .map(String::from)
        .to_vec();
    c.extend(seven("NrHours", ""));
    for h in 0..24 {
        c.extend(seven(&format!("Hours{h:02}"), &format!("{h:02}")));
    }
    if weekdays {
        for d in [
            "Sunday",
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
        ] {
            c.extend(seven(&format!("Hours{d}"), d));
        }
    }
    c
}

#[test]
fn the_sflm_day_summary_adds_up_to_the_hand_computed_sums() {
    let env = imported();
    let (header, rows) = csv(&env, &["sflm", "--period", "day", "--server", "sflm"]);
    assert_eq!(header[..2], ["Period", "Server"]);
    assert_eq!(header[2..], seed_columns(false));
    // One all-users line per product.
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let solver = row(&rows, &[("ProductName", "Solver"), ("UserName", "")]);
    assert_eq!(solver["Period"], "2024-03-04");
    assert_eq!(solver["NrHours"], "6");
    // 3600 + 9000 = 12600 s = 3.5 license-hours; peak 4 at 10:15-10:30.
    assert_eq!(solver["TotalUsed"], "3.5");
    assert_eq!(solver["MaxUsed"], "4");
    // The day's busy average: its 8 busiest logged hours (it has 6) → (1 + 2.5) / 6.
    assert!(close(num(solver, "AverageUsed"), 3.5 / 6.0), "{solver:?}");
    // Per hour: 09 = 1 lh, peak 1; 10 = 9000 s = 2.5 lh, peak 4; 11 logged and idle; 08 not
    // logged.
    let hour = |h: &str| {
        [
            solver[&format!("Hours{h}")].as_str(),
            &solver[&format!("TotalUsed{h}")],
            &solver[&format!("MaxUsed{h}")],
            &solver[&format!("AverageUsed{h}")],
        ]
        .map(String::from)
    };
    assert_eq!(hour("09"), ["1", "1", "1", "1"]);
    assert_eq!(hour("10"), ["1", "2.5", "4", "2.5"]);
    assert_eq!(hour("11"), ["1", "0", "0", "0"]);
    assert_eq!(hour("08"), ["0", "0", "0", "0"]);
    // Mesher: 3600 + 1800 s = 1.5 lh over the same 6 hours → 0.25; 13 = 1 lh, 14 = 0.5 lh.
    let mesher = row(&rows, &[("ProductName", "Mesher")]);
    assert_eq!(
        [&mesher["NrHours"], &mesher["TotalUsed"], &mesher["MaxUsed"]],
        ["6", "1.5", "1"]
    );
    assert!(close(num(mesher, "AverageUsed"), 0.25));
    assert_eq!(
        [&mesher["TotalUsed13"], &mesher["TotalUsed14"]],
        ["1", "0.5"]
    );
    // Mesher had no denial: desired = used.
    assert_eq!(
        [&mesher["TotalDesired"], &mesher["MaxDesired"]],
        ["1.5", "1"]
    );
    // Solver: carol's 2 short for 30 min are desired too: 3.5 + 1 = 4.5 lh, all in hour 10;
    // at 10:15-10:30 alice 1 + bob 2 + carol 3 are wanted.
    assert_eq!(
        [
            &solver["TotalDesired"],
            &solver["MaxDesired"],
            &solver["TotalDesired10"],
            &solver["MaxDesired10"],
            &solver["TotalDesired09"],
        ],
        ["4.5", "6", "3.5", "6", "1"]
    );

    // --per-user adds a line per user and product: bob held 2 Solver licenses for 30 min.
    let (_, per_user) = csv(
        &env,
        &["sflm", "--period", "day", "--server", "sflm", "--per-user"],
    );
    assert_eq!(per_user.len(), 2 + 4, "{per_user:#?}");
    let bob = row(&per_user, &[("UserName", "bob")]);
    assert_eq!(
        [&bob["ProductName"], &bob["TotalUsed"], &bob["MaxUsed"]],
        ["Solver", "1", "2"]
    );
    let alice = row(
        &per_user,
        &[("UserName", "alice"), ("ProductName", "Solver")],
    );
    assert_eq!(alice["TotalUsed"], "2");
    // carol used 1 × 30 min and wanted 3 × 30 min.
    let carol = row(&per_user, &[("UserName", "carol")]);
    assert_eq!(
        [
            &carol["TotalUsed"],
            &carol["TotalDesired"],
            &carol["MaxUsed"],
            &carol["MaxDesired"]
        ],
        ["0.5", "1.5", "1", "3"]
    );

    // The week file (Sunday 2024-03-03 to Saturday) has the weekday columns: all on Monday.
    let (header, week) = csv(&env, &["sflm", "--period", "week", "--server", "sflm"]);
    assert_eq!(header[2..], seed_columns(true));
    let solver = row(&week, &[("ProductName", "Solver")]);
    assert_eq!(solver["Period"], "2024-03-03");
    assert_eq!(
        [
            &solver["HoursMonday"],
            &solver["TotalUsedMonday"],
            &solver["HoursSunday"]
        ],
        ["6", "3.5", "0"]
    );
}

#[test]
fn report_json_equals_the_api_answer() {
    let env = imported();
    let serving = env.serve(&[]);
    for (cli, api) in [
        (
            vec!["sflm", "--period", "day"],
            "/api/v1/reports/sflm?period=day",
        ),
        (
            vec![
                "usage",
                "--server",
                "flex",
                "--period",
                "hour",
                "--from",
                "2024-03-04",
            ],
            "/api/v1/reports/usage?server=flex&period=hour&from=2024-03-04",
        ),
        (
            vec!["users", "--by", "user-host"],
            "/api/v1/reports/users?by=user-host",
        ),
    ] {
        let mut args = cli.clone();
        args.extend(["--format", "json"]);
        let printed: Value = serde_json::from_str(&report(&env, &args)).expect("JSON");
        let answered = serving.json(api);
        assert!(printed.as_array().is_some_and(|a| !a.is_empty()), "{cli:?}");
        // The API answers columns and rows; each printed object is a row by column name.
        let columns: Vec<&str> = answered["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["name"].as_str().expect("column name"))
            .collect();
        let rows: Vec<Value> = answered["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                let cells = row.as_array().expect("row");
                Value::Object(
                    columns
                        .iter()
                        .zip(cells)
                        .map(|(c, v)| (c.to_string(), v.clone()))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            printed,
            Value::Array(rows),
            "tally report {cli:?} vs GET {api}"
        );
    }
    // The columns keep the seed's order.
    let (_, body) = serving.get("/api/v1/reports/sflm?server=sflm");
    assert!(
        body.starts_with(
            r#"{"report":"sflm","columns":[{"name":"Period"},{"name":"Server"},{"name":"UserName"},{"name":"ProductId"}"#
        ),
        "{body}"
    );
    assert!(
        body.contains(r#""rows":[["2024-03-04","sflm",null,"Mesher""#),
        "{body}"
    );
    // Errors name what to do.
    let (status, body) = serving.get("/api/v1/reports/usage?server=nope");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("flex, sflm"), "{body}");
    let (status, body) = serving.get("/api/v1/reports/usage?period=fortnight");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("sunday-week"), "{body}");
}

#[test]
fn every_report_gives_the_hand_computed_figures() {
    let env = imported();

    // usage per day on flex: cad 3 lh over 4 logged hours → 0.75, peak 2, two denials, users
    // ann and bob (cat was only refused), hosts pc1, pc2, pc4.
    let (_, usage) = csv(&env, &["usage", "--server", "flex"]);
    let cad = row(&usage, &[("feature", "cad"), ("period", "2024-03-04")]);
    assert_eq!(
        [
            "hours",
            "used_hours",
            "avg_in_use",
            "peak_in_use",
            "denials",
            "users",
            "hosts"
        ]
        .map(|c| cad[c].as_str()),
        ["4", "3", "0.75", "2", "2", "2", "3"]
    );
    // Per hour: 09 has 5400 s = 1.5 lh.
    let (_, hourly) = csv(&env, &["usage", "--server", "flex", "--period", "hour"]);
    let nine = row(&hourly, &[("feature", "cad"), ("period", "2024-03-04T09Z")]);
    assert_eq!(nine["used_hours"], "1.5");

    // features: with 4 cad licenses issued (what a poll would record; set here directly),
    // utilisation = 3 lh / (4 × 4 h) = 18.75 %, peak 2 / 4 = 50 %.
    let db = rusqlite::Connection::open(env.dir.path().join("tally.db")).expect("db");
    db.execute("UPDATE feature SET issued = 4 WHERE name = 'cad'", [])
        .expect("issued");
    let (_, features) = csv(&env, &["features", "--server", "flex"]);
    let cad = row(&features, &[("feature", "cad")]);
    assert_eq!(
        ["issued", "utilisation_pct", "peak_pct", "avg_in_use"].map(|c| cad[c].as_str()),
        ["4", "18.75", "50", "0.75"]
    );
    // viewer: 900 s = 0.25 lh over 4 h; no issued count, no percentage.
    let viewer = row(&features, &[("feature", "viewer")]);
    assert_eq!(
        ["issued", "used_hours", "avg_in_use", "utilisation_pct"].map(|c| viewer[c].as_str()),
        ["", "0.25", "0.0625", ""]
    );

    // underused: cad's peak of 50 % is below 60 %, not below 50 %.
    let (_, under) = csv(&env, &["underused", "--below", "60"]);
    assert_eq!(under.len(), 1, "{under:#?}");
    assert_eq!([&under[0]["feature"], &under[0]["peak_pct"]], ["cad", "50"]);
    let (_, under) = csv(&env, &["underused", "--below", "50"]);
    assert!(under.is_empty(), "{under:#?}");

    // unused from 12:00 on sflm: Solver held no license in hours 12-14 (3 logged hours), Mesher
    // did at 13.
    let (_, unused) = csv(
        &env,
        &[
            "unused",
            "--server",
            "sflm",
            "--from",
            "2024-03-04T12:00:00Z",
        ],
    );
    assert_eq!(unused.len(), 1, "{unused:#?}");
    assert_eq!(
        [&unused[0]["feature"], &unused[0]["hours"]],
        ["Solver", "3"]
    );

    // users: ann held cad 09-10 and 11-12 = 2 lh; cat none but 2 denials.
    let (_, users) = csv(&env, &["users", "--server", "flex"]);
    let ann = row(&users, &[("feature", "cad"), ("user", "ann")]);
    assert_eq!(ann["used_hours"], "2");
    let cat = row(&users, &[("user", "cat")]);
    assert_eq!([&cat["used_hours"], &cat["denials"]], ["0", "2"]);
    // hosts: pc2 held cad 09:30-10:30 = 1 lh and viewer 15 min.
    let (_, hosts) = csv(&env, &["hosts", "--server", "flex"]);
    let pc2 = row(&hosts, &[("feature", "cad"), ("host", "pc2")]);
    assert_eq!(pc2["used_hours"], "1");
    let pc2 = row(&hosts, &[("feature", "viewer"), ("host", "pc2")]);
    assert_eq!(pc2["used_hours"], "0.25");
    // user-host: ann on pc4 = 1 lh.
    let (_, pairs) = csv(&env, &["users", "--server", "flex", "--by", "user-host"]);
    let ann4 = row(&pairs, &[("user", "ann"), ("host", "pc4")]);
    assert_eq!(ann4["used_hours"], "1");

    // denials per feature, cause and reason, most refused first, over both servers: cat twice
    // on cad ("users already reached": capacity), carol once on Solver (the partial grant's
    // shortfall of 2, no reason given: capacity).
    let denials: Value =
        serde_json::from_str(&report(&env, &["denials", "--format", "json"])).expect("JSON");
    let got: Vec<[String; 6]> = denials
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            [
                "server", "feature", "cause", "refusals", "licenses", "users",
            ]
            .map(|c| r[c].to_string().trim_matches('"').to_string())
        })
        .collect();
    assert_eq!(
        got,
        [
            ["flex", "cad", "capacity", "2", "2", "1"],
            ["sflm", "Solver", "capacity", "1", "2", "1"]
        ]
        .map(|r| r.map(String::from))
    );
    let reason = denials[0]["reason"].as_str().expect("a reason");
    assert!(
        reason.contains("Licensed number of users already reached"),
        "{reason}"
    );
    assert_eq!(denials[0]["first"], "2024-03-04T09:45:00Z");

    // heatmap: Monday 09 on cad = 1.5 licenses on average, peak 2; Monday 12 logged, idle.
    let (_, heat) = csv(&env, &["heatmap", "--feature", "cad"]);
    let nine = row(&heat, &[("weekday", "Monday"), ("hour", "9")]);
    assert_eq!([&nine["avg_in_use"], &nine["peak_in_use"]], ["1.5", "2"]);
    let noon = row(&heat, &[("weekday", "Monday"), ("hour", "12")]);
    assert_eq!([&noon["hours"], &noon["avg_in_use"]], ["1", "0"]);
    assert_eq!(heat.len(), 4, "one cell per logged hour: {heat:#?}");

    // user-count: usernames ann, bob (on both servers: one username), alice, carol = 4; with
    // the denied-only cat 5; user-host pairs ann@pc1, ann@pc4, bob@pc2, alice@ws-alice,
    // bob@ws-bob, carol@lab-1 = 6, on 6 hosts.
    let count = |args: &[&str]| {
        let mut all = vec!["user-count"];
        all.extend_from_slice(args);
        let (_, rows) = csv(&env, &all);
        assert_eq!(rows.len(), 1);
        [rows[0]["users"].clone(), rows[0]["hosts"].clone()]
    };
    assert_eq!(count(&[]), ["4", "6"]);
    assert_eq!(count(&["--denied"]), ["5", "7"]);
    assert_eq!(count(&["--counting", "user-host"]), ["6", "6"]);
    // The last 14 days up to 2024-03-20: nothing since March 7th.
    assert_eq!(
        count(&["--window", "14d", "--to", "2024-03-20"]),
        ["0", "0"]
    );
    assert_eq!(
        count(&["--window", "14d", "--to", "2024-03-05"]),
        ["4", "6"]
    );

    // The table shows the same figures, rounded.
    let table = report(&env, &["features", "--server", "flex"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("flex") && l.contains("18.75")),
        "{table}"
    );
}

#[test]
fn mistakes_are_named() {
    let env = imported();
    let fails = |args: &[&str]| {
        let mut all = vec!["report"];
        all.extend_from_slice(args);
        let out = env.tally(&all);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(fails(&["usage", "--server", "nope"]).contains("the servers are: flex, sflm"));
    assert!(fails(&["usage", "--feature", "nope"]).contains("Mesher"));
    assert!(fails(&["usage", "--from", "March"]).contains("2024-03-01"));
    assert!(fails(&["sflm", "--period", "hour"]).contains("day, week"));
    assert!(fails(&["nope"]).contains("user-count"));
    // --help explains each report in one line.
    let help = String::from_utf8_lossy(&env.tally(&["report", "--help"]).stdout).into_owned();
    assert!(help.contains("the SFLM summary files"), "{help}");
    assert!(help.contains("user-count"), "{help}");
}

/// A FlexNet debug log of the corpus, imported, gives the seed's columns for its days.
#[test]
fn sflm_day_report_on_a_corpus_log() {
    let Some(dir) = corpus_dir("flexlm-debuglog") else {
        return;
    };
    let log = dir.join("flexlm_reporter__umich_ansyslmd_2017-01-08.log");
    let env = Env::new();
    let summary = env.import(&["--server", "umich", log.to_str().expect("UTF-8 path")]);
    assert!(summary["sessions"].as_u64() > Some(0), "{summary}");
    let (header, rows) = csv(&env, &["sflm", "--period", "day"]);
    assert_eq!(header[2..], seed_columns(false));
    assert!(!rows.is_empty());
    for r in &rows {
        let hours: u64 = r["NrHours"].parse().expect("NrHours");
        assert!((1..=24).contains(&hours), "{r:?}");
        // A day's hourly totals add up to its total.
        let sum: f64 = (0..24).map(|h| num(r, &format!("TotalUsed{h:02}"))).sum();
        assert!((sum - num(r, "TotalUsed")).abs() < 1e-6, "{r:?}");
    }
    // The table prints the same header.
    let table = report(&env, &["sflm", "--period", "day"]);
    let first = table.lines().next().expect("header");
    assert!(first.starts_with("Period"), "{first}");
    assert!(
        first.contains("NrHours") && first.contains("TotalUsed23"),
        "{first}"
    );
}

/// A FlexNet log and its license file: the licences issued come from the file, so the
/// features and underused reports show utilisation for a server known only from files.
#[test]
fn a_license_file_gives_an_imported_server_its_capacity() {
    let env = Env::new();
    for (format, file) in [
        ("flexlm-debuglog", "flexnet_2024-03-04.log"),
        ("flexlm-license", "flexnet_2024-03-04.lic"),
    ] {
        let path = fixture(file);
        env.import(&[
            "--server",
            "flex",
            "--format",
            format,
            path.to_str().expect("UTF-8"),
        ]);
    }
    // cad: 3 license-hours over 4 logged hours of 4 licences = 18.75 %, peak 2 of 4 = 50 %.
    let (_, features) = csv(&env, &["features", "--server", "flex"]);
    let cad = row(&features, &[("feature", "cad")]);
    assert_eq!(
        ["issued", "utilisation_pct", "peak_pct"].map(|c| cad[c].as_str()),
        ["4", "18.75", "50"]
    );
    // viewer is uncounted: no count, no percentage (never a false 0 %).
    let viewer = row(&features, &[("feature", "viewer")]);
    assert_eq!(
        ["issued", "utilisation_pct"].map(|c| viewer[c].as_str()),
        ["", ""]
    );
    let (_, under) = csv(&env, &["underused", "--server", "flex", "--below", "60"]);
    assert_eq!(under.len(), 1, "{under:#?}");
    assert_eq!([&under[0]["feature"], &under[0]["peak_pct"]], ["cad", "50"]);
}

#[test]
fn capacity_entered_by_hand_gives_an_imported_server_its_utilisation_over_its_range() {
    let env = Env::new();
    let path = fixture("flexnet_2024-03-04.log");
    env.import(&["--server", "flex", path.to_str().expect("UTF-8")]);
    let cad = |env: &Env| -> [String; 3] {
        let (_, features) = csv(env, &["features", "--server", "flex"]);
        let cad = row(&features, &[("feature", "cad")]);
        ["issued", "utilisation_pct", "peak_pct"].map(|c| cad[c].clone())
    };
    assert_eq!(cad(&env), ["", "", ""], "nothing says how many were issued");

    let tally = |args: &[&str]| {
        let out = env.tally(args);
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let (ok, text) = tally(&[
        "capacity",
        "set",
        "flex",
        "cad",
        "4",
        "--until",
        "2024-03-01",
    ]);
    assert!(ok, "{text}");
    assert_eq!(
        cad(&env),
        ["", "", ""],
        "a contract that ended before the log"
    );
    let (ok, text) = tally(&[
        "capacity",
        "set",
        "flex",
        "cad",
        "4",
        "--from",
        "2024-03-01",
    ]);
    assert!(ok, "{text}");
    assert_eq!(cad(&env), ["4", "18.75", "50"]);

    let (ok, text) = tally(&[
        "capacity",
        "set",
        "flex",
        "cad",
        "4",
        "--from",
        "2024-03-05",
        "--until",
        "2024-03-01",
    ]);
    assert!(
        !ok && text.contains("ends") && text.contains("before it starts"),
        "{text}"
    );
    let (ok, text) = tally(&["capacity", "set", "flex", "nosuch", "4"]);
    assert!(!ok && text.contains("no feature `nosuch`"), "{text}");

    let (ok, text) = tally(&["capacity", "list", "flex", "--json"]);
    assert!(ok, "{text}");
    let rows: Value = serde_json::from_str(&text).expect("JSON");
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(
        rows.iter()
            .all(|r| r["source"] == "operator" && r["name"] == "cad")
    );
    for r in rows {
        let id = r["id"].as_i64().expect("id").to_string();
        let (ok, text) = tally(&["capacity", "remove", "flex", &id]);
        assert!(ok, "{text}");
    }
    assert_eq!(cad(&env), ["", "", ""], "removed");
}

/// The corpus's Siemens NX excerpt refuses for want of licences (-4) and for a version the
/// server does not serve (-25) or a feature it lacks (-5): the denials report keeps them apart,
/// with their reasons.
#[test]
fn denials_of_the_siemens_nx_excerpt_are_split_by_cause() {
    let Some(dir) = corpus_dir("flexlm-debuglog") else {
        return;
    };
    let log = dir.join("licenselogs__siemens_nx_saltd_excerpt.log");
    let env = Env::new();
    env.import(&["--server", "nx", log.to_str().expect("UTF-8 path")]);
    let denials: Value =
        serde_json::from_str(&report(&env, &["denials", "--format", "json"])).expect("JSON");
    let rows = denials.as_array().expect("rows");
    let refusals = |cause: &str| -> u64 {
        rows.iter()
            .filter(|r| r["cause"] == cause)
            .map(|r| r["refusals"].as_u64().expect("refusals"))
            .sum()
    };
    assert!(
        refusals("capacity") > 0 && refusals("configuration") > 0,
        "{denials:#}"
    );
    for r in rows {
        assert!(
            r["reason"].is_string(),
            "every refusal here gives its reason: {r}"
        );
        let reason = r["reason"].as_str().unwrap_or_default();
        let full = reason.contains("Licensed number of users already reached");
        assert_eq!(r["cause"] == "capacity", full, "{r}");
    }
    // Most refused first.
    let counts: Vec<u64> = rows
        .iter()
        .map(|r| r["refusals"].as_u64().unwrap_or(0))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
}

#[test]
fn rows_sort_by_a_column_cut_to_the_top_and_add_up_in_a_table() {
    let env = imported();
    let (_, all) = csv(&env, &["users", "--server", "flex"]);
    let (_, top) = csv(
        &env,
        &[
            "users",
            "--server",
            "flex",
            "--sort",
            "used_hours",
            "--top",
            "2",
        ],
    );
    assert_eq!(top.len(), 2.min(all.len()));
    let hours = |r: &Row| r["used_hours"].parse::<f64>().expect("used_hours");
    let most = all.iter().map(hours).fold(0.0, f64::max);
    assert_eq!(hours(&top[0]), most);
    assert!(top.windows(2).all(|w| hours(&w[0]) >= hours(&w[1])));

    let table = report(&env, &["users", "--server", "flex"]);
    let total = table.lines().last().expect("a totals line");
    let sum: f64 = all.iter().map(hours).sum();
    assert!(
        total.starts_with("total")
            && total.contains(&format!("{sum:.2}").trim_end_matches(".00").to_string()),
        "{table}"
    );

    let out = env.tally(&["report", "features", "--period", "week"]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("the features report takes no `period`"),
        "{message}"
    );
    let out = env.tally(&["report", "users", "--sort", "nosuch"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no column `nosuch`"));
}

#[test]
fn the_compact_sflm_view_keeps_the_periods_figures_only() {
    let env = imported();
    let (full_header, full) = csv(&env, &["sflm", "--period", "week", "--server", "sflm"]);
    let (header, compact) = csv(
        &env,
        &["sflm", "--period", "week", "--server", "sflm", "--compact"],
    );
    assert_eq!(header, full_header[..12].to_vec());
    assert_eq!(header.last().map(String::as_str), Some("TotalUsed"));
    assert_eq!(compact.len(), full.len());
    for (c, f) in compact.iter().zip(&full) {
        for column in &header {
            assert_eq!(c[column], f[column], "{column}");
        }
    }
    let help = env.tally(&["report", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("busy-hours weighted") && help.contains("plain time average"),
        "{help}"
    );
}

/// A server in New York: its log is read in New York time and its heatmap shown in New York
/// hours, on both sides of the change to daylight saving time (2024-03-10).
#[test]
fn a_server_in_new_york_reads_its_log_and_shows_its_heatmap_in_local_hours_across_dst() {
    let env = Env::new();
    let add = env.tally(&[
        "server",
        "add",
        "ny",
        "--manager",
        "flexlm",
        "--time-zone",
        "America/New_York",
    ]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let log = env.write(
        "ny.log",
        " 8:00:00 (lmgrd) TIMESTAMP 3/9/2024\n\
          9:00:00 (demo) OUT: \"cad\" ann@pc1  \n\
         10:00:00 (demo) IN: \"cad\" ann@pc1  \n\
          8:00:00 (lmgrd) TIMESTAMP 3/11/2024\n\
          9:00:00 (demo) OUT: \"cad\" ann@pc1  \n\
         10:00:00 (demo) IN: \"cad\" ann@pc1  \n",
    );
    let import = env.tally(&["import", "--server", "ny", log.to_str().expect("UTF-8")]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    // 09:00 EST is 14:00 UTC on the 9th; 09:00 EDT is 13:00 UTC on the 11th.
    let starts: Vec<i64> = env.sessions().iter().map(|s| s.0).collect();
    assert_eq!(starts, [1_709_992_800, 1_710_162_000]);

    let (_, cells) = csv(&env, &["heatmap", "--server", "ny"]);
    let used: Vec<(String, String)> = cells
        .iter()
        .filter(|r| r["peak_in_use"] != "0" && !r["peak_in_use"].is_empty())
        .map(|r| (r["weekday"].clone(), r["hour"].clone()))
        .collect();
    assert_eq!(used.len(), 2, "{used:?}");
    assert!(
        used.iter().all(|(_, hour)| hour == "9"),
        "local hours: {used:?}"
    );
    assert!(
        used.iter().any(|(day, _)| day.starts_with("Sat")),
        "{used:?}"
    );
    assert!(
        used.iter().any(|(day, _)| day.starts_with("Mon")),
        "{used:?}"
    );
}
