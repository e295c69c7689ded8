//! Experiments (named by their file's `[experiment]` table) and sweeps (one per invocation).

use crate::Store;
use crate::error::Result;
use crate::model::{Experiment, NewSweep, Sweep};

impl Store {
    /// Records an experiment by name and returns its id: the first sweep creates it, later ones
    /// find it (and update its description, so the file's latest wording shows).
    pub async fn record_experiment(&self, name: &str, description: &str) -> Result<String> {
        if name.trim().is_empty() {
            return Err(self.invalid("an experiment needs a name"));
        }
        sqlx::query_scalar(
            "INSERT INTO experiments (id, name, description, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET description = excluded.description \
             RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(name)
        .bind(description)
        .bind(self.clock.now())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| self.err(e))
    }

    /// Records one sweep invocation and returns its id.
    pub async fn record_sweep(&self, sweep: &NewSweep) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO sweeps (id, experiment_id, file, file_hash, profile, overrides, tag, note, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&sweep.experiment_id)
        .bind(&sweep.file)
        .bind(&sweep.file_hash)
        .bind(&sweep.profile)
        .bind(sweep.overrides.to_string())
        .bind(&sweep.tag)
        .bind(&sweep.note)
        .bind(self.clock.now())
        .execute(&self.pool)
        .await
        .map_err(|e| self.err_writing(&format!("sweep of {}", sweep.file), e))?;
        Ok(id)
    }

    /// A recorded sweep, by id.
    pub async fn sweep(&self, id: &str) -> Result<Sweep> {
        let row: Option<SweepRaw> = sqlx::query_as(
            "SELECT id, experiment_id, file, file_hash, profile, overrides, tag, note, created_at \
             FROM sweeps WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let r = row.ok_or_else(|| self.invalid(format!("no sweep has id {id}")))?;
        Ok(Sweep {
            overrides: self.parse_json("sweeps.overrides", &r.id, &r.overrides)?,
            id: r.id,
            experiment_id: r.experiment_id,
            file: r.file,
            file_hash: r.file_hash,
            profile: r.profile,
            tag: r.tag,
            note: r.note,
            created_at: r.created_at,
        })
    }

    /// Every experiment with its number of attempts, by name (byte order: sorted here, since
    /// PostgreSQL's `ORDER BY` follows the database's locale and SQLite's does not).
    pub async fn experiments(&self) -> Result<Vec<Experiment>> {
        let mut rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT e.id, e.name, e.description, e.created_at, COUNT(r.id) AS runs \
             FROM experiments e LEFT JOIN runs r ON r.experiment_id = e.id \
             GROUP BY e.id, e.name, e.description, e.created_at",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(rows
            .into_iter()
            .map(|(id, name, description, created_at, runs)| Experiment {
                id,
                name,
                description,
                created_at,
                runs: u64::try_from(runs).unwrap_or(0),
            })
            .collect())
    }

    /// Removes the record of experiment `name` with its sweeps and searches, once its runs are
    /// gone ([`Store::delete_run`] each first: their files are the caller's to delete). An
    /// experiment that still has runs is refused, so no run is left without its experiment.
    pub async fn delete_experiment(&self, name: &str) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(|e| self.err(e))?;
        // A write first: on SQLite the transaction takes the write lock before reading anything.
        let found = sqlx::query("UPDATE experiments SET name = name WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err(e))?;
        if found.rows_affected() == 0 {
            return Err(self.invalid(format!("no experiment named {name:?}")));
        }
        let (id, runs): (String, i64) = sqlx::query_as(
            "SELECT e.id, (SELECT COUNT(*) FROM runs r WHERE r.experiment_id = e.id) FROM experiments e \
             WHERE e.name = $1",
        )
        .bind(name)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.err(e))?;
        if runs > 0 {
            return Err(
                self.invalid(format!("experiment {name:?} still has {runs} run(s); delete them first"))
            );
        }
        for sql in [
            "DELETE FROM search_configs WHERE experiment_id = $1",
            "DELETE FROM searches WHERE experiment_id = $1",
            "DELETE FROM sweeps WHERE experiment_id = $1",
            "DELETE FROM experiments WHERE id = $1",
        ] {
            sqlx::query(sql).bind(&id).execute(&mut *tx).await.map_err(|e| self.err(e))?;
        }
        tx.commit().await.map_err(|e| self.err(e))
    }
}

/// A sweep row as stored.
#[derive(sqlx::FromRow)]
struct SweepRaw {
    id: String,
    experiment_id: String,
    file: String,
    file_hash: String,
    profile: Option<String>,
    overrides: String,
    tag: Option<String>,
    note: Option<String>,
    created_at: String,
}
