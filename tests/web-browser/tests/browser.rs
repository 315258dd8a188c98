//! The dashboard in headless Chromium, against the fake API of `support/fake_api.rs`.
//! Without chromedriver these skip with a printed reason, except in CI where they fail.

mod support;

use fantoccini::Locator;
use serde_json::json;

use support::fake_api::{ADMIN, DENIAL_REASON, FIVE_USERS, OFFLINE_REASON, USER_LIMIT, VIEWER};
use support::{Browser, DESKTOP, PHONE, with_browser};

#[tokio::test]
async fn login_refuses_a_wrong_password_and_reaches_the_dashboard_with_the_right_one() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        // Not logged in: any page sends to the login page, remembering where it was going.
        b.open("/servers").await;
        b.wait_for("the login page", "return location.pathname === '/login' && location.search.includes('next=%2Fservers')").await;

        b.client.find(Locator::Css("input[name=username]")).await.expect("field").send_keys(ADMIN.0).await.expect("type");
        b.client.find(Locator::Css("input[name=password]")).await.expect("field").send_keys("not-the-password").await.expect("type");
        b.client.find(Locator::Css("#login-form button[type=submit]")).await.expect("submit").click().await.expect("click");
        b.wait_text("Wrong user name or password.").await;
        assert_eq!(b.js("return location.pathname").await, json!("/login"));

        b.login(ADMIN).await;
        b.open("/").await;
        b.wait_text("Current utilisation").await;
        b.wait_text("Recent denials (24 h)").await;
        // The user and role come from GET /api/v1/session.
        assert_eq!(b.js("return document.querySelector('.user').textContent").await, json!("admin (administrator)"));
        // Expiry bands: 3 days red, 20 days amber.
        b.wait_for("the expiry table", "return document.body.innerText.includes('3 d')").await;
        let bands = b.js("return [...document.querySelectorAll('.badge')].filter(e => /^\\d+ d$/.test(e.textContent)).map(e => e.textContent + ' ' + e.className)").await;
        let bands: Vec<&str> = bands.as_array().expect("list").iter().filter_map(|v| v.as_str()).collect();
        assert!(bands.contains(&"3 d badge bad"), "{bands:?}");
        assert!(bands.contains(&"20 d badge warn"), "{bands:?}");
        // The session open 30 h and alice on two hosts.
        b.wait_text("ws1, ws2").await;
        b.wait_text("1 d 6 h").await;
        b.screenshot("dashboard-desktop").await;

        // The theme toggle: auto (light here) → dark, remembered across pages.
        let background = "return getComputedStyle(document.body).backgroundColor";
        assert_eq!(b.js(background).await, json!("rgb(247, 248, 250)"));
        b.client.find(Locator::Css(".theme-toggle")).await.expect("toggle").click().await.expect("click");
        assert_eq!(b.js(background).await, json!("rgb(15, 18, 22)"));
        b.open("/features/history?server=flex-main").await;
        b.wait_for("the history chart", "return !!(window.tally && window.tally.charts.history)").await;
        assert_eq!(b.js(background).await, json!("rgb(15, 18, 22)"));
        b.screenshot("history-desktop-dark").await;
        b
    })
    .await;
}

#[tokio::test]
async fn the_grid_shows_every_status_of_every_source_with_its_reason_on_tap() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login(ADMIN).await;
        b.open("/servers").await;
        b.wait_for("the grid", "return document.querySelectorAll('tr.server-row').length === 7").await;
        let states = |source: &str| format!(
            "return [...new Set([...document.querySelectorAll('.status[data-source={source}]')].map(e => e.querySelector('.badge').firstChild.textContent))].sort()"
        );
        assert_eq!(
            b.js(&states("remote")).await,
            json!(["Disabled", "License Exceeded", "N/A", "Offline", "Online", "Unmonitored", "Verifying"])
        );
        assert_eq!(b.js(&states("import")).await, json!(["Disabled", "Failure", "License Exceeded", "N/A", "Ready", "Success"]));
        assert_eq!(b.js(&states("end_user")).await, json!(["Disabled", "N/A", "Offline", "Online (3)"]));
        // Columns of seed 001: vendor daemons and manager too.
        b.wait_text("rlmd 11.19").await;

        // The reason of a status: on hover (title) and on tap.
        let offline = "document.querySelector('.status[data-source=remote][data-state=Offline]')";
        let title = b.js(&format!("return {offline}.querySelector('button').title")).await;
        assert!(title.as_str().expect("title").contains(OFFLINE_REASON), "{title}");
        assert_eq!(b.js(&format!("return {offline}.querySelector('.reason').hidden")).await, json!(true));
        b.client.find(Locator::Css(".status[data-source=remote][data-state=Offline] button")).await.expect("badge").click().await.expect("tap");
        assert_eq!(b.js(&format!("return {offline}.querySelector('.reason').hidden")).await, json!(false));
        assert_eq!(b.js(&format!("return {offline}.querySelector('.reason').textContent")).await, json!(OFFLINE_REASON));

        // An administrator's write sends the CSRF token (the fake refuses it otherwise).
        b.js("const row = [...document.querySelectorAll('tr.server-row')].find(r => r.textContent.includes('lmx-new')); [...row.querySelectorAll('button')].find(x => x.textContent === 'Disable').click(); return true").await;
        b.wait_for("lmx-new disabled", "const row = [...document.querySelectorAll('tr.server-row')].find(r => r.textContent.includes('lmx-new')); return row && row.querySelector('.status[data-source=remote]').dataset.state === 'Disabled'").await;
        b.screenshot("servers-desktop").await;
        b
    })
    .await;
}

