//! Raw rows as the database returns them, and their conversion into the public types: JSON text
//! is parsed, statuses checked, NULL metrics turned back into NaN. Shared by every query module so
//! that the column lists and conversions exist once.

use pixelcnn_record::EpochMetrics;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::model::{Artefact, NewRun, RunDetail, SlurmTask};
use pixelcnn_record::RunStatus;

/// The columns of [`RunRow`], for `SELECT {RUN_COLUMNS} {RUN_FROM} WHERE ...`.
pub(crate) const RUN_COLUMNS: &str = "r.id, r.experiment_id, e.name AS experiment, r.sweep_id, r.config_hash, \
     r.config_json, r.config_toml, r.varying_json, r.status, r.epochs_target, r.device, r.threads, \
     r.created_at, r.started_at, r.ended_at, r.heartbeat_at, r.worker_pid, r.worker_host, r.git_commit, \
     CASE WHEN r.git_dirty THEN 1 WHEN NOT r.git_dirty THEN 0 END AS git_dirty, r.versions_json, r.error, r.tags, r.note, r.rerun_of, \
     r.slurm_job_id, r.slurm_array_job_id, r.slurm_array_task_id, \
     le.last_epoch, lr.test_bits_per_dim AS last_test_bits_per_dim";

/// The joins [`RUN_COLUMNS`] needs: the experiment and the last completed epoch.
pub(crate) const RUN_FROM: &str = "FROM runs r \
     JOIN experiments e ON e.id = r.experiment_id \
     LEFT JOIN (SELECT run_id, MAX(epoch) AS last_epoch FROM epochs GROUP BY run_id) le ON le.run_id = r.id \
     LEFT JOIN epochs lr ON lr.run_id = r.id AND lr.epoch = le.last_epoch";

/// A run with its experiment's name and last epoch, as selected by [`RUN_COLUMNS`].
#[derive(sqlx::FromRow)]
pub(crate) struct RunRow {
    pub id: String,
    pub experiment_id: String,
    pub experiment: String,
    pub sweep_id: Option<String>,
    pub config_hash: String,
    pub config_json: String,
    pub config_toml: String,
    pub varying_json: String,
    pub status: String,
    pub epochs_target: i64,
    pub device: Option<String>,
    pub threads: Option<i64>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub heartbeat_at: Option<String>,
    pub worker_pid: Option<i64>,
    pub worker_host: Option<String>,
    pub git_commit: Option<String>,
    /// A boolean read as 0/1 (see [`RUN_COLUMNS`]): SQLite has no boolean values, and sqlx's
    /// `Any` driver reads its integers only as integers.
    pub git_dirty: Option<i64>,
    pub versions_json: String,
    pub error: Option<String>,
    pub tags: String,
    pub note: Option<String>,
    pub rerun_of: Option<String>,
    pub slurm_job_id: Option<String>,
    pub slurm_array_job_id: Option<String>,
    pub slurm_array_task_id: Option<i64>,
    pub last_epoch: Option<i64>,
    pub last_test_bits_per_dim: Option<f64>,
}

impl RunRow {
    /// The Slurm task columns as one value.
    fn slurm(&self) -> Option<SlurmTask> {
        Some(SlurmTask {
            job_id: self.slurm_job_id.clone()?,
            array_job_id: self.slurm_array_job_id.clone(),
            array_task_id: self.slurm_array_task_id.map(to_u32),
        })
    }
}

/// An epoch row as stored: `epoch`, `step` and one nullable `REAL` column per metric of
/// [`EpochMetrics::METRICS`], read by name so that a new metric needs no edit here.
pub(crate) struct EpochRaw(pub EpochMetrics);

impl<'r> sqlx::FromRow<'r, AnyRow> for EpochRaw {
    fn from_row(row: &'r AnyRow) -> std::result::Result<Self, sqlx::Error> {
        let epoch: i64 = row.try_get("epoch")?;
        let step: i64 = row.try_get("step")?;
        let values = EpochMetrics::METRICS
            .iter()
            .map(|m| row.try_get::<Option<f64>, _>(m.name))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Self(EpochMetrics::from_values(to_u32(epoch), u64::try_from(step).unwrap_or(0), &values)))
    }
}

