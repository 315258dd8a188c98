//! `tally gen`: a synthetic multi-year usage history written straight into a store, through the
//! same write path as imports ([`Store::commit_batch`]: facts, hourly rollups and checkpoint in
//! one transaction per batch; multi-row inserts, or COPY on PostgreSQL).
//!
//! The model is seeded (tally-sim's [`Rng`]), so a seed always writes the same history:
//!
//! * users work at one of three sites (UTC+1, UTC-5, UTC+8), on weekdays within their own
//!   working hours, rarely at weekends, less around new year, and are sometimes away;
//! * each user has a few favourite features (drawn by popularity, Zipf-like per server), a
//!   daily habit (checkouts per working day) and a typical session length; sessions last
//!   minutes to hours, some run overnight, a few for days;
//! * every feature has a licence count: tight on some (the full feature denies, `-4,342`),
//!   generous on others, and every fourth server has far more licences than anyone uses, plus
//!   features nobody uses at all, so the unused and under-used reports find something;
//! * a user already holding a feature shares it (a second window of the application).
//!
//! tally-sim's own workload (a flat arrival rate, every feature and user alike, the whole
//! history in memory) is made for minutes of polling, not years of reports: the model here
//! streams day by day and keeps only the checkouts still out.

use std::collections::VecDeque;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, Datelike};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use tally_core::capacity::{Capacity, CapacitySource};
use tally_core::period::{DAY, HOUR};
use tally_core::status::ImportStatus;
use tally_core::{Batch, Denial, DenialKind, EndReason, ErrorCode, Session, Sym};
use tally_sim::rng::Rng;
use tally_sim::workload::MIN_SESSION;
use tally_store::{
    Checkpoint, FactCounts, FileIdentity, NewImport, RunId, RunStatus, ServerId, Store,
};

use crate::cli::Global;

/// The history ends here: 2026-01-01T00:00Z (fixed, so a seed always gives the same rows).
pub const END: i64 = 1_767_225_600;

/// Facts per committed batch.
const BATCH_ROWS: usize = 20_000;

/// Batches queued to the writer at once: generation overlaps the commits without piling up.
const IN_FLIGHT: usize = 3;

/// Sites: (name, UTC offset in hours, share of the users in percent).
const SITES: [(&str, i64, u64); 3] = [("emea", 1, 50), ("amer", -5, 35), ("apac", 8, 15)];

/// Shared compute nodes some sessions run on.
const NODES: u32 = 64;

/// What to generate: what `tally gen`'s flags say, or what `tally demo` asks for.
#[derive(Debug, Clone)]
pub struct Plan {
    pub servers: u32,
    pub features: u32,
    pub users: u32,
    pub days: i64,
    pub seed: u64,
    /// The history ends here (Unix seconds).
    pub end: i64,
    /// Shared compute nodes (hosts besides the users' own).
    pub nodes: u32,
    /// Servers are named `{prefix}01`, `{prefix}02`, …
    pub prefix: String,
    /// Nothing after `end`: later attempts are dropped and sessions still out then end there
    /// (a history that ends now has no future in it).
    pub clip: bool,
}

