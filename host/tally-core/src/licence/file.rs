//! The licence file: its terms as TOML, the canonical bytes the issuer signs, the Ed25519
//! signature, and the built-in Community licence.
//!
//! ```toml
//! licensee = "Example Engineering"
//! model = 2019                  # 2019 (the default) or 2013
//! type = "Perpetual"            # Trial, Perpetual, Subscription, University, Test
//! start = 2026-01-01
//! expiry = 2027-12-31           # optional: valid through that day (UTC)
//! maintenance_end = 2027-06-30  # optional
//! version = "0.4"               # the Tally version licensed, and older ones
//!
//! [limits]                      # Model 2019
//! users = 100
//! servers = 10
//! hpc = false                   # the HPC add-on lifts the host limit (125 % of users)
//! harvesting_agents = 0
//!
//! [signature]
//! key = "…"                     # the issuer's public key, hex
//! value = "…"                   # Ed25519 over the canonical bytes, hex
//! ```
//!
//! Model 2013's `[limits]` are `user_counting` (`user-host`, the default, or `username`),
//! `realtime_users`, `realtime_servers`, and with the Import add-on (`import = true`)
//! `imported_users` and `imported_servers`. Model 2013 limits that contradict each other are
//! kept, not refused: seed 002 makes them a violation row ("invalid licence", "no realtime
//! licence"), so the installation starts in restricted access mode and says why.
//!
//! The signature covers canonical bytes built from the parsed terms, not the file's text:
//! comments and layout may change, any term may not. Unknown keys are refused, so nothing in a
//! file is left unsigned.

use std::fmt;

use chrono::NaiveDate;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::version::DottedVersion;
use crate::users::Counting;

/// Which of the two licensing models (seeds 003 and 002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Model {
    #[serde(rename = "2019")]
    Model2019,
    #[serde(rename = "2013")]
    Model2013,
}

impl Model {
    pub fn year(self) -> u32 {
        match self {
            Model::Model2019 => 2019,
            Model::Model2013 => 2013,
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Model {}", self.year())
    }
}

/// The seeds' "License Type" column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LicenceType {
    Trial,
    Perpetual,
    Subscription,
    University,
    Test,
}

impl LicenceType {
    pub fn as_str(self) -> &'static str {
        match self {
            LicenceType::Trial => "Trial",
            LicenceType::Perpetual => "Perpetual",
            LicenceType::Subscription => "Subscription",
            LicenceType::University => "University",
            LicenceType::Test => "Test",
        }
    }
}

/// Model 2019's limits (seed 003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits2019 {
    /// Unique usernames over all history, denials included.
    pub users: u64,
    /// Servers monitored at once plus servers with imported data.
    pub servers: u64,
    /// The High Performance Computing add-on: no host limit.
    pub hpc: bool,
    /// Online agents with License Harvesting enabled.
    pub harvesting_agents: u64,
}

impl Limits2019 {
    /// 125 % of the user limit, rounded down; `None` with the HPC add-on.
    pub fn hosts(&self) -> Option<u64> {
        (!self.hpc).then(|| self.users.saturating_mul(5) / 4)
    }
}

/// Model 2013's limits (seed 002), as the file states them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits2013 {
    pub counting: Counting,
    /// Users on realtime servers over the last 14 days.
    pub realtime_users: Option<u64>,
    /// Realtime servers monitored at once.
    pub realtime_servers: Option<u64>,
    /// The Import add-on.
    pub import: bool,
    /// Users on imported servers over all history.
    pub imported_users: Option<u64>,
    /// Servers imported in the last 3 months.
    pub imported_servers: Option<u64>,
}

impl Limits2013 {
    /// The required realtime licence: both realtime limits, the server limit above zero.
    pub fn has_realtime(&self) -> bool {
        self.realtime_users.is_some() && self.realtime_servers.is_some_and(|n| n > 0)
    }

