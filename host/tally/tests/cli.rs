//! End-to-end: the real `tally` binary on files and a fresh SQLite database per test.

use serde_json::Value;

mod common;
use common::{Env, corpus};

fn n(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("`{key}` in {v}"))
}

#[test]
fn every_corpus_debug_log_imports_with_its_counts_and_again_adds_nothing() {
    let Some(dir) = corpus() else { return };
    // (file, lines, sessions, denials incl. unsupported, malformed): the parser's corpus test
    // derives these independently from the raw files; here they must survive the whole path
    // through the component and the store.
    let expected: &[(&str, u64, u64, u64, u64)] = &[
        ("flexlicenselog__ansys_ansyslmd_2009.log", 58, 2, 0, 0),
        (
            "flexlm_analysis_modified__siemens_ugslmd_startup.log",
            97,
            1,
            0,
            2,
        ),
        ("flexlm_license_elk__autodesk_sample.log", 11800, 1918, 0, 0),
        (
            "flexlm_log_parser_imsukh__autodesk_debug.log",
            3598,
            170,
            2,
            0,
        ),
        (
            "flexlm_reporter__umich_ansyslmd_2017-01-08.log",
            10909,
            598,
            0,
            1,
        ),
        (
            "flexlm_reporter__umich_ansyslmd_2017-02-18.log",
            44084,
            9038,
            0,
            1,
        ),
        (
            "flexlm_reporter__umich_ansyslmd_2017-06-08.log",
            8991,
            2455,
            0,
            1,
        ),
        (
            "licenselogs__siemens_nx_saltd_excerpt.log",
            3295,
            1282,
            67,
            0,
        ),
        ("parse_lmgrd_log__msc_mscone_anonym.log", 694, 21, 0, 1),
        (
            "stats_logs_flexlm__autodesk_adskflex.log",
            32654,
            8402,
            2,
            0,
        ),
        ("stats_logs_flexlm__maple_maplelmg.log", 6514, 262, 0, 0),
        ("stats_logs_flexlm__matlab_mlm.log", 27048, 10007, 9, 1),
        ("ucl_licenselogparse__handmade_test.log", 7, 3, 0, 1),
    ];
    let files: Vec<String> = expected
        .iter()
        .map(|e| dir.join(e.0).display().to_string())
        .collect();
    let on_disk = std::fs::read_dir(&dir).expect("corpus dir").count();
    assert_eq!(
        on_disk,
        expected.len(),
        "a corpus file without expectations"
    );

    let env = Env::new();
    // 240 users: past the Community licence's 100.
    env.roomy_licence();
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let summary = env.import(&args);
    assert_eq!((n(&summary, "files"), n(&summary, "failed")), (13, 0));
    for (result, (name, lines, sessions, denials, malformed)) in summary["results"]
        .as_array()
        .expect("results")
        .iter()
        .zip(expected)
    {
        assert!(
            result["path"].as_str().is_some_and(|p| p.ends_with(name)),
            "{result}"
        );
        let got = (
            n(result, "lines"),
            n(result, "sessions"),
            n(result, "denials"),
            n(result, "malformed"),
        );
        assert_eq!(got, (*lines, *sessions, *denials, *malformed), "{name}");
        assert_eq!(result["outcome"], "imported");
    }
    let sessions: u64 = expected.iter().map(|e| e.2).sum();
    assert_eq!(n(&summary, "sessions"), sessions);
    assert_eq!(env.rows("session") as u64, sessions);
    let first = summary["malformed_lines"][0]
        .as_str()
        .expect("a malformed line is reported");
    assert!(
        first.ends_with("flexlm_analysis_modified__siemens_ugslmd_startup.log:96"),
        "{first}"
    );

    // Again: every file is recognised as unchanged and nothing is added.
    let before = (
        env.rows("session"),
        env.rows("denial"),
        env.rows("server_event"),
        env.rows("import_diagnostic"),
    );
    let again = env.import(&args);
    assert_eq!((n(&again, "sessions"), n(&again, "lines")), (0, 0));
    assert!(
        again["results"]
            .as_array()
            .expect("results")
            .iter()
            .all(|r| r["outcome"] == "unchanged")
    );
    assert_eq!(
        before,
        (
            env.rows("session"),
            env.rows("denial"),
            env.rows("server_event"),
            env.rows("import_diagnostic")
        )
    );
}

