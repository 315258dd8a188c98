//! License files as capacity: how many licences of each feature a license file grants, from
//! when and until when. FlexNet files (`SERVER`, `VENDOR`/`DAEMON`, `USE_SERVER`, `FEATURE` and
//! `INCREMENT` lines, `\` continuations, `#` comments) and RLM files (`HOST`, `ISV`, `LICENSE`).
//!
//! Written from the vendors' documentation (FlexNet Publisher License Administration Guide,
//! "License File Format"; RLM License Administration manual, "The License File"): the shared
//! corpus holds no license file. `parse` holds the line grammar and the `Importer`, `sniff`
//! the format detection.

mod parse;
mod sniff;

pub use parse::LicenseFile;
tally_plugin_sdk::export!(importer: LicenseFile);
