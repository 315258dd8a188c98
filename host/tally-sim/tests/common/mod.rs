//! A scenario crossing midnight and a year end, with a down period over midnight on each server.
#![allow(dead_code)] // shared by several test binaries, each using a part

use tally_sim::{Scenario, Workload};

/// 2025-12-31T20:00:00Z.
pub const START: i64 = 1_767_211_200;

pub const SCENARIO: &str = r#"
seed = 11
[clock]
real_start = 1767211200
speed = 60.0
duration = 28800

[[server]]
name = "flex1"
manager = "flexlm"
host = "flex1.example"
vendor = "ansyslmd"
users = 40
mean_session = 1200
arrivals_per_hour = 30
down = [[13800, 15600]]
[[server.feature]]
name = "solver"
issued = 6
version = "2024.1"
[[server.feature]]
name = "mesher"
issued = 2

[[server]]
name = "rlm1"
manager = "rlm"
host = "rlm1.example"
vendor = "foundry"
users = 25
mean_session = 900
arrivals_per_hour = 25
down = [[13800, 15600]]
[[server.feature]]
name = "nuke_i"
issued = 3
version = "2024.0701"
[[server.feature]]
name = "nukex_i"
issued = 5

[[server]]
name = "lmx1"
manager = "lmx"
host = "lmx1.example"
port = 6300
vendor = "ALTAIR"
users = 120
mean_session = 1800
arrivals_per_hour = 20
down = [[13800, 15600]]
[[server.feature]]
name = "HyperWorks"
issued = 8
version = "2023.1"
[[server.feature]]
name = "HWFlux2D"
issued = 1
"#;

pub fn scenario() -> Scenario {
    Scenario::parse(SCENARIO).expect("test scenario")
}

pub fn workload<'a>(s: &'a Scenario, name: &str) -> Workload<'a> {
    Workload::simulate(s, s.server(name).expect("server"), None)
}

/// Poll times: every 7 minutes over the scenario and an hour beyond, plus the edges of the
/// down period.
pub fn poll_times() -> Vec<i64> {
    let mut t: Vec<i64> = (0..)
        .map(|k| START + 420 * k + 13)
        .take_while(|&t| t < START + 32_400)
        .collect();
    t.extend([
        START,
        START + 13_799,
        START + 13_800,
        START + 15_599,
        START + 15_600,
    ]);
    t
}

/// Floors a time to its minute (lmstat, rlmstat and LM-X show minutes).
pub fn minute(t: i64) -> i64 {
    t - t.rem_euclid(60)
}
