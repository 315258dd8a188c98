//! The dashboard in headless Chromium, against the real `tally` binary running `tally demo`:
//! real SQLite, servers polled live through the simulator, a log imported, generated history.
//! Without chromedriver these skip with a printed reason, except in CI where they fail.

mod support;

use fantoccini::Locator;
use serde_json::{Value, json};

use support::{Browser, DESKTOP, OUTAGE_EVERY, PHONE, with_browser, with_browser_and};

/// The servers `tally demo` makes.
const SERVERS: usize = 7;
const WAIT_GRID: &str = "return document.querySelectorAll('tr.server-row').length === 7";

/// GETs an API path in the logged-in browser: [status, content type, body text].
async fn fetch(b: &Browser, path: &str) -> Value {
    b.client
        .execute_async(
            "const done = arguments[1]; fetch(arguments[0]).then(async r => done([r.status, r.headers.get('content-type'), await r.text()]))",
            vec![json!(path)],
        )
        .await
        .expect("fetch")
}

async fn fetch_json(b: &Browser, path: &str) -> Value {
    let got = fetch(b, path).await;
    assert_eq!(got[0], json!(200), "{path}: {got}");
    serde_json::from_str(got[2].as_str().expect("body")).expect("JSON")
}

#[tokio::test]
async fn login_refuses_a_wrong_password_and_reaches_the_dashboard_with_the_right_one() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        // Not logged in: any page sends to the login page, remembering where it was going.
        b.open("/servers").await;
        b.wait_for(
            "the login page",
            "return location.pathname === '/login' && location.search.includes('next=%2Fservers')",
        )
        .await;

        b.client
            .find(Locator::Css("input[name=username]"))
            .await
            .expect("field")
            .send_keys("admin")
            .await
            .expect("type");
        b.client
            .find(Locator::Css("input[name=password]"))
            .await
            .expect("field")
            .send_keys("not-the-password")
            .await
            .expect("type");
        b.client
            .find(Locator::Css("#login-form button[type=submit]"))
            .await
            .expect("submit")
            .click()
            .await
            .expect("click");
        b.wait_text("Wrong user name or password.").await;
        assert_eq!(b.js("return location.pathname").await, json!("/login"));

        b.login_admin().await;
        b.open("/").await;
        b.wait_text("Current utilisation").await;
        b.wait_text("Recent denials (24 h)").await;
        // The user and role come from GET /api/v1/session.
        assert_eq!(
            b.js("return document.querySelector('.user').textContent")
                .await,
            json!("admin (administrator)")
        );
        // The live servers' current use: a feature of each polled server is in the table.
        for feature in ["cad_modeler", "render", "OPTICS"] {
            b.wait_text(feature).await;
        }
        b.screenshot("dashboard-desktop").await;

        // The theme toggle: auto (light here) → dark, remembered across pages.
        let background = "return getComputedStyle(document.body).backgroundColor";
        assert_eq!(b.js(background).await, json!("rgb(247, 248, 250)"));
        b.client
            .find(Locator::Css(".theme-toggle"))
            .await
            .expect("toggle")
            .click()
            .await
            .expect("click");
        assert_eq!(b.js(background).await, json!("rgb(15, 18, 22)"));
        b.open("/features/history?server=hist-01").await;
        b.wait_for(
            "the history chart",
            "return !!(window.tally && window.tally.charts.history)",
        )
        .await;
        assert_eq!(b.js(background).await, json!("rgb(15, 18, 22)"));
        b.screenshot("history-desktop-dark").await;
        b
    })
    .await;
}

/// Each row's states by source, as the grid shows them.
const GRID_STATES: &str = "return Object.fromEntries([...document.querySelectorAll('tr.server-row')].map(r => [r.querySelector('a').textContent, Object.fromEntries([...r.querySelectorAll('.status')].map(e => [e.dataset.source, e.dataset.state]))]))";

