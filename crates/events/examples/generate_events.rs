//! Writes generated pipeline events as JSON lines to stdout.
//!
//! `cargo run --release -p pipeline-events --example generate_events` writes the built-in sample dataset;
//! `-- --events 1000000 --days 365 --engineers 48` writes a store for benchmarks.

use std::io::{BufWriter, stdout};
use std::process::ExitCode;

use pipeline_events::{GeneratorSettings, generate, write_json_lines};

fn main() -> ExitCode {
    let mut settings = GeneratorSettings::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), value) {
            ("--seed", Some(v)) => settings.seed = v,
            ("--events", Some(v)) => settings.events = v as usize,
            ("--days", Some(v)) => settings.days = v as u32,
            ("--engineers", Some(v)) => settings.engineers = v as usize,
            ("--start", Some(v)) => settings.start = v as i64,
            _ => {
                eprintln!(
                    "usage: generate_events [--seed N] [--events N] [--days N] [--engineers N] [--start UNIX_SECONDS]"
                );
                return ExitCode::FAILURE;
            }
        }
    }
    match write_json_lines(&generate(&settings), BufWriter::new(stdout().lock())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("generate_events: {error}");
            ExitCode::FAILURE
        }
    }
}
