//! `pixelcnn serve` through the real binary, on stores filled by tiny real sweeps: what a person
//! sees in headless Chromium (driven over WebDriver by Debian's chromedriver) — the runs table, a
//! sort, a filter, a curve's points, a new epoch appearing without a reload — and what a hostile
//! or careless request gets: escaped pages, 404s, 401 without the token off loopback, and a clear
//! error at start for a database that is missing or from a newer schema. SQLite and PostgreSQL.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{pixelcnn, text};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Strings that would run, break out of an attribute or walk the file system if a page pasted
/// them: `window.__xss` is set only if one of them ever executes.
const HOSTILE_NOTE: &str =
    "<script>window.__xss=1</script>\"><img src=x onerror=\"window.__xss=2\"> ../../etc/passwd";
const HOSTILE_TAG: &str = "<script>window.__xss=3</script>";
const HOSTILE_NAME: &str = "<img src=x onerror=window.__xss=4>";

/// A tiny experiment: `levels` swept over one seed (plus `extra` TOML), pictures every epoch.
fn write_experiment(dir: &Path, file: &str, name: &str, epochs: u32, extra: &str) -> PathBuf {
    let path = dir.join(file);
    let toml = format!(
        "device = \"cpu\"\nthreads = 1\n\
         [experiment]\nname = '{name}'\ndescription = \"serve test\"\n\
         [data]\ntrain_limit = 256\ntest_limit = 32\n\
         [model]\nblocks = 1\nhidden = 4\n\
         [train]\nepochs = {epochs}\nbatch_size = 64\nlr = 0.005\n\
         [sample]\nevery = 1\ncount = 4\ncomplete = 2\n\
         {extra}\n"
    );
    std::fs::write(&path, toml).unwrap();
    path
}

/// `pixelcnn sweep FILE` into `db` (a file or URL), runs under `dir`.
fn sweep(dir: &Path, file: &Path, db: &str) -> Command {
    let mut cmd = pixelcnn();
    cmd.current_dir(dir).args(["sweep", file.to_str().unwrap(), "--db", db, "--no-report"]);
    cmd
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("pixelcnn starts");
    assert!(out.status.success(), "{cmd:?} failed:\n{}", text(&out));
    text(&out)
}