#[tokio::test]
async fn the_grid_shows_every_status_of_every_demo_server_with_its_reason_on_tap() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login_admin().await;
        b.open("/servers").await;
        b.wait_for("the grid", WAIT_GRID).await;
        // The grid says what the API says, source by source (the flapping server aside: it
        // may change between the two reads).
        let api = fetch_json(&b, "/api/v1/license-servers").await;
        let grid = b.js(GRID_STATES).await;
        let api = api.as_array().expect("servers");
        assert_eq!(api.len(), SERVERS);
        for server in api {
            let name = server["name"].as_str().expect("name");
            if name == "lmx-live" {
                continue;
            }
            for source in ["remote", "import", "end_user"] {
                assert_eq!(grid[name][source], server["status"][source]["state"], "{name} {source}: {grid}");
            }
        }
        let states = |source: &str| -> Vec<String> {
            let mut v: Vec<String> = grid.as_object().expect("rows").values().filter_map(|r| r[source].as_str().map(str::to_owned)).collect();
            v.sort();
            v.dedup();
            v
        };
        // Polled servers are Online, generated and imported ones have no poller (N/A, never
        // Unmonitored); their imports succeeded and the polled servers are Ready to import.
        let remote = states("remote");
        assert!(remote.contains(&"Online".into()) && remote.contains(&"N/A".into()) && !remote.contains(&"Unmonitored".into()), "{remote:?}");
        let import = states("import");
        assert!(import.contains(&"Success".into()) && import.contains(&"Ready".into()), "{import:?}");
        // Vendor daemons and manager columns too (from the polls).
        b.wait_text("acmecad").await;

        // The LM-X server goes down every OUTAGE_EVERY seconds: the grid shows it Offline, with
        // the reason on hover and on tap.
        let offline = "document.querySelector('.status[data-source=remote][data-state=Offline]')";
        let started = std::time::Instant::now();
        loop {
            b.open("/servers").await;
            b.wait_for("the grid", WAIT_GRID).await;
            if b.js(&format!("return !!{offline}")).await == json!(true) {
                break;
            }
            assert!(started.elapsed().as_secs() < u64::from(OUTAGE_EVERY) * 4, "lmx-live never shown Offline");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        b.screenshot("servers-desktop").await;
        let row = b.js(&format!("return {offline}.closest('tr').querySelector('a').textContent")).await;
        assert_eq!(row, json!("lmx-live"));
        let title = b.js(&format!("return {offline}.querySelector('button').title")).await;
        let reason = b.js(&format!("return {offline}.querySelector('.reason').textContent")).await;
        let reason = reason.as_str().expect("reason").to_owned();
        assert!(!reason.is_empty() && title.as_str().expect("title").contains(&reason), "{title} / {reason}");
        assert_eq!(b.js(&format!("return {offline}.querySelector('.reason').hidden")).await, json!(true));
        b.client.find(Locator::Css(".status[data-source=remote][data-state=Offline] button")).await.expect("badge").click().await.expect("tap");
        assert_eq!(b.js(&format!("return {offline}.querySelector('.reason').hidden")).await, json!(false));

        // An administrator's write sends the CSRF token (the server refuses it otherwise):
        // the polled RLM server disabled shows Disabled for both its sources.
        let rlm = "const row = [...document.querySelectorAll('tr.server-row')].find(r => r.querySelector('a').textContent === 'rlm-live')";
        b.js(&format!("{rlm}; [...row.querySelectorAll('button')].find(x => x.textContent === 'Disable').click(); return true")).await;
        b.wait_for("rlm-live disabled", &format!("{rlm}; return row && row.querySelector('.status[data-source=remote]').dataset.state === 'Disabled' && row.querySelector('.status[data-source=import]').dataset.state === 'Disabled'")).await;
        let server = fetch_json(&b, "/api/v1/license-servers/rlm-live").await;
        assert_eq!(server["enabled"], json!(false));
        b
    })
    .await;
}

