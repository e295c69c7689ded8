//! What a sweep shows: a bar of runs done and one bar per running worker on a terminal, log lines
//! otherwise (bars are hidden, so the same calls serve both).

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use pixelcnn_record::RunStatus;
use pixelcnn_store::SkipReason;

use crate::events::WorkerEvent;

/// Sweep-level progress: a bar of runs done on a terminal, log lines otherwise. Clones share the
/// same bars.
#[derive(Clone)]
pub(crate) struct Progress {
    multi: MultiProgress,
    sweep: ProgressBar,
    terminal: bool,
}

impl Progress {
    pub(crate) fn new(total: usize) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let multi = MultiProgress::new();
        if !terminal {
            multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        let sweep = multi.add(ProgressBar::new(total as u64));
        sweep.set_style(
            ProgressStyle::with_template("sweep [{bar:30}] {pos}/{len} runs  elapsed {elapsed}  ETA {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        Self { multi, sweep, terminal }
    }

    /// A bar for one running worker, fed by [`show`].
    pub(crate) fn run_bar(&self) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(1));
        if !self.terminal {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar.set_style(
            ProgressStyle::with_template("  {prefix} [{bar:25}] {pos}/{len} {msg} ETA {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar
    }

    pub(crate) fn skipped(&self, run_id: &str, reason: SkipReason) {
        self.sweep.inc(1);
        tracing::info!("run {run_id}: nothing to do ({reason:?})");
    }

    /// A worker ended with `status`. A run paused at a rung is not done: the bar moves when it
    /// ends after the rung's decision.
    pub(crate) fn finished(&self, run_id: &str, status: RunStatus) {
        if status == RunStatus::Paused {
            tracing::info!("run {run_id}: paused at a rung until every configuration has reported there");
            return;
        }
        self.sweep.inc(1);
        tracing::info!("run {run_id}: {}", status.as_str());
    }

    /// Sets the runs done, when they were counted in the store (after a rung's decision).
    pub(crate) fn set_done(&self, done: usize) {
        self.sweep.set_position(done as u64);
    }

    pub(crate) fn taken_over(&self, run_id: &str) {
        self.sweep.inc(1);
        tracing::warn!(
            "run {run_id}: taken over by another sweep (this sweep's worker was frozen past its stale \
             limit); it goes on there"
        );
    }

    pub(crate) fn done(&self) {
        self.sweep.finish_and_clear();
    }
}

/// Shows one event of the run `run` (a short id) a worker holds on the worker's bar, or as a log line when bars are hidden.
pub(crate) fn show(bar: &ProgressBar, run: &str, event: WorkerEvent) {
    match event {
        WorkerEvent::Started { device, first_epoch, steps_per_epoch } => {
            bar.set_length(steps_per_epoch as u64);
            bar.set_prefix(format!("{run} e{first_epoch}"));
            if bar.is_hidden() {
                tracing::info!("run {run}: training on {device} from epoch {first_epoch}");
            }
        }
        WorkerEvent::Step { epoch, step_in_epoch, steps_per_epoch, loss, images_per_second } => {
            bar.set_length(steps_per_epoch as u64);
            bar.set_prefix(format!("{run} e{epoch}"));
            bar.set_position(step_in_epoch as u64);
            bar.set_message(format!("loss {loss:.4} {images_per_second:.0} img/s"));
        }
        WorkerEvent::Epoch { epoch, test_bits_per_dim } => {
            bar.println(format!("run {run} epoch {epoch}: test {test_bits_per_dim:.4} bits/dim"));
            if bar.is_hidden() {
                tracing::info!("run {run} epoch {epoch}: test {test_bits_per_dim:.4} bits/dim");
            }
        }
        // The launcher reads these itself (which run a worker holds).
        WorkerEvent::Claimed { .. } | WorkerEvent::Ended { .. } => {}
    }
}

/// A bar counting `total` things on a terminal (hidden otherwise: the caller logs instead), for
/// following a cluster sweep from the store.
pub(crate) fn count_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "slurm [{{bar:30}}] {{pos}}/{{len}} {what}  {{msg}}  elapsed {{elapsed}}  ETA {{eta}}"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}
