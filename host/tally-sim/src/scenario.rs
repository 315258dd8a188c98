//! The simulated world: a TOML scenario file, its validation, and a generator of large ones.

use std::collections::HashSet;
use std::fmt::Write as _;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::rng::Rng;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Seeds every server's workload (together with the server's name).
    #[serde(default)]
    pub seed: u64,
    pub clock: Clock,
    #[serde(rename = "server")]
    pub servers: Vec<Server>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clock {
    /// Unix seconds (wall clock) at which the simulation starts.
    pub real_start: i64,
    /// Simulated Unix time at `real_start`; defaults to `real_start`.
    pub sim_start: Option<i64>,
    /// Simulated seconds per real second.
    #[serde(default = "one")]
    pub speed: f64,
    /// Simulated seconds the workload covers (no arrivals after it).
    pub duration: i64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    Flexlm,
    Rlm,
    Lmx,
}

impl Manager {
    pub fn name(self) -> &'static str {
        match self {
            Self::Flexlm => "flexlm",
            Self::Rlm => "rlm",
            Self::Lmx => "lmx",
        }
    }

    /// The port each manager uses when the scenario does not say.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Flexlm => 27000,
            Self::Rlm => 5053,
            Self::Lmx => 6200,
        }
    }

    fn default_vendor(self) -> &'static str {
        match self {
            Self::Flexlm | Self::Rlm => "demo",
            Self::Lmx => "DEMO",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub name: String,
    pub manager: Manager,
    /// Defaults to `name`.
    pub host: Option<String>,
    /// Defaults to the manager's usual port (27000, 5053, 6200).
    pub port: Option<u16>,
    /// FlexNet vendor daemon, RLM ISV or LM-X vendor; defaults to `demo` (`DEMO` for LM-X).
    pub vendor: Option<String>,
    /// Users `user01…` on hosts `pc01…`.
    #[serde(default = "default_users")]
    pub users: u32,
    /// Mean session length, simulated seconds.
    #[serde(default = "default_mean_session")]
    pub mean_session: u32,
    #[serde(default = "default_arrivals")]
    pub arrivals_per_hour: f64,
    /// `[start, end)` in simulated seconds after `sim_start` when the server is down.
    #[serde(default)]
    pub down: Vec<[i64; 2]>,
    #[serde(rename = "feature")]
    pub features: Vec<Feature>,
}

fn default_users() -> u32 {
    20
}
fn default_mean_session() -> u32 {
    600
}
fn default_arrivals() -> f64 {
    60.0
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    pub name: String,
    pub issued: u32,
    /// Defaults to `1.0`.
    pub version: Option<String>,
}

impl Feature {
    pub fn version(&self) -> &str {
        self.version.as_deref().unwrap_or("1.0")
    }
}