#[tokio::test]
async fn a_server_page_draws_usage_and_the_issued_capacity_line() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login_admin().await;
        b.open("/servers/hist-01?tab=history&feature=solver").await;
        b.wait_for("the history chart", "return !!(window.tally && window.tally.charts.history)").await;
        let series = b.js("return window.tally.charts.history.getOption().series.map(s => ({name: s.name, n: s.data.length, points: s.data.filter(p => p[1] !== null).length, step: s.step || null, last: s.data[s.data.length - 1]}))").await;
        let series = series.as_array().expect("series");
        let find = |name: &str| series.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no series {name} in {series:?}"));
        let peak = find("solver peak");
        // A month of daily points from the generated history.
        assert!(peak["points"].as_u64().expect("n") >= 20, "{peak}");
        // The issued count the generated history states, drawn on to the last point.
        let issued = find("solver issued");
        assert_eq!(issued["step"], json!("end"));
        assert_eq!(issued["last"][0], peak["last"][0], "{issued} {peak}");
        let api = fetch_json(&b, "/api/v1/license-servers/hist-01/features").await;
        let solver = api.as_array().expect("features").iter().find(|f| f["name"] == "solver").expect("solver");
        assert!(solver["issued"].as_u64().expect("issued") > 0);
        assert_eq!(issued["last"][1], solver["issued"]);
        // Drag to zoom is there, and the zoom goes into the URL.
        let zoom = b.js("return window.tally.charts.history.getOption().dataZoom.map(z => z.type)").await;
        assert_eq!(zoom, json!(["inside", "slider"]));
        b.js("window.tally.charts.history.dispatchAction({type: 'dataZoom', start: 50, end: 100}); return true").await;
        b.wait_for("the zoom in the URL", "return location.search.includes('zs=50')").await;
        b.screenshot("server-history-desktop").await;
        // ECharts came gzipped (what went over the wire is a third of the file).
        let sizes = b.js("const e = performance.getEntriesByType('resource').find(r => r.name.includes('/vendor/echarts-')); return e ? [e.encodedBodySize, e.decodedBodySize] : null").await;
        let (encoded, decoded) = (sizes[0].as_u64().expect("encoded"), sizes[1].as_u64().expect("decoded"));
        assert!(encoded > 0 && encoded * 2 < decoded, "{sizes}");

        // The seats-needed view answers from hourly history.
        b.open("/servers/hist-01?tab=history&feature=solver&view=utilisation").await;
        b.wait_for("the utilisation chart", "return !!(window.tally && window.tally.charts.utilisation)").await;
        b.wait_text("Enough 95 % of the time").await;
        b
    })
    .await;
}

#[tokio::test]
async fn an_imported_server_shows_current_usage_crossed_out_and_it_cannot_be_selected() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login_admin().await;
        b.open("/servers/plant-log").await;
        b.wait_for("the tabs", "return document.querySelector('.tab[data-tab=usage]')").await;
        let tab = b.js("const t = document.querySelector('.tab[data-tab=usage]'); return {disabled: t.disabled, crossed: !!t.querySelector('s'), cls: t.className, selected: t.getAttribute('aria-selected')}").await;
        assert_eq!(tab, json!({"disabled": true, "crossed": true, "cls": "tab unavailable", "selected": "false"}));
        assert_eq!(b.js("return document.querySelector('.tab[aria-selected=true]').dataset.tab").await, json!("history"));
        // A click does nothing; nor does asking for it in the URL.
        b.client.find(Locator::Css(".tab[data-tab=usage]")).await.expect("tab").click().await.ok();
        b.js("document.querySelector('.tab[data-tab=usage]').click(); return true").await;
        assert_eq!(b.js("return document.querySelector('.tab[aria-selected=true]').dataset.tab").await, json!("history"));
        assert_eq!(b.js("return location.search.includes('tab=usage')").await, json!(false));
        b.open("/servers/plant-log?tab=usage").await;
        b.wait_for("the tabs", "return document.querySelector('.tab-body')").await;
        assert_eq!(b.js("return document.querySelector('.tab-body').dataset.tab").await, json!("history"));
        // A polled server's Current usage tab works.
        b.open("/servers/flex-live").await;
        b.wait_for("current usage", "return document.querySelector('.tab-body[data-tab=usage]') && document.body.innerText.includes('Queued requests')").await;
        b
    })
    .await;
}

#[tokio::test]
async fn a_denial_shows_in_the_denials_views() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login_admin().await;
        // The imported log's denials (its two features have few licences).
        b.open("/servers/plant-log?tab=denials").await;
        b.wait_text("Licensed number of users already reached.").await;
        let rows = b.js("return [...document.querySelectorAll('.denials tbody tr')].map(r => r.innerText)").await;
        let row = rows[0].as_str().expect("a denial row");
        assert!(row.contains("user") && (row.contains("fem_solver") || row.contains("pre_post")), "{row}");

        b.open("/features/history?server=plant-log&view=denials").await;
        b.wait_for("the denials chart", "return !!(window.tally && window.tally.charts.denials)").await;
        let total = b.js("return window.tally.charts.denials.getOption().series.map(s => s.data.reduce((a, v) => a + (Array.isArray(v) ? (v[1] || 0) : (v || 0)), 0)).reduce((a, n) => a + n, 0)").await;
        assert!(total.as_f64().expect("sum") > 0.0, "denials per day summed: {total}");
        b
    })
    .await;
}

