//! `GET /metrics`: Prometheus text, low-cardinality `tally_` series. It is read like any other
//! read: with a login (a bearer token in the scrape configuration), or by anyone when the
//! operator allows anonymous reading. Per-user detail stays in the API.
//!
//! - `tally_servers{source, status}`: license servers by per-source status
//! - `tally_feature_in_use{server, feature}`, `tally_feature_issued{…}`: the latest poll's
//! - `tally_polls_total{outcome}`, `tally_poll_duration_seconds`
//! - `tally_imports_total{outcome}`, `tally_import_lines_total`, `tally_import_duration_seconds`
//! - `tally_http_requests_total{method, route, status}` (`route`: the route's template),
//!   `tally_http_request_duration_seconds`
//! - `tally_plugin_traps_total{plugin}`, `tally_plugin_quarantined{plugin}`

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tally_app::metrics::{Histogram, HistogramSnapshot, METRICS};

use crate::openapi::{Routes, Shape, doc};
use crate::{Api, ApiError};

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn routes() -> Routes {
    Routes::new().get(
        "/metrics",
        metrics,
        doc(
            "Prometheus text: tally_ series",
            200,
            Shape::Text("text/plain"),
        ),
    )
}

/// Requests answered, by method, route and status class, and their durations.
#[derive(Debug, Default)]
pub struct Requests {
    counts: std::sync::Mutex<BTreeMap<(String, String, u16), u64>>,
    seconds: Histogram,
    total: AtomicU64,
}

/// This process's.
pub static REQUESTS: std::sync::LazyLock<Requests> = std::sync::LazyLock::new(Requests::default);

/// Middleware: counts and times every request.
pub async fn count(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    // The template (`/api/v1/license-servers/{name}`), never the path: bounded label values.
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    let class = response.status().as_u16() / 100;
    REQUESTS.seconds.observe(started.elapsed());
    REQUESTS.total.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut counts) = REQUESTS.counts.lock() {
        // Standard methods only: a made-up one must not grow the map.
        let method = if ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
            .contains(&method.as_str())
        {
            method
        } else {
            "other".into()
        };
        *counts.entry((method, route, class)).or_default() += 1;
    }
    response
}

/// A label value, escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn histogram(out: &mut String, name: &str, help: &str, h: &HistogramSnapshot) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (bound, n) in &h.cumulative {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum_seconds);
    let _ = writeln!(out, "{name}_count {}", h.count);
}

fn counter(out: &mut String, name: &str, help: &str, kind: &str, rows: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, n) in rows {
        let _ = writeln!(out, "{name}{labels} {n}");
    }
}

async fn metrics(State(api): State<Arc<Api>>) -> Result<Response, ApiError> {
    let servers = api.app.store.servers().await?;
    let mut by_status: BTreeMap<(&str, String), u64> = BTreeMap::new();
    for s in &servers {
        *by_status
            .entry(("remote", s.remote_status_now().to_string()))
            .or_default() += 1;
        *by_status
            .entry(("import", s.import_status.to_string()))
            .or_default() += 1;
    }
    let usage = tally_app::usage::current(&api.app.store, None, None)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;

    let mut out = String::new();
    let rows: Vec<(String, u64)> = by_status
        .iter()
        .map(|((source, status), n)| {
            (
                format!("{{source=\"{source}\",status=\"{}\"}}", label(status)),
                *n,
            )
        })
        .collect();
    counter(
        &mut out,
        "tally_servers",
        "License servers by data source and status.",
        "gauge",
        &rows,
    );
    let feature_labels = |server: &str, feature: &str| {
        format!(
            "{{server=\"{}\",feature=\"{}\"}}",
            label(server),
            label(feature)
        )
    };
    let in_use: Vec<(String, u64)> = usage
        .features
        .iter()
        .map(|f| (feature_labels(&f.server, &f.feature), u64::from(f.in_use)))
        .collect();
    counter(
        &mut out,
        "tally_feature_in_use",
        "Licenses in use at the latest poll.",
        "gauge",
        &in_use,
    );
    let issued: Vec<(String, u64)> = usage
        .features
        .iter()
        .filter_map(|f| Some((feature_labels(&f.server, &f.feature), u64::from(f.issued?))))
        .collect();
    counter(
        &mut out,
        "tally_feature_issued",
        "Licenses issued at the latest poll (uncounted ones left out).",
        "gauge",
        &issued,
    );

    let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
    counter(
        &mut out,
        "tally_polls_total",
        "Polls of license servers by this process.",
        "counter",
        &[
            (
                "{outcome=\"answered\"}".into(),
                load(&METRICS.polls_answered),
            ),
            ("{outcome=\"failed\"}".into(), load(&METRICS.polls_failed)),
        ],
    );
    histogram(
        &mut out,
        "tally_poll_duration_seconds",
        "Time to run and read a poll.",
        &METRICS.poll_seconds.snapshot(),
    );
    counter(
        &mut out,
        "tally_imports_total",
        "Log files imported by this process.",
        "counter",
        &[
            ("{outcome=\"done\"}".into(), load(&METRICS.imports_done)),
            ("{outcome=\"failed\"}".into(), load(&METRICS.imports_failed)),
        ],
    );
    counter(
        &mut out,
        "tally_import_lines_total",
        "Log lines read by imports.",
        "counter",
        &[(String::new(), load(&METRICS.import_lines))],
    );
    histogram(
        &mut out,
        "tally_import_duration_seconds",
        "Time to import one file.",
        &METRICS.import_seconds.snapshot(),
    );
    let requests: Vec<(String, u64)> = REQUESTS
        .counts
        .lock()
        .map(|counts| {
            counts
                .iter()
                .map(|((method, route, class), n)| {
                    (
                        format!(
                            "{{method=\"{method}\",route=\"{}\",status=\"{class}xx\"}}",
                            label(route)
                        ),
                        *n,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    counter(
        &mut out,
        "tally_http_requests_total",
        "HTTP requests answered, by method, route and status class.",
        "counter",
        &requests,
    );
    histogram(
        &mut out,
        "tally_http_request_duration_seconds",
        "Time to answer an HTTP request.",
        &REQUESTS.seconds.snapshot(),
    );
    let plugins = api.app.registry.list();
    let plugin_rows = |value: fn(&tally_plugin_host::PluginHealth) -> u64| -> Vec<(String, u64)> {
        plugins
            .iter()
            .map(|p| {
                (
                    format!("{{plugin=\"{}\"}}", label(p.id())),
                    value(&p.health()),
                )
            })
            .collect()
    };
    counter(
        &mut out,
        "tally_plugin_traps_total",
        "Calls into a plugin that trapped (deadline, memory, panic, invalid result) since it was loaded.",
        "counter",
        &plugin_rows(|h| h.traps),
    );
    counter(
        &mut out,
        "tally_plugin_quarantined",
        "1 when a plugin is quarantined until reloaded.",
        "gauge",
        &plugin_rows(|h| u64::from(h.quarantined.is_some())),
    );
    let mut response = out.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(response)
}