#[test]
fn an_import_killed_midway_resumes_to_the_same_totals_as_a_clean_run() {
    let (log, totals) = flexlm_log::synth::generate(30_000, 11);
    let clean = Env::new();
    let path = clean.write("lmgrd.log", &log);
    let clean_summary =
        clean.import(&["--chunk-size", "32768", path.to_str().expect("utf-8 path")]);
    assert_eq!(n(&clean_summary, "sessions"), totals.checkouts);
    assert_eq!(n(&clean_summary, "denials"), totals.denials);

    let killed = Env::new();
    let path = killed.write("lmgrd.log", &log);
    let out = killed.tally(&[
        "import",
        "--utc-offset",
        "0",
        // A commit holds four chunks: about 80 commits over the file, killed at the 17th.
        "--chunk-size",
        "8192",
        "--abort-after-commits",
        "17",
        path.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success(), "the import was meant to die");
    let partial = killed.rows("session") as u64;
    assert!(
        partial > 0 && partial < totals.checkouts,
        "killed midway: {partial} of {}",
        totals.checkouts
    );

    let resumed = killed.import(&["--chunk-size", "32768", path.to_str().expect("utf-8")]);
    assert_eq!(resumed["results"][0]["outcome"], "resumed");
    for table in [
        "session",
        "denial",
        "server_event",
        "user",
        "host",
        "feature",
        "import_run",
    ] {
        assert_eq!(killed.rows(table), clean.rows(table), "{table}");
    }
    let sum = |env: &Env| -> (i64, i64) {
        let conn = rusqlite::Connection::open(env.dir.path().join("tally.db")).expect("open");
        conn.query_row(
            "SELECT sum(\"end\" - start), sum(start % 9973) FROM session",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("sum")
    };
    assert_eq!(sum(&killed), sum(&clean));
}

#[test]
fn a_grown_log_continues_without_duplicates() {
    let (log, _) = flexlm_log::synth::generate(4_000, 3);
    let cut = log[..log.len() / 2].rfind('\n').expect("a newline") + 1;
    let env = Env::new();
    let path = env.write("grow.log", &log[..cut]);
    env.import(&[path.to_str().expect("utf-8")]);
    std::fs::write(&path, &log).expect("the log grows");
    let second = env.import(&[path.to_str().expect("utf-8")]);
    assert_eq!(second["results"][0]["outcome"], "continued");

    let whole = Env::new();
    let whole_path = whole.write("grow.log", &log);
    whole.import(&[whole_path.to_str().expect("utf-8")]);
    assert_eq!(env.rows("session"), whole.rows("session"));
    assert_eq!(env.rows("denial"), whole.rows("denial"));
}

#[test]
fn malformed_lines_are_counted_with_their_line_numbers() {
    let env = Env::new();
    let path = env.write(
        "bad.log",
        " 9:00:00 (lmgrd) FlexNet Licensing (v11.16 build 1 x64_lsb) started on lic1 (linux) (3/5/2021)\n\
         9:00:05 (acme) OUT: \"solver\" alice@ws1  \n\
         garbage without a time\n\
         9:30:05 (acme) IN: \"solver\" alice@ws1  \n\
         12:49:3a9 (acme) OUT: \"solver\" bob@ws2  \n",
    );
    let summary = env.import(&[path.to_str().expect("utf-8")]);
    assert_eq!((n(&summary, "sessions"), n(&summary, "malformed")), (1, 2));
    let expected: Vec<String> = [3, 5]
        .iter()
        .map(|l| format!("{}:{l}", path.display()))
        .collect();
    assert_eq!(summary["malformed_lines"], serde_json::json!(expected));

    let run = summary["results"][0]["run"]
        .as_i64()
        .expect("run id")
        .to_string();
    let out = env.tally(&["diagnostics", &run, "--malformed"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.starts_with(&format!("{}:3: malformed", path.display()))),
        "{text}"
    );
}

#[test]
fn a_file_no_plugin_claims_is_refused_with_the_known_formats() {
    let env = Env::new();
    let list: Value =
        serde_json::from_slice(&env.tally(&["plugin", "list", "--json"]).stdout).expect("JSON");
    let mut formats: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .filter(|p| p["world"] == "importer")
        .flat_map(|p| {
            p["formats"]
                .as_array()
                .expect("formats")
                .iter()
                .filter_map(Value::as_str)
        })
        .collect();
    formats.sort();
    let known = formats.join(", ");
    assert!(known.contains("flexlm-debuglog"), "{known}");

    let path = env.write("notes.txt", "Dear diary,\ntoday nothing was licensed.\n");
    let out = env.tally(&["import", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "no importer recognises it. Known formats: {known}. Give the format to choose one (`--format ID`"
        )),
        "{stderr}"
    );
    assert_eq!(env.rows("session"), 0);

    let out = env.tally(&["import", "--format", "nope", path.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "no importer reads format `nope`; known formats: {known}"
        )),
        "{stderr}"
    );
}

