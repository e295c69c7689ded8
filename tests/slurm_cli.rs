//! Sweeps through a real single-node Slurm cluster into a real PostgreSQL database (a private
//! cluster and a throwaway server, started by `just test-cluster`, which `.ci/run` calls): the job array ends with the same
//! numbers as the local launcher on SQLite, a cancelled task's run resumes on resubmission, the
//! SIGUSR2 warning requeues and resumes, two submissions at once train each configuration once,
//! and a resubmission while earlier tasks are pending leaves no configuration without a task. `PIXELCNN_TEST_SLURM_PARTITION=skip` (with `PIXELCNN_TEST_POSTGRES=skip`) skips them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{epoch_rows, json, pixelcnn, run, run_outcomes, rung_decisions, text, tiny_experiment};
use pixelcnn_store::scratch::ScratchPostgres;

/// The partition of the test cluster, or `None` to skip.
fn partition() -> Option<String> {
    match std::env::var("PIXELCNN_TEST_SLURM_PARTITION") {
        Ok(v) if v == "skip" => {
            eprintln!("PIXELCNN_TEST_SLURM_PARTITION=skip: Slurm not checked");
            None
        }
        Ok(v) if !v.is_empty() => Some(v),
        _ => panic!(
            "PIXELCNN_TEST_SLURM_PARTITION is not set: run these tests through `just test-cluster`, \
             which starts a private Slurm (scripts/test-slurm.sh), or set it to `skip`"
        ),
    }
}

/// A test's cluster setting: a scratch database, a shared runs folder and an experiment file.
struct Cluster {
    dir: tempfile::TempDir,
    db: ScratchPostgres,
    file: PathBuf,
    name: String,
}

impl Cluster {
    async fn new(name: &str, epochs: usize, extra: &str, slow: bool) -> Option<Self> {
        let partition = partition()?;
        let db = ScratchPostgres::for_test().await?;
        let dir = tempfile::tempdir().unwrap();
        let extra = format!("{extra}\n[launcher.slurm]\npartition = \"{partition}\"\ncpus_per_task = 1\n");
        let file = tiny_experiment(dir.path(), name, epochs, &extra);
        if slow {
            let text =
                std::fs::read_to_string(&file).unwrap().replace("train_limit = 512", "train_limit = 16384");
            std::fs::write(&file, text).unwrap();
        }
        Some(Self { dir, db, file, name: name.to_owned() })
    }

    fn runs_dir(&self) -> PathBuf {
        self.dir.path().join("shared-runs")
    }

    /// `pixelcnn sweep FILE --launcher slurm` on the scratch database.
    fn sweep(&self, extra: &[&str]) -> Command {
        self.sweep_on(self.db.url(), extra)
    }

    /// `pixelcnn sweep FILE --launcher slurm` on the database `db`.
    fn sweep_on(&self, db: &str, extra: &[&str]) -> Command {
        let mut cmd = pixelcnn();
        cmd.args(["sweep", self.file.to_str().unwrap(), "--launcher", "slurm", "--no-report"])
            .args(["--db", db, "--runs-dir", self.runs_dir().to_str().unwrap()])
            .args(["--stale-after", "15", "--heartbeat-every", "1"])
            .args(extra)
            // The tasks inherit the environment: their logs should say what they claimed.
            .env("RUST_LOG", "info");
        cmd
    }

    fn db(&self) -> &Path {
        Path::new(self.db.url())
    }

    /// Every task log of the experiment, concatenated.
    fn task_logs(&self) -> String {
        let dir = self.runs_dir().join(&self.name).join("slurm");
        let mut logs: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        logs.retain(|p| p.extension().is_some_and(|x| x == "out"));
        logs.sort();
        logs.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect::<Vec<_>>().join("\n")
    }

