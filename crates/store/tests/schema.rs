//! The migrations and the record's vocabulary agree: `runs.status`'s CHECK lists exactly
//! `RunStatus::ALL` and `artefacts.kind`'s exactly `ArtefactKind::ALL`, on both engines, so a name
//! added on one side only fails here rather than on a user's database.

mod common;

use std::collections::BTreeSet;

use common::{TestDb, new_run};
use pixelcnn_record::{ArtefactKind, RunStatus};
use sqlx::Connection;

/// The names the CHECK constraint on `table.column` allows, as the engine reports it.
async fn allowed_values(url: &str, table: &str, column: &str) -> BTreeSet<String> {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let check = if url.starts_with("sqlite") {
        let table: String =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(table)
                .fetch_one(&mut conn)
                .await
                .unwrap();
        let mut on_status = table
            .split("CHECK")
            .skip(1)
            .filter(|c| c.trim_start_matches([' ', '(', '"']).starts_with(column));
        let check = on_status.next().unwrap_or_else(|| panic!("no CHECK on {column} in {table}"));
        assert!(on_status.next().is_none(), "one CHECK on {column} in {table}");
        // Up to the end of its list of values.
        check[..check.find(')').unwrap()].to_owned()
    } else {
        let checks: Vec<String> = sqlx::query_scalar(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = CAST($1 AS regclass) \
             AND contype = 'c'",
        )
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let mut on_column = checks.into_iter().filter(|c| c.contains(column));
        let check = on_column.next().unwrap_or_else(|| panic!("a CHECK on {table}.{column}"));
        assert!(on_column.next().is_none(), "one CHECK on {table}.{column}");
        check
    };
    conn.close().await.unwrap();
    // The quoted names: every other piece between single quotes.
    check.split('\'').skip(1).step_by(2).map(str::to_owned).collect()
}

async fn the_checks_list_every_declared_name_and_no_other(db: TestDb) {
    let store = db.open().await;
    let declared: BTreeSet<String> = RunStatus::ALL.iter().map(|s| s.to_string()).collect();
    assert_eq!(allowed_values(&db.url(), "runs", "status").await, declared, "runs.status vs RunStatus::ALL");
    let declared: BTreeSet<String> = ArtefactKind::ALL.iter().map(|k| k.to_string()).collect();
    assert_eq!(
        allowed_values(&db.url(), "artefacts", "kind").await,
        declared,
        "artefacts.kind vs ArtefactKind::ALL"
    );

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

on_both_engines!(the_checks_list_every_declared_name_and_no_other);
