//! `tally license show | check FILE | install FILE | remove | keygen | issue`: Tally's own
//! licence (tally-core `licence`; seeds 002 and 003).
//!
//! The issuer's public keys are the operator's to trust (`--trust`, `TALLY_LICENSE_KEYS`):
//! Tally is open source, so a site or a vendor of Tally-based services issues its own
//! licences. An installed file that no trusted key verifies is refused, and the built-in
//! Community licence stays in force, with the refusal shown.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use tally_app::App;
use tally_app::access::Actor;
use tally_app::licence::{self, current_status, product};
use tally_core::licence::{
    DottedVersion, IssuerKey, Licence, LicenceType, Limits, Limits2013, Limits2019, Origin,
    PublicKey, Status, Terms,
};
use tally_core::users::Counting;

#[derive(Debug, Args)]
pub struct LicenseArgs {
    /// An issuer's public key trusted to sign licences (64 hex digits; repeatable, or
    /// comma-separated in TALLY_LICENSE_KEYS).
    #[arg(
        long = "trust",
        value_name = "KEY",
        env = "TALLY_LICENSE_KEYS",
        value_delimiter = ',',
        global = true
    )]
    pub trust: Vec<String>,
    #[command(subcommand)]
    pub command: LicenseCommand,
}

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// The licence in force, each limit with its usage, and any violation.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Check a licence file: its signature against the trusted keys, and its terms.
    Check { file: PathBuf },
    /// Install a licence file (checked first); it is in force at once.
    Install { file: PathBuf },
    /// Remove the installed licence: the Community licence is in force.
    Remove,
    /// Make an issuer key pair: the private key goes to FILE (readable by you only), the
    /// public key, for operators to trust, is printed.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Issue a signed licence with the private key in KEY (from `tally license keygen`).
    Issue(Box<IssueArgs>),
}