#[tokio::test]
async fn a_server_page_draws_usage_with_gaps_and_the_issued_capacity_line() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login(ADMIN).await;
        b.open("/servers/flex-main?tab=history&feature=solver").await;
        b.wait_for("the history chart", "return !!(window.tally && window.tally.charts.history)").await;
        let series = b.js("return window.tally.charts.history.getOption().series.map(s => ({name: s.name, n: s.data.length, nulls: s.data.filter(p => p[1] === null).length, step: s.step || null, last: s.data[s.data.length - 1]}))").await;
        let series = series.as_array().expect("series");
        let find = |name: &str| series.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no series {name} in {series:?}"));
        let peak = find("solver peak");
        assert!(peak["n"].as_u64().expect("n") > 20, "{peak}");
        // Three days without data are one gap (a null), not zeros.
        assert_eq!(peak["nulls"], json!(1), "{peak}");
        let issued = find("solver issued");
        // Its two changes (10, then 12), drawn on to the last point of usage.
        assert_eq!(issued["n"], json!(3));
        assert_eq!(issued["step"], json!("end"));
        assert_eq!(issued["last"][0], peak["last"][0]);
        assert_eq!(issued["last"][1], json!(12));
        // Drag to zoom is there, and the zoom goes into the URL.
        let zoom = b.js("return window.tally.charts.history.getOption().dataZoom.map(z => z.type)").await;
        assert_eq!(zoom, json!(["inside", "slider"]));
        b.js("window.tally.charts.history.dispatchAction({type: 'dataZoom', start: 50, end: 100}); return true").await;
        b.wait_for("the zoom in the URL", "return location.search.includes('zs=50')").await;
        b.screenshot("server-history-desktop").await;

        // The seats-needed view answers from hourly history.
        b.open("/servers/flex-main?tab=history&feature=solver&view=utilisation").await;
        b.wait_for("the utilisation chart", "return !!(window.tally && window.tally.charts.utilisation)").await;
        b.wait_text("Enough 95 % of the time").await;
        b
    })
    .await;
}

#[tokio::test]
async fn an_imported_server_shows_current_usage_crossed_out_and_it_cannot_be_selected() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login(ADMIN).await;
        b.open("/servers/sflm-import").await;
        b.wait_for("the tabs", "return document.querySelector('.tab[data-tab=usage]')").await;
        let tab = b.js("const t = document.querySelector('.tab[data-tab=usage]'); return {disabled: t.disabled, crossed: !!t.querySelector('s'), cls: t.className, selected: t.getAttribute('aria-selected')}").await;
        assert_eq!(tab, json!({"disabled": true, "crossed": true, "cls": "tab unavailable", "selected": "false"}));
        assert_eq!(b.js("return document.querySelector('.tab[aria-selected=true]').dataset.tab").await, json!("history"));
        // A click does nothing; nor does asking for it in the URL.
        b.client.find(Locator::Css(".tab[data-tab=usage]")).await.expect("tab").click().await.ok();
        b.js("document.querySelector('.tab[data-tab=usage]').click(); return true").await;
        assert_eq!(b.js("return document.querySelector('.tab[aria-selected=true]').dataset.tab").await, json!("history"));
        assert_eq!(b.js("return location.search.includes('tab=usage')").await, json!(false));
        b.open("/servers/sflm-import?tab=usage").await;
        b.wait_for("the tabs", "return document.querySelector('.tab-body')").await;
        assert_eq!(b.js("return document.querySelector('.tab-body').dataset.tab").await, json!("history"));
        // A polled server's Current usage tab works.
        b.open("/servers/flex-main").await;
        b.wait_for("current usage", "return document.querySelector('.tab-body[data-tab=usage]') && document.body.innerText.includes('Queued requests')").await;
        b
    })
    .await;
}

