//! Opening databases: migrations on an empty file and again on reopen, the SQLite settings, and
//! clear errors naming the file for corrupt, locked and unsupported databases.

mod common;

use std::time::Duration;

use common::TempDb;
use pixelcnn_store::scratch::ScratchPostgres;
use pixelcnn_store::{Store, StoreError, StoreOptions};
use sqlx::{Connection, SqliteConnection};

/// Counts the applied migrations and the store's tables through a separate connection.
async fn schema_of(path: &std::path::Path) -> (i64, Vec<String>) {
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let migrations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    (migrations, tables)
}

#[tokio::test]
async fn migrations_create_the_schema_and_rerunning_them_is_a_no_op() {
    let db = TempDb::new();
    assert!(!db.path.exists());
    let store = db.open().await;
    store.record_experiment("levels", "q = 2 vs 256").await.unwrap();
    store.close().await;
    assert!(db.path.is_file(), "the file and its parent folders are created");

    let (applied, tables) = schema_of(&db.path).await;
    // Every file of migrations/ is applied.
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations")).unwrap().count();
    assert_eq!(applied, i64::try_from(files).unwrap());
    assert_eq!(
        tables,
        [
            "artefacts",
            "config_locks",
            "epochs",
            "experiments",
            "rerun_verdicts",
            "rung_decisions",
            "runs",
            "search_configs",
            "searches",
            "sweeps"
        ]
    );

    // 0003 adds the lease token of a running attempt.
    let mut conn = SqliteConnection::connect(&db.url()).await.unwrap();
    let lease_column: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'lease_token'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(lease_column, 1, "runs.lease_token exists");
    conn.close().await.unwrap();

    // Reopening applies nothing and keeps the data.
    for _ in 0..2 {
        let store = db.open().await;
        assert_eq!(store.experiments().await.unwrap().len(), 1);
        store.close().await;
    }
    assert_eq!(schema_of(&db.path).await, (applied, tables));
}

#[tokio::test]
async fn sqlite_settings_take_effect() {
    let db = TempDb::new();
    let store = db.open().await;
    let settings = store.settings().await.unwrap();
    assert_eq!(settings["engine"], "sqlite");
    assert_eq!(settings["journal_mode"], "wal");
    assert_eq!(settings["busy_timeout"], "30000");
    assert_eq!(settings["foreign_keys"], "1");
    assert_eq!(settings["synchronous"], "1", "NORMAL");
    store.integrity_check().await.unwrap();
    assert_eq!(store.location(), db.path.display().to_string());
}

#[tokio::test]
async fn a_corrupt_file_is_an_error_naming_it() {
    let db = TempDb::new();
    std::fs::create_dir_all(db.path.parent().unwrap()).unwrap();
    std::fs::write(&db.path, b"this is not a database, just some garbage bytes\n".repeat(100)).unwrap();
    let err = Store::open(&db.url()).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&db.path.display().to_string()), "{message}");
    assert!(message.contains("corrupt"), "{message}");
}

#[tokio::test]
async fn a_locked_database_is_an_error_naming_it() {
    let db = TempDb::new();
    db.open().await.close().await;
    // Another process holds the write lock.
    let mut holder = SqliteConnection::connect(&db.url()).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE").execute(&mut holder).await.unwrap();

    let options = StoreOptions { busy_timeout: Duration::from_millis(200), ..StoreOptions::default() };
    let err = Store::open_with(&db.url(), options).await.unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&db.path.display().to_string()) && message.contains("locked"), "{message}");

    // Released: the same open succeeds.
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    Store::open_with(
        &db.url(),
        StoreOptions { busy_timeout: Duration::from_millis(200), ..Default::default() },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn unsupported_urls_and_unusable_paths_are_errors() {
    let err = Store::open("mysql://localhost/pixelcnn").await.unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl { .. }), "{err:?}");
    assert!(err.to_string().contains("mysql://localhost/pixelcnn"));
    assert!(matches!(Store::open("sqlite::memory:").await, Err(StoreError::UnsupportedUrl { .. })));

    // A folder where the file should be.
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(&pixelcnn_store::url_from_path(dir.path())).await.unwrap_err();
    assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");

    // A file where a parent folder should be.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let err = Store::open(&pixelcnn_store::url_from_path(&blocker.join("x.db"))).await.unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    assert!(err.to_string().contains(&blocker.join("x.db").display().to_string()), "{err}");
}

/// Set in the child process of the test below: the URL `default_url` must give there.
const EXPECT_URL_ENV: &str = "PIXELCNN_STORE_TEST_EXPECT_URL";

/// Runs in a child process with `PIXELCNN_DB` set (setting variables in this process would need
/// unsafe code); a no-op in the normal test run.
#[test]
fn default_url_child() {
    if let Ok(expected) = std::env::var(EXPECT_URL_ENV) {
        assert_eq!(pixelcnn_store::default_url(), expected);
        assert_eq!(
            pixelcnn_store::resolve_url(Some("flag.db")),
            "sqlite://flag.db",
            "the flag beats the environment"
        );
        println!("default_url_child checked");
    }
}

