//! `pixelcnn serve`: the live view of the store (crates/serve), started only once the database
//! has been opened and read, so that a missing, unreachable or newer database is one clear error
//! at start instead of a page of failures.

use std::process::ExitCode;

use anyhow::Context;
use pixelcnn_serve::{ServeOptions, Server};
use pixelcnn_store::{Store, display_url, resolve_url};

use crate::cli::ServeArgs;

pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let url = resolve_url(args.db.given());
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store =
            Store::open_existing(&url).await.with_context(|| format!("opening {}", display_url(&url)))?;
        let experiments =
            store.experiments().await.with_context(|| format!("reading {}", display_url(&url)))?;
        let options = ServeOptions { host: args.host, port: args.port, token: args.token.clone() };
        let server = Server::bind(store, options).await?;
        if server.generated_token() {
            eprintln!(
                "listening on {} (not loopback): every request needs the access token in this address",
                args.host
            );
        }
        println!("serving {} ({} experiments) at {}", display_url(&url), experiments.len(), server.url());
        println!("Ctrl-C stops it.");
        server.run().await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
