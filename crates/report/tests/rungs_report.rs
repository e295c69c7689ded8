//! The report of an ASHA search, built from rung decisions the test records: which run stopped
//! where, the epochs saved, the survivors' curves, pruned runs kept out of the failures, and the
//! optimistic label when the rungs compared the test set.

mod common;

use common::{claim, epoch, new_run};
use pixelcnn_record::{Asha, Promotion, RunStatus, RungMetric};
use pixelcnn_report::{ExperimentData, Note, Report};
use pixelcnn_store::{Lease, Search, Store, url_from_path};
use serde_json::json;

/// Claims the run of learning rate `lr` in experiment `exp`, to train 4 epochs.
async fn claim_lr(store: &Store, exp: &str, lr: f64) -> Lease {
    let config = json!({"seed": 1, "model": {"levels": 2}, "train": {"epochs": 4, "lr": lr}});
    claim(store, new_run(exp, &format!("lr-{lr}"), config, json!({"train.lr": lr}), 4)).await
}

#[tokio::test]
async fn the_rungs_show_which_run_stopped_where_and_the_survivors_curves() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&url_from_path(&dir.path().join("r.db"))).await.unwrap();
    let exp = store.record_experiment("asha", "").await.unwrap();
    // eta = 2, rungs at epochs 1 and 2 of 4, ranking the test NLL.
    let asha = Asha {
        metric: RungMetric::TestNll,
        reduction_factor: 2,
        grace_epochs: 1,
        max_epochs: 4,
        promotion: Promotion::Asynchronous,
    };
    let search = Search { id: "s".into(), experiment_id: exp.clone(), asha };
    let hashes: Vec<String> = [1e-3, 2e-3, 3e-3, 4e-3].iter().map(|lr| format!("lr-{lr}")).collect();
    store.join_search(&exp, Some(&search), &hashes).await.unwrap();
    // Each run: its test NLL per epoch, deciding at rungs 1 and 2 as a worker would.
    for (lr, nlls) in
        [(1e-3, &[0.5, 0.4, 0.35, 0.3][..]), (2e-3, &[0.6][..]), (3e-3, &[0.3, 0.45][..]), (4e-3, &[0.2][..])]
    {
        let lease = claim_lr(&store, &exp, lr).await;
        let mut pruned = false;
        for (i, nll) in nlls.iter().enumerate() {
            let e = i as u32 + 1;
            store.record_epoch(&lease, &epoch(e, *nll), &[]).await.unwrap();
            if let Some(rung) = asha.rung_of(e) {
                pruned = store.decide_rung(&lease, &search, rung).await.unwrap().ranking.decision
                    == pixelcnn_record::RungDecision::Stop;
            }
        }
        if nlls.len() == 4 {
            store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
        }
        assert_eq!(pruned, lr == 2e-3 || lr == 3e-3, "lr {lr}");
    }
    let data = ExperimentData::load(&store, "asha").await.unwrap();
    let report = Report::build(&data, "now").unwrap();
    let view = &report.view;
    assert_eq!(view.searches.len(), 1, "one search");
    let rungs = &view.searches[0].rungs;
    assert_eq!(rungs.epochs, [1, 2]);
    assert!(rungs.optimistic);
    let rows: Vec<(&str, &str)> = rungs.rows.iter().map(|r| (r.label.as_str(), r.outcome.as_str())).collect();
    assert_eq!(
        rows,
        [
            ("train.lr = 0.001", "trained to epoch 4"),
            ("train.lr = 0.002", "pruned at epoch 1"),
            ("train.lr = 0.003", "pruned at epoch 2"),
            ("train.lr = 0.004", "running (epoch 1 of 4)"),
        ]
    );
    assert_eq!(rungs.rows[0].cells, ["0.50000 · 1 of 1 · continue", "0.40000 · 1 of 1 · continue"]);
    assert_eq!(rungs.rows[1].cells, ["0.60000 · 2 of 2 · stop", ""]);
    assert_eq!(rungs.rows[2].cells[1], "0.45000 · 2 of 2 · stop");
    assert_eq!(rungs.rows[3].cells, ["0.20000 · 1 of 4 · continue", ""]);
    assert!(
        rungs.summary.contains("1 pruned at epoch 1, 1 pruned at epoch 2; 2 not stopped"),
        "{}",
        rungs.summary
    );
    assert!(
        rungs.summary.contains("trained 8 epochs, against 16") && rungs.summary.contains("50% fewer"),
        "{}",
        rungs.summary
    );
    let n: Vec<&str> = view.summary.iter().filter(|r| !r.reference).map(|r| r.n.as_str()).collect();
    assert_eq!(n, ["1", "0 of 1 (1 pruned)", "0 of 1 (1 pruned)", "0 of 1"]);
    // Pruned runs stopped as asked: not failures. The running one is still listed.
    let problems: Vec<&str> = view.problems.iter().map(|p| p.status.as_str()).collect();
    assert_eq!(problems, ["running"]);
    assert!(view.notes.contains(&Note::Optimistic), "{:?}", view.notes);
    let survivors = &view.searches[0].survivors;
    assert!(survivors.svg.contains("train.lr = 0.001") && survivors.svg.contains("train.lr = 0.004"));
    assert!(!survivors.svg.contains("train.lr = 0.002"), "pruned runs are dots, not legend lines");

    let written = report.write(&dir.path().join("out")).unwrap();
    let html = std::fs::read_to_string(&written.html).unwrap();
    assert!(
        html.contains("Successive-halving rungs")
            && html.contains("ASHA (asynchronous promotion)")
            && html.contains("banner optimistic")
            && html.contains("Optimistic: the ASHA search ranked its runs on the test NLL")
    );
    assert!(html.contains("pruned at epoch 2"));
    let markdown = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(markdown.contains("## Successive-halving rungs") && markdown.contains("Optimistic"));
    assert!(dir.path().join("out").join(&survivors.file).is_file());
}

