//! Rerun verdicts: how a rerun's epochs compared with its original's.

use serde::Serialize;

use crate::Store;
use crate::error::Result;

pixelcnn_record::named_enum! {
    /// The outcome of comparing a rerun with its original, stored and shown as its name.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Verdict ("verdict") {
        /// Every compared metric is bitwise equal.
        Identical = "identical",
        /// Not bitwise equal, but every difference is within the tolerance that applied.
        WithinTolerance = "within_tolerance",
        /// A difference where identity was required, or beyond the tolerance.
        Differs = "differs",
    }
}

/// The first metric that differs between a rerun and its original.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// Epoch.
    pub epoch: u32,
    /// Column of the epochs table (`test_nll`, ...).
    pub metric: String,
    /// The original's value.
    pub original: f64,
    /// The rerun's value.
    pub rerun: f64,
}

/// A stored verdict of one rerun.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RerunVerdict {
    /// The rerun.
    pub run_id: String,
    /// The attempt it repeated.
    pub original_id: String,
    /// The outcome.
    pub verdict: Verdict,
    /// Epochs compared (1..=this).
    pub epochs_compared: u32,
    /// The first difference (bitwise when identity was required, else beyond the tolerance).
    pub first_difference: Option<Difference>,
    /// Largest relative difference over every compared value.
    pub max_relative_difference: f64,
    /// Relative tolerance applied; `None` when bitwise identity was required.
    pub tolerance: Option<f64>,
    /// Whether backend, device kind or thread count differed from the original's.
    pub environment_changed: bool,
    /// What differed in the environment, or why a tolerance applied.
    pub environment_note: String,
    /// When it was recorded (empty before).
    pub created_at: String,
}

impl RerunVerdict {
    /// The verdict in one line for people: outcome, how it was judged, the first difference and
    /// what changed in the environment. Shared by `rerun`, `show` and the report.
    pub fn summary(&self) -> String {
        let judged = match self.tolerance {
            None => "bitwise".to_string(),
            Some(t) => format!("relative tolerance {t:e}"),
        };
        let mut text = format!(
            "{} over {} epochs ({judged}; largest relative difference {:.3e})",
            self.verdict.as_str().replace('_', " "),
            self.epochs_compared,
            self.max_relative_difference
        );
        if let Some(d) = &self.first_difference {
            let kind =
                if self.verdict == Verdict::Differs { "first difference" } else { "first inexact value" };
            text.push_str(&format!(
                "; {kind}: epoch {} {}: original {:?}, rerun {:?}",
                d.epoch, d.metric, d.original, d.rerun
            ));
        }
        if !self.environment_note.is_empty() {
            text.push_str(&format!("; {}", self.environment_note));
        }
        text
    }
}

type Row = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<f64>,
    Option<f64>,
    f64,
    Option<f64>,
    // environment_changed as 0/1: sqlx's `Any` driver reads SQLite's booleans only as integers.
    i64,
    String,
    String,
);

impl Store {
    /// Records (or replaces) the verdict of a rerun.
    pub async fn record_verdict(&self, verdict: &RerunVerdict) -> Result<()> {
        let d = verdict.first_difference.as_ref();
        sqlx::query(
            "INSERT INTO rerun_verdicts (run_id, original_id, verdict, epochs_compared, first_epoch, metric, \
             original_value, rerun_value, max_relative_difference, tolerance, environment_changed, \
             environment_note, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (run_id) DO UPDATE SET verdict = excluded.verdict, \
             epochs_compared = excluded.epochs_compared, first_epoch = excluded.first_epoch, \
             metric = excluded.metric, original_value = excluded.original_value, \
             rerun_value = excluded.rerun_value, max_relative_difference = excluded.max_relative_difference, \
             tolerance = excluded.tolerance, environment_changed = excluded.environment_changed, \
             environment_note = excluded.environment_note, created_at = excluded.created_at",
        )
        .bind(&verdict.run_id)
        .bind(&verdict.original_id)
        .bind(verdict.verdict.as_str())
        .bind(i64::from(verdict.epochs_compared))
        .bind(d.map(|d| i64::from(d.epoch)))
        .bind(d.map(|d| d.metric.clone()))
        .bind(d.map(|d| d.original).filter(|v| v.is_finite()))
        .bind(d.map(|d| d.rerun).filter(|v| v.is_finite()))
        .bind(if verdict.max_relative_difference.is_finite() {
            verdict.max_relative_difference
        } else {
            f64::MAX
        })
        .bind(verdict.tolerance)
        .bind(verdict.environment_changed)
        .bind(&verdict.environment_note)
        .bind(self.clock.now())
        .execute(&self.pool)
        .await
        .map_err(|e| self.err_writing(&format!("verdict of rerun {}", verdict.run_id), e))?;
        Ok(())
    }

    /// Verdicts that concern run `run_id`: its own (when it is a rerun) and those of its reruns,
    /// oldest first.
    pub async fn verdicts(&self, run_id: &str) -> Result<Vec<RerunVerdict>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT run_id, original_id, verdict, epochs_compared, first_epoch, metric, original_value, \
             rerun_value, max_relative_difference, tolerance, \
             CASE WHEN environment_changed THEN 1 ELSE 0 END, environment_note, created_at \
             FROM rerun_verdicts WHERE run_id = $1 OR original_id = $1 ORDER BY created_at",
        )
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(
                |(
                    run_id,
                    original_id,
                    verdict,
                    epochs,
                    first_epoch,
                    metric,
                    original,
                    rerun,
                    max,
                    tolerance,
                    changed,
                    note,
                    created_at,
                )| {
                    let verdict = verdict
                        .parse::<Verdict>()
                        .map_err(|error| self.invalid(format!("rerun {run_id}: {error}")))?;
                    let first_difference = match (first_epoch, metric) {
                        (Some(epoch), Some(metric)) => Some(Difference {
                            epoch: u32::try_from(epoch).unwrap_or(0),
                            metric,
                            original: original.unwrap_or(f64::NAN),
                            rerun: rerun.unwrap_or(f64::NAN),
                        }),
                        _ => None,
                    };
                    Ok(RerunVerdict {
                        run_id,
                        original_id,
                        verdict,
                        epochs_compared: u32::try_from(epochs).unwrap_or(0),
                        first_difference,
                        max_relative_difference: max,
                        tolerance,
                        environment_changed: changed != 0,
                        environment_note: note,
                        created_at,
                    })
                },
            )
            .collect()
    }
}