    /// Tasks of this experiment that Slurm still knows as pending or running.
    fn live_tasks(&self) -> usize {
        let out = Command::new("squeue")
            .args(["--noheader", "--array", "--name", &format!("pixelcnn-{}", self.name), "--format=%i"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count()
    }

    /// The same file through the local launcher on a fresh SQLite database: the reference numbers.
    fn local_reference(&self) -> Vec<(String, u64, serde_json::Value)> {
        let db = self.dir.path().join("local.db");
        let o = run(&[
            "sweep",
            self.file.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--runs-dir",
            self.dir.path().join("local-runs").to_str().unwrap(),
            "--no-report",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        epoch_rows(&db)
    }
}

fn ok(out: Output) -> String {
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    t
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn runs(c: &Cluster) -> Vec<serde_json::Value> {
    json(&["runs"], c.db()).as_array().unwrap().clone()
}

/// The one run of a single-configuration experiment, once its task has recorded an epoch.
fn first_epoch_recorded(c: &Cluster) -> serde_json::Value {
    wait_until("the first epoch", Duration::from_secs(240), || {
        runs(c)
            .first()
            .is_some_and(|r| r["last_epoch"].as_u64().unwrap_or(0) >= 1 && r["status"] == "running")
    });
    runs(c).remove(0)
}

fn slurm_job_of(c: &Cluster, run_id: &str) -> String {
    let shown = json(&["show", run_id], c.db());
    shown["run"]["slurm"]["job_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no slurm task recorded: {shown}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_runs_through_slurm_and_postgres_equal_the_local_launcher_on_sqlite() {
    let extra = "[sweep]\n\"model.levels\" = [2, 256]\nseeds = [1, 2, 3]\n";
    let Some(c) = Cluster::new("slurm-six", 2, extra, false).await else { return };
    let out = ok(c.sweep(&["--wait"]).output().unwrap());
    assert!(out.contains("6 run(s) queued") && out.contains("submitted 6 task(s)"), "{out}");
    assert!(out.contains("6 finished"), "{out}");
    assert!(!out.contains(":pixelcnn@"), "no password in the output: {out}");
    let script = std::fs::read_dir(c.runs_dir().join("slurm-six/slurm"))
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.path().extension().is_some_and(|x| x == "sbatch"))
        .expect("the sbatch script is kept beside the runs");
    let script = std::fs::read_to_string(script.path()).unwrap();
    assert!(
        script.contains("#SBATCH --partition=")
            && script.contains(" worker --db ")
            && !script.contains("postgres://"),
        "{script}"
    );

    let listed = runs(&c);
    assert_eq!(listed.len(), 6, "one attempt per configuration");
    for r in &listed {
        assert_eq!(r["status"], "finished", "{r}");
        assert!(r["slurm"]["array_job_id"].is_string() && r["slurm"]["array_task_id"].is_u64(), "{r}");
    }
    let shown = ok(run(&["runs", "--db", c.db.url()]));
    assert!(shown.contains("slurm task"), "{shown}");
    assert_eq!(epoch_rows(c.db()), c.local_reference(), "Slurm + PostgreSQL equals local + SQLite");

    // The report from PostgreSQL equals the report from its SQLite copy.
    let copy = c.dir.path().join("copy.db");
    ok(run(&["store", "copy", c.db.url(), copy.to_str().unwrap()]));
    let (from_pg, from_sqlite) = (c.dir.path().join("report-pg"), c.dir.path().join("report-sqlite"));
    ok(run(&["report", "slurm-six", "--db", c.db.url(), "--out", from_pg.to_str().unwrap()]));
    ok(run(&["report", "slurm-six", "--db", copy.to_str().unwrap(), "--out", from_sqlite.to_str().unwrap()]));
    // Everything but the time it was generated.
    let md = |d: &Path| {
        let text = std::fs::read_to_string(d.join("report.md")).unwrap();
        text.lines().filter(|l| !l.contains("report generated")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(md(&from_pg), md(&from_sqlite));
    // And the copy goes back losslessly.
    let back = ScratchPostgres::for_test().await.unwrap();
    ok(run(&["store", "copy", copy.to_str().unwrap(), back.url()]));
    assert_eq!(epoch_rows(Path::new(back.url())), epoch_rows(c.db()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_task_s_run_resumes_on_resubmission_without_training_twice() {
    let Some(c) = Cluster::new("slurm-cancel", 4, "[sweep]\nseeds = [7]\n", true).await else { return };
    let out = ok(c.sweep(&[]).output().unwrap());
    assert!(out.contains("submitted 1 task(s)"), "{out}");
    let running = first_epoch_recorded(&c);
    let id = running["id"].as_str().unwrap().to_owned();
    let job = slurm_job_of(&c, &id);
    ok(Command::new("scancel").arg(&job).output().unwrap());
    wait_until("the cancelled task to end", Duration::from_secs(120), || c.live_tasks() == 0);
    let stopped = json(&["show", &id], c.db());
    let done_before = stopped["epochs"].as_array().unwrap().len();
    assert!((1..4).contains(&done_before), "{stopped}");

    let again = ok(c.sweep(&["--wait"]).output().unwrap());
    assert!(again.contains("1 run(s) queued") && again.contains("submitted 1 task(s)"), "{again}");
    let listed = runs(&c);
    assert_eq!(listed.len(), 1, "the same attempt resumed, no new one: {listed:?}");
    assert_eq!(listed[0]["status"], "finished");
    let logs = c.task_logs();
    assert!(logs.contains(&format!("run {id}: Resume from epoch {done_before}")), "{logs}");
    // scancel's SIGTERM came within an epoch: the task left a step checkpoint, and the resumed run
    // went on from it rather than training that epoch's first steps again.
    assert!(logs.contains("checkpoints/step.ckpt"), "resumed from the step checkpoint: {logs}");
    assert_eq!(epoch_rows(c.db()), c.local_reference(), "resumed equals uninterrupted");
    // Submitting once more submits nothing.
    let third = ok(c.sweep(&[]).output().unwrap());
    assert!(third.contains("nothing submitted"), "{third}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_limit_warning_requeues_and_resumes() {
    let Some(c) = Cluster::new("slurm-usr2", 4, "[sweep]\nseeds = [9]\n", true).await else { return };
    let waiting: Child = c.sweep(&["--wait"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let running = first_epoch_recorded(&c);
    let id = running["id"].as_str().unwrap().to_owned();
    let job = slurm_job_of(&c, &id);
    // What Slurm sends 120 s before the time limit (`--signal=B:USR2@120`), now.
    ok(Command::new("scancel").args(["--batch", "--signal=USR2", &job]).output().unwrap());
    let out = waiting.wait_with_output().unwrap();
    let out = ok(out);
    assert!(out.contains("1 finished"), "{out}");
    let logs = c.task_logs();
    assert!(logs.contains("requeueing task"), "the warned task requeued itself: {logs}");
    assert!(logs.contains(&format!("run {id}: Resume from epoch")), "the requeued task resumed: {logs}");
    // Warned in the middle of epoch 2, it checkpointed at the next step and went on from there.
    assert!(logs.contains("checkpoints/step.ckpt"), "resumed from the step checkpoint: {logs}");
    assert_eq!(runs(&c).len(), 1);
    assert_eq!(epoch_rows(c.db()), c.local_reference(), "requeued equals uninterrupted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_submissions_at_once_train_each_configuration_once() {
    let Some(c) = Cluster::new("slurm-twice", 1, "[sweep]\nseeds = [1, 2, 3]\n", false).await else { return };
    let first = c.sweep(&["--wait"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let second = c.sweep(&["--wait"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (ok(first.wait_with_output().unwrap()), ok(second.wait_with_output().unwrap()));
    let listed = runs(&c);
    assert_eq!(listed.len(), 3, "{a}\n{b}\n{listed:?}");
    let logs = c.task_logs();
    for r in &listed {
        assert_eq!(r["status"], "finished", "{r}");
        let id = r["id"].as_str().unwrap();
        // Every claim logs this line once: one claim of the configuration in every task log.
        assert_eq!(logs.matches(&format!("run {id}: Queued from epoch 0")).count(), 1, "{logs}");
    }
    assert_eq!(epoch_rows(c.db()).len(), 3, "one epoch each, recorded once");
}

/// The job array id in `sweep`'s summary line ("... as job array(s) ID (script)").
fn job_array_of(summary: &str) -> String {
    let after = summary.split("as job array(s) ").nth(1).unwrap_or_else(|| panic!("no job array: {summary}"));
    after.split_whitespace().next().unwrap().trim_end_matches(',').to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resubmission_while_tasks_are_pending_trains_every_configuration() {
    let Some(c) = Cluster::new("slurm-pending", 1, "[sweep]\nseeds = [1, 2]\n", false).await else { return };
    // Held tasks stay pending until released: the first submission's two tasks list seeds 1 and 2.
    let first = ok(c.sweep(&["--sbatch=--hold"]).output().unwrap());
    assert!(first.contains("submitted 2 task(s)"), "{first}");
    // The file changes before they start: seed 2 dropped, 3 and 4 added. The pending tasks cover
    // seed 1 only, so seeds 3 and 4 need tasks of their own.
    let text = std::fs::read_to_string(&c.file).unwrap().replace("seeds = [1, 2]", "seeds = [1, 3, 4]");
    std::fs::write(&c.file, text).unwrap();
    let second = ok(c.sweep(&["--sbatch=--hold"]).output().unwrap());
    assert!(second.contains("3 run(s) queued") && second.contains("submitted 2 task(s)"), "{second}");
    // The second submission's tasks start first and take seed 1 (queued first) among theirs; each
    // task goes on claiming after a finished run, so seeds 3 and 4 are trained all the same. Then
    // the first submission's tasks start: one trains seed 2, the other finds nothing.
    ok(Command::new("scontrol").args(["release", &job_array_of(&second)]).output().unwrap());
    wait_until("the second submission's tasks", Duration::from_secs(300), || c.live_tasks() == 2);
    ok(Command::new("scontrol").args(["release", &job_array_of(&first)]).output().unwrap());
    wait_until("every task", Duration::from_secs(300), || c.live_tasks() == 0);
    let listed = runs(&c);
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(listed.iter().all(|r| r["status"] == "finished"), "{listed:?}\n{}", c.task_logs());
    let again = ok(c.sweep(&[]).output().unwrap());
    assert!(again.contains("0 run(s) queued") && again.contains("nothing submitted"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_database_is_refused_unless_allowed() {
    let Some(c) = Cluster::new("slurm-sqlite", 1, "[sweep]\nseeds = [4]\n", false).await else { return };
    let db = c.dir.path().join("local.db");
    let out = c.sweep_on(db.to_str().unwrap(), &[]).output().unwrap();
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("SQLite") && t.contains("network file systems") && t.contains("--allow-sqlite"),
        "{t}"
    );
    assert!(!db.exists(), "refused before the database was created");
    assert!(!c.runs_dir().exists(), "nothing submitted: {t}");

    // One machine, a local disk: allowed on request.
    let out = ok(c.sweep_on(db.to_str().unwrap(), &["--allow-sqlite", "--wait"]).output().unwrap());
    assert!(out.contains("1 finished"), "{out}");
    assert_eq!(json(&["runs"], &db)[0]["status"], "finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asha_search_through_slurm_makes_the_local_launcher_s_decisions() {
    let extra = "[search]\nstrategy = \"asha\"\nmetric = \"test_nll\"\nmax_epochs = 3\n\
                 [sweep]\n\"train.lr\" = [0.01, 1e-7, 2e-7]\n";
    let Some(c) = Cluster::new("slurm-asha", 3, extra, false).await else { return };
    // One task at a time: the runs reach the rung in queue order, as one local worker takes them.
    let out = ok(c.sweep(&["--wait", "--array-parallelism", "1"]).output().unwrap());
    assert_eq!(epoch_rows(c.db()), c.local_reference(), "Slurm + PostgreSQL equals local + SQLite");
    let local = c.dir.path().join("local.db");
    assert_eq!(rung_decisions(c.db()), rung_decisions(&local), "the same decisions");
    // The tiny rates rank below the good one wherever they arrive: some run is pruned.
    let statuses = run_outcomes(c.db());
    assert_eq!(statuses, run_outcomes(&local));
    let finished = statuses.values().filter(|(s, _)| s == "finished").count();
    assert!((1..3).contains(&finished), "{statuses:?}");
    assert!(out.contains(&format!("{finished} finished, {} pruned", 3 - finished)), "{out}");
    // A resubmission queues nothing: pruned runs are final.
    let again = ok(c.sweep(&[]).output().unwrap());
    assert!(again.contains("0 run(s) queued") && again.contains("nothing submitted"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sha_search_through_concurrent_slurm_tasks_makes_the_local_launcher_s_decisions() {
    let extra = "[search]\nstrategy = \"sha\"\nmetric = \"test_nll\"\nreduction_factor = 2\ngrace_epochs = 1\n\
                 max_epochs = 4\n[sweep]\n\"train.lr\" = [0.01, 1e-7, 2e-7, 0.005]\n";
    let Some(c) = Cluster::new("slurm-sha", 4, extra, false).await else { return };
    // Tasks run side by side: they wait at each rung, paused, and the tasks still claiming (the
    // one that completed a rung among them) resume the runs its decision continued.
    let out = ok(c.sweep(&["--wait"]).output().unwrap());
    assert!(
        out.contains("1 finished, 3 pruned, 0 failed, 0 interrupted, 0 paused at a rung, 0 still queued"),
        "{out}\n{}",
        c.task_logs()
    );
    assert_eq!(epoch_rows(c.db()).len(), 8, "SHA's exact budget: 4 + 2 + 2 epochs");
    assert_eq!(epoch_rows(c.db()), c.local_reference(), "Slurm + PostgreSQL equals local + SQLite");
    let local = c.dir.path().join("local.db");
    assert_eq!(rung_decisions(c.db()), rung_decisions(&local), "the same decisions");
}