impl From<&GenArgs> for Plan {
    fn from(args: &GenArgs) -> Plan {
        Plan {
            servers: args.servers,
            features: args.features,
            users: args.users,
            days: i64::from(args.years) * 365,
            seed: args.seed,
            end: END,
            nodes: NODES,
            prefix: "gen-".into(),
            clip: false,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "\
Size: about 1,000 sessions per user and year, whatever the number of servers and features
(6 attempts per working day, a quarter of them while the user already holds the feature);
denials add a few percent, hourly rollups about 4 rows per session. So --users 3400 --years 3
writes about 10 M sessions, --users 250 --years 1 about 250 k. The estimate for the flags given is printed before starting.

The history ends on 2026-01-01 UTC. The database must hold no sessions yet (a second run would
add a second history on top): choose a new --db.")]
pub struct GenArgs {
    /// License servers (`gen-01`, …): every fourth one has far more licences than used.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub servers: u32,
    /// Features per server, by falling popularity (some are never used).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub features: u32,
    /// Users, shared by all servers; what the size grows with.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub users: u32,
    /// Years of history, ending on 2026-01-01.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub years: u32,
    /// Random seed: the same flags and seed write the same history.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What `tally gen` wrote (its `--json` output).
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub servers: u32,
    pub features: u32,
    pub users: u32,
    pub days: i64,
    pub from: i64,
    pub to: i64,
    pub sessions: u64,
    pub denials: u64,
    /// Sessions and denials per second, over the whole run.
    pub rows_per_second: f64,
    pub seconds: f64,
}

pub async fn run(global: &Global, args: GenArgs) -> anyhow::Result<()> {
    let store = global.store().await?;
    let plan = Plan::from(&args);
    let result = generate(&store, &plan, true).await;
    store.close().await;
    let summary = result
        .with_context(|| format!("writing into {}", tally_store::redact(&global.db_url())))?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "generated {} sessions and {} denials on {} servers ({} days to {}) in {:.1} s: {:.0} rows/s",
            summary.sessions,
            summary.denials,
            summary.servers,
            summary.days,
            tally_core::time::rfc3339(summary.to),
            summary.seconds,
            summary.rows_per_second
        );
    }
    Ok(())
}

/// Writes the history `plan` describes into `store`, which must hold no sessions or denials
/// yet; with `show`, the estimate and a progress bar go to stderr.
pub async fn generate(store: &Store, plan: &Plan, show: bool) -> anyhow::Result<Summary> {
    let world = World::new(plan);
    let totals = store.row_counts().await?;
    if totals.sessions + totals.denials > 0 {
        bail!(
            "the database already holds {} sessions and {} denials; `tally gen` writes a whole \
             history into an empty database: give a new --db",
            totals.sessions,
            totals.denials
        );
    }
    let days = plan.days;
    let from = plan.end - days * DAY;
    if show {
        eprintln!(
            "writing {} days of history for {} users on {} servers x {} features: about {} sessions",
            days,
            plan.users,
            plan.servers,
            plan.features,
            world.expected_sessions(days)
        );
    }

    let started = Instant::now();
    let mut writer = GenWriter::start(store, &world, plan).await?;
    let bar = match show {
        true => progress(days as u64),
        false => ProgressBar::hidden(),
    };
    let mut day_model = Days::new(&world, plan.seed, from);
    for day in 0..days {
        for (server, out) in day_model.day(&world, day) {
            writer.add(server, out).await?;
        }
        bar.inc(1);
        if day % 7 == 0 {
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{} sessions, {} denials, {:.0} rows/s",
                writer.queued.sessions,
                writer.queued.denials,
                (writer.queued.sessions + writer.queued.denials) as f64 / secs
            ));
        }
    }
    for (server, out) in day_model.drain(&world) {
        writer.add(server, out).await?;
    }
    let written = writer.finish().await?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    Ok(Summary {
        servers: plan.servers,
        features: plan.features,
        users: plan.users,
        days,
        from,
        to: plan.end,
        sessions: written.sessions,
        denials: written.denials,
        rows_per_second: (written.sessions + written.denials) as f64 / seconds.max(1e-9),
        seconds,
    })
}

