//! Throwaway PostgreSQL databases for tests (the store's own and the command line's) and for
//! trying things out: each is a fresh database on a server the caller names, dropped with all its
//! connections when the handle goes, so that tests running at once never see each other's rows.

use sqlx::{AnyConnection, ConnectOptions, Connection, Executor};

use crate::error::{Result, StoreError};

/// The variable naming the PostgreSQL server tests use: a URL whose role may create databases
/// (`scripts/test-postgres.sh`, which `just test` runs, starts a throwaway one), or `skip`.
pub const TEST_POSTGRES_ENV: &str = "PIXELCNN_TEST_POSTGRES";

/// A database created for one test; dropped (`WITH (FORCE)`) when this handle is dropped.
#[derive(Debug)]
pub struct ScratchPostgres {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchPostgres {
    /// Creates a new, empty database on the server of `admin_url` (any database there that the
    /// role can connect to, typically `/postgres`).
    pub async fn create(admin_url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let name = format!("pixelcnn_test_{}", uuid::Uuid::new_v4().simple());
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
        let url = format!("{base}/{name}");
        let mut conn = admin(admin_url).await?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .map_err(|e| connect_error(admin_url, e))?;
        let _ = conn.close().await;
        Ok(Self { admin_url: admin_url.to_owned(), name, url })
    }

    /// For tests: a scratch database on the server named by [`TEST_POSTGRES_ENV`], or `None` when
    /// it says `skip` (the test then checks only SQLite, and says so on stderr).
    ///
    /// # Panics
    /// When the variable is unset or the database cannot be created: a test that silently skipped
    /// PostgreSQL would pass without checking it.
    pub async fn for_test() -> Option<Self> {
        match std::env::var(TEST_POSTGRES_ENV) {
            Ok(v) if v == "skip" => {
                eprintln!("{TEST_POSTGRES_ENV}=skip: PostgreSQL not checked");
                None
            }
            Ok(url) if !url.is_empty() => Some(Self::create(&url).await.unwrap_or_else(|e| panic!("{e}"))),
            _ => panic!(
                "{TEST_POSTGRES_ENV} is not set: run the tests through `just test` (or \
                 `bash scripts/test-postgres.sh cargo test ...`, which starts a throwaway server), \
                 point it at a server whose role may create databases, or set it to `skip`"
            ),
        }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

async fn admin(url: &str) -> Result<AnyConnection> {
    let options: sqlx::any::AnyConnectOptions = url.parse().map_err(|e| connect_error(url, e))?;
    options.connect().await.map_err(|e| connect_error(url, e))
}

fn connect_error(url: &str, e: sqlx::Error) -> StoreError {
    StoreError::Connect { db: crate::postgres::redact(url), message: e.to_string() }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn = admin(&admin_url).await.ok()?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.ok()?;
                conn.close().await.ok()
            })
        });
        let _ = dropped.join();
    }
}