/// One plugin reads two formats (dsls-log: server log lines and the cloud `getlogs` JSON); the
/// summary names the one its `sniff` recognised (WIT 0.2.0), not the plugin's first.
#[test]
fn the_import_summary_names_the_format_sniff_recognised() {
    let env = Env::new();
    let grant = "2025/09/05 07:44:44:495 I USGTRACING  Grant!!CAC!R1!4800C!Dassault Systemes V5!ConcurrentUser!1!STD!PC-210 (43D2-0a0a.4)!203.0.113.4!yam.t!YAM.T@EX!C:/P/CNEXT.exe!5.34!ALC";
    let timeout = "2025/09/05 07:44:58:593 I USGTRACING  TimeOut!!CAC!R1!4800C!Dassault Systemes V5!ConcurrentUser!1!STD!PC-210 (43D2-0a0a.4)!203.0.113.4!yam.t!YAM.T@EX!C:/P/CNEXT.exe!5.34!ALC";
    let cloud = format!(
        "{{\"result\": {{\"rows\": [\"{timeout}\", \"{grant}\"], \"serverTimeZone\": \"UTC\"}}}}\n"
    );
    let lines = format!("{grant}\n{timeout}\n");
    for (name, content, format) in [
        ("getlogs.json", cloud, "dsls-cloud-json"),
        ("LicenseServer.log", lines, "dsls-log"),
    ] {
        let path = env.write(name, &content);
        let summary = env.import(&["--server", name, path.to_str().expect("utf-8")]);
        let result = &summary["results"][0];
        assert_eq!(result["format"], format, "{name}: {result}");
        assert_eq!(n(result, "sessions"), 1, "{name}: {result}");
    }
}