fn progress(days: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(days), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("gen [{bar:30}] {pos}/{len} days, {msg}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Servers, features and users, drawn once from the seed.
#[derive(Debug)]
struct World {
    servers: Vec<GenServer>,
    /// All servers' features, server by server.
    features: Vec<GenFeature>,
    users: Vec<User>,
    /// Shared compute nodes.
    nodes: u32,
}

#[derive(Debug)]
struct GenServer {
    name: String,
    manager: &'static str,
    vendor: String,
    /// Index of its first feature in `World::features`.
    first_feature: usize,
}

#[derive(Debug)]
struct GenFeature {
    server: usize,
    name: String,
    /// Popularity: how likely a user is to pick it as a favourite (0: nobody uses it).
    weight: f64,
    /// Licences per checkout.
    count: u32,
    issued: u32,
}

#[derive(Debug)]
struct User {
    name: String,
    host: String,
    /// Site offset from UTC, seconds.
    offset: i64,
    /// Local start of the working day and its length, seconds.
    day_start: i64,
    day_len: i64,
    /// Checkout attempts per working day (mean).
    rate: f64,
    /// Chance of working on a weekend day.
    weekend: f64,
    /// Median session length, seconds.
    median_len: f64,
    /// Favourite features (global indices) with cumulative pick weights.
    favourites: Vec<(usize, f64)>,
}

const FEATURE_NAMES: [&str; 24] = [
    "solver",
    "mesher",
    "cfd_pro",
    "struct_basic",
    "thermal",
    "optics",
    "spice_sim",
    "layout",
    "drc_check",
    "synth",
    "timing",
    "matlab",
    "simulink",
    "ctrl_toolbox",
    "sig_proc",
    "nastran",
    "abaqus_std",
    "explicit",
    "cad_modeler",
    "drafting",
    "render",
    "pcb_route",
    "fpga_build",
    "python_pro",
];

const VENDORS: [&str; 6] = [
    "acmecad", "simworks", "eda_corp", "mathco", "structix", "optilab",
];

const SURNAMES: [&str; 20] = [
    "smith", "garcia", "muller", "rossi", "tanaka", "kim", "nguyen", "silva", "dubois", "novak",
    "jensen", "kowalski", "murphy", "ivanova", "chen", "patel", "okafor", "larsen", "costa",
    "schmidt",
];

impl World {
    fn new(args: &Plan) -> World {
        let mut rng = Rng::new(args.seed, "tally-gen world");
        let mut servers = Vec::new();
        let mut features = Vec::new();
        for s in 0..args.servers as usize {
            let over_licensed = s % 4 == 3;
            let server_weight = 0.5 + rng.unit();
            servers.push(GenServer {
                name: format!("{}{:02}", args.prefix, s + 1),
                manager: ["flexlm", "rlm", "lmx"][s % 3],
                vendor: VENDORS[s % VENDORS.len()].to_string(),
                first_feature: features.len(),
            });
            for j in 0..args.features as usize {
                let k = s * args.features as usize + j;
                let name = match k / FEATURE_NAMES.len() {
                    0 => FEATURE_NAMES[k].to_string(),
                    n => format!("{}_{n}", FEATURE_NAMES[k % FEATURE_NAMES.len()]),
                };
                // Zipf-like by rank within the server; some licences are shelfware.
                let shelfware = rng.unit() < 0.08;
                let weight = if shelfware {
                    0.0
                } else {
                    server_weight / (j as f64 + 1.0).powf(1.1)
                };
                let count = if rng.unit() < 0.1 {
                    2 + rng.below(3) as u32
                } else {
                    1
                };
                // Headroom over the demand at the busiest hour, set once demand is known.
                let headroom = if over_licensed {
                    2.5 + 1.5 * rng.unit()
                } else if rng.unit() < 0.3 {
                    0.2 + 0.3 * rng.unit()
                } else {
                    1.1 + 0.3 * rng.unit()
                };
                features.push((
                    GenFeature {
                        server: s,
                        name,
                        weight,
                        count,
                        issued: 0,
                    },
                    headroom,
                ));
            }
        }
        let total_weight: f64 = features.iter().map(|(f, _)| f.weight).sum();
        let pick = |rng: &mut Rng| -> usize {
            let mut x = rng.unit() * total_weight;
            for (i, (f, _)) in features.iter().enumerate() {
                x -= f.weight;
                if x < 0.0 && f.weight > 0.0 {
                    return i;
                }
            }
            features
                .iter()
                .rposition(|(f, _)| f.weight > 0.0)
                .unwrap_or(0)
        };
        let mut users = Vec::with_capacity(args.users as usize);
        for u in 0..args.users as usize {
            let site = match rng.below(100) {
                x if x < SITES[0].2 => 0,
                x if x < SITES[0].2 + SITES[1].2 => 1,
                _ => 2,
            };
            let n = SURNAMES.len() * 26;
            let initial = char::from(b'a' + (u % 26) as u8);
            let surname = SURNAMES[(u / 26) % SURNAMES.len()];
            let name = match u / n {
                0 => format!("{initial}{surname}"),
                k => format!("{initial}{surname}{k}"),
            };
            let mut favourites = Vec::new();
            let wanted = 2 + rng.below(4) as usize;
            let mut cumulative = 0.0;
            for _ in 0..wanted * 4 {
                if favourites.len() == wanted || total_weight <= 0.0 {
                    break;
                }
                let f = pick(&mut rng);
                if favourites.iter().any(|&(g, _)| g == f) {
                    continue;
                }
                // The first favourite is the main tool.
                cumulative += 1.0 / (favourites.len() as f64 + 1.0);
                favourites.push((f, cumulative));
            }
            users.push(User {
                host: format!("pc-{name}"),
                name,
                offset: SITES[site].1 * HOUR,
                day_start: 7 * HOUR + rng.below(3 * 4) as i64 * 900,
                day_len: 7 * HOUR + rng.below(3 * 4) as i64 * 900,
                rate: 2.0 + 8.0 * rng.unit(),
                weekend: if rng.unit() < 0.2 { 0.15 } else { 0.01 },
                median_len: (15.0 + 75.0 * rng.unit()) * 60.0,
                favourites,
            });
        }
        // Licence counts from the demand each feature sees: its users' busy-hour concurrency.
        let mut demand = vec![0.0f64; features.len()];
        for u in &users {
            let total = u.favourites.last().map_or(1.0, |f| f.1);
            let mut previous = 0.0;
            for &(f, c) in &u.favourites {
                let share = (c - previous) / total;
                previous = c;
                // Lognormal(sigma 1) mean is 1.65 x the median.
                let busy = u.rate * share * 1.65 * u.median_len / u.day_len as f64;
                demand[f] += busy * f64::from(features[f].0.count);
            }
        }
        let features = features
            .into_iter()
            .zip(demand)
            .map(|((mut f, headroom), d)| {
                f.issued = if d > 0.0 {
                    // Busy hours run above the day's average.
                    ((1.5 * d + 2.0 * d.sqrt()) * headroom)
                        .ceil()
                        .max(f64::from(f.count)) as u32
                } else {
                    1 + rng.below(10) as u32
                };
                f
            })
            .collect();
        World {
            servers,
            features,
            users,
            nodes: args.nodes,
        }
    }

    /// Sessions the run will write, about (before denials and sharing).
    fn expected_sessions(&self, days: i64) -> u64 {
        let per_day: f64 = self
            .users
            .iter()
            .filter(|u| !u.favourites.is_empty())
            .map(|u| u.rate * (5.0 * 0.93 + 2.0 * u.weekend * 0.4) / 7.0)
            .sum();
        // About a quarter of the attempts come while the user holds the feature: shared.
        (0.72 * per_day * days as f64) as u64
    }
}

/// A checkout attempt.
#[derive(Debug, Clone, Copy)]
struct Request {
    start: i64,
    user: u32,
    seq: u32,
    feature: usize,
    /// Host: `None` the user's own, else a compute node.
    node: Option<u32>,
    len: i64,
}

/// What the model decided for one attempt.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    Session {
        feature: usize,
        user: u32,
        node: Option<u32>,
        count: u32,
        start: i64,
        end: i64,
    },
    Denial {
        feature: usize,
        user: u32,
        node: Option<u32>,
        count: u32,
        time: i64,
    },
}