/// Run ids of `db`, oldest first.
fn run_ids(db: &str) -> Vec<String> {
    let out = ok(pixelcnn().args(["runs", "--db", db, "--json"]));
    let runs: Value = serde_json::from_str(&out).unwrap();
    runs.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

/// A running `pixelcnn serve`, stopped when dropped.
struct Served {
    child: Child,
    /// The address it printed (with `?token=` when one is required).
    url: String,
}

impl Served {
    fn start(db: &str, extra: &[&str]) -> Served {
        let mut child = pixelcnn()
            .args(["serve", "--db", db, "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("pixelcnn serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("serve prints its address").unwrap();
        // Keep reading: a closed pipe would end the server at its next line.
        std::thread::spawn(move || lines.for_each(drop));
        let url = first.rsplit(" at ").next().unwrap().to_owned();
        assert!(url.starts_with("http://"), "{first}");
        Served { child, url }
    }

    /// The server's origin, `http://HOST:PORT`.
    fn origin(&self) -> &str {
        let rest = &self.url["http://".len()..];
        &self.url[..("http://".len() + rest.find('/').unwrap())]
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP GET: status, headers and body, whatever the status.
fn http_get(url: &str, headers: &[(&str, &str)]) -> (u16, ureq::http::HeaderMap, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut request = agent.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, headers, body)
}

fn get_json(url: &str) -> Value {
    let (status, _, body) = http_get(url, &[]);
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---- the browser ----------------------------------------------------------------------------

/// Debian's chromedriver and Chromium (`.ci/run` installs both), or those named by
/// `PIXELCNN_CHROMEDRIVER` and `PIXELCNN_CHROMIUM`.
fn tool(env: &str, candidates: &[&str], package: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return path.into();
    }
    candidates.iter().map(PathBuf::from).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "no {package} found: `apt-get install chromium chromium-driver` (the CI script does) or set {env}"
        )
    })
}

/// A headless Chromium under chromedriver, both stopped when dropped.
struct Browser {
    driver: Child,
    client: Option<Client>,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
        let driver_path = tool("PIXELCNN_CHROMEDRIVER", &["/usr/bin/chromedriver"], "chromedriver");
        let chromium =
            tool("PIXELCNN_CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"], "Chromium");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", driver_path.display()));
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                // The flags this machine's closed network needs (see report_cli.rs).
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1400,2000",
                         format!("--user-data-dir={}", profile.path().display())],
            }),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("chromedriver on port {port}: {e}"),
            }
        };
        Browser { driver, client: Some(client), _profile: profile }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    /// Evaluates `script` (a function body) in the page.
    async fn eval(&self, script: &str) -> Value {
        self.client().execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
    }

    /// Waits until `script` returns true (at most a minute: a generous bound, not a timing).
    async fn until(&self, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.eval(script).await == Value::Bool(true) {
                return;
            }
            assert!(Instant::now() < deadline, "the page never showed {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The text of the cells of column `key` in the runs table, top to bottom.
    async fn column(&self, key: &str) -> Vec<String> {
        let script = format!(
            "const i = [...document.querySelectorAll('#runs th')].findIndex(th => th.dataset.key === '{key}');
             return [...document.querySelectorAll('#runs tbody tr')].map(tr => tr.children[i].textContent);"
        );
        serde_json::from_value(self.eval(&script).await).unwrap()
    }

    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where screenshots go for a person to look at: `PIXELCNN_SCREENSHOTS`, else cargo's temporary
/// folder (not the shared system one, where another user's files of the same name may stand).
fn screenshot_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("PIXELCNN_SCREENSHOTS")
        .map_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.client().screenshot().await.unwrap();
    let picture = image::load_from_memory(&png).expect("a PNG screenshot").to_luma8();
    let first = picture.pixels().next().unwrap().0[0];
    assert!(picture.pixels().any(|p| p.0[0].abs_diff(first) > 64), "a blank screenshot of {name}");
    std::fs::write(screenshot_path(name), png).unwrap();
}

/// A script: whether the test bits/dim chart has `n` points over all its lines.
fn points_are(n: usize) -> String {
    format!(
        "const f = document.querySelector('figure.chart[data-title=\"Test bits/dim\"]'); return f !== null && f.dataset.points === '{n}';"
    )
}

// ---- tests ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_shows_sorts_filters_and_follows_a_sweep_live() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = root.join("results.db");
    let db = db.to_str().unwrap();
    let file = write_experiment(root, "tiny.toml", "tiny-live", 2, "[sweep]\n\"model.levels\" = [2, 4]\n");
    ok(&mut sweep(root, &file, db));
    let ids = run_ids(db);
    ok(pixelcnn().args(["tag", &ids[1], "+keep", "--db", db]));
    let served = Served::start(db, &[]);
    assert_eq!(served.url, format!("{}/", served.origin()), "no token on loopback: {}", served.url);

    let browser = Browser::start().await;
    let c = browser.client();
    c.goto(&served.at("/")).await.unwrap();
    browser
        .until("the experiment", "return document.querySelector('[data-experiment=\"tiny-live\"]') !== null")
        .await;
    c.find(Locator::Css("a.experiment")).await.unwrap().click().await.unwrap();
    browser.until("two runs", "return document.querySelectorAll('#runs tbody tr').length === 2").await;
    browser.eval("window.__same_page = true; return true;").await;
    screenshot(&browser, "serve-experiment.png").await;

    // Sort by test bits/dim: ascending, then descending on a second click.
    let numbers = |cells: Vec<String>| cells.iter().map(|c| c.parse::<f64>().unwrap()).collect::<Vec<_>>();
    c.find(Locator::Css("#runs th[data-key=test_bits_per_dim]")).await.unwrap().click().await.unwrap();
    let up = numbers(browser.column("test_bits_per_dim").await);
    assert!(up[0] <= up[1], "ascending: {up:?}");
    c.find(Locator::Css("#runs th[data-key=test_bits_per_dim]")).await.unwrap().click().await.unwrap();
    let down = numbers(browser.column("test_bits_per_dim").await);
    assert_eq!(down, [up[1], up[0]], "descending");

    // Filter: a key's value, a metric threshold, a tag.
    let filter = c.find(Locator::Id("where-filter")).await.unwrap();
    filter.send_keys("model.levels=4").await.unwrap();
    assert_eq!(browser.column("swept.model.levels").await, ["4"]);
    filter.clear().await.unwrap();
    filter.send_keys(&format!("test_bits_per_dim<{}", (up[0] + up[1]) / 2.0)).await.unwrap();
    assert_eq!(numbers(browser.column("test_bits_per_dim").await), [up[0]]);
    filter.clear().await.unwrap();
    browser.until("both runs again", "return document.querySelectorAll('#runs tbody tr').length === 2").await;
    c.find(Locator::Css("#tag-filter option[value=keep]")).await.unwrap().click().await.unwrap();
    assert_eq!(browser.column("tags").await, ["keep"]);
    c.find(Locator::Css("#tag-filter option[value='']")).await.unwrap().click().await.unwrap();

    // A curve with one point per recorded epoch: two runs of two epochs.
    browser.until("4 points on the test curve", &points_are(4)).await;
    // The learning rate decays by a few parts in a million here: a linear axis whose ticks all
    // read differently (a log axis, or three decimals, labelled every tick "0.001").
    let ticks = browser
        .eval("return document.querySelector('figure.chart[data-title=\"Learning rate\"]').dataset.yTicks")
        .await;
    let ticks: Vec<&str> = ticks.as_str().unwrap_or_default().split('|').collect();
    let distinct: std::collections::BTreeSet<_> = ticks.iter().collect();
    assert!(ticks.len() >= 2 && distinct.len() == ticks.len(), "learning-rate ticks: {ticks:?}");
    // The newest samples and completions of each configuration, decoded.
    browser
        .until(
            "four pictures",
            "const images = [...document.querySelectorAll('#configurations img')];
             return images.length === 4 && images.every(i => i.complete && i.naturalWidth > 0);",
        )
        .await;

    // A second sweep writes a new seed of the same experiment: its run and epochs appear without
    // a reload.
    let more =
        write_experiment(root, "more.toml", "tiny-live", 3, "[sweep]\n\"model.levels\" = [2]\nseeds = [9]\n");
    let mut writer = sweep(root, &more, db).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    browser.until("the new run", "return document.querySelectorAll('#runs tbody tr').length === 3").await;
    browser
        .until(
            "the new run's last epoch",
            "return [...document.querySelectorAll('#runs tbody tr')].some(tr => tr.textContent.includes('3/3'))",
        )
        .await;
    assert!(writer.wait().unwrap().success());
    assert_eq!(
        browser.eval("return window.__same_page === true").await,
        Value::Bool(true),
        "the page reloaded"
    );
    browser.until("2 + 2 + 3 points on the test curve", &points_are(7)).await;

    // The run page and a comparison of all three.
    let ids = run_ids(db);
    c.goto(&served.at(&format!("/runs/{}", &ids[2][..8]))).await.unwrap();
    browser.until("three epochs", "return document.querySelectorAll('#epochs tbody tr').length === 3").await;
    assert_eq!(browser.eval("return document.getElementById('run-status').textContent").await, "finished");
    screenshot(&browser, "serve-run.png").await;
    c.goto(&served.at(&format!("/compare?runs={}", ids.join(",")))).await.unwrap();
    browser
        .until("the final metrics", "return document.querySelectorAll('#finals thead th').length === 4")
        .await;
    let differing = browser
        .eval("return [...document.querySelectorAll('#diff tbody td:first-child')].map(t => t.textContent)")
        .await;
    let differing: Vec<String> = serde_json::from_value(differing).unwrap();
    assert!(
        differing.contains(&"model.levels".into()) && differing.contains(&"seed".into()),
        "{differing:?}"
    );
    screenshot(&browser, "serve-compare.png").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_strings_stay_text_and_no_file_outside_the_store_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let db = root.join("results.db");
    let db = db.to_str().unwrap();
    let file = write_experiment(root, "x.toml", HOSTILE_NAME, 1, "");
    ok(&mut sweep(root, &file, db));
    let id = run_ids(db).remove(0);
    ok(pixelcnn().args(["tag", &id, &format!("+{HOSTILE_TAG}"), "--db", db]));
    ok(pixelcnn().args(["note", &id, HOSTILE_NOTE, "--db", db]));
    let served = Served::start(db, &[]);

    // The server's own HTML never carries the strings as markup.
    for path in [
        "/".to_owned(),
        format!("/experiments/{}", enc(HOSTILE_NAME)),
        format!("/runs/{id}"),
        format!("/experiments/{}/report", enc(HOSTILE_NAME)),
    ] {
        let (status, headers, body) = http_get(&served.at(&path), &[]);
        assert_eq!(status, 200, "{path}: {body}");
        for raw in ["<img src=x", "<script>window", "onerror=\"window"] {
            assert!(!body.contains(raw), "{path} carries {raw:?} as markup");
        }
        let policy = headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(policy.contains("script-src 'self'"), "{policy}");
    }
    let (_, _, page) = http_get(&served.at(&format!("/experiments/{}", enc(HOSTILE_NAME))), &[]);
    assert!(page.contains("&lt;img src=x onerror=window.__xss=4&gt;"), "the name is shown, escaped: {page}");

    // Requests that try to reach files get 404s, and so do unknown runs and experiments.
    for path in [
        "/assets/..%2F..%2FCargo.toml",
        "/assets/%2e%2e%2f%2e%2e%2fCargo.toml",
        "/assets/../../Cargo.toml",
        "/pictures/..%2F..%2F..%2Fetc%2Fpasswd",
        "/pictures/00000000-0000-0000-0000-000000000000",
        "/runs/ffffffff",
        "/runs/..%2F..%2Fetc%2Fpasswd",
        "/experiments/no-such-experiment",
        "/etc/passwd",
    ] {
        let (status, _, body) = http_get(&served.at(path), &[]);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("root:"), "{path} served a system file");
    }
    // A checkpoint is a file artefact: it has no picture address.
    let artefacts = get_json(&served.at(&format!("/api/runs/{id}")));
    assert!(artefacts["files"].as_array().unwrap().iter().any(|f| f["kind"] == "checkpoint"));
    for method in ["POST", "PUT", "DELETE"] {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(served.at("/api/experiments"))
            .body(())
            .unwrap();
        let status = agent.run(request).unwrap().status().as_u16();
        assert_eq!(status, 405, "{method} must not be accepted");
    }

    // In the browser: the strings are shown as text, and none of them ran.
    let browser = Browser::start().await;
    let c = browser.client();
    c.goto(&served.at(&format!("/experiments/{}", enc(HOSTILE_NAME)))).await.unwrap();
    browser.until("the run", "return document.querySelectorAll('#runs tbody tr').length === 1").await;
    let shown = browser.eval("return document.querySelector('#runs tbody').textContent").await;
    assert!(shown.as_str().unwrap().contains(HOSTILE_NOTE) && shown.as_str().unwrap().contains(HOSTILE_TAG));
    c.goto(&served.at(&format!("/runs/{id}"))).await.unwrap();
    browser.until("the run page", "return document.querySelector('#summary dl') !== null").await;
    let state = browser
        .eval(
            "return { xss: window.__xss === undefined, scripts: document.scripts.length,
                      injected: document.querySelectorAll('main img[onerror], main script').length }",
        )
        .await;
    assert_eq!(state, json!({ "xss": true, "scripts": 2, "injected": 0 }), "markup from the store ran");
    browser.close().await;
}