#[test]
fn a_reader_closing_stdout_early_is_not_a_crash() {
    // `tally plugin list | head -0`: the pipe is closed before tally writes to it.
    let env = Env::new();
    let mut child = env
        .command(&["plugin", "list"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running tally");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("tally ends");
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn plugin_list_shows_the_wit_version() {
    let env = Env::new();
    let out = env.tally(&["plugin", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let flexlm = list
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["id"] == "flexlm-log")
        .expect("flexlm-log");
    assert_eq!(
        (
            flexlm["world"].as_str(),
            flexlm["wit"].as_str(),
            flexlm["source"].as_str()
        ),
        (Some("importer"), Some("0.4.0"), Some("built-in"))
    );
}

#[test]
fn a_broken_plugin_in_the_plugin_dir_is_reported_and_the_rest_work() {
    let env = Env::new();
    let broken = env.dir.path().join("plugins/broken");
    std::fs::create_dir_all(&broken).expect("mkdir");
    std::fs::write(
        broken.join("plugin.toml"),
        "id = \"broken\"\nversion = \"1\"\n",
    )
    .expect("write");
    let out = env.tally(&["plugin", "list"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: plugin not loaded:")
            && stderr.contains("plugins/broken/plugin.toml"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("flexlm-log"));
}

#[test]
fn every_other_corpus_log_imports_through_the_cli() {
    let Some(flexlm) = corpus() else { return };
    let root = flexlm.parent().expect("corpus root").to_path_buf();
    // Status-command outputs in these folders are poller input, not logs.
    let status_outputs = [
        "license_manager_omnivector__dsls_bad_cannot_connect.txt",
        "license_manager_omnivector__dsls_getLicenseUsage_csv.txt",
        "license_manager_omnivector__dsls_no_licenses.txt",
        "license_manager_omnivector__dsls_with_warning.txt",
    ];
    // (folder, file, detected format, sessions, denials, server events, malformed), as each
    // plugin's corpus test derives them independently from the raw file.
    let expected: &[(&str, &str, &str, u64, u64, u64, u64)] = &[
        (
            "rlm-reportlog",
            "licenselogs__autoform_afrlm_reportlog_2025-09-04.rlog",
            "rlm-reportlog",
            311,
            142,
            5,
            4,
        ),
        (
            "dsls",
            "licenselogs__dsls_LicenseServer_log_2025-08.log",
            "dsls-log",
            0,
            45,
            22,
            0,
        ),
        (
            "dsls",
            "licenselogs__dsls_cloud_getlogs.json",
            "dsls-cloud-json",
            245,
            4,
            1,
            0,
        ),
        (
            "lmx-log",
            "softing_edgeconnector__lmx_serv_startup_log.txt",
            "lmx-log",
            0,
            0,
            5,
            0,
        ),
    ];
    for folder in ["rlm-reportlog", "dsls", "lmx-log"] {
        for entry in std::fs::read_dir(root.join(folder)).expect("folder") {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            let covered = expected.iter().any(|e| e.0 == folder && e.1 == name)
                || status_outputs.contains(&name.as_str());
            assert!(covered, "{folder}/{name} has no expectation");
        }
    }
    let env = Env::new();
    for (folder, file, format, sessions, denials, events, malformed) in expected {
        let path = root.join(folder).join(file);
        let summary = env.import(&[path.to_str().expect("utf-8")]);
        let result = &summary["results"][0];
        assert!(
            result["format"]
                .as_str()
                .is_some_and(|f| f.starts_with(format)),
            "{file}: {result}"
        );
        let got = (
            n(result, "sessions"),
            n(result, "denials"),
            n(result, "server_events"),
            n(result, "malformed"),
        );
        assert_eq!(got, (*sessions, *denials, *events, *malformed), "{file}");
    }
}

/// SFLM writes one usage log per day (seed 004) and a session crossing midnight is a line in
/// each day's file. Imported together onto one server, the day files give the sessions of their
/// concatenation: the halves join across files. (Hand-made from the seed's description; no
/// public SFLM log exists.)
#[test]
fn sflm_day_files_imported_together_join_sessions_across_midnight() {
    let header = "UserName\tHostName\tProcessId\tProductId\tProductName\tStartTime(InSeconds)\tEndTime(inSeconds)\tNumberDesired\tNumberGranted\tDate\tStartTime\tEndTime\n";
    let days = [
        "alice\tws-alice\t4312\t1001\tSolver Pro\t63318874500\t63318877200\t1\t1\t2007/07/01\t08:15:00\t09:00:00\n\
         dave\tlab-08\t6002\t1002\tMesher\t63318924600\t63318931200\t1\t1\t2007/07/01\t22:10:00\t24:00:00\n\
         erin\tws-erin\t7000\t1001\tSolver Pro\t63318927600\t63318931199\t1\t1\t2007/07/01\t23:00:00\t23:59:59\n",
        "dave\tlab-08\t6002\t1002\tMesher\t63318931200\t63319017600\t1\t1\t2007/07/02\t00:00:00\t24:00:00\n\
         erin\tws-erin\t7000\t1001\tSolver Pro\t63318931200\t63318933000\t1\t1\t2007/07/02\t00:00:00\t00:30:00\n",
        "dave\tlab-08\t6002\t1002\tMesher\t63319017600\t63319024800\t1\t1\t2007/07/03\t00:00:00\t02:00:00\n",
    ];
    let env = Env::new();
    let paths: Vec<String> = days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let path = env.write(&format!("2007070{}.log", i + 1), &format!("{header}{day}"));
            path.to_str().expect("utf-8").to_string()
        })
        .collect();
    let mut args = vec!["--server", "sflm1"];
    args.extend(paths.iter().map(String::as_str));
    let summary = env.import(&args);
    assert_eq!(summary["sessions"], 3, "{summary}");

    let once = Env::new();
    let whole = once.write("all.log", &format!("{header}{}", days.concat()));
    once.import(&["--server", "sflm1", whole.to_str().expect("utf-8")]);
    assert_eq!(env.sessions(), once.sessions());

    // 2007-07-01 22:10 to 2007-07-03 02:00 in Unix seconds: one session over two midnights.
    let dave: Vec<_> = env
        .sessions()
        .into_iter()
        .filter(|s| s.2 == "dave")
        .collect();
    assert_eq!(
        dave.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(),
        [(1_183_327_800, 1_183_428_000)],
        "{dave:?}"
    );
}

#[test]
fn two_imports_of_one_file_at_once_write_it_once() {
    let (log, totals) = flexlm_log::synth::generate(120_000, 5);
    let env = Env::new();
    let path = env.write("lmgrd.log", &log);
    let path = path.to_str().expect("utf-8 path");
    let mut first = env
        .command(&[
            "import",
            "--utc-offset",
            "0",
            "--chunk-size",
            "16384",
            "--server",
            "X",
            path,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("first import");
    let db = env.dir.path().join("tally.db");
    common::until("the first import to commit", || {
        db.exists()
            && rusqlite::Connection::open(&db)
                .and_then(|c| c.query_row("SELECT count(*) FROM session", [], |r| r.get(0)))
                .is_ok_and(|n: i64| n > 0)
    });
    let overlapping = first.try_wait().expect("first import").is_none();
    let second = env.tally(&["import", "--utc-offset", "0", "--server", "X", path]);
    let overlapped = overlapping && first.try_wait().expect("first import").is_none();
    let first = first.wait_with_output().expect("first import");
    assert!(
        first.status.success(),
        "the first import must finish: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    if overlapped {
        assert!(
            !second.status.success(),
            "the second import must be refused"
        );
        let message = String::from_utf8_lossy(&second.stderr);
        assert!(
            message.contains("is being imported by another process"),
            "{message}"
        );
    }
    assert_eq!(env.rows("session") as u64, totals.checkouts);
    assert_eq!(env.rows("import_run"), 1);
}

#[test]
fn a_fifo_is_refused_at_once_instead_of_hanging() {
    let env = Env::new();
    let fifo = env.dir.path().join("pipe.log");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    // Nobody ever writes to it: opening it for reading would wait for ever.
    let out = env.tally(&[
        "import",
        "--format",
        "flexlm-debuglog",
        fifo.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("is not a regular file"), "{message}");
}

#[test]
fn a_file_is_known_by_its_head_and_the_format_it_was_read_as() {
    let (log, totals) = flexlm_log::synth::generate(3_000, 9);
    let env = Env::new();
    let path = env.write("lmgrd.log", &log);
    let path = path.to_str().expect("utf-8 path");

    // Read once as the wrong format: nothing recognised. Read again as the right one: imported,
    // not "unchanged".
    let wrong = env.tally(&[
        "import",
        "--json",
        "--utc-offset",
        "0",
        "--server",
        "X",
        "--format",
        "rlm-reportlog",
        path,
    ]);
    let _ = wrong; // whether the wrong reader fails or finds nothing, it must not stick
    let right = env.import(&["--server", "X", "--format", "flexlm-debuglog", path]);
    assert_eq!(right["results"][0]["outcome"], "imported");
    assert_eq!(n(&right, "sessions"), totals.checkouts);

    // An empty file names no file: the next one on the server is not its continuation.
    let empty = env.write("empty.log", "");
    let empty = empty.to_str().expect("utf-8");
    env.import(&["--server", "Y", "--format", "flexlm-debuglog", empty]);
    let other = env.import(&["--server", "Y", "--format", "flexlm-debuglog", path]);
    assert_eq!(other["results"][0]["outcome"], "imported");
    assert_eq!(n(&other, "sessions"), totals.checkouts);
}

#[test]
fn a_log_truncated_after_its_import_is_not_imported_twice() {
    let (log, totals) = flexlm_log::synth::generate(6_000, 3);
    assert!(log.len() > 4096, "longer than the sniffed head");
    let env = Env::new();
    let path = env.write("lmgrd.log", &log);
    let path_str = path.to_str().expect("utf-8 path");
    env.import(&["--server", "X", path_str]);
    assert_eq!(env.rows("session") as u64, totals.checkouts);

    let cut = log[..log.len() / 2].rfind('\n').expect("a line") + 1;
    std::fs::write(&path, &log[..cut]).expect("truncate");
    let again = env.tally(&["import", "--utc-offset", "0", "--server", "X", path_str]);
    assert!(!again.status.success());
    let message = String::from_utf8_lossy(&again.stderr);
    assert!(message.contains("it was truncated"), "{message}");
    assert_eq!(env.rows("session") as u64, totals.checkouts);
}

#[test]
fn an_import_replaced_with_another_offset_keeps_only_the_second_offsets_facts() {
    let (log, totals) = flexlm_log::synth::generate(3_000, 5);
    let env = Env::new();
    let path = env.write("lmgrd.log", &log);
    let path = path.to_str().expect("utf-8 path");
    let import = |args: &[&str]| -> Value {
        let mut all = vec!["import", "--json", "--server", "X"];
        all.extend_from_slice(args);
        all.push(path);
        let out = env.tally(&all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON summary")
    };
    import(&["--utc-offset", "+5:30"]);
    let india = env.sessions();
    let again = import(&["--utc-offset", "-3"]);
    assert_eq!(
        again["results"][0]["outcome"], "unchanged",
        "without --replace"
    );

    let replaced = import(&["--replace", "--utc-offset", "-3"]);
    assert_eq!(replaced["results"][0]["outcome"], "replaced");
    let brazil = env.sessions();
    assert_eq!(brazil.len() as u64, totals.checkouts);
    assert_eq!(india.len(), brazil.len());
    // Local times read 8 h 30 min later in UTC: every fact moved, none left behind.
    for (a, b) in india.iter().zip(&brazil) {
        assert_eq!((b.0 - a.0, b.1 - a.1), (30_600, 30_600), "{a:?} → {b:?}");
    }
    assert_eq!(env.rows("import_run"), 1);

    // The rollups are those of a clean import at the second offset.
    let clean = Env::new();
    let clean_path = clean.write("lmgrd.log", &log);
    clean.tally(&[
        "import",
        "--server",
        "X",
        "--utc-offset",
        "-3",
        clean_path.to_str().expect("utf-8"),
    ]);
    assert_eq!(clean.sessions(), brazil);
    for table in ["hour_rollup", "user_hour", "day_rollup", "month_rollup"] {
        assert_eq!(env.dump(table), clean.dump(table), "{table}");
    }
    assert_eq!(env.rows("denial"), clean.rows("denial"));
}

#[test]
fn a_forced_format_most_lines_do_not_follow_fails_with_a_clear_message() {
    let env = Env::new();
    let lines: String = (0..20)
        .map(|i| format!("2024-03-05,{i:02}:00,alice,solver,OUT\n"))
        .collect();
    let path = env.write("usage.csv", &lines);
    let out = env.tally(&[
        "import",
        "--utc-offset",
        "0",
        "--format",
        "flexlm-debuglog",
        path.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("20 of its 20 lines are not flexlm-debuglog lines"),
        "{message}"
    );
}

#[test]
fn a_directory_imports_its_files_in_name_order_as_one_log_and_imports_lists_them() {
    let (log, totals) = flexlm_log::synth::generate(4_000, 7);
    let cut = log[..log.len() / 2].rfind('\n').expect("a newline") + 1;
    let env = Env::new();
    let dir = env.dir.path().join("logs");
    std::fs::create_dir(&dir).expect("dir");
    // Named so that only name order, not creation order, reads them right.
    std::fs::write(dir.join("lmgrd.log.2"), &log[cut..]).expect("second half");
    std::fs::write(dir.join("lmgrd.log.1"), &log[..cut]).expect("first half");
    std::fs::write(dir.join(".lmgrd.log.swp"), "not a log").expect("hidden");

    let out = env.tally(&[
        "import",
        "--utc-offset",
        "0",
        "--server",
        "X",
        dir.to_str().expect("utf-8"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("into license server `X` of sqlite://"),
        "{text}"
    );
    assert_eq!(
        env.rows("session") as u64,
        totals.checkouts,
        "sessions across the cut join"
    );

    let whole = Env::new();
    let path = whole.write("lmgrd.log", &log);
    whole.import(&["--server", "X", path.to_str().expect("utf-8")]);
    assert_eq!(env.sessions(), whole.sessions());

    let out = env.tally(&["imports", "--json"]);
    assert!(out.status.success());
    let runs: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let paths: Vec<&str> = runs
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["path"].as_str().expect("path"))
        .collect();
    assert_eq!(paths.len(), 2, "{runs:#}");
    assert!(
        paths[0].ends_with("lmgrd.log.2") && paths[1].ends_with("lmgrd.log.1"),
        "newest first: {paths:?}"
    );
    assert!(
        runs.as_array()
            .expect("runs")
            .iter()
            .all(|r| r["server"] == "X" && r["status"] == "complete")
    );

    let empty = env.dir.path().join("empty");
    std::fs::create_dir(&empty).expect("dir");
    let out = env.tally(&["import", empty.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no file to import"));
}
