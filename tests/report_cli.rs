//! `pixelcnn report` and `pixelcnn compare` through the real binary: a tiny real sweep, its report
//! opened in headless Chromium (every image decodes, the page is not blank), hostile experiment
//! names, and Markdown links.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{pixelcnn, text};

/// A tiny experiment over `levels`, one seed, `epochs` epochs, pictures every epoch when `pictures`.
fn write_experiment(
    dir: &Path,
    file: &str,
    name: &str,
    levels: &str,
    epochs: u32,
    pictures: bool,
) -> PathBuf {
    let path = dir.join(file);
    let (count, complete) = if pictures { (4, 2) } else { (0, 0) };
    let toml = format!(
        "device = \"cpu\"\nthreads = 1\n\
         [experiment]\nname = '{name}'\ndescription = \"report test\"\n\
         [data]\ntrain_limit = 256\ntest_limit = 32\n\
         [model]\nblocks = 1\nhidden = 4\n\
         [train]\nepochs = {epochs}\nbatch_size = 64\nlr = 0.005\n\
         [sample]\nevery = 1\ncount = {count}\ncomplete = {complete}\n\
         [sweep]\n\"model.levels\" = {levels}\n"
    );
    std::fs::write(&path, toml).unwrap();
    path
}

/// Runs `pixelcnn args...` in `cwd`; panics with its output when it fails.
fn run_in(cwd: &Path, args: &[&str]) -> String {
    let out = pixelcnn().current_dir(cwd).args(args).output().expect("pixelcnn starts");
    assert!(out.status.success(), "pixelcnn {args:?} failed:\n{}", text(&out));
    text(&out)
}

/// Debian's Chromium, or the browser named by `PIXELCNN_CHROMIUM`. `.ci/run` installs it.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("PIXELCNN_CHROMIUM") {
        return path.into();
    }
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"] {
        if Path::new(candidate).is_file() {
            return candidate.into();
        }
    }
    panic!("no Chromium found: `apt-get install chromium` (the CI script does) or set PIXELCNN_CHROMIUM");
}

fn headless(profile: &Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        "--virtual-time-budget=10000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

/// Loads `page` in Chromium with a probe script that records, once the page has loaded, how many
/// images it has, how many failed to decode and how many inline SVGs it has.
fn probe(page: &Path, scratch: &Path) -> (usize, usize, usize) {
    let html = std::fs::read_to_string(page).unwrap();
    let script = "<script>window.addEventListener('load', () => { const all = [...document.images]; \
                  const broken = all.filter(i => !(i.complete && i.naturalWidth > 0)).length; \
                  document.body.dataset.probe = `images=${all.length} broken=${broken} \
                  svgs=${document.querySelectorAll('svg').length}`; });</script>";
    let probed = page.with_file_name("probe.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{script}</body>"))).unwrap();
    let out = headless(&scratch.join("probe-profile"))
        .arg("--dump-dom")
        .arg(format!("file://{}", probed.display()))
        .output()
        .expect("chromium starts");
    std::fs::remove_file(&probed).unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("data-probe=\"").unwrap_or_else(|| panic!("no probe result:\n{}", text(&out)));
    let probe = &dom[start + 12..];
    let probe = &probe[..probe.find('"').unwrap()];
    let field = |name: &str| -> usize {
        let at = probe.find(&format!("{name}=")).unwrap() + name.len() + 1;
        probe[at..].split(' ').next().unwrap().parse().unwrap()
    };
    (field("images"), field("broken"), field("svgs"))
}

/// A screenshot of `page` is not blank: many pixels differ from the background.
fn assert_screenshot_not_blank(page: &Path, scratch: &Path) {
    let shot = scratch.join("shot.png");
    let out = headless(&scratch.join("shot-profile"))
        .arg("--window-size=1280,2000")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts");
    assert!(shot.is_file(), "no screenshot:\n{}", text(&out));
    let image = image::open(&shot).unwrap().to_rgb8();
    let background = *image.get_pixel(0, 0);
    let differing = image.pixels().filter(|p| **p != background).count();
    let share = differing as f64 / f64::from(image.width() * image.height());
    assert!(share > 0.02, "the screenshot is almost blank ({share:.4} of pixels differ)");
}

fn assert_markdown_links_exist(markdown: &Path) -> usize {
    let text = std::fs::read_to_string(markdown).unwrap();
    let mut links = 0;
    for (start, _) in text.match_indices("](") {
        let rest = &text[start + 2..];
        let target = &rest[..rest.find(')').unwrap()];
        assert!(markdown.with_file_name(target).is_file(), "report.md links missing file {target}");
        links += 1;
    }
    links
}

#[test]
fn report_of_a_real_sweep_renders_in_chromium_and_compare_works() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let file = write_experiment(root, "tiny.toml", "tiny-levels", "[2, 256]", 2, true);
    let out = run_in(root, &["sweep", "tiny.toml", "--db", "results.db"]);
    assert!(out.contains("report written to reports/tiny-levels/index.html"), "{out}");
    let page = root.join("reports/tiny-levels/index.html");
    let (images, broken, svgs) = probe(&page, root);
    // Per configuration: last samples and completions, and both over the 2 epochs.
    assert_eq!((images, broken), (2 * (2 + 2 * 2), 0), "every picture must decode");
    assert!(svgs >= 4, "learning curves missing: {svgs} SVGs");
    assert_screenshot_not_blank(&page, root);
    let links = assert_markdown_links_exist(&root.join("reports/tiny-levels/report.md"));
    assert!(links >= 4 + 12, "{links} links");

    // `report` rewrites it from the file or the name, into another folder when asked.
    let again = run_in(root, &["report", file.to_str().unwrap(), "--db", "results.db", "--out", "again"]);
    assert!(again.contains("again/index.html"), "{again}");
    let html = std::fs::read_to_string(root.join("again/index.html")).unwrap();
    assert!(html.contains("seed notebook, q = 256") && html.contains("0.9053"));
    assert!(!html.contains("Partial results"));

    // Compare the two runs: a terminal table and a page whose pictures decode.
    let runs: serde_json::Value =
        serde_json::from_str(&run_in(root, &["runs", "--db", "results.db", "--json"])).unwrap();
    let ids: Vec<&str> = runs.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    let table = run_in(root, &["compare", &ids[0][..8], &ids[1][..8], "--db", "results.db", "--out", "cmp"]);
    assert!(table.contains("config model.levels") && table.contains("final test bits/dim"), "{table}");
    let (images, broken, svgs) = probe(&root.join("cmp/index.html"), root);
    assert_eq!((images, broken), (4, 0));
    assert!(svgs >= 4);
}

#[test]
fn hostile_experiment_names_stay_inert_and_inside_the_reports_folder() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    for (file, name) in [("a.toml", "../../etc"), ("b.toml", "<script>alert(1)</script>")] {
        write_experiment(&work, file, name, "[2]", 1, false);
        run_in(&work, &["sweep", file, "--db", "results.db", "--no-report"]);
        run_in(&work, &["report", name, "--db", "results.db"]);
    }
    // Nothing next to the work folder, and inside it only the database, files, runs and reports.
    let outside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(outside, ["work"]);
    let mut reports: Vec<String> = std::fs::read_dir(work.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    reports.sort();
    assert_eq!(reports, ["______etc", "_script_alert_1___script_"]);
    let html = std::fs::read_to_string(work.join("reports/_script_alert_1___script_/index.html")).unwrap();
    assert!(!html.contains("<script"), "a live script in the report");
    assert!(html.contains("&lt;script&gt;alert(1)"));
}