#[tokio::test]
async fn a_report_shows_its_api_url_and_downloads_its_csv() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login_admin().await;
        let from = (chrono::Utc::now() - chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
        b.open(&format!("/reports?name=usage&server=hist-01&from={from}&period=day")).await;
        b.wait_for("the report chart", "return !!(window.tally && window.tally.charts.report)").await;
        // Periods on a time axis (years apart stay apart), each point at its period's start.
        let axis = b.js("const o = window.tally.charts.report.getOption(); return [o.xAxis[0].type, o.series[0].data.find(p => p[1] !== null)[0]]").await;
        assert_eq!(axis[0], json!("time"), "{axis}");
        let first = axis[1].as_i64().expect("a point's time");
        assert_eq!(first % 86_400_000, 0, "a day period starts at midnight UTC: {axis}");
        let want = format!("/api/v1/reports/usage?server=hist-01&from={from}&period=day");
        assert_eq!(b.js("return document.getElementById('report-api-url').textContent").await, json!(want));
        let csv = b.js("return document.getElementById('report-csv').getAttribute('href')").await;
        assert_eq!(csv, json!(format!("{want}&format=csv")));
        // The link answers CSV to the logged-in browser, with the generated history in it.
        let got = fetch(&b, &format!("{want}&format=csv")).await;
        assert_eq!(got[0], json!(200));
        assert!(got[1].as_str().expect("type").starts_with("text/csv"), "{got}");
        let body = got[2].as_str().expect("body");
        assert!(body.starts_with("server,feature,period,"), "{got}");
        assert!(body.lines().skip(1).any(|l| l.starts_with("hist-01,solver,")), "{body}");

        // Every report of GET /reports has its tab, and a tab change keeps the shared filters.
        let reports = fetch_json(&b, "/api/v1/reports").await;
        assert_eq!(b.js("return document.querySelectorAll('.tab[data-report]').length").await, json!(reports.as_array().expect("reports").len()));
        b.client.find(Locator::Css(".tab[data-report=heatmap]")).await.expect("tab").click().await.expect("click");
        b.wait_for("the heatmap report", "return location.search.startsWith('?name=heatmap') && location.search.includes('server=hist-01') && !location.search.includes('period')").await;
        b
    })
    .await;
}

#[tokio::test]
async fn a_phone_sees_the_dashboard_and_grid_without_horizontal_scrolling() {
    with_browser(PHONE, true, |b: Browser| async move {
        b.login_admin().await;
        b.open("/").await;
        b.wait_text("Current utilisation").await;
        b.wait_text("cad_modeler").await;
        assert_eq!(b.js("return window.innerWidth").await, json!(PHONE.0));
        let fits =
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]";
        let widths = b.js(fits).await;
        assert!(
            widths[0].as_u64() <= widths[1].as_u64(),
            "dashboard scrolls sideways: {widths}"
        );
        b.screenshot("dashboard-phone").await;
        b.open("/servers").await;
        b.wait_for("the grid", WAIT_GRID).await;
        let widths = b.js(fits).await;
        assert!(
            widths[0].as_u64() <= widths[1].as_u64(),
            "grid scrolls sideways: {widths}"
        );
        // The menu folds away on a phone and opens on tap.
        assert_eq!(
            b.js("return getComputedStyle(document.getElementById('nav')).display")
                .await,
            json!("none")
        );
        b.client
            .find(Locator::Css(".menu-toggle"))
            .await
            .expect("menu")
            .click()
            .await
            .expect("tap");
        assert_eq!(
            b.js("return getComputedStyle(document.getElementById('nav')).display")
                .await,
            json!("flex")
        );
        b.screenshot("servers-phone").await;
        b
    })
    .await;
}