#[tokio::test]
async fn an_experiment_without_a_search_has_no_rungs_section() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&url_from_path(&dir.path().join("r.db"))).await.unwrap();
    let exp = store.record_experiment("grid", "").await.unwrap();
    let lease = claim_lr(&store, &exp, 1e-3).await;
    store.record_epoch(&lease, &epoch(1, 0.5), &[]).await.unwrap();
    store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
    let data = ExperimentData::load(&store, "grid").await.unwrap();
    let report = Report::build(&data, "now").unwrap();
    assert!(report.view.searches.is_empty());
    let html = std::fs::read_to_string(report.write(&dir.path().join("out")).unwrap().html).unwrap();
    assert!(!html.contains("Successive-halving rungs") && !html.contains("ASHA (asynchronous promotion)"));
}

#[tokio::test]
async fn two_searches_of_one_experiment_are_shown_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&url_from_path(&dir.path().join("r.db"))).await.unwrap();
    let exp = store.record_experiment("asha", "").await.unwrap();
    let asha = Asha {
        metric: RungMetric::TestNll,
        reduction_factor: 2,
        grace_epochs: 1,
        max_epochs: 4,
        promotion: Promotion::Asynchronous,
    };
    // Two searches (a quick and a full profile, say), two runs each, decided at their first rung.
    for (id, lrs) in [("quick-search", [1e-3, 2e-3]), ("full-search", [3e-3, 4e-3])] {
        let search = Search { id: id.into(), experiment_id: exp.clone(), asha };
        let hashes: Vec<String> = lrs.iter().map(|lr| format!("lr-{lr}")).collect();
        store.join_search(&exp, Some(&search), &hashes).await.unwrap();
        for (lr, nll) in lrs.iter().zip([0.5, 0.6]) {
            let lease = claim_lr(&store, &exp, *lr).await;
            store.record_epoch(&lease, &epoch(1, nll), &[]).await.unwrap();
            store.decide_rung(&lease, &search, 0).await.unwrap();
        }
    }
    let data = ExperimentData::load(&store, "asha").await.unwrap();
    let report = Report::build(&data, "now").unwrap();
    let searches = &report.view.searches;
    assert_eq!(searches.len(), 2);
    let labels = |i: usize| searches[i].rungs.rows.iter().map(|r| r.label.clone()).collect::<Vec<_>>();
    assert_eq!(searches[0].rungs.search, "quick-se");
    assert_eq!(labels(0), ["train.lr = 0.001", "train.lr = 0.002"]);
    assert_eq!(labels(1), ["train.lr = 0.003", "train.lr = 0.004"]);
    // Each search ranks its own runs: the second's first arrival is 1 of 1, not 1 of 3.
    assert_eq!(searches[1].rungs.rows[0].cells, ["0.50000 · 1 of 1 · continue"]);
    assert_ne!(searches[0].survivors.file, searches[1].survivors.file);
    let written = report.write(&dir.path().join("out")).unwrap();
    let markdown = std::fs::read_to_string(&written.markdown).unwrap();
    assert!(
        markdown.contains("### Search quick-se") && markdown.contains("### Search full-sea"),
        "{markdown}"
    );
    for s in searches {
        assert!(dir.path().join("out").join(&s.survivors.file).is_file());
    }
}