/// The day-by-day model: users' attempts, then licence capacity in time order.
struct Days {
    from: i64,
    rngs: Vec<Rng>,
    pending: Vec<Request>,
    /// Per feature: (end, user, count) of the checkouts still out.
    holding: Vec<Vec<(i64, u32, u32)>>,
}

impl Days {
    fn new(world: &World, seed: u64, from: i64) -> Days {
        Days {
            from,
            rngs: world
                .users
                .iter()
                .map(|u| Rng::new(seed, &format!("tally-gen user {}", u.name)))
                .collect(),
            pending: Vec::new(),
            holding: vec![Vec::new(); world.features.len()],
        }
    }

    /// The attempts of (local) day `day` of every user; returns the outcomes decided so far,
    /// per server, in time order. Attempts of a day can start up to 12 hours before its UTC
    /// midnight (a site east of UTC), so only those before that bound of the next day are
    /// decided now: capacity is checked strictly in time order.
    fn day(&mut self, world: &World, day: i64) -> Vec<(usize, Vec<Outcome>)> {
        let midnight = self.from + day * DAY;
        let civil = DateTime::from_timestamp(midnight, 0).unwrap_or_default();
        let weekday = civil.weekday().num_days_from_monday();
        let new_year = civil.ordinal() >= 358 || civil.ordinal() <= 2;
        for (u, user) in world.users.iter().enumerate() {
            let rng = &mut self.rngs[u];
            // Always the same draws per user and day: one user's habits never shift another's.
            let (away, weekend_work, n_draw) = (rng.unit(), rng.unit(), rng.unit());
            let working = if weekday >= 5 {
                weekend_work < user.weekend
            } else {
                away >= if new_year { 0.8 } else { 0.05 }
            };
            if !working || user.favourites.is_empty() {
                continue;
            }
            let rate = if weekday >= 5 {
                user.rate * 0.4
            } else {
                user.rate
            };
            let attempts = poisson(rate, n_draw, rng);
            let total = user.favourites.last().map_or(1.0, |f| f.1);
            let day_start = midnight - user.offset + user.day_start;
            for seq in 0..attempts {
                let x = rng.unit() * total;
                let feature = user
                    .favourites
                    .iter()
                    .find(|f| x < f.1)
                    .map_or(user.favourites[0].0, |f| f.0);
                let mut at = rng.unit();
                // Fewer start over lunch (the middle of the working day).
                if (0.45..0.55).contains(&at) && rng.unit() < 0.6 {
                    at = rng.unit();
                }
                let start = day_start + (at * user.day_len as f64) as i64;
                let kind = rng.unit();
                let len = if kind < 0.003 {
                    DAY + (rng.unit() * 5.0 * DAY as f64) as i64
                } else if kind < 0.033 {
                    8 * HOUR + (rng.unit() * 12.0 * HOUR as f64) as i64
                } else {
                    (user.median_len * normal(rng).exp()) as i64
                };
                let node = (world.nodes > 0 && rng.unit() < 0.1)
                    .then(|| rng.below(u64::from(world.nodes)) as u32);
                self.pending.push(Request {
                    start,
                    user: u as u32,
                    seq,
                    feature,
                    node,
                    len: len.max(MIN_SESSION),
                });
            }
        }
        self.decide(world, Some(midnight + DAY - 12 * HOUR))
    }