#[tokio::test]
async fn a_viewer_sees_no_administration() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        let viewer = b.demo.add_viewer();
        b.login(viewer).await;
        assert_eq!(b.js("return document.querySelector('.user').textContent").await, json!("viewer (viewer)"));
        b.open("/servers").await;
        b.wait_for("the grid", WAIT_GRID).await;
        let links = b.js("return [...document.querySelectorAll('#nav a')].map(a => a.getAttribute('href'))").await;
        assert!(!links.as_array().expect("links").contains(&json!("/admin")), "{links}");
        assert!(links.as_array().expect("links").contains(&json!("/reports")), "{links}");
        // No write controls on the grid.
        assert_eq!(b.js("return [...document.querySelectorAll('main button')].filter(x => ['Add server', 'Edit', 'Delete', 'Disable', 'Hide'].includes(x.textContent)).length").await, json!(0));
        b.open("/admin").await;
        b.wait_text("Administrators only").await;
        assert_eq!(b.js("return document.querySelector('.admin-body') === null && document.querySelector('main table') === null").await, json!(true));
        // The server agrees: the administration's API refuses a viewer.
        let accounts = fetch(&b, "/api/v1/accounts").await;
        assert_eq!(accounts[0], json!(403), "{accounts}");

        // The Licensing page reads; installing a licence is an administrator's.
        b.open("/licensing").await;
        b.wait_text("Community licence").await;
        assert_eq!(b.js("return document.querySelector('form.install-licence') === null").await, json!(true));
        // The Agents page reads (the demo has no agent); switching harvesting is an
        // administrator's.
        b.open("/agents").await;
        b.wait_text("No agent enrolled.").await;
        b
    })
    .await;
}

#[tokio::test]
async fn an_administrator_sees_every_administration_tab() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login_admin().await;
        for (tab, text) in [
            ("servers", "Add server"),
            ("accounts", "New account"),
            ("tokens", "New token"),
            ("plugins", "flexlm-log"),
            ("imports", "Import a log"),
        ] {
            b.open(&format!("/admin?tab={tab}")).await;
            b.wait_text(text).await;
        }
        // The plugins' actions reach the served admin routes: disabling one shows it disabled.
        b.open("/admin?tab=plugins").await;
        b.wait_text("flexlm-lmstat").await;
        b.js("const row = [...document.querySelectorAll('main tr')].find(r => r.firstChild && r.firstChild.textContent === 'sflm-log'); [...row.querySelectorAll('button')].find(x => x.textContent === 'Disable').click(); return true").await;
        b.wait_for("sflm-log disabled", "const row = [...document.querySelectorAll('main tr')].find(r => r.firstChild && r.firstChild.textContent === 'sflm-log'); return row && row.innerText.includes('disabled')").await;
        let plugins = fetch_json(&b, "/api/v1/admin/plugins").await;
        let sflm = plugins.as_array().expect("plugins").iter().find(|p| p["id"] == "sflm-log").expect("sflm-log");
        assert_eq!(sflm["enabled"], json!(false));
        b
    })
    .await;
}

#[tokio::test]
async fn an_uploaded_log_is_imported_and_its_progress_shown_until_done() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        // A FlexNet debug log of the demo's own making: what the simulator wrote for plant-log.
        let source = b.demo.dir.path().join("demo").join("logs").join("plant.log");
        let text = std::fs::read_to_string(&source).expect("the demo's log");
        let lines = text.lines().count();
        let head: String = text.lines().take(lines.min(400)).map(|l| format!("{l}\n")).collect();
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("plant2.log");
        std::fs::write(&log, &head).expect("write log");
        b.login_admin().await;
        b.open("/admin?tab=imports").await;
        b.wait_text("Import a log").await;
        let input = b.client.find(Locator::Css("input[type=file][name=file]")).await.expect("file input");
        input.send_keys(&log.display().to_string()).await.expect("choose file");
        b.client.find(Locator::Css("input[name=server]")).await.expect("server").send_keys("plant2").await.expect("type");
        b.js("[...document.querySelectorAll('main button')].find(x => x.textContent === 'Import').click(); return true").await;
        b.wait_for("the finished job", "return document.querySelector('.import-watch .job[data-state=done]')").await;
        let cards = b.js("return [...document.querySelectorAll('.import-watch .card')].map(c => c.innerText.replace(/\\s+/g, ' '))").await;
        let cards: Vec<&str> = cards.as_array().expect("cards").iter().filter_map(Value::as_str).collect();
        assert!(cards.contains(&format!("{} Lines", lines.min(400)).as_str()), "{cards:?}");
        assert!(cards.iter().any(|c| c.ends_with(" Sessions") && !c.starts_with("0 ")), "{cards:?}");
        b.wait_text("plant2.log → plant2").await;
        // The job list below shows it too, and the server exists.
        b.wait_for("the job list", "return [...document.querySelectorAll('main table td')].some(td => td.textContent === 'plant2.log')").await;
        let server = fetch_json(&b, "/api/v1/license-servers/plant2").await;
        assert_eq!(server["status"]["import"]["state"], json!("Success"));
        // The import history lists it first, by its name, above the demo's own imports.
        let rows = b.js("const t = [...document.querySelectorAll('main table')].pop(); return [...t.querySelectorAll('tbody tr')].map(r => [...r.cells].slice(1, 5).map(c => c.textContent))").await;
        let rows = rows.as_array().expect("history rows");
        assert_eq!(rows[0], json!(["plant2", "plant2.log", "flexlm-debuglog", "complete"]), "{rows:?}");
        assert!(rows.iter().any(|r| r[0] == json!("plant-log")), "the demo's import is there too: {rows:?}");
        b
    })
    .await;
}