    /// The realtime and imported configuration disagree: the Import add-on without both its
    /// limits, or import limits without the add-on.
    pub fn import_conflict(&self) -> bool {
        let limits = [self.imported_users, self.imported_servers];
        if self.import {
            limits.iter().any(Option::is_none)
        } else {
            limits.iter().any(Option::is_some)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "model")]
pub enum Limits {
    #[serde(rename = "2019")]
    Model2019(Limits2019),
    #[serde(rename = "2013")]
    Model2013(Limits2013),
}

/// Everything a licence states: what the issuer signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Terms {
    pub licensee: String,
    #[serde(rename = "type")]
    pub kind: LicenceType,
    pub start: NaiveDate,
    /// Valid through this day (UTC); `None`: never expires.
    pub expiry: Option<NaiveDate>,
    pub maintenance_end: Option<NaiveDate>,
    /// The Tally version licensed (and every older one).
    pub version: DottedVersion,
    pub limits: Limits,
}

impl Terms {
    pub fn model(&self) -> Model {
        match self.limits {
            Limits::Model2019(_) => Model::Model2019,
            Limits::Model2013(_) => Model::Model2013,
        }
    }

    /// The bytes the signature covers: every term, in a fixed order, strings length-prefixed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = String::from("tally-licence 1\n");
        let mut put = |key: &str, value: String| {
            out.push_str(key);
            out.push('=');
            out.push_str(&value);
            out.push('\n');
        };
        let date = |d: Option<NaiveDate>| d.map_or("-".to_string(), |d| d.to_string());
        let num = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
        put(
            "licensee",
            format!("{}:{}", self.licensee.len(), self.licensee),
        );
        put("model", self.model().year().to_string());
        put("type", self.kind.as_str().into());
        put("start", self.start.to_string());
        put("expiry", date(self.expiry));
        put("maintenance_end", date(self.maintenance_end));
        put("version", self.version.to_string());
        match self.limits {
            Limits::Model2019(l) => {
                put("users", l.users.to_string());
                put("servers", l.servers.to_string());
                put("hpc", l.hpc.to_string());
                put("harvesting_agents", l.harvesting_agents.to_string());
            }
            Limits::Model2013(l) => {
                put("user_counting", counting_name(l.counting).into());
                put("realtime_users", num(l.realtime_users));
                put("realtime_servers", num(l.realtime_servers));
                put("import", l.import.to_string());
                put("imported_users", num(l.imported_users));
                put("imported_servers", num(l.imported_servers));
            }
        }
        out.into_bytes()
    }

    /// The licence file for these terms, signed by `key`.
    pub fn issue(&self, key: &IssuerKey) -> String {
        let signature = key.0.sign(&self.canonical_bytes());
        let s = |text: &str| toml::Value::String(text.into()).to_string();
        let mut out = format!(
            "# Tally licence. Any change to a term voids the signature.\nlicensee = {}\nmodel = {}\ntype = {}\nstart = {}\n",
            s(&self.licensee),
            self.model().year(),
            s(self.kind.as_str()),
            self.start
        );
        if let Some(d) = self.expiry {
            out.push_str(&format!("expiry = {d}\n"));
        }
        if let Some(d) = self.maintenance_end {
            out.push_str(&format!("maintenance_end = {d}\n"));
        }
        out.push_str(&format!(
            "version = {}\n\n[limits]\n",
            s(&self.version.to_string())
        ));
        match self.limits {
            Limits::Model2019(l) => out.push_str(&format!(
                "users = {}\nservers = {}\nhpc = {}\nharvesting_agents = {}\n",
                l.users, l.servers, l.hpc, l.harvesting_agents
            )),
            Limits::Model2013(l) => {
                out.push_str(&format!(
                    "user_counting = {}\n",
                    s(counting_name(l.counting))
                ));
                let mut opt = |k: &str, v: Option<u64>| {
                    if let Some(v) = v {
                        out.push_str(&format!("{k} = {v}\n"));
                    }
                };
                opt("realtime_users", l.realtime_users);
                opt("realtime_servers", l.realtime_servers);
                out.push_str(&format!("import = {}\n", l.import));
                let mut opt = |k: &str, v: Option<u64>| {
                    if let Some(v) = v {
                        out.push_str(&format!("{k} = {v}\n"));
                    }
                };
                opt("imported_users", l.imported_users);
                opt("imported_servers", l.imported_servers);
            }
        }
        out.push_str(&format!(
            "\n[signature]\nkey = \"{}\"\nvalue = \"{}\"\n",
            key.public(),
            hex::encode(signature.to_bytes())
        ));
        out
    }
}

