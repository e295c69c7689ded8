//! `pixelcnn metrics`: every epoch row of the selected runs as one tidy table, one row per run and
//! epoch, with the run's configuration flattened into dotted columns.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde_json::Value;

use crate::cli::{MetricsArgs, MetricsFormat};
use crate::commands::runs::{filter, open};

pub fn run(args: &MetricsArgs) -> anyhow::Result<ExitCode> {
    let (rt, store) = open(args.db.given())?;
    let rows = rt.block_on(store.metrics(&filter(&args.selection)?))?;
    let records: Vec<BTreeMap<String, Value>> = rows
        .iter()
        .map(|r| {
            let mut record = BTreeMap::new();
            record.insert("run_id".into(), Value::from(r.run_id.clone()));
            record.insert("experiment".into(), Value::from(r.experiment.clone()));
            record.insert("status".into(), Value::from(r.status.as_str()));
            record.extend(pixelcnn_config::flatten(&r.config));
            if let Value::Object(m) = serde_json::to_value(&r.metrics).expect("rows serialise") {
                record.extend(m);
            }
            record
        })
        .collect();
    match args.format {
        MetricsFormat::Json => println!("{}", serde_json::to_string_pretty(&records)?),
        MetricsFormat::Csv => {
            let mut columns: Vec<String> = records.iter().flat_map(|r| r.keys().cloned()).collect();
            columns.sort();
            columns.dedup();
            let mut out = csv::Writer::from_writer(std::io::stdout());
            out.write_record(&columns)?;
            for r in &records {
                out.write_record(columns.iter().map(|c| r.get(c).map_or(String::new(), cell)))?;
            }
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