#[test]
fn off_loopback_every_request_needs_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("results.db");
    let db = db.to_str().unwrap();
    let file = write_experiment(dir.path(), "t.toml", "tokened", 1, "");
    ok(&mut sweep(dir.path(), &file, db));

    let served = Served::start(db, &["--host", "0.0.0.0"]);
    let token = served.url.split("?token=").nth(1).expect("a generated token is printed").to_owned();
    assert!(token.len() >= 32, "{token}");
    let port = served.origin().rsplit(':').next().unwrap().to_owned();
    let base = format!("http://127.0.0.1:{port}");
    for path in ["/", "/api/experiments", "/assets/app.js", "/experiments/tokened", "/no-such-page"] {
        assert_eq!(http_get(&format!("{base}{path}"), &[]).0, 401, "{path} without the token");
        let wrong = format!("Bearer {}", "0".repeat(token.len()));
        assert_eq!(
            http_get(&format!("{base}{path}"), &[("Authorization", &wrong)]).0,
            401,
            "{path}, wrong token"
        );
    }
    let (status, headers, _) = http_get(&format!("{base}/?token={token}"), &[]);
    assert_eq!(status, 200);
    let cookie = headers.get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_owned();
    assert_eq!(
        http_get(&format!("{base}/api/experiments"), &[("Cookie", &cookie)]).0,
        200,
        "the cookie works"
    );
    let bearer = format!("Bearer {token}");
    let (status, _, body) = http_get(&format!("{base}/api/experiments"), &[("Authorization", &bearer)]);
    assert_eq!(status, 200);
    assert!(body.contains("tokened"), "{body}");
    drop(served);

    // A token given on loopback is required too.
    let served = Served::start(db, &["--token", "s3cret-token"]);
    assert!(served.url.ends_with("?token=s3cret-token"), "{}", served.url);
    assert_eq!(http_get(&served.at("/api/experiments"), &[]).0, 401);
    assert_eq!(http_get(&served.at("/api/experiments?token=s3cret-token"), &[]).0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_newer_database_stops_serve_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here.db");
    let out = pixelcnn().args(["serve", "--db", missing.to_str().unwrap(), "--port", "0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("nothing-here.db"), "{}", text(&out));
    assert!(!missing.exists(), "serve created the database");

    let db = dir.path().join("newer.db");
    let file = write_experiment(dir.path(), "n.toml", "newer", 1, "");
    ok(&mut sweep(dir.path(), &file, db.to_str().unwrap()));
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let out = pixelcnn().args(["serve", "--db", db.to_str().unwrap(), "--port", "0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("newer pixelcnn") && text(&out).contains("9999"), "{}", text(&out));

    let unreachable = "postgres://pixelcnn:pixelcnn@127.0.0.1:1/nothing";
    let out = pixelcnn().args(["serve", "--db", unreachable, "--port", "0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("127.0.0.1:1"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reads_postgres_and_its_stamp_follows_changes() {
    let Some(pg) = pixelcnn_store::scratch::ScratchPostgres::for_test().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let file =
        write_experiment(dir.path(), "pg.toml", "on-postgres", 1, "[sweep]\n\"model.levels\" = [2, 4]\n");
    ok(&mut sweep(dir.path(), &file, pg.url()));
    let served = Served::start(pg.url(), &[]);
    assert!(!served.url.contains("pixelcnn@"), "no password printed: {}", served.url);

    let experiment = get_json(&served.at("/api/experiments/on-postgres"));
    assert_eq!(experiment["runs"].as_array().unwrap().len(), 2);
    assert_eq!(experiment["configurations"].as_array().unwrap().len(), 2);
    let curves = get_json(&served.at("/api/experiments/on-postgres/curves"));
    assert!(curves["runs"].as_array().unwrap().iter().all(|r| r["epoch"] == json!([1])));
    let stamp = || get_json(&served.at("/api/stamp?experiment=on-postgres"))["stamp"].clone();
    let before = stamp();
    assert_eq!(stamp(), before, "a stamp moves only when the store changes");
    let id = run_ids(pg.url()).remove(0);
    ok(pixelcnn().args(["tag", &id, "+seen", "--db", pg.url()]));
    assert_ne!(stamp(), before, "a tag changes what the page shows");
    let run = get_json(&served.at(&format!("/api/runs/{}", &id[..8])));
    assert_eq!(run["run"]["tags"], json!(["seen"]));

    let browser = Browser::start().await;
    browser.client().goto(&served.at("/experiments/on-postgres")).await.unwrap();
    browser.until("two runs", "return document.querySelectorAll('#runs tbody tr').length === 2").await;
    browser.close().await;
}