impl Server {
    pub fn host(&self) -> &str {
        self.host.as_deref().unwrap_or(&self.name)
    }
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.manager.default_port())
    }
    pub fn vendor(&self) -> &str {
        self.vendor
            .as_deref()
            .unwrap_or_else(|| self.manager.default_vendor())
    }
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read scenario {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("scenario {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let s: Scenario = toml::from_str(text)?;
        s.validate()?;
        Ok(s)
    }

    pub fn sim_start(&self) -> i64 {
        self.clock.sim_start.unwrap_or(self.clock.real_start)
    }

    /// Simulated time at wall-clock `now` (Unix seconds, fractional).
    pub fn sim_time(&self, wall_now: f64) -> i64 {
        let t =
            self.sim_start() as f64 + (wall_now - self.clock.real_start as f64) * self.clock.speed;
        t.floor() as i64
    }

    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name == name)
    }

    /// The server a status tool of `manager` reaches at `host` and `port` (host case-insensitive,
    /// as DNS is).
    pub fn find(&self, manager: Manager, host: &str, port: u16) -> Option<&Server> {
        self.servers.iter().find(|s| {
            s.manager == manager && s.port() == port && s.host().eq_ignore_ascii_case(host)
        })
    }

    fn validate(&self) -> anyhow::Result<()> {
        let c = &self.clock;
        if !(c.speed.is_finite() && c.speed > 0.0) {
            bail!("clock.speed must be a positive number, not {}", c.speed);
        }
        if c.duration <= 0 {
            bail!("clock.duration must be positive, not {}", c.duration);
        }
        if self.servers.is_empty() {
            bail!("no [[server]]: a scenario needs at least one");
        }
        let mut names = HashSet::new();
        let mut addresses = HashSet::new();
        for s in &self.servers {
            let at = || format!("server `{}`", s.name);
            if s.name.is_empty() || s.name.contains(char::is_whitespace) {
                bail!("server name `{}` must be non-empty without spaces", s.name);
            }
            if !names.insert(&s.name) {
                bail!("{}: the name is used twice", at());
            }
            let host = s.host().to_ascii_lowercase();
            if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '@') {
                bail!("{}: host `{}` is not a host name", at(), s.host());
            }
            if !addresses.insert((host, s.port())) {
                bail!(
                    "{}: {}@{} is used by another server",
                    at(),
                    s.port(),
                    s.host()
                );
            }
            if s.vendor().is_empty() || s.vendor().contains(char::is_whitespace) {
                bail!("{}: vendor `{}` must be one word", at(), s.vendor());
            }
            if s.users == 0 || s.users > 9999 {
                bail!("{}: users must be 1..=9999, not {}", at(), s.users);
            }
            if s.mean_session < 60 {
                bail!(
                    "{}: mean_session must be at least 60 s, not {}",
                    at(),
                    s.mean_session
                );
            }
            if !(s.arrivals_per_hour.is_finite() && s.arrivals_per_hour >= 0.0) {
                bail!(
                    "{}: arrivals_per_hour must be >= 0, not {}",
                    at(),
                    s.arrivals_per_hour
                );
            }
            let mut last_end = None;
            for &[a, b] in &s.down {
                if a < 0 || b <= a {
                    bail!(
                        "{}: down period [{a}, {b}] must have 0 <= start < end",
                        at()
                    );
                }
                if last_end.is_some_and(|e| a <= e) {
                    bail!(
                        "{}: down period [{a}, {b}] must start after the previous one ends",
                        at()
                    );
                }
                last_end = Some(b);
            }
            if s.features.is_empty() {
                bail!("{}: no [[server.feature]]", at());
            }
            let mut features = HashSet::new();
            for f in &s.features {
                let word =
                    |w: &str| !w.is_empty() && !w.contains(|c: char| c.is_whitespace() || c == '"');
                if !word(&f.name) || !word(f.version()) {
                    bail!(
                        "{}: feature `{}` v`{}` must be words",
                        at(),
                        f.name,
                        f.version()
                    );
                }
                if !features.insert(&f.name) {
                    bail!("{}: feature `{}` is listed twice", at(), f.name);
                }
                if f.issued == 0 {
                    bail!("{}: feature `{}` needs issued >= 1", at(), f.name);
                }
            }
        }
        Ok(())
    }
}

/// Options of a generated scenario.
#[derive(Debug, Clone, Copy)]
pub struct GenOptions {
    pub servers: u32,
    pub seed: u64,
    pub speed: f64,
    pub duration: i64,
    pub real_start: i64,
}

