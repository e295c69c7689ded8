//! The sbatch script of a cluster sweep: one task runs one worker, which claims whatever
//! configuration of the experiment is next in the shared store. It is written beside the runs
//! (`<runs_dir>/<experiment>/slurm/`), so what was submitted can always be read back, and it holds
//! no password: the database URL reaches the tasks through the exported environment.

use std::path::Path;
use std::time::Duration;

use pixelcnn_config::SlurmConfig;

/// Seconds before the time limit at which Slurm warns a task with SIGUSR2: the worker
/// checkpoints at its next step, records `interrupted` and requeues itself.
pub(crate) const WARNING_SECONDS: u32 = 120;

/// What the script needs to know.
pub(crate) struct Script<'a> {
    /// The experiment, for the job name and the comment.
    pub experiment: &'a str,
    /// The experiment file, for the comment.
    pub file: &'a Path,
    /// The `pixelcnn` binary the tasks run (a path every node sees).
    pub exe: &'a Path,
    /// The runs folder shared by the tasks: a run trains in `<runs_dir>/<its experiment>/<id>/`.
    pub runs_dir: &'a Path,
    /// The folder of the script and of the task logs.
    pub logs: &'a Path,
    /// The file listing the configurations (hashes) this submission queued: the tasks claim
    /// among them.
    pub configs: &'a Path,
    /// The job array's resources.
    pub slurm: &'a SlurmConfig,
    /// A `running` run with an older heartbeat is taken over.
    pub stale_after: Duration,
    /// Time between heartbeats.
    pub heartbeat_every: Duration,
}

/// The job name of an experiment's tasks: how later submissions find the tasks still pending.
pub(crate) fn job_name(safe_experiment: &str) -> String {
    format!("pixelcnn-{safe_experiment}")
}

/// Single-quotes a word for bash.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

impl Script<'_> {
    /// The script's text.
    pub(crate) fn render(&self, job_name: &str) -> String {
        let dir = self.logs;
        let mut lines = vec![
            "#!/bin/bash".to_owned(),
            format!(
                "# pixelcnn sweep {} --launcher slurm (experiment {}): each task of the array runs one",
                self.file.display(),
                self.experiment
            ),
            "# worker that claims the next run this submission queued in the store named by".to_owned(),
            "# $PIXELCNN_DB (exported by sbatch from the submitting shell). Liveness is the run's lease"
                .to_owned(),
            "# and heartbeat; stdin is not used.".to_owned(),
            format!("#SBATCH --job-name={job_name}"),
            format!("#SBATCH --output={}/%A_%a.out", dir.display()),
            "#SBATCH --open-mode=append".to_owned(),
            format!("#SBATCH --signal=B:USR2@{WARNING_SECONDS}"),
            "#SBATCH --requeue".to_owned(),
        ];
        let s = self.slurm;
        if let Some(p) = &s.partition {
            lines.push(format!("#SBATCH --partition={p}"));
        }
        if let Some(t) = &s.time {
            lines.push(format!("#SBATCH --time={t}"));
        }
        if let Some(c) = s.cpus_per_task {
            lines.push(format!("#SBATCH --cpus-per-task={c}"));
        }
        if let Some(g) = s.gpus_per_task {
            lines.push(format!("#SBATCH --gpus-per-task={g}"));
        }
        lines.extend(s.extra.iter().map(|line| format!("#SBATCH {}", line.trim())));
        // `exec`: the worker replaces the batch shell, so the batch-shell signal (B:USR2) and
        // scancel's SIGTERM reach it directly.
        lines.push(format!(
            "exec {} worker --db \"$PIXELCNN_DB\" --configs {} --runs-dir {} \
             --stale-after {} --heartbeat-every {}",
            quote(&self.exe.display().to_string()),
            quote(&self.configs.display().to_string()),
            quote(&self.runs_dir.display().to_string()),
            self.stale_after.as_secs(),
            self.heartbeat_every.as_secs_f64()
        ));
        lines.join("\n") + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_carries_the_resources_and_no_password() {
        let slurm = SlurmConfig {
            partition: Some("gpu".into()),
            time: Some("1-00:00:00".into()),
            gpus_per_task: Some(1),
            cpus_per_task: Some(8),
            parallelism: Some(4),
            extra: vec!["--account=vision".into()],
        };
        let script = Script {
            experiment: "levels",
            file: Path::new("experiments/levels.toml"),
            exe: Path::new("/opt/pixelcnn's/bin/pixelcnn"),
            runs_dir: Path::new("/shared/runs"),
            logs: Path::new("/shared/runs/levels/slurm"),
            configs: Path::new("/shared/runs/levels/slurm/submit-1.configs"),
            slurm: &slurm,
            stale_after: Duration::from_secs(60),
            heartbeat_every: Duration::from_secs(5),
        };
        let text = script.render("pixelcnn-levels");
        for line in [
            "#SBATCH --job-name=pixelcnn-levels",
            "#SBATCH --output=/shared/runs/levels/slurm/%A_%a.out",
            "#SBATCH --signal=B:USR2@120",
            "#SBATCH --requeue",
            "#SBATCH --partition=gpu",
            "#SBATCH --time=1-00:00:00",
            "#SBATCH --gpus-per-task=1",
            "#SBATCH --cpus-per-task=8",
            "#SBATCH --account=vision",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
        }
        assert!(text.contains(
            "exec '/opt/pixelcnn'\\''s/bin/pixelcnn' worker --db \"$PIXELCNN_DB\" \
                 --configs '/shared/runs/levels/slurm/submit-1.configs' --runs-dir '/shared/runs'"
        ));
        assert!(!text.contains("postgres://"));
    }
}