#[tokio::test]
async fn a_denial_shows_in_the_denials_views() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login(ADMIN).await;
        b.open("/servers/flex-main?tab=denials").await;
        b.wait_text(DENIAL_REASON).await;
        let row = b.js("return [...document.querySelectorAll('.denials tbody tr')].map(r => r.innerText)").await;
        let row = row[0].as_str().expect("a denial row");
        assert!(row.contains("alice") && row.contains("solver") && row.contains("capacity"), "{row}");

        b.open("/features/history?server=flex-main&view=denials").await;
        b.wait_for("the denials chart", "return !!(window.tally && window.tally.charts.denials)").await;
        let data = b.js("return window.tally.charts.denials.getOption().series.map(s => s.data.reduce((a, v) => a + (v || 0), 0))").await;
        assert_eq!(data, json!([3]), "denials per day summed");
        b.wait_text(DENIAL_REASON).await;
        b
    })
    .await;
}

#[tokio::test]
async fn a_report_shows_its_api_url_and_downloads_its_csv() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login(ADMIN).await;
        b.open("/reports?name=usage&server=flex-main&from=2026-11-01&period=day").await;
        b.wait_for("the report chart", "return !!(window.tally && window.tally.charts.report)").await;
        let want = "/api/v1/reports/usage?server=flex-main&from=2026-11-01&period=day";
        assert_eq!(b.js("return document.getElementById('report-api-url').textContent").await, json!(want));
        let csv = b.js("return document.getElementById('report-csv').getAttribute('href')").await;
        assert_eq!(csv, json!(format!("{want}&format=csv")));
        // The link answers CSV to the logged-in browser.
        let got = b.client.execute_async(
            "const done = arguments[0]; fetch(document.getElementById('report-csv').href).then(async r => done([r.status, r.headers.get('content-type'), await r.text()]))",
            vec![],
        ).await.expect("fetch");
        assert_eq!(got[0], json!(200));
        assert!(got[1].as_str().expect("type").starts_with("text/csv"), "{got}");
        assert!(got[2].as_str().expect("body").starts_with("server,feature,period,"), "{got}");

        // Every report of GET /reports has its tab, and a tab change keeps the shared filters.
        assert_eq!(b.js("return document.querySelectorAll('.tab[data-report]').length").await, json!(10));
        b.client.find(Locator::Css(".tab[data-report=heatmap]")).await.expect("tab").click().await.expect("click");
        b.wait_for("the heatmap report", "return location.search.startsWith('?name=heatmap') && location.search.includes('server=flex-main') && !location.search.includes('period')").await;
        b
    })
    .await;
}

#[tokio::test]
async fn a_phone_sees_the_dashboard_and_grid_without_horizontal_scrolling() {
    with_browser(PHONE, true, |b: Browser| async move {
        b.login(ADMIN).await;
        b.open("/").await;
        b.wait_text("Current utilisation").await;
        b.wait_for(
            "the expiry table",
            "return document.body.innerText.includes('20 d')",
        )
        .await;
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
        b.wait_for(
            "the grid",
            "return document.querySelectorAll('tr.server-row').length === 7",
        )
        .await;
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
        b.login(VIEWER).await;
        b.open("/servers").await;
        b.wait_for("the grid", "return document.querySelectorAll('tr.server-row').length === 7").await;
        let links = b.js("return [...document.querySelectorAll('#nav a')].map(a => a.getAttribute('href'))").await;
        assert!(!links.as_array().expect("links").contains(&json!("/admin")), "{links}");
        assert!(links.as_array().expect("links").contains(&json!("/reports")), "{links}");
        // No write controls on the grid.
        assert_eq!(b.js("return [...document.querySelectorAll('main button')].filter(x => ['Add server', 'Edit', 'Delete', 'Disable', 'Hide'].includes(x.textContent)).length").await, json!(0));
        b.open("/admin").await;
        b.wait_text("Administrators only").await;
        assert_eq!(b.js("return document.querySelector('.admin-body') === null && document.querySelector('main table') === null").await, json!(true));

        // The Licensing page reads; installing a licence is an administrator's.
        b.open("/licensing").await;
        b.wait_text("Perpetual licence for Example Lab").await;
        assert_eq!(b.js("return document.querySelector('form.install-licence') === null").await, json!(true));
        // Pages whose endpoints are not there yet say so.
        b.open("/agents").await;
        b.wait_text("End-user agents are not available on this Tally server.").await;
        b
    })
    .await;
}