const FLEXLM: &[(&str, &[&str])] = &[
    (
        "ansyslmd",
        &["acfd", "mech_1", "anshpc", "cfd_preppost", "struct"],
    ),
    (
        "MLM",
        &[
            "MATLAB",
            "SIMULINK",
            "Optimization_Toolbox",
            "Signal_Toolbox",
        ],
    ),
    (
        "adskflex",
        &["86604ACD_2017_0F", "64300ACD_F", "RVT", "MAYA"],
    ),
    ("LMCOMSOL", &["COMSOL", "ACDC", "CFD", "CADIMPORT"]),
];
const RLM: &[(&str, &[&str])] = &[
    ("foundry", &["nuke_i", "nukex_i", "nuke_r", "hieroplayer_i"]),
    (
        "csci",
        &["converge_super", "converge_gui", "converge_tecplot"],
    ),
    (
        "afrlm",
        &["af_autoform_seat_nu", "af_solver_addon", "af_trim_addon"],
    ),
];
const LMX: &[(&str, &[&str])] = &[
    (
        "ALTAIR",
        &["HyperWorks", "HWFlux2D", "GlobalZoneEU", "HWActivate"],
    ),
    ("SOFTING", &["edgeConnector", "dataFEED_OPC"]),
    ("ESI", &["FEMFAT_VISUALIZER", "FEMFAT_BASIC", "FEMFAT_MAX"]),
];