/// Makes an issuer key and two licences for "Example Lab" (users 10, then 500) with the
/// real CLI; returns the public key and the two files' text.
fn licences(dir: &std::path::Path) -> (String, String, String) {
    let bin = support::tally_bin();
    let key = dir.join("issuer.key");
    let out = std::process::Command::new(&bin)
        .args(["license", "keygen", "--out"])
        .arg(&key)
        .output()
        .expect("keygen");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("public key: ").map(str::to_owned))
        .expect("public key");
    let issue = |users: &str| {
        let out = std::process::Command::new(&bin)
            .args([
                "license",
                "issue",
                "--licensee",
                "Example Lab",
                "--servers",
                "10",
                "--users",
                users,
                "--key",
            ])
            .arg(&key)
            .output()
            .expect("issue");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("text")
    };
    (public.trim().to_owned(), issue("10"), issue("500"))
}

#[tokio::test]
async fn restricted_access_mode_shows_a_banner_and_the_licensing_gauges_and_a_licence_lifts_it() {
    if support::chromedriver().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let (public, small, big) = licences(dir.path());
    with_browser_and(&[("TALLY_LICENSE_KEYS", &public)], DESKTOP, false, |b: Browser| async move {
        b.login_admin().await;
        b.open("/licensing").await;
        b.wait_for("the gauges", "return document.querySelectorAll('.gauge').length === 4").await;
        let servers = b.js("return document.querySelector('.gauge[data-limit=servers] .gauge-value').textContent").await;
        assert_eq!(servers, json!("7 of 10 (70 %)"));
        b.wait_text("No violation.").await;
        assert_eq!(b.js("return document.getElementById('banner').hidden").await, json!(true));

        // A file the server refuses: its reason is shown, nothing changes.
        b.js("document.querySelector('form.install-licence textarea').value = 'not a licence'; document.querySelector('form.install-licence button').click(); return true").await;
        b.wait_for("the refusal", "return document.querySelector('.install-status').textContent.length > 0 || document.querySelector('.error')").await;
        b.wait_text("No violation.").await;

        // A licence of ten users: the demo's users are far more; restricted access mode.
        b.js(&format!("document.querySelector('form.install-licence textarea').value = {}; document.querySelector('form.install-licence button').click(); return true", json!(small))).await;
        b.wait_for("the users gauge", "const g = document.querySelector('.gauge[data-limit=users] .gauge-value'); return g && / of 10 \\(/.test(g.textContent)").await;
        b.wait_for("the banner", "const e = document.getElementById('banner'); return !e.hidden && e.textContent.includes('Restricted access mode')").await;
        assert_eq!(b.js("return document.querySelector('#banner a').getAttribute('href')").await, json!("/licensing"));
        let level = b.js("return document.querySelector('.gauge[data-limit=users] .bar').className").await;
        assert_eq!(level, json!("bar bad"));
        b.wait_text("Restricted access mode").await;
        b.screenshot("licensing-restricted").await;
        // Other pages carry the banner too.
        b.open("/servers").await;
        b.wait_for("the banner", "const e = document.getElementById('banner'); return !e.hidden && e.textContent.includes('Restricted access mode')").await;

        // A licence of 500 users lifts it: gauges and banner follow, without a reload.
        b.open("/licensing").await;
        b.wait_for("the gauges", "return document.querySelectorAll('.gauge').length === 4").await;
        b.js(&format!("document.querySelector('form.install-licence textarea').value = {}; document.querySelector('form.install-licence button').click(); return true", json!(big))).await;
        b.wait_for("the lifted licence", "const g = document.querySelector('.gauge[data-limit=users] .gauge-value'); return g && / of 500 \\(/.test(g.textContent)").await;
        b.wait_for("the banner gone", "return document.getElementById('banner').hidden").await;
        b.wait_text("No violation.").await;
        b.wait_text("Example Lab").await;
        b
    })
    .await;
}