/// The columns of [`EpochRaw`] for a table aliased `alias` (empty: unqualified).
pub(crate) fn epoch_columns(alias: &str) -> String {
    let prefix = if alias.is_empty() { String::new() } else { format!("{alias}.") };
    ["epoch", "step"]
        .into_iter()
        .chain(EpochMetrics::METRICS.iter().map(|m| m.name))
        .map(|c| format!("{prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An artefact row as stored, without its bytes.
#[derive(sqlx::FromRow)]
pub(crate) struct ArtefactRaw {
    pub id: String,
    pub run_id: String,
    pub epoch: i64,
    pub kind: String,
    pub name: String,
    pub media_type: String,
    /// 0 or 1, as for `RunRow::git_dirty`.
    pub has_data: i64,
    pub path: Option<String>,
    pub sha256: Option<String>,
    pub size_bytes: Option<i64>,
    pub created_at: String,
    pub deleted_at: Option<String>,
}

/// The columns of [`ArtefactRaw`], for a table aliased `a`.
pub(crate) const ARTEFACT_COLUMNS: &str = "a.id, a.run_id, a.epoch, a.kind, a.name, a.media_type, \
     CASE WHEN a.data IS NULL THEN 0 ELSE 1 END AS has_data, a.path, a.sha256, a.size_bytes, a.created_at, a.deleted_at";

/// Stored counts are non-negative (CHECK constraints); clamp instead of failing on hand edits.
pub(crate) fn to_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

impl Store {
    /// Parses stored JSON text, naming the column and row when it does not parse.
    pub(crate) fn parse_json(&self, column: &str, id: &str, text: &str) -> Result<Value> {
        serde_json::from_str(text).map_err(|e| self.bad_value(column, id, e.to_string()))
    }

    /// Parses a stored status.
    pub(crate) fn parse_status(&self, id: &str, text: &str) -> Result<RunStatus> {
        text.parse().map_err(|e: String| self.bad_value("runs.status", id, e))
    }

    /// Parses stored tags (a JSON array of strings).
    pub(crate) fn parse_tags(&self, id: &str, text: &str) -> Result<Vec<String>> {
        serde_json::from_str(text).map_err(|e| self.bad_value("runs.tags", id, e.to_string()))
    }

    /// A [`StoreError::BadValue`] naming this database.
    pub(crate) fn bad_value(&self, column: &str, id: &str, message: String) -> StoreError {
        StoreError::BadValue {
            db: self.db.to_string(),
            column: column.to_owned(),
            id: id.to_owned(),
            message,
        }
    }

    /// A run row with everything recorded.
    pub(crate) fn detail(&self, r: RunRow) -> Result<RunDetail> {
        Ok(RunDetail {
            slurm: r.slurm(),
            status: self.parse_status(&r.id, &r.status)?,
            run: NewRun {
                config: self.parse_json("runs.config_json", &r.id, &r.config_json)?,
                varying: self.parse_json("runs.varying_json", &r.id, &r.varying_json)?,
                versions: self.parse_json("runs.versions_json", &r.id, &r.versions_json)?,
                tags: self.parse_tags(&r.id, &r.tags)?,
                experiment_id: r.experiment_id,
                sweep_id: r.sweep_id,
                config_hash: r.config_hash,
                config_toml: r.config_toml,
                epochs_target: to_u32(r.epochs_target),
                git_commit: r.git_commit,
                git_dirty: r.git_dirty.map(|d| d != 0),
                note: r.note,
                rerun_of: r.rerun_of,
            },
            experiment: r.experiment,
            last_epoch: r.last_epoch.map(to_u32),
            last_test_bits_per_dim: r.last_test_bits_per_dim,
            device: r.device,
            threads: r.threads.map(to_u32),
            created_at: r.created_at,
            started_at: r.started_at,
            ended_at: r.ended_at,
            heartbeat_at: r.heartbeat_at,
            worker_pid: r.worker_pid.map(to_u32),
            worker_host: r.worker_host,
            error: r.error,
            id: r.id,
        })
    }

    /// An artefact row as the public type.
    pub(crate) fn artefact(&self, a: ArtefactRaw) -> Result<Artefact> {
        Ok(Artefact {
            kind: a.kind.parse().map_err(|e: String| self.bad_value("artefacts.kind", &a.id, e))?,
            run_id: a.run_id,
            epoch: to_u32(a.epoch),
            name: a.name,
            media_type: a.media_type,
            has_data: a.has_data != 0,
            path: a.path,
            sha256: a.sha256,
            size_bytes: a.size_bytes.map(|s| u64::try_from(s).unwrap_or(0)),
            created_at: a.created_at,
            deleted_at: a.deleted_at,
            id: a.id,
        })
    }
}
