//! The migrations and the record's vocabulary agree: `runs.status`'s CHECK lists exactly
//! `RunStatus::ALL`, on both engines, so a status added on one side only fails here rather than
//! on a user's database.

mod common;

use std::collections::BTreeSet;

use common::{TestDb, new_run};
use pixelcnn_record::RunStatus;
use sqlx::Connection;

/// The text of the CHECK constraint on `runs.status`, as the engine reports it.
async fn status_check(url: &str) -> String {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    if url.starts_with("sqlite") {
        let table: String =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        let mut on_status = table
            .split("CHECK")
            .skip(1)
            .filter(|c| c.trim_start_matches([' ', '(', '"']).starts_with("status"));
        let check = on_status.next().unwrap_or_else(|| panic!("no CHECK on runs.status in {table}"));
        assert!(on_status.next().is_none(), "one CHECK on runs.status in {table}");
        // Up to the end of its list of values.
        check[..check.find(')').unwrap()].to_owned()
    } else {
        let checks: Vec<String> = sqlx::query_scalar(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'runs'::regclass AND contype = 'c'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut on_status = checks.into_iter().filter(|c| c.contains("status"));
        let check = on_status.next().expect("a CHECK on runs.status");
        assert!(on_status.next().is_none(), "one CHECK on runs.status");
        check
    }
}

async fn the_status_check_lists_every_run_status_and_no_other(db: TestDb) {
    let store = db.open().await;
    let check = status_check(&db.url()).await;
    // The quoted names: every other piece between single quotes.
    let listed: BTreeSet<&str> = check.split('\'').skip(1).step_by(2).collect();
    let declared: BTreeSet<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(listed, declared, "the migrations' CHECK on runs.status ({check}) vs RunStatus::ALL");

    // And the engine enforces it: every declared status is accepted, another name is refused.
    let experiment = store.record_experiment("schema", "").await.unwrap();
    let run_id = store.create_run(&new_run(&experiment, "h", 2, 1)).await.unwrap();
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url()).await.unwrap();
    for status in RunStatus::ALL {
        sqlx::query("UPDATE runs SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(&run_id)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("status `{status}` refused: {e}"));
    }
    let refused =
        sqlx::query("UPDATE runs SET status = 'done' WHERE id = $1").bind(&run_id).execute(&mut conn).await;
    assert!(refused.is_err(), "an undeclared status is refused");
    conn.close().await.unwrap();
    store.close().await;
}

on_both_engines!(the_status_check_lists_every_run_status_and_no_other);
