//! `pixelcnn store copy FROM TO`: moves a whole results database to another engine or place,
//! then reads both back and compares them value for value, so that a copy is known to be exact
//! before the original is retired.

use std::process::ExitCode;

use pixelcnn_store::{Store, to_url};

pub fn copy(from: &str, to: &str) -> anyhow::Result<ExitCode> {
    let (from, to) = (to_url(from), to_url(to));
    anyhow::ensure!(from != to, "store copy: FROM and TO are the same database ({from})");
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let source = Store::open_existing(&from).await?;
        let target = Store::open(&to).await?;
        let counts = source.copy_to(&target).await?;
        for (table, rows) in &counts {
            println!("{table:>15}: {rows} row(s)");
        }
        // Read both back: the copy must hold exactly what the source holds.
        if source.dump().await? != target.dump().await? {
            anyhow::bail!(
                "the copy in {} differs from {} after copying (a changing source? nothing was removed \
                 from either)",
                target.location(),
                source.location()
            );
        }
        println!("copied {} into {}: every table reads back identical", source.location(), target.location());
        source.close().await;
        target.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