fn counting_name(c: Counting) -> &'static str {
    match c {
        Counting::UserHost => "user-host",
        Counting::Username => "username",
    }
}

/// Where the licence in force comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "origin", rename_all = "kebab-case")]
pub enum Origin {
    /// No licence file installed: the Community licence.
    BuiltIn,
    /// A file signed by this trusted key.
    File { signed_by: PublicKey },
}

/// The licence in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Licence {
    #[serde(flatten)]
    pub terms: Terms,
    #[serde(flatten)]
    pub origin: Origin,
}

/// The Community licence's limits.
pub const COMMUNITY_USERS: u64 = 100;
pub const COMMUNITY_SERVERS: u64 = 10;

impl Licence {
    /// The built-in Community licence: Model 2019, 100 users, 10 license servers, no License
    /// Harvesting, no expiry, no maintenance end, for the running version.
    pub fn community(running: &DottedVersion) -> Licence {
        Licence {
            terms: Terms {
                licensee: "Community".into(),
                kind: LicenceType::Perpetual,
                start: NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default(),
                expiry: None,
                maintenance_end: None,
                version: running.clone(),
                limits: Limits::Model2019(Limits2019 {
                    users: COMMUNITY_USERS,
                    servers: COMMUNITY_SERVERS,
                    hpc: false,
                    harvesting_agents: 0,
                }),
            },
            origin: Origin::BuiltIn,
        }
    }

    /// Reads a licence file and checks its signature against the trusted keys.
    pub fn from_file(text: &str, trusted: &[PublicKey]) -> Result<Licence, LicenceError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| LicenceError::Syntax {
            message: e.message().to_string(),
        })?;
        let terms = raw.terms()?;
        let sig = raw.signature.ok_or(LicenceError::Unsigned)?;
        let key = PublicKey::parse(&sig.key).map_err(|e| LicenceError::Field {
            field: "signature.key",
            problem: e.to_string(),
        })?;
        let bytes: [u8; 64] = hex::decode(sig.value.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(LicenceError::Field {
                field: "signature.value",
                problem: "not 64 bytes of hex".into(),
            })?;
        if !trusted.contains(&key) {
            return Err(LicenceError::UntrustedKey {
                key,
                trusted: trusted.len(),
            });
        }
        let verified = key.verifying().is_some_and(|k| {
            k.verify_strict(&terms.canonical_bytes(), &Signature::from_bytes(&bytes))
                .is_ok()
        });
        if !verified {
            return Err(LicenceError::BadSignature { key });
        }
        Ok(Licence {
            terms,
            origin: Origin::File { signed_by: key },
        })
    }

    pub fn is_community(&self) -> bool {
        self.origin == Origin::BuiltIn
    }

    /// "Community licence (built in)" or "Perpetual licence for Example Engineering".
    pub fn title(&self) -> String {
        match self.origin {
            Origin::BuiltIn => "Community licence (built in)".into(),
            Origin::File { .. } => format!(
                "{} licence for {}",
                self.terms.kind.as_str(),
                self.terms.licensee
            ),
        }
    }
}

/// Why a licence file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenceError {
    #[error("not a licence file: {message}")]
    Syntax { message: String },
    #[error("licence field `{field}`: {problem}")]
    Field {
        field: &'static str,
        problem: String,
    },
    #[error("the licence is not signed: it has no [signature] section")]
    Unsigned,
    #[error(
        "the licence is signed by key {key}, which is not trusted ({trusted} trusted keys): trust the issuer's public key, or ask for a licence signed by a trusted one"
    )]
    UntrustedKey { key: PublicKey, trusted: usize },
    #[error(
        "the licence's signature does not match its terms (key {key}): the file was changed after it was signed"
    )]
    BadSignature { key: PublicKey },
}

