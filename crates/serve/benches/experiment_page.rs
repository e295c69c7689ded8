//! Server load: the data of an experiment page (runs table, curves, change stamp) for a store of
//! 1,000 runs and 100,000 epoch rows, fetched over HTTP from a server in this process, as a
//! browser fetches it. Issue 23 asks for the page's data in under a second on a 2-core machine.
//!
//! The store is generated once (minutes: every epoch is its own transaction, as in training) and
//! kept at `$CARGO_TARGET_TMPDIR/serve-load-1000x100.db`; delete it to regenerate.

#![allow(missing_docs)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pixelcnn_record::{ArtefactKind, EpochMetrics, RunStatus, bits_per_dim};
use pixelcnn_serve::{ServeOptions, Server};
use pixelcnn_store::{ArtefactContent, NewArtefact, NewRun, Store, Worker};
use serde_json::json;

const RUNS: usize = 1_000;
const EPOCHS: u32 = 100;
const EXPERIMENT: &str = "load";

/// A 1x1 PNG: pictures' bytes do not matter here, only that each run has some.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0,
    0, 1, 8, 0, 0, 0, 0, 0x3a, 0x7e, 0x9b, 0x55, 0, 0, 0, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63,
    0x60, 0, 0, 0, 2, 0, 1, 0xe5, 0x27, 0xde, 0xfc, 0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60,
    0x82,
];

fn store_path() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-load-{RUNS}x{EPOCHS}.db"))
}

/// Fills a new store: 1,000 runs (5 levels x 4 learning rates x 50 seeds) of 100 epochs each,
/// with a samples and a completion picture at the last epoch.
async fn generate(path: &Path) {
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let store = Store::open(&Store::url_from_path(&partial)).await.unwrap();
    let experiment = store.record_experiment(EXPERIMENT, "1,000 runs, 100,000 epochs").await.unwrap();
    let started = Instant::now();
    for i in 0..RUNS {
        let (levels, lr, seed) = ([2, 4, 8, 16, 256][i % 5], [1e-3, 3e-3, 1e-2, 3e-2][(i / 5) % 4], i / 20);
        let mut config = serde_json::to_value(pixelcnn_config::RunConfig::default()).unwrap();
        config["model"]["levels"] = json!(levels);
        config["train"]["lr"] = json!(lr);
        config["train"]["epochs"] = json!(EPOCHS);
        config["seed"] = json!(seed);
        let run = NewRun {
            experiment_id: experiment.clone(),
            sweep_id: None,
            config_hash: format!("{levels}-{lr}-{seed}"),
            config,
            config_toml: String::new(),
            varying: json!({ "model.levels": levels, "train.lr": lr, "seed": seed }),
            epochs_target: EPOCHS,
            git_commit: None,
            git_dirty: None,
            versions: json!({}),
            tags: if i % 7 == 0 { vec!["seven".into()] } else { vec![] },
            note: None,
            rerun_of: None,
        };
        let id = store.create_run(&run).await.unwrap();
        let worker = Worker { pid: 1, host: "bench".into(), device: Some("cpu".into()), threads: Some(1) };
        let lease = store.claim(&id, &worker).await.unwrap().expect("a queued run is claimed");
        for epoch in 1..=EPOCHS {
            let nll = 0.1 + 1.0 / f64::from(epoch) + (i as f64) * 1e-5;
            let metrics = EpochMetrics {
                epoch,
                step: u64::from(epoch) * 100,
                train_nll: nll * 1.1,
                validation_nll: Some(nll * 1.05),
                test_nll: nll,
                test_bits_per_dim: bits_per_dim(nll),
                test_nats_per_image: nll * 784.0,
                lr,
                seconds: 1.0,
                images_per_second: 1000.0,
            };
            let pictures: Vec<NewArtefact> = if epoch == EPOCHS {
                [ArtefactKind::Samples, ArtefactKind::Completion]
                    .into_iter()
                    .map(|kind| NewArtefact {
                        kind,
                        name: format!("{}.png", kind.as_str()),
                        media_type: "image/png".into(),
                        content: ArtefactContent::Blob(PNG.to_vec()),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            store.record_epoch(&lease, &metrics, &pictures).await.unwrap();
        }
        store.finish_run(&lease, RunStatus::Finished, None).await.unwrap();
        if (i + 1) % 100 == 0 {
            eprintln!("generated {} of {RUNS} runs ({:.0} s)", i + 1, started.elapsed().as_secs_f64());
        }
    }
    store.close().await;
    std::fs::rename(&partial, path).unwrap();
}

fn fetch_bytes(agent: &ureq::Agent, url: &str) -> Vec<u8> {
    let mut response = agent.get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    response.body_mut().with_config().limit(1 << 30).read_to_vec().unwrap()
}

fn fetch(agent: &ureq::Agent, url: &str) -> usize {
    fetch_bytes(agent, url).len()
}

fn experiment_page(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let path = store_path();
    if !path.is_file() {
        runtime.block_on(generate(&path));
    }
    let origin = runtime.block_on(async {
        let store = Store::open_existing(&Store::url_from_path(&path)).await.unwrap();
        let options = ServeOptions { host: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 0, token: None };
        let server = Server::bind(store, options).await.unwrap();
        let origin = server.url().trim_end_matches('/').to_owned();
        tokio::spawn(server.run());
        origin
    });
    let agent = ureq::Agent::new_with_defaults();
    // The page asks for the curves of the first 40 runs of its table.
    let table: serde_json::Value =
        serde_json::from_slice(&fetch_bytes(&agent, &format!("{origin}/api/experiments/{EXPERIMENT}")))
            .unwrap();
    let shown: Vec<&str> =
        table["runs"].as_array().unwrap().iter().take(40).map(|r| r["id"].as_str().unwrap()).collect();
    let mut group = c.benchmark_group("experiment page, 1000 runs x 100 epochs");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    for (name, path) in [
        ("runs table", format!("/api/experiments/{EXPERIMENT}")),
        ("curves of 40 runs", format!("/api/experiments/{EXPERIMENT}/curves?runs={}", shown.join(","))),
        ("curves of every run", format!("/api/experiments/{EXPERIMENT}/curves")),
        ("change stamp", format!("/api/stamp?experiment={EXPERIMENT}")),
        ("experiments", "/api/experiments".to_owned()),
    ] {
        let url = format!("{origin}{path}");
        eprintln!("{name}: {} bytes", fetch(&agent, &url));
        group.bench_function(name, |b| b.iter(|| fetch(&agent, &url)));
    }
    group.finish();
}

criterion_group!(benches, experiment_page);
criterion_main!(benches);