    /// Decides every attempt still pending.
    fn drain(&mut self, world: &World) -> Vec<(usize, Vec<Outcome>)> {
        self.decide(world, None)
    }

    fn decide(&mut self, world: &World, before: Option<i64>) -> Vec<(usize, Vec<Outcome>)> {
        self.pending
            .sort_unstable_by_key(|r| (r.start, r.user, r.seq));
        let now = match before {
            Some(b) => self.pending.partition_point(|r| r.start < b),
            None => self.pending.len(),
        };
        let mut out: Vec<Vec<Outcome>> = vec![Vec::new(); world.servers.len()];
        for r in self.pending.drain(..now) {
            let f = &world.features[r.feature];
            let holding = &mut self.holding[r.feature];
            holding.retain(|&(end, _, _)| end > r.start);
            if holding.iter().any(|&(_, u, _)| u == r.user) {
                continue;
            }
            let used: u32 = holding.iter().map(|h| h.2).sum();
            let outcome = if used + f.count > f.issued {
                Outcome::Denial {
                    feature: r.feature,
                    user: r.user,
                    node: r.node,
                    count: f.count,
                    time: r.start,
                }
            } else {
                holding.push((r.start + r.len, r.user, f.count));
                Outcome::Session {
                    feature: r.feature,
                    user: r.user,
                    node: r.node,
                    count: f.count,
                    start: r.start,
                    end: r.start + r.len,
                }
            };
            out[f.server].push(outcome);
        }
        out.into_iter()
            .enumerate()
            .filter(|(_, o)| !o.is_empty())
            .collect()
    }
}