#[tokio::test]
async fn an_administrator_sees_every_administration_tab() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login(ADMIN).await;
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
        b
    })
    .await;
}

#[tokio::test]
async fn an_uploaded_log_is_imported_and_its_progress_shown_until_done() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("plant.log");
        std::fs::write(&log, "12:00:00 (lmgrd) line one\n12:00:01 (acme) OUT: \"solver\" alice@ws1\nnot a log line\n")
            .expect("write log");
        b.login(ADMIN).await;
        b.open("/admin?tab=imports").await;
        b.wait_text("Import a log").await;
        let input = b.client.find(Locator::Css("input[type=file][name=file]")).await.expect("file input");
        input.send_keys(&log.display().to_string()).await.expect("choose file");
        b.client.find(Locator::Css("input[name=server]")).await.expect("server").send_keys("plant").await.expect("type");
        b.js("[...document.querySelectorAll('main button')].find(x => x.textContent === 'Import').click(); return true").await;
        // Queued, running with half the lines, then done with the summary.
        b.wait_for("the finished job", "return document.querySelector('.import-watch .job[data-state=done]')").await;
        let cards = b.js("return [...document.querySelectorAll('.import-watch .card')].map(c => c.innerText.replace(/\\s+/g, ' '))").await;
        assert_eq!(cards, json!(["3 Lines", "2 Sessions", "1 Denials", "1 Malformed"]));
        b.wait_text("plant.log → plant").await;
        // The job list below shows it too.
        b.wait_for("the job list", "return [...document.querySelectorAll('main table td')].some(td => td.textContent === 'plant.log')").await;
        b
    })
    .await;
}

#[tokio::test]
async fn restricted_access_mode_shows_a_banner_and_the_licensing_gauges_and_a_licence_lifts_it() {
    with_browser(DESKTOP, false, |b: Browser| async move {
        b.login(ADMIN).await;
        b.open("/servers").await;
        // The banner names the violation and leads to what to do next.
        b.wait_for("the banner", "const e = document.getElementById('banner'); return !e.hidden && e.textContent.includes('Restricted access mode')").await;
        let banner = b.js("return document.getElementById('banner').textContent").await;
        assert!(banner.as_str().expect("text").contains(USER_LIMIT), "{banner}");
        assert_eq!(b.js("return document.querySelector('#banner a').getAttribute('href')").await, json!("/licensing"));

        b.open("/licensing").await;
        b.wait_for("the gauges", "return document.querySelectorAll('.gauge').length === 4").await;
        let users = b.js("const g = document.querySelector('.gauge[data-limit=users]'); return {value: g.querySelector('.gauge-value').textContent, level: g.querySelector('.bar').className, width: g.querySelector('.bar > span').style.width}").await;
        assert_eq!(users, json!({"value": "2 of 1 (200 %)", "level": "bar bad", "width": "100%"}));
        let servers = b.js("const g = document.querySelector('.gauge[data-limit=servers]'); return {value: g.querySelector('.gauge-value').textContent, level: g.querySelector('.bar').className}").await;
        assert_eq!(servers, json!({"value": "7 of 10 (70 %)", "level": "bar warn"}));
        b.wait_text("Load a licence with a higher user limit.").await;
        b.wait_text("Restricted access mode").await;
        b.screenshot("licensing-restricted").await;

        // A file the server refuses: its reason is shown, nothing changes.
        b.js("document.querySelector('form.install-licence textarea').value = 'not a licence'; document.querySelector('form.install-licence button').click(); return true").await;
        b.wait_text("no valid signature").await;
        // A licence of five users lifts it: gauges and banner follow, without a reload.
        b.js(&format!("document.querySelector('form.install-licence textarea').value = {}; document.querySelector('form.install-licence button').click(); return true", json!(FIVE_USERS))).await;
        b.wait_for("the lifted licence", "const g = document.querySelector('.gauge[data-limit=users] .gauge-value'); return g && g.textContent === '2 of 5 (40 %)'").await;
        b.wait_for("the banner gone", "return document.getElementById('banner').hidden").await;
        b.wait_text("No violation.").await;
        b
    })
    .await;
}
