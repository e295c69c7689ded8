//! `pixelcnn show`: everything recorded about one run.

use std::process::ExitCode;

use crate::commands::plan::print_table;
use crate::commands::runs::open;

use crate::cli::ShowArgs;

pub fn run(args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let (rt, store) = open(args.db.given())?;
    let detail = rt.block_on(store.run(&args.run))?;
    let epochs = rt.block_on(store.epochs(&detail.id))?;
    let artefacts = rt.block_on(store.artefacts(&detail.id))?;
    let verdicts = rt.block_on(store.verdicts(&detail.id))?;
    let rungs = rt.block_on(store.rung_decisions(&detail.id))?;
    if args.json {
        let all = serde_json::json!({
            "run": detail, "epochs": epochs, "artefacts": artefacts, "rerun_verdicts": verdicts,
            "rung_decisions": rungs
        });
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("run {} ({}), experiment {}", detail.id, detail.status.as_str(), detail.experiment);
    println!("config_hash {}", detail.run.config_hash);
    println!("varying     {}", detail.run.varying);
    let tags = &detail.run.tags;
    println!("tags        {}", if tags.is_empty() { "-".to_owned() } else { tags.join(", ") });
    if let Some(note) = &detail.run.note {
        println!("note        {note}");
    }
    let device = detail.device.as_deref().unwrap_or("-");
    let threads = detail.threads.map_or("-".into(), |t| t.to_string());
    println!("device      {device}, {threads} threads");
    let host = detail.worker_host.as_deref().unwrap_or("-");
    println!("worker      pid {} on {host}", detail.worker_pid.map_or("-".into(), |p| p.to_string()));
    if let Some(task) = &detail.slurm {
        println!("slurm       task {task} (job {})", task.job_id);
    }
    let commit = detail.run.git_commit.as_deref().unwrap_or("-");
    let dirty = if detail.run.git_dirty == Some(true) { " (dirty)" } else { "" };
    println!("git         {commit}{dirty}");
    println!("versions    {}", detail.run.versions);
    println!(
        "times       created {}, started {}, ended {}",
        detail.created_at,
        opt(&detail.started_at),
        opt(&detail.ended_at)
    );
    if let Some(e) = &detail.error {
        println!("error       {e}");
    }
    if let Some(original) = &detail.run.rerun_of {
        println!("rerun of    {original}");
    }
    for v in &verdicts {
        println!("verdict     {}", crate::commands::rerun::describe(v));
    }
    for r in &rungs {
        let value = r.value.map_or_else(|| "missing".to_owned(), |v| format!("{v:.5}"));
        let k = &r.ranking;
        println!(
            "rung {}      epoch {}: {} {value}, rank {} of {} recorded, top {} continue: {}",
            r.rung, r.epoch, r.metric, k.rank, k.recorded, k.quota, k.decision
        );
    }
    println!("\nconfiguration:\n{}", detail.run.config_toml);
    let mut rows = vec![
        ["epoch", "train_nll", "valid_nll", "test_nll", "bits/dim", "nats/image", "lr", "seconds", "img/s"]
            .map(String::from)
            .to_vec(),
    ];
    for e in &epochs {
        rows.push(vec![
            e.epoch.to_string(),
            format!("{:.4}", e.train_nll),
            e.validation_nll.map_or("-".into(), |v| format!("{v:.4}")),
            format!("{:.4}", e.test_nll),
            format!("{:.4}", e.test_bits_per_dim),
            format!("{:.2}", e.test_nats_per_image),
            format!("{:.3e}", e.lr),
            format!("{:.1}", e.seconds),
            format!("{:.1}", e.images_per_second),
        ]);
    }
    print_table(&rows);
    println!("\nartefacts:");
    for a in &artefacts {
        let place = a.path.clone().unwrap_or_else(|| "in database".into());
        let deleted = if a.deleted_at.is_some() { " (deleted)" } else { "" };
        println!("  epoch {:>4} {:<10} {} {place}{deleted}", a.epoch, a.kind.as_str(), a.name);
    }
    Ok(ExitCode::SUCCESS)
}

fn opt(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("-")
}