/// Poisson-distributed with mean `mean` (small), from a first uniform draw `first`.
fn poisson(mean: f64, first: f64, rng: &mut Rng) -> u32 {
    let limit = (-mean).exp();
    let mut product = first;
    let mut n = 0;
    while product > limit && n < 1000 {
        n += 1;
        product *= rng.unit();
    }
    n
}

/// Standard normal (Box-Muller).
fn normal(rng: &mut Rng) -> f64 {
    let (a, b) = (1.0 - rng.unit(), rng.unit());
    (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
}

/// Turns outcomes into batches per server and hands them to the store, a few in flight.
struct GenWriter<'a> {
    store: &'a Store,
    /// Per server: id, import run, the batch being filled.
    servers: Vec<(ServerId, RunId, Batch)>,
    strings: Vec<Vec<String>>,
    in_flight:
        VecDeque<tokio::sync::oneshot::Receiver<Result<FactCounts, tally_store::StoreError>>>,
    queued: FactCounts,
    written: FactCounts,
    users: u32,
    features: u32,
    /// Outcomes are cut here (see [`Plan::clip`]).
    clip_at: Option<i64>,
}

impl<'a> GenWriter<'a> {
    async fn start(store: &'a Store, world: &World, args: &Plan) -> anyhow::Result<Self> {
        let mut servers = Vec::new();
        let mut strings = Vec::new();
        let params = format!(
            "gen:servers={},features={},users={},days={},seed={},end={}",
            args.servers, args.features, args.users, args.days, args.seed, args.end
        );
        for s in &world.servers {
            let id = store.ensure_server(&s.name, s.manager).await?;
            let run = store
                .start_import(NewImport {
                    server_id: id,
                    format: "tally-gen".into(),
                    plugin: "tally-gen".into(),
                    plugin_version: env!("CARGO_PKG_VERSION").into(),
                    path: params.clone(),
                    identity: FileIdentity {
                        head_len: 0,
                        head_hash: params.clone(),
                    },
                })
                .await?;
            // One string table per server: vendor, its features, users, their hosts, nodes.
            let features = &world.features[s.first_feature..][..args.features as usize];
            let table: Vec<String> = std::iter::once(s.vendor.clone())
                .chain(features.iter().map(|f| f.name.clone()))
                .chain(world.users.iter().map(|u| u.name.clone()))
                .chain(world.users.iter().map(|u| u.host.clone()))
                .chain((1..=world.nodes).map(|n| format!("node{n:03}")))
                .collect();
            // What each feature has to give, stated as the server's own record (as an RLM
            // report log's `PRODUCT` lines do): what utilisation is measured against.
            let capacities = (1..=features.len() as u32)
                .zip(features)
                .map(|(name, f)| Capacity {
                    vendor: 0,
                    feature: name,
                    version: None,
                    pool: None,
                    issued: Some(f.issued),
                    from: None,
                    expiry: None,
                    source: CapacitySource::Server,
                })
                .collect();
            let first = Batch {
                capacities,
                ..Batch::default()
            };
            servers.push((id, run, first));
            strings.push(table);
        }
        Ok(GenWriter {
            store,
            servers,
            strings,
            in_flight: VecDeque::new(),
            queued: FactCounts::default(),
            written: FactCounts::default(),
            users: args.users,
            features: args.features,
            clip_at: args.clip.then_some(args.end),
        })
    }

