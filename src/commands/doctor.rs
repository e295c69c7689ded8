//! `pixelcnn doctor`: is everything a run needs in place? Prints what it finds and, for each
//! missing piece, how to fix it.

use std::path::Path;
use std::process::ExitCode;

use pixelcnn_data::mnist;
use pixelcnn_train::device::cuda_device_count;

use crate::versions::Versions;

use crate::cli::DoctorArgs;

pub fn run(args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let data = args.data.as_deref();
    let v = Versions::current();
    let mut problems = Vec::new();
    println!("pixelcnn-lab {}", v.pixelcnn);
    println!("burn         {}", v.burn);
    println!("rustc        {}", v.rustc);
    if cfg!(feature = "tch") {
        println!("tch          {}", v.tch);
        match (&v.torch, &v.libtorch_dir) {
            (Some(torch), Some(dir)) => println!("torch        {torch} (libtorch at {dir})"),
            _ => problems.push("libtorch was not found in this process; run `just setup`"),
        }
        let cuda = cuda_device_count();
        if cuda > 0 {
            println!("CUDA         usable, {cuda} device(s)");
        } else {
            println!("CUDA         not usable (no CUDA device); runs use libtorch on the CPU");
        }
    } else {
        println!("torch        not in this build (flex-only); runs use the flex CPU backend");
    }
    let backends: Vec<&str> = [("libtorch", cfg!(feature = "tch")), ("flex", cfg!(feature = "flex"))]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
    println!("backends     {}", backends.join(", "));
    let dir = data.map_or_else(mnist::default_dir, Path::to_owned);
    match mnist::verify(&dir) {
        Ok(files) => println!("data         {} ({} files, checksums match)", dir.display(), files.len()),
        Err(e) => {
            println!("data         {}: {e} (another folder: {})", dir.display(), crate::commands::DATA_FLAG);
            problems.push("MNIST is missing or differs from the committed checksums; run `just setup`");
        }
    }
    for p in &problems {
        eprintln!("error: {p}");
    }
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
