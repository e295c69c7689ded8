//! Progress of a single run: a bar with loss, images/s and ETA on a terminal, plain log lines
//! otherwise; one printed row and one JSON line (in the output folder) per epoch.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use pixelcnn_record::EpochMetrics;
use pixelcnn_train::{Artefact, RunObserver, RunStart, StepProgress};

/// Seconds between plain progress lines when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(30);

/// Prints a run's progress and appends its metrics to a JSON-lines file.
pub struct ConsoleObserver {
    metrics_file: PathBuf,
    epochs: usize,
    bar: Option<ProgressBar>,
    last_log: Instant,
}

impl ConsoleObserver {
    /// An observer writing epoch metrics to `metrics_file`.
    pub fn new(metrics_file: PathBuf, epochs: usize) -> Self {
        Self { metrics_file, epochs, bar: None, last_log: Instant::now() }
    }

    fn bar(&mut self, p: &StepProgress) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(p.steps_per_epoch as u64);
            bar.set_style(
                ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} steps  {msg}  ETA {eta}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar
        })
    }
}

impl RunObserver for ConsoleObserver {
    fn started(&mut self, s: &RunStart) {
        tracing::info!(
            device = %s.device.name,
            threads = s.device.threads,
            params = s.params,
            train = s.train_images,
            validation = s.validation_images,
            test = s.test_images,
            "run starts at epoch {} of {} ({} parameters, {} steps per epoch)",
            s.first_epoch,
            self.epochs,
            s.params,
            s.steps_per_epoch
        );
        println!(
            "{:>5} {:>8} {:>10} {:>10} {:>10} {:>9} {:>11} {:>10} {:>8} {:>8}",
            "epoch",
            "step",
            "train_nll",
            "valid_nll",
            "test_nll",
            "bits/dim",
            "nats/image",
            "lr",
            "seconds",
            "img/s"
        );
    }

    fn step(&mut self, p: &StepProgress) {
        let msg = format!("loss {:.4}  {:.1} img/s", p.loss, p.images_per_second);
        if std::io::stderr().is_terminal() {
            let bar = self.bar(p);
            bar.set_prefix(format!("{}/{}", p.epoch, p.epochs));
            bar.set_position(p.step_in_epoch as u64);
            bar.set_message(msg);
        } else if self.last_log.elapsed() >= LOG_EVERY {
            self.last_log = Instant::now();
            tracing::info!(
                "epoch {}/{} step {}/{}: {msg}",
                p.epoch,
                p.epochs,
                p.step_in_epoch,
                p.steps_per_epoch
            );
        }
    }

    fn epoch(&mut self, m: &EpochMetrics, artefacts: &[Artefact]) -> Result<(), String> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let valid = m.validation_nll.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
        println!(
            "{:>5} {:>8} {:>10.4} {:>10} {:>10.4} {:>9.4} {:>11.2} {:>10.3e} {:>8.1} {:>8.1}",
            m.epoch,
            m.step,
            m.train_nll,
            valid,
            m.test_nll,
            m.test_bits_per_dim,
            m.test_nats_per_image,
            m.lr,
            m.seconds,
            m.images_per_second
        );
        for a in artefacts {
            tracing::debug!(kind = ?a.kind, path = %a.path.display(), "artefact written");
        }
        let line = serde_json::to_string(m).map_err(|e| e.to_string())?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.metrics_file)
            .map_err(|e| format!("{}: {e}", self.metrics_file.display()))?;
        writeln!(file, "{line}").map_err(|e| format!("{}: {e}", self.metrics_file.display()))
    }
}