    async fn add(&mut self, server: usize, outcomes: Vec<Outcome>) -> anyhow::Result<()> {
        let (first, users, features) = (0, self.users, self.features);
        let feature = |global: usize| (1 + global % features as usize) as Sym;
        let user = |u: u32| 1 + features + u;
        let host = |u: u32, node: Option<u32>| match node {
            None => 1 + features + users + u,
            Some(n) => 1 + features + 2 * users + n,
        };
        let batch = &mut self.servers[server].2;
        let clip_at = self.clip_at.unwrap_or(i64::MAX);
        for o in outcomes {
            match o {
                Outcome::Session { start, .. } if start >= clip_at => {}
                Outcome::Denial { time, .. } if time >= clip_at => {}
                Outcome::Session {
                    feature: f,
                    user: u,
                    node,
                    count,
                    start,
                    end,
                } => batch.sessions.push(Session {
                    vendor: first,
                    feature: feature(f),
                    user: user(u),
                    host: host(u, node),
                    count,
                    start,
                    end: end.min(clip_at),
                    end_reason: EndReason::Checkin,
                    project: None,
                }),
                Outcome::Denial {
                    feature: f,
                    user: u,
                    node,
                    count,
                    time,
                } => batch.denials.push(Denial {
                    vendor: first,
                    feature: feature(f),
                    user: user(u),
                    host: host(u, node),
                    count,
                    time,
                    kind: DenialKind::Denied,
                    // FlexNet's "licensed number of users already reached".
                    code: Some(ErrorCode {
                        major: -4,
                        minor: Some(342),
                        errno: None,
                    }),
                    reason: None,
                    requested_version: None,
                    until: None,
                }),
            }
        }
        if batch.sessions.len() + batch.denials.len() >= BATCH_ROWS {
            self.flush(server).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, server: usize) -> anyhow::Result<()> {
        let (id, run, batch) = &mut self.servers[server];
        if batch.records() == 0 {
            return Ok(());
        }
        let (id, run, mut batch) = (*id, *run, std::mem::take(batch));
        batch.strings = self.strings[server].clone();
        self.queued.sessions += batch.sessions.len() as u64;
        self.queued.denials += batch.denials.len() as u64;
        batch.lines = self.queued.sessions + self.queued.denials;
        let checkpoint = Checkpoint {
            offset: batch.lines,
            lines: batch.lines,
            ..Checkpoint::default()
        };
        while self.in_flight.len() >= IN_FLIGHT {
            self.settle_one().await?;
        }
        let pending = self.store.commit_batch(run, id, batch, checkpoint).await?;
        self.in_flight.push_back(pending);
        Ok(())
    }

    async fn settle_one(&mut self) -> anyhow::Result<()> {
        if let Some(p) = self.in_flight.pop_front() {
            let counts = p
                .await
                .context("the store's writer stopped")?
                .context("writing a generated batch")?;
            self.written += counts;
        }
        Ok(())
    }

    /// Writes what is left and closes the runs, as an import of a whole log ends.
    async fn finish(mut self) -> anyhow::Result<FactCounts> {
        for s in 0..self.servers.len() {
            self.flush(s).await?;
        }
        while !self.in_flight.is_empty() {
            self.settle_one().await?;
        }
        for &(id, run, _) in &self.servers {
            self.store
                .finish_import(run, RunStatus::Complete, None)
                .await?;
            self.store
                .set_import_status(id, ImportStatus::Success, None)
                .await?;
        }
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(seed: u64) -> Plan {
        Plan::from(&GenArgs {
            servers: 4,
            features: 10,
            users: 60,
            years: 1,
            seed,
            json: false,
        })
    }

    fn history(seed: u64, days: i64) -> (World, Vec<(usize, Outcome)>) {
        let a = args(seed);
        let world = World::new(&a);
        let from = END - days * DAY;
        let mut model = Days::new(&world, seed, from);
        let mut all = Vec::new();
        for d in 0..days {
            for (s, o) in model.day(&world, d) {
                all.extend(o.into_iter().map(|o| (s, o)));
            }
        }
        for (s, o) in model.drain(&world) {
            all.extend(o.into_iter().map(|o| (s, o)));
        }
        (world, all)
    }

    fn sessions(all: &[(usize, Outcome)]) -> Vec<(usize, u32, u32, i64, i64)> {
        all.iter()
            .filter_map(|(_, o)| match *o {
                Outcome::Session {
                    feature,
                    user,
                    count,
                    start,
                    end,
                    ..
                } => Some((feature, user, count, start, end)),
                Outcome::Denial { .. } => None,
            })
            .collect()
    }

    /// What `--help` quotes.
    const SESSIONS_PER_USER_YEAR: f64 = 1_000.0;

    #[test]
    fn capacity_is_never_exceeded_and_full_features_deny() {
        let (world, all) = history(3, 120);
        let s = sessions(&all);
        assert!(s.len() > 5_000, "{}", s.len());
        for &(f, _, _, start, _) in s.iter().step_by(7) {
            let out: u32 = s
                .iter()
                .filter(|x| x.0 == f && x.3 <= start && start < x.4)
                .map(|x| x.2)
                .sum();
            assert!(out <= world.features[f].issued, "feature {f} at {start}");
        }
        let denials = all.len() - s.len();
        assert!(denials > 0 && denials < s.len() / 5, "{denials}");
        for (_, o) in all.iter().step_by(5) {
            if let Outcome::Denial {
                feature,
                time,
                count,
                ..
            } = *o
            {
                let out: u32 = s
                    .iter()
                    .filter(|x| x.0 == feature && x.3 <= time && time < x.4)
                    .map(|x| x.2)
                    .sum();
                assert!(out + count > world.features[feature].issued);
            }
        }
    }

    #[test]
    fn working_hours_weekdays_and_lengths_look_like_people() {
        let (world, all) = history(5, 56);
        let s = sessions(&all);
        let weekend = s
            .iter()
            .filter(|x| {
                let local = x.3 + world.users[x.1 as usize].offset;
                (local.div_euclid(DAY) + 3).rem_euclid(7) >= 5
            })
            .count();
        assert!(weekend * 20 < s.len(), "{weekend} of {}", s.len());
        let night = s
            .iter()
            .filter(|x| {
                let local = (x.3 + world.users[x.1 as usize].offset).rem_euclid(DAY);
                !(6 * HOUR..20 * HOUR).contains(&local)
            })
            .count();
        assert_eq!(night, 0);
        let lens: Vec<i64> = s.iter().map(|x| x.4 - x.3).collect();
        assert!(lens.iter().all(|&l| l >= MIN_SESSION));
        assert!(lens.iter().any(|&l| l > DAY), "some last days");
        let median = {
            let mut l = lens.clone();
            l.sort_unstable();
            l[l.len() / 2]
        };
        assert!((15 * 60..3 * HOUR).contains(&median), "{median}");
        // Popularity: the most used feature is used far more than the median one.
        let mut per_feature = vec![0usize; world.features.len()];
        s.iter().for_each(|x| per_feature[x.0] += 1);
        per_feature.sort_unstable();
        assert!(per_feature[per_feature.len() - 1] > 5 * per_feature[per_feature.len() / 2]);
        assert!(per_feature[0] == 0, "some features are never used");
    }

    #[test]
    fn a_seed_gives_one_history_and_the_estimate_holds() {
        let (_, a) = history(9, 30);
        let (_, b) = history(9, 30);
        let (_, c) = history(10, 30);
        let key = |v: &[(usize, Outcome)]| format!("{v:?}");
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
        let (world, year) = history(9, 365);
        let got = sessions(&year).len() as f64;
        let expected = world.expected_sessions(365) as f64;
        assert!(
            (0.85..1.15).contains(&(got / expected)),
            "{got} vs {expected}"
        );
        let per_user_year = got / 60.0;
        let quoted = SESSIONS_PER_USER_YEAR;
        assert!(
            (0.8 * quoted..1.2 * quoted).contains(&per_user_year),
            "{per_user_year}"
        );
    }

    #[test]
    fn over_licensed_servers_have_room() {
        let world = World::new(&args(1));
        let over: Vec<&GenFeature> = world
            .features
            .iter()
            .filter(|f| f.server == 3 && f.weight > 0.0)
            .collect();
        assert!(!over.is_empty());
        assert!(world.features.iter().all(|f| f.issued >= f.count));
    }
}
