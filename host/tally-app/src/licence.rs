//! Tally's own licence in force, with usage and violations: one home for `tally license show`
//! and `GET /api/v1/license` (tally-core `licence` decides; the store counts).

use anyhow::Context;
use tally_core::licence::{
    self, DottedVersion, Licence, LicenceError, Moment, Product, PublicKey, Status,
};
use tally_store::Store;

/// This release's date: maintenance is judged against it (a licence whose maintenance ended
/// before covers no Tally released after). Set at each release; a build may override it with
/// `TALLY_RELEASE_DATE=YYYY-MM-DD`.
const RELEASED: &str = match option_env!("TALLY_RELEASE_DATE") {
    Some(d) => d,
    None => "2026-12-01",
};

/// The running Tally, as licences see it.
pub fn product() -> anyhow::Result<Product> {
    Ok(Product {
        version: DottedVersion::parse(env!("CARGO_PKG_VERSION"))
            .context("this build's version is not a dotted version")?,
        released: RELEASED
            .parse()
            .with_context(|| format!("this build's release date `{RELEASED}` is not a date"))?,
    })
}

/// The licence in force: the installed file if a trusted key verifies it, else the Community
/// licence (with why the file was refused).
pub async fn licence_in_force(
    store: &Store,
    trusted: &[PublicKey],
) -> anyhow::Result<(Licence, Option<LicenceError>)> {
    let community = Licence::community(&product()?.version);
    Ok(match store.installed_licence().await? {
        None => (community, None),
        Some(file) => match Licence::from_file(&file.text, trusted) {
            Ok(l) => (l, None),
            Err(e) => (community, Some(e)),
        },
    })
}

/// The licence, usage and violations now (run time: Tally is running its checks).
pub async fn current_status(
    store: &Store,
    trusted: &[PublicKey],
) -> anyhow::Result<(Status, Option<LicenceError>)> {
    let (licence, refusal) = licence_in_force(store, trusted).await?;
    let now = crate::now();
    // No agents report yet: none harvests.
    let usage = store.licence_usage(&licence, now, 0).await?;
    let status = licence::status(&licence, &product()?, &usage, Moment::RunTime, now);
    Ok((status, refusal))
}
