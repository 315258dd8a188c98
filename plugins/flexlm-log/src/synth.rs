//! A synthetic FlexNet debug log, for benchmarks and end-to-end tests: deterministic for a seed,
//! realistic in shape (one lmgrd start, a vendor daemon, OUT/IN pairs of a changing population,
//! denials when a feature is full, TIMESTAMP lines every six hours, midnight crossed on ordinary
//! lines, names with spaces and non-ASCII letters).

use std::fmt::Write as _;

use tally_plugin_sdk::civil::civil_from_days;

/// What a generated log holds, to check an import against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynthTotals {
    pub lines: u64,
    pub checkouts: u64,
    pub denials: u64,
}

const USERS: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "John Doe",
    "José Galera",
    "58000",
    "pongsiri.c",
    "mallory",
];
const HOSTS: &[&str] = &[
    "ws01",
    "ws02",
    "ws03",
    "cad-lab-7",
    "render.farm.local",
    "HOSTNAME",
];
const FEATURES: &[(&str, u32)] = &[
    ("MATLAB", 20),
    ("Simulink", 8),
    ("solver_hpc", 4),
    ("64300ACD_F", 12),
    ("Optimization_Toolbox", 3),
];

/// Writes about `lines` lines of log starting on 2024-03-01 (the day count is derived).
pub fn generate(lines: u64, seed: u64) -> (String, SynthTotals) {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let start_day = tally_plugin_sdk::civil::days_from_civil(2024, 3, 1);
    let mut out = String::with_capacity(lines as usize * 64);
    let mut totals = SynthTotals::default();
    let mut open: Vec<(usize, usize, usize)> = Vec::new(); // (feature, user, host)
    let mut in_use = vec![0u32; FEATURES.len()];
    let mut t: i64 = 8 * 3600; // seconds since start_day 00:00
    let mut next_stamp: i64 = 0;

    let push_line =
        |out: &mut String, totals: &mut SynthTotals, t: i64, daemon: &str, msg: &str| {
            let secs = t.rem_euclid(86_400);
            let _ = writeln!(
                out,
                "{:2}:{:02}:{:02} ({daemon}) {msg}",
                secs / 3600,
                secs / 60 % 60,
                secs % 60
            );
            totals.lines += 1;
        };
    let (y, m, d) = civil_from_days(start_day);
    push_line(
        &mut out,
        &mut totals,
        t,
        "lmgrd",
        &format!(
            "FlexNet Licensing (v11.19.0.0 build 1 x64_lsb) started on lic-synth (linux) ({m}/{d}/{y})"
        ),
    );
    push_line(
        &mut out,
        &mut totals,
        t,
        "acme",
        "FlexNet Licensing version v11.19.0.0 build 1 x64_lsb",
    );

    while totals.lines < lines {
        t += 1 + next(40) as i64;
        if t >= next_stamp {
            let (y, m, d) = civil_from_days(start_day + t.div_euclid(86_400));
            push_line(
                &mut out,
                &mut totals,
                t,
                "lmgrd",
                &format!("TIMESTAMP {m}/{d}/{y}"),
            );
            next_stamp = t + 6 * 3600;
        }
        let checkin = !open.is_empty() && (next(2) == 0 || open.len() > 60);
        if checkin {
            let (f, u, h) = open.swap_remove(next(open.len() as u64) as usize);
            in_use[f] -= 1;
            let inactive = if next(20) == 0 { " (INACTIVE)" } else { "" };
            push_line(
                &mut out,
                &mut totals,
                t,
                "acme",
                &format!(
                    "IN: \"{}\" {}@{}  {inactive}",
                    FEATURES[f].0, USERS[u], HOSTS[h]
                ),
            );
        } else {
            let f = next(FEATURES.len() as u64) as usize;
            let u = next(USERS.len() as u64) as usize;
            let h = next(HOSTS.len() as u64) as usize;
            if in_use[f] >= FEATURES[f].1 {
                push_line(
                    &mut out,
                    &mut totals,
                    t,
                    "acme",
                    &format!(
                        "DENIED: \"{}\" {}@{}  (Licensed number of users already reached. (-4,342))",
                        FEATURES[f].0, USERS[u], HOSTS[h]
                    ),
                );
                totals.denials += 1;
            } else {
                in_use[f] += 1;
                open.push((f, u, h));
                push_line(
                    &mut out,
                    &mut totals,
                    t,
                    "acme",
                    &format!("OUT: \"{}\" {}@{}  ", FEATURES[f].0, USERS[u], HOSTS[h]),
                );
                totals.checkouts += 1;
            }
        }
    }
    (out, totals)
}

#[cfg(test)]
mod tests {
    use tally_plugin_sdk::{Batch, ImportConfig, Importer};

    use crate::FlexlmLog;

    #[test]
    fn a_generated_log_parses_without_diagnostics() {
        let (log, totals) = super::generate(20_000, 7);
        assert_eq!(totals.lines, 20_000);
        let mut parser = FlexlmLog::default();
        parser.begin(&ImportConfig::default()).expect("begin");
        let mut batch = Batch::default();
        parser.feed(log.as_bytes(), &mut batch).expect("feed");
        parser.finish(&mut batch).expect("finish");
        assert_eq!(batch.lines, totals.lines);
        assert_eq!(batch.sessions.len() as u64, totals.checkouts);
        assert_eq!(batch.denials.len() as u64, totals.denials);
        assert!(
            batch.diagnostics.is_empty(),
            "{:?}",
            &batch.diagnostics[..batch.diagnostics.len().min(3)]
        );
        // Several days: midnight was crossed on ordinary lines.
        let span = batch.sessions.iter().map(|s| s.end).max().unwrap_or(0)
            - batch.sessions.iter().map(|s| s.start).min().unwrap_or(0);
        assert!(span > 3 * 86_400, "{span}");
    }
}