impl LicenseArgs {
    /// Whether the command reads or writes the database (`keygen`, `issue` and `check` do not).
    pub fn needs_store(&self) -> bool {
        matches!(
            self.command,
            LicenseCommand::Show { .. } | LicenseCommand::Install { .. } | LicenseCommand::Remove
        )
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModelArg {
    #[value(name = "2019")]
    M2019,
    #[value(name = "2013")]
    M2013,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TypeArg {
    Trial,
    Perpetual,
    Subscription,
    University,
    Test,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CountingArg {
    UserHost,
    Username,
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The issuer's private key file.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    #[arg(long)]
    pub licensee: String,
    #[arg(long, value_enum, default_value = "2019")]
    pub model: ModelArg,
    #[arg(long = "type", value_enum, default_value = "perpetual")]
    pub kind: TypeArg,
    /// First day (YYYY-MM-DD; default today, UTC).
    #[arg(long)]
    pub start: Option<NaiveDate>,
    /// Last day valid (not for Perpetual licences).
    #[arg(long)]
    pub expiry: Option<NaiveDate>,
    /// Last day of maintenance.
    #[arg(long)]
    pub maintenance_end: Option<NaiveDate>,
    /// The Tally version licensed, e.g. 0.4 (default: this one's major.minor).
    #[arg(long = "tally-version", value_name = "VERSION")]
    pub version: Option<String>,
    /// Model 2019: unique usernames.
    #[arg(long)]
    pub users: Option<u64>,
    /// Model 2019: license servers (monitored or with imported data).
    #[arg(long)]
    pub servers: Option<u64>,
    /// Model 2019: the HPC add-on (no host limit).
    #[arg(long)]
    pub hpc: bool,
    /// Model 2019: online agents with License Harvesting.
    #[arg(long)]
    pub harvesting_agents: Option<u64>,
    /// Model 2013: how users are counted.
    #[arg(long, value_enum)]
    pub user_counting: Option<CountingArg>,
    /// Model 2013: realtime users (last 14 days).
    #[arg(long)]
    pub realtime_users: Option<u64>,
    /// Model 2013: realtime license servers.
    #[arg(long)]
    pub realtime_servers: Option<u64>,
    /// Model 2013: the Import add-on.
    #[arg(long)]
    pub import: bool,
    /// Model 2013: imported users (all history).
    #[arg(long)]
    pub imported_users: Option<u64>,
    /// Model 2013: imported license servers (last 3 months).
    #[arg(long)]
    pub imported_servers: Option<u64>,
    /// Write the licence here instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub async fn run(app: Option<&App>, args: LicenseArgs) -> anyhow::Result<ExitCode> {
    let trusted = trusted_keys(&args.trust)?;
    let need = || app.context("this command needs the database");
    match args.command {
        LicenseCommand::Show { json } => {
            let standing = current_status(need()?).await?;
            if json {
                #[derive(Serialize)]
                struct Shown<'a> {
                    #[serde(flatten)]
                    status: &'a Status,
                    refused_file: Option<&'a str>,
                }
                let shown = Shown {
                    status: &standing.status,
                    refused_file: standing.refused_file.as_deref(),
                };
                println!("{}", serde_json::to_string_pretty(&shown)?);
            } else {
                if let Some(e) = &standing.refused_file {
                    println!("The installed licence file is refused: {e}\n");
                }
                print_status(&standing.status);
            }
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::Check { file } => {
            let text = read(&file)?;
            match Licence::from_file(&text, &trusted) {
                Ok(l) => {
                    println!("{}: valid", file.display());
                    print_terms(&l);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{}: refused: {e}", file.display());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        LicenseCommand::Install { file } => {
            let text = read(&file)?;
            let standing = licence::install(need()?, &Actor::operator(), &text)
                .await
                .with_context(|| format!("{} is not installed", file.display()))?;
            println!("installed: {}\n", standing.licence.title());
            print_status(&standing.status);
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::Remove => {
            let (removed, _) = licence::remove(need()?, &Actor::operator()).await?;
            if removed {
                println!("removed the installed licence: the Community licence is in force");
            } else {
                println!("no licence was installed: the Community licence is in force");
            }
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::Keygen { out } => {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed)
                .map_err(|e| anyhow::anyhow!("no randomness for a key: {e}"))?;
            let key = IssuerKey::from_seed(seed);
            write_secret(&out, &key.secret_text())?;
            println!("private key written to {} (keep it secret)", out.display());
            println!("public key: {}", key.public());
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::Issue(issue) => {
            let key = IssuerKey::parse(&read(&issue.key)?)
                .with_context(|| format!("{} is not an issuer key", issue.key.display()))?;
            let terms = issue.terms()?;
            let text = terms.issue(&key);
            // What was issued must read back as issued, or the file is useless.
            Licence::from_file(&text, &[key.public()])
                .context("the licence issued does not verify")?;
            match &issue.out {
                Some(path) => {
                    std::fs::write(path, &text)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    println!("licence written to {}", path.display());
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The issuers' keys trusted by `TALLY_LICENSE_KEYS` (comma-separated).
pub(crate) fn keys_from_env() -> anyhow::Result<Vec<PublicKey>> {
    let keys: Vec<String> = std::env::var("TALLY_LICENSE_KEYS")
        .map(|v| v.split(',').map(String::from).collect())
        .unwrap_or_default();
    trusted_keys(&keys).context("TALLY_LICENSE_KEYS")
}

pub(crate) fn trusted_keys(given: &[String]) -> anyhow::Result<Vec<PublicKey>> {
    given
        .iter()
        .filter(|k| !k.trim().is_empty())
        .map(|k| PublicKey::parse(k).with_context(|| format!("trusted key `{}`", k.trim())))
        .collect()
}

fn print_terms(l: &Licence) {
    let t = &l.terms;
    println!("{}", l.title());
    println!("  model            {}", t.model());
    println!("  type             {}", t.kind.as_str());
    if !l.is_community() {
        println!("  licensee         {}", t.licensee);
        println!("  start            {}", t.start);
    }
    let or = |d: Option<NaiveDate>, none: &str| d.map_or(none.to_string(), |d| d.to_string());
    println!("  expiry           {}", or(t.expiry, "none"));
    println!("  maintenance end  {}", or(t.maintenance_end, "none"));
    println!("  Tally version    {} and older", t.version);
    if let Origin::File { signed_by } = &l.origin {
        println!("  signed by        {signed_by}");
    }
    match t.limits {
        Limits::Model2019(l) => {
            println!("  HPC add-on       {}", if l.hpc { "yes" } else { "no" });
        }
        Limits::Model2013(l) => {
            let counting = match l.counting {
                Counting::UserHost => "User-Host",
                Counting::Username => "Username",
            };
            println!("  user counting    {counting}");
            println!("  Import add-on    {}", if l.import { "yes" } else { "no" });
        }
    }
}

fn print_status(s: &Status) {
    print_terms(&s.licence);
    println!("\nLimits:");
    for g in &s.limits {
        let allowed = g.allowed.map_or("unlimited".to_string(), |a| a.to_string());
        let pct = g.percent.map_or(String::new(), |p| format!(" ({p:.1} %)"));
        println!(
            "  {:<56} {:>7} of {:<9}{pct}",
            g.limit.label(),
            g.used,
            allowed
        );
    }
    if s.violations.is_empty() {
        println!("\nNo violation.");
        return;
    }
    if s.restricted {
        println!(
            "\nRESTRICTED ACCESS MODE: reading works; writes, monitoring and imports are stopped."
        );
    }
    println!("\nViolations:");
    for v in &s.violations {
        println!("  {}", v.message);
        for n in v.next {
            println!("    what to do next: {n}");
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    // Licences and keys are small: a bigger file is a mistake, not one to read whole.
    const MAX: u64 = 64 * 1024;
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > MAX {
        bail!(
            "{} is {len} bytes: not a licence or key file (at most {MAX})",
            path.display()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Writes a new file readable by its owner only; an existing file is not overwritten.
fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .with_context(|| format!("cannot write {}", path.display()))
}

impl IssueArgs {
    fn terms(&self) -> anyhow::Result<Terms> {
        let kind = match self.kind {
            TypeArg::Trial => LicenceType::Trial,
            TypeArg::Perpetual => LicenceType::Perpetual,
            TypeArg::Subscription => LicenceType::Subscription,
            TypeArg::University => LicenceType::University,
            TypeArg::Test => LicenceType::Test,
        };
        let version = match &self.version {
            Some(v) => DottedVersion::parse(v)
                .filter(|p| p.to_string() == v.trim())
                .with_context(|| format!("--tally-version `{v}` is not a version such as 0.4"))?,
            None => {
                let v = product()?.version.to_string();
                let major_minor: Vec<&str> = v.split('.').take(2).collect();
                DottedVersion::parse(&major_minor.join(".")).context("this build's version")?
            }
        };
        let none = |given: bool, flag: &str, model: &str| {
            if given {
                bail!("{flag} is not a limit of Model {model} licences")
            }
            Ok(())
        };
        let limits = match self.model {
            ModelArg::M2019 => {
                none(self.user_counting.is_some(), "--user-counting", "2019")?;
                none(
                    self.realtime_users.is_some() || self.realtime_servers.is_some(),
                    "--realtime-*",
                    "2019",
                )?;
                none(
                    self.import || self.imported_users.is_some() || self.imported_servers.is_some(),
                    "--import*",
                    "2019",
                )?;
                Limits::Model2019(Limits2019 {
                    users: self.users.context("--users is required (Model 2019)")?,
                    servers: self.servers.context("--servers is required (Model 2019)")?,
                    hpc: self.hpc,
                    harvesting_agents: self.harvesting_agents.unwrap_or(0),
                })
            }
            ModelArg::M2013 => {
                none(
                    self.users.is_some() || self.servers.is_some(),
                    "--users/--servers",
                    "2013",
                )?;
                none(
                    self.hpc || self.harvesting_agents.is_some(),
                    "--hpc/--harvesting-agents",
                    "2013",
                )?;
                Limits::Model2013(Limits2013 {
                    counting: match self.user_counting {
                        Some(CountingArg::Username) => Counting::Username,
                        Some(CountingArg::UserHost) | None => Counting::UserHost,
                    },
                    realtime_users: Some(
                        self.realtime_users
                            .context("--realtime-users is required (Model 2013)")?,
                    ),
                    realtime_servers: Some(
                        self.realtime_servers
                            .context("--realtime-servers is required (Model 2013)")?,
                    ),
                    import: self.import,
                    imported_users: self.imported_users,
                    imported_servers: self.imported_servers,
                })
            }
        };
        if kind == LicenceType::Perpetual && self.expiry.is_some() {
            bail!("a Perpetual licence does not expire: drop --expiry or choose another --type");
        }
        if self.licensee.trim().is_empty() {
            bail!("--licensee is empty");
        }
        Ok(Terms {
            licensee: self.licensee.clone(),
            kind,
            start: self
                .start
                .unwrap_or_else(|| chrono::Utc::now().date_naive()),
            expiry: self.expiry,
            maintenance_end: self.maintenance_end,
            version,
            limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: LicenseArgs,
    }

    fn parse(args: &[&str]) -> LicenseArgs {
        let mut all = vec!["tally"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).expect("parses").args
    }

    #[test]
    fn the_release_is_a_product() {
        let p = product().expect("product");
        assert_eq!(p.version.to_string(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn issue_builds_the_terms_asked_for() {
        let args = parse(&[
            "issue",
            "--key",
            "k",
            "--licensee",
            "Example",
            "--users",
            "1",
            "--servers",
            "2",
            "--start",
            "2026-01-01",
            "--tally-version",
            "0.1",
        ]);
        let LicenseCommand::Issue(issue) = args.command else {
            panic!("issue")
        };
        let t = issue.terms().expect("terms");
        assert_eq!(
            t.limits,
            Limits::Model2019(Limits2019 {
                users: 1,
                servers: 2,
                hpc: false,
                harvesting_agents: 0
            })
        );
        assert_eq!(t.version.to_string(), "0.1");
        assert!(!args_need_store(&[
            "issue",
            "--key",
            "k",
            "--licensee",
            "x"
        ]));
        assert!(args_need_store(&["show"]));
    }

    fn args_need_store(args: &[&str]) -> bool {
        parse(args).needs_store()
    }

    #[test]
    fn issue_refuses_limits_of_the_other_model() {
        let args = parse(&[
            "issue",
            "--key",
            "k",
            "--licensee",
            "Example",
            "--users",
            "1",
            "--servers",
            "2",
            "--realtime-users",
            "4",
        ]);
        let LicenseCommand::Issue(issue) = args.command else {
            panic!("issue")
        };
        let err = issue.terms().expect_err("mixed models");
        assert!(err.to_string().contains("--realtime-*"), "{err}");
    }

    #[test]
    fn a_bad_trusted_key_is_named() {
        let err = trusted_keys(&["abc".into()]).expect_err("bad");
        assert!(format!("{err:#}").contains("trusted key `abc`"), "{err:#}");
    }

    #[test]
    fn keys_are_written_for_their_owner_only_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("issuer.key");
        write_secret(&path, "secret").expect("write");
        assert!(write_secret(&path, "other").is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
    }
}