#[test]
fn the_default_url_follows_flag_then_environment_then_runs_folder() {
    let child = |db: Option<&str>, expected: &str| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command.args(["default_url_child", "--exact", "--nocapture", "--test-threads", "1"]);
        command.env(EXPECT_URL_ENV, expected);
        match db {
            Some(db) => command.env(pixelcnn_store::DB_ENV, db),
            None => command.env_remove(pixelcnn_store::DB_ENV),
        };
        let out = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("default_url_child checked"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    child(None, "sqlite://runs/pixelcnn.db");
    child(Some(""), "sqlite://runs/pixelcnn.db");
    child(Some("elsewhere/x.db"), "sqlite://elsewhere/x.db");
    child(Some("sqlite:///abs/y.db"), "sqlite:///abs/y.db");
    assert_eq!(pixelcnn_store::resolve_url(Some("elsewhere/x.db")), "sqlite://elsewhere/x.db");
}

#[tokio::test]
async fn postgres_settings_and_schema() {
    let Some(db) = ScratchPostgres::for_test().await else { return };
    // A database whose default isolation is stricter than PostgreSQL's own: the store's
    // connections still run READ COMMITTED, which its claims and rung decisions rely on.
    {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(db.url()).await.unwrap();
        conn.execute(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_isolation = %L', \
             current_database(), 'repeatable read'); END $$",
        )
        .await
        .unwrap();
        conn.close().await.unwrap();
    }
    let store = Store::open(db.url()).await.unwrap();
    let settings = store.settings().await.unwrap();
    assert_eq!(settings["engine"], "postgres");
    assert_eq!(settings["default_transaction_isolation"], "read committed");
    assert_eq!(settings["timezone"], "UTC");
    assert_eq!(settings["lock_timeout"], "30s");
    store.integrity_check().await.unwrap();
    assert!(
        !store.location().contains("pixelcnn:pixelcnn@"),
        "no password in messages: {}",
        store.location()
    );
    // Opening again (another process, a newer task of the array) applies nothing twice.
    store.close().await;
    let again = Store::open(db.url()).await.unwrap();
    assert!(again.experiments().await.unwrap().is_empty());
}

#[tokio::test]
async fn postgres_errors_name_the_database_without_its_password() {
    let Some(db) = ScratchPostgres::for_test().await else { return };
    let wrong_password = db.url().replacen(":pixelcnn@", ":not-the-password@", 1);
    let err = Store::open(&wrong_password).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    assert!(
        message.contains("password authentication failed") && !message.contains("not-the-password"),
        "{message}"
    );

    let (base, _) = db.url().rsplit_once('/').unwrap();
    let missing = format!("{base}/no_such_database_here");
    let message = Store::open(&missing).await.unwrap_err().to_string();
    assert!(message.contains("no_such_database_here") && message.contains("does not exist"), "{message}");

    let refused = "postgres://pixelcnn:pixelcnn@127.0.0.1:1/x";
    let message = Store::open(refused).await.unwrap_err().to_string();
    assert!(
        message.contains("cannot connect to database postgres://pixelcnn:***@127.0.0.1:1/x"),
        "{message}"
    );
}

/// Whether SQLite's `-wal` and `-shm` files exist next to `path`.
fn companions(path: &std::path::Path) -> [bool; 2] {
    ["-wal", "-shm"].map(|suffix| std::path::PathBuf::from(format!("{}{suffix}", path.display())).exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closing_the_last_store_leaves_no_wal_files_even_after_concurrent_reads() {
    let db = TempDb::new();
    db.open().await.close().await;
    assert_eq!(companions(&db.path), [false, false]);
    // Several connections in use at once, then closed together: before the store tidied up after
    // its pool, one of them racing another's close could leave the WAL behind.
    for round in 0..20 {
        let store = Store::open_existing(&db.url()).await.unwrap();
        let mut reads = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let store = store.clone();
            reads.spawn(async move { store.experiments().await.map(|_| ()) });
        }
        while let Some(read) = reads.join_next().await {
            read.unwrap().unwrap();
        }
        store.close().await;
        assert_eq!(companions(&db.path), [false, false], "round {round}");
    }
    // While another connection has the file open, closing leaves its WAL alone.
    let mut other = SqliteConnection::connect(&db.url()).await.unwrap();
    sqlx::query("SELECT COUNT(*) FROM runs").execute(&mut other).await.unwrap();
    let store = Store::open_existing(&db.url()).await.unwrap();
    store.experiments().await.unwrap();
    store.close().await;
    assert_eq!(companions(&db.path), [true, true], "another connection still uses them");
    other.close().await.unwrap();
    assert_eq!(companions(&db.path), [false, false], "the last connection removed them");
}