/// An issuer's public key: 32 bytes, written as 64 hex digits. Kept as its bytes (checked to be
/// a key when parsed): the expanded key is 200 bytes, too big to carry in every error.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::NotHex { bytes: 32 })?;
        VerifyingKey::from_bytes(&bytes)
            .map(|k| PublicKey(k.to_bytes()))
            .map_err(|_| KeyError::NotAKey)
    }

    fn verifying(&self) -> Option<VerifyingKey> {
        VerifyingKey::from_bytes(&self.0).ok()
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An issuer's private key (the 32-byte seed, hex). Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct IssuerKey(SigningKey);

impl IssuerKey {
    /// The key of a 32-byte random seed (the caller draws it: this crate does no I/O).
    pub fn from_seed(seed: [u8; 32]) -> IssuerKey {
        IssuerKey(SigningKey::from_bytes(&seed))
    }

    pub fn parse(text: &str) -> Result<IssuerKey, KeyError> {
        let seed: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(KeyError::NotHex { bytes: 32 })?;
        Ok(IssuerKey::from_seed(seed))
    }

    /// The text of a key file: the seed in hex. Write it where only the issuer can read it.
    pub fn secret_text(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }
}

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IssuerKey(public {})", self.public())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a key: expected {bytes} bytes as hex digits")]
    NotHex { bytes: usize },
    #[error("not an Ed25519 public key")]
    NotAKey,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    licensee: String,
    #[serde(default)]
    model: Option<u32>,
    #[serde(rename = "type")]
    kind: LicenceType,
    start: toml::value::Datetime,
    #[serde(default)]
    expiry: Option<toml::value::Datetime>,
    #[serde(default)]
    maintenance_end: Option<toml::value::Datetime>,
    version: String,
    limits: RawLimits,
    #[serde(default)]
    signature: Option<RawSignature>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    // Model 2019.
    users: Option<u64>,
    servers: Option<u64>,
    hpc: Option<bool>,
    harvesting_agents: Option<u64>,
    // Model 2013.
    user_counting: Option<String>,
    realtime_users: Option<u64>,
    realtime_servers: Option<u64>,
    import: Option<bool>,
    imported_users: Option<u64>,
    imported_servers: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    key: String,
    value: String,
}

fn date(field: &'static str, d: &toml::value::Datetime) -> Result<NaiveDate, LicenceError> {
    let bad = |problem: &str| LicenceError::Field {
        field,
        problem: problem.into(),
    };
    match (d.date, d.time, d.offset) {
        (Some(day), None, None) => NaiveDate::from_ymd_opt(
            i32::from(day.year),
            u32::from(day.month),
            u32::from(day.day),
        )
        .ok_or_else(|| bad("not a calendar date")),
        _ => Err(bad("a date without a time, e.g. 2027-06-30")),
    }
}