/// A scenario of `servers` servers: about half FlexNet, 30 % RLM, 20 % LM-X, two to four
/// features each, moderately busy (some features fill up and deny), a quarter with one down
/// period. Written as TOML text that [`Scenario::parse`] reads back.
pub fn generate(o: &GenOptions) -> String {
    let mut rng = Rng::new(o.seed, "scenario");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by `tally-sim scenario --servers {} --seed {}`.\nseed = {}\n\n[clock]\nreal_start = {}\nsim_start = {}\nspeed = {:?}\nduration = {}",
        o.servers, o.seed, o.seed, o.real_start, o.real_start, o.speed, o.duration
    );
    for i in 1..=o.servers {
        let roll = rng.below(10);
        let (manager, catalogue) = match roll {
            0..=4 => (Manager::Flexlm, FLEXLM),
            5..=7 => (Manager::Rlm, RLM),
            _ => (Manager::Lmx, LMX),
        };
        let (vendor, names) = catalogue[rng.below(catalogue.len() as u64) as usize];
        let prefix = match manager {
            Manager::Flexlm => "flex",
            Manager::Rlm => "rlm",
            Manager::Lmx => "lmx",
        };
        let name = format!("{prefix}{i:04}");
        let users = 10 + rng.below(190) as u32;
        let mean_session = [300, 600, 900, 1800, 3600][rng.below(5) as usize];
        let n_features = 2 + rng.below(3.min(names.len() as u64 - 1)) as usize;
        let start = rng.below(names.len() as u64) as usize;
        let features: Vec<(&str, u32)> = (0..n_features)
            .map(|k| (names[(start + k) % names.len()], 2 + rng.below(19) as u32))
            .collect();
        let issued: u32 = features.iter().map(|f| f.1).sum();
        // Offered load near capacity: busy enough to see denials on the small features.
        let load = 0.5 + rng.unit();
        let arrivals = (f64::from(issued) * 3600.0 / f64::from(mean_session) * load).round();
        let _ = write!(
            out,
            "\n[[server]]\nname = \"{name}\"\nmanager = \"{}\"\nhost = \"{name}.sim.example\"\nport = {}\nvendor = \"{vendor}\"\nusers = {users}\nmean_session = {mean_session}\narrivals_per_hour = {arrivals:?}\n",
            manager.name(),
            manager.default_port()
        );
        if rng.below(4) == 0 && o.duration > 600 {
            let len = (300 + rng.below(1500) as i64).min(o.duration / 4);
            let a = rng.below((o.duration - len) as u64) as i64;
            let _ = writeln!(out, "down = [[{a}, {}]]", a + len.max(1));
        }
        for (f, n) in features {
            let _ = writeln!(out, "[[server.feature]]\nname = \"{f}\"\nissued = {n}");
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        seed = 7
        [clock]
        real_start = 1764000000
        sim_start = 1764000000
        speed = 60.0
        duration = 3600
        [[server]]
        name = "flex1"
        manager = "flexlm"
        host = "flex1.example"
        port = 27000
        vendor = "ansyslmd"
        users = 20
        mean_session = 600
        arrivals_per_hour = 60
        down = [[1200, 1500]]
        [[server.feature]]
        name = "solver"
        issued = 5
    "#;

    fn err(text: &str) -> String {
        format!("{:#}", Scenario::parse(text).unwrap_err())
    }

    #[test]
    fn the_documented_example_parses() {
        let s = Scenario::parse(GOOD).unwrap();
        assert_eq!(s.seed, 7);
        assert_eq!(s.servers[0].host(), "flex1.example");
        assert_eq!(s.servers[0].down, [[1200, 1500]]);
        assert_eq!(s.servers[0].features[0].version(), "1.0");
        assert_eq!(s.sim_time(1_764_000_010.5), 1_764_000_630);
        assert!(s.find(Manager::Flexlm, "FLEX1.example", 27000).is_some());
        assert!(s.find(Manager::Rlm, "flex1.example", 27000).is_none());
    }

    #[test]
    fn defaults() {
        let s = Scenario::parse(
            "[clock]\nreal_start = 5\nduration = 60\n[[server]]\nname = \"r\"\nmanager = \"rlm\"\n[[server.feature]]\nname = \"f\"\nissued = 1\n",
        )
        .unwrap();
        let r = &s.servers[0];
        assert_eq!((r.host(), r.port(), r.vendor()), ("r", 5053, "demo"));
        assert_eq!(
            (r.users, r.mean_session, s.sim_start(), s.clock.speed),
            (20, 600, 5, 1.0)
        );
    }

    #[test]
    fn validation_errors_name_the_problem() {
        assert!(
            err(&GOOD.replace("users = 20", "users = 20\ncolour = 1"))
                .contains("unknown field `colour`")
        );
        assert!(
            err(&GOOD.replace("\"flexlm\"", "\"sentinel\"")).contains("unknown variant `sentinel`")
        );
        assert!(err(&GOOD.replace("speed = 60.0", "speed = 0.0")).contains("clock.speed"));
        assert!(err(&GOOD.replace("duration = 3600", "duration = 0")).contains("clock.duration"));
        assert!(err(&GOOD.replace("[[1200, 1500]]", "[[1500, 1200]]")).contains("start < end"));
        assert!(
            err(&GOOD.replace("[[1200, 1500]]", "[[0, 100], [100, 200]]"))
                .contains("after the previous")
        );
        assert!(err(&GOOD.replace("issued = 5", "issued = 0")).contains("issued >= 1"));
        assert!(
            err(&GOOD.replace("mean_session = 600", "mean_session = 10")).contains("at least 60")
        );
        assert!(
            err(&format!(
                "{GOOD}\n[[server.feature]]\nname = \"solver\"\nissued = 1\n"
            ))
            .contains("listed twice")
        );
        let twice = format!(
            "{GOOD}\n[[server]]\nname = \"flex2\"\nmanager = \"flexlm\"\nhost = \"FLEX1.example\"\n[[server.feature]]\nname = \"a\"\nissued = 1\n"
        );
        assert!(err(&twice).contains("27000@FLEX1.example is used by another server"));
        assert!(err("seed = 1").contains("missing field `clock`"));
    }

    #[test]
    fn generated_scenarios_parse_and_are_deterministic() {
        let o = GenOptions {
            servers: 200,
            seed: 3,
            speed: 60.0,
            duration: 86_400,
            real_start: 1_764_000_000,
        };
        let text = generate(&o);
        assert_eq!(text, generate(&o));
        let s = Scenario::parse(&text).unwrap();
        assert_eq!(s.servers.len(), 200);
        for m in [Manager::Flexlm, Manager::Rlm, Manager::Lmx] {
            assert!(
                s.servers.iter().filter(|x| x.manager == m).count() > 20,
                "{m:?}"
            );
        }
        let down = s.servers.iter().filter(|x| !x.down.is_empty()).count();
        assert!((20..100).contains(&down), "{down}");
        assert_ne!(text, generate(&GenOptions { seed: 4, ..o }));
    }
}