impl RawFile {
    fn terms(&self) -> Result<Terms, LicenceError> {
        let l = &self.limits;
        let model = match self.model.unwrap_or(2019) {
            2019 => Model::Model2019,
            2013 => Model::Model2013,
            other => {
                return Err(LicenceError::Field {
                    field: "model",
                    problem: format!("{other} is not a licensing model (2019 or 2013)"),
                });
            }
        };
        // Each model's limits only: a stray one would be signed yet mean nothing.
        let stray = |field: &'static str, given: bool| {
            if given {
                Err(LicenceError::Field {
                    field,
                    problem: format!("not a limit of {model} licences"),
                })
            } else {
                Ok(())
            }
        };
        let limits = match model {
            Model::Model2019 => {
                stray("limits.user_counting", l.user_counting.is_some())?;
                stray("limits.realtime_users", l.realtime_users.is_some())?;
                stray("limits.realtime_servers", l.realtime_servers.is_some())?;
                stray("limits.import", l.import.is_some())?;
                stray("limits.imported_users", l.imported_users.is_some())?;
                stray("limits.imported_servers", l.imported_servers.is_some())?;
                let need = |field: &'static str, v: Option<u64>| {
                    v.ok_or(LicenceError::Field {
                        field,
                        problem: "missing".into(),
                    })
                };
                Limits::Model2019(Limits2019 {
                    users: need("limits.users", l.users)?,
                    servers: need("limits.servers", l.servers)?,
                    hpc: l.hpc.unwrap_or(false),
                    harvesting_agents: l.harvesting_agents.unwrap_or(0),
                })
            }
            Model::Model2013 => {
                stray("limits.users", l.users.is_some())?;
                stray("limits.servers", l.servers.is_some())?;
                stray("limits.hpc", l.hpc.is_some())?;
                stray("limits.harvesting_agents", l.harvesting_agents.is_some())?;
                let counting = match l.user_counting.as_deref() {
                    None | Some("user-host") => Counting::UserHost,
                    Some("username") => Counting::Username,
                    Some(other) => {
                        return Err(LicenceError::Field {
                            field: "limits.user_counting",
                            problem: format!("`{other}`: user-host or username"),
                        });
                    }
                };
                Limits::Model2013(Limits2013 {
                    counting,
                    realtime_users: l.realtime_users,
                    realtime_servers: l.realtime_servers,
                    import: l.import.unwrap_or(false),
                    imported_users: l.imported_users,
                    imported_servers: l.imported_servers,
                })
            }
        };
        let version = DottedVersion::parse(&self.version)
            .filter(|v| v.to_string() == self.version.trim())
            .ok_or_else(|| LicenceError::Field {
                field: "version",
                problem: format!("`{}` is not a version such as 0.4", self.version),
            })?;
        if self.licensee.trim().is_empty() {
            return Err(LicenceError::Field {
                field: "licensee",
                problem: "empty".into(),
            });
        }
        let start = date("start", &self.start)?;
        let expiry = self
            .expiry
            .as_ref()
            .map(|d| date("expiry", d))
            .transpose()?;
        if expiry.is_some() && self.kind == LicenceType::Perpetual {
            return Err(LicenceError::Field {
                field: "expiry",
                problem: "a Perpetual licence does not expire".into(),
            });
        }
        if expiry.is_some_and(|e| e < start) {
            return Err(LicenceError::Field {
                field: "expiry",
                problem: "before `start`".into(),
            });
        }
        Ok(Terms {
            licensee: self.licensee.clone(),
            kind: self.kind,
            start,
            expiry,
            maintenance_end: self
                .maintenance_end
                .as_ref()
                .map(|d| date("maintenance_end", d))
                .transpose()?,
            version,
            limits,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn key(n: u8) -> IssuerKey {
        IssuerKey::from_seed([n; 32])
    }

    pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    pub(crate) fn terms_2019(users: u64, servers: u64) -> Terms {
        Terms {
            licensee: "Example \"Engineering\" Ltd".into(),
            kind: LicenceType::Perpetual,
            start: day(2026, 1, 1),
            expiry: None,
            maintenance_end: Some(day(2027, 6, 30)),
            version: DottedVersion::parse("0.4").expect("v"),
            limits: Limits::Model2019(Limits2019 {
                users,
                servers,
                hpc: false,
                harvesting_agents: 2,
            }),
        }
    }

    pub(crate) fn terms_2013() -> Terms {
        Terms {
            limits: Limits::Model2013(Limits2013 {
                counting: Counting::Username,
                realtime_users: Some(50),
                realtime_servers: Some(5),
                import: true,
                imported_users: Some(20),
                imported_servers: Some(2),
            }),
            ..terms_2019(0, 0)
        }
    }

    #[test]
    fn an_issued_licence_verifies_and_reads_back_its_terms() {
        for terms in [terms_2019(100, 10), terms_2013()] {
            let text = terms.issue(&key(1));
            let licence = Licence::from_file(&text, &[key(2).public(), key(1).public()])
                .expect("valid licence");
            assert_eq!(licence.terms, terms);
            assert_eq!(
                licence.origin,
                Origin::File {
                    signed_by: key(1).public()
                }
            );
        }
    }

    #[test]
    fn comments_and_layout_may_change() {
        let text = terms_2019(100, 10).issue(&key(1));
        let text = text.replace("users = 100\n", "# more users later\nusers    =   100\n");
        assert!(Licence::from_file(&text, &[key(1).public()]).is_ok());
    }

    #[test]
    fn a_tampered_licence_is_refused() {
        let text = terms_2019(100, 10).issue(&key(1));
        let tampered = text.replace("users = 100", "users = 1000");
        assert_eq!(
            Licence::from_file(&tampered, &[key(1).public()]),
            Err(LicenceError::BadSignature {
                key: key(1).public()
            })
        );
        // An optional term dropped is a change too.
        let tampered = text.replace("maintenance_end = 2027-06-30\n", "");
        assert_ne!(tampered, text);
        assert!(matches!(
            Licence::from_file(&tampered, &[key(1).public()]),
            Err(LicenceError::BadSignature { .. })
        ));
    }

    #[test]
    fn an_unsigned_licence_is_refused() {
        let text = terms_2019(100, 10).issue(&key(1));
        let unsigned = &text[..text.find("[signature]").expect("signed")];
        assert_eq!(
            Licence::from_file(unsigned, &[key(1).public()]),
            Err(LicenceError::Unsigned)
        );
    }

    #[test]
    fn a_wrongly_keyed_licence_is_refused() {
        let text = terms_2019(100, 10).issue(&key(1));
        let err = Licence::from_file(&text, &[key(2).public()]).expect_err("untrusted");
        assert_eq!(
            err,
            LicenceError::UntrustedKey {
                key: key(1).public(),
                trusted: 1
            }
        );
        assert!(err.to_string().contains(&key(1).public().to_string()));
        // Claiming a trusted key without its private half fails the signature.
        let forged = text.replace(&key(1).public().to_string(), &key(2).public().to_string());
        assert_eq!(
            Licence::from_file(&forged, &[key(2).public()]),
            Err(LicenceError::BadSignature {
                key: key(2).public()
            })
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let text = terms_2019(100, 10).issue(&key(1));
        let field = |text: &str| match Licence::from_file(text, &[key(1).public()]) {
            Err(LicenceError::Field { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        assert_eq!(
            field(&text.replace("model = 2019", "model = 2017")),
            "model"
        );
        assert_eq!(field(&text.replace("\"0.4\"", "\"four\"")), "version");
        assert_eq!(
            field(&text.replace("servers = 10", "imported_servers = 10")),
            "limits.imported_servers"
        );
        assert_eq!(field(&text.replace("users = 100\n", "")), "limits.users");
        assert_eq!(
            field(&text.replace("start = 2026-01-01", "start = 2026-01-01T10:00:00")),
            "start"
        );
        assert!(matches!(
            Licence::from_file(&text.replace("hpc", "hpcc"), &[key(1).public()]),
            Err(LicenceError::Syntax { .. })
        ));
    }

    #[test]
    fn the_model_defaults_to_2019() {
        let text = terms_2019(100, 10)
            .issue(&key(1))
            .replace("model = 2019\n", "");
        let licence = Licence::from_file(&text, &[key(1).public()]).expect("valid");
        assert_eq!(licence.terms.model(), Model::Model2019);
    }

    #[test]
    fn the_community_licence() {
        let v = DottedVersion::parse("0.1.0").expect("v");
        let c = Licence::community(&v);
        assert!(c.is_community());
        assert_eq!(c.title(), "Community licence (built in)");
        assert_eq!(
            c.terms.limits,
            Limits::Model2019(Limits2019 {
                users: 100,
                servers: 10,
                hpc: false,
                harvesting_agents: 0
            })
        );
        assert_eq!(c.terms.expiry, None);
    }

    #[test]
    fn the_host_limit_is_125_percent_of_users_without_hpc() {
        let l = Limits2019 {
            users: 100,
            servers: 1,
            hpc: false,
            harvesting_agents: 0,
        };
        assert_eq!(l.hosts(), Some(125));
        assert_eq!(Limits2019 { users: 3, ..l }.hosts(), Some(3));
        assert_eq!(Limits2019 { hpc: true, ..l }.hosts(), None);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let k = key(7);
        assert!(!format!("{k:?}").contains(&k.secret_text()));
    }
}
