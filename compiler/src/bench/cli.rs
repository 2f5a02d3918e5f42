//! The `trnc bench` command line (kept here so that main.rs only names it).

use super::{report, run, BenchOptions};
use crate::Error;
use std::path::PathBuf;
use trnc_ir::Target;

pub const EXAMPLES: &str = "\
Examples:
  trnc bench                                           # deterministic figures of the zoo, written to bench-results/
  trnc bench --compare bench-results/baseline.json --out target/bench-ci   # what CI runs
  trnc bench --wall-clock --runs 7 --compare bench-results/baseline.json  # compile and run times too
  trnc bench --wall-clock --update-baseline            # refresh the baseline on purpose (say why in the commit)

Any deterministic figure worse than the baseline's, or a wall-clock ratio beyond
its noise threshold, fails with exit code 1 and names model, target, kernel and figure.";

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// NeuronCore generations to estimate for.
    #[arg(long, value_delimiter = ',', default_value = "trn1,trn2,trn3")]
    pub targets: Vec<Target>,
    /// Zoo models to measure (default: all of bench-results/models and the ONNX models).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub models: Vec<String>,
    /// Also measure wall-clock figures: compile time per model and stage,
    /// CPU backend run times, onnxruntime session creation.
    #[arg(long)]
    pub wall_clock: bool,
    /// Runs per wall-clock figure (after one warm-up); their median is
    /// recorded and their spread sets the noise threshold.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub runs: u64,
    /// Compare with this baseline; any regression fails the command.
    #[arg(long, value_name = "BASELINE.json")]
    pub compare: Option<PathBuf>,
    /// Rewrite the baseline (the --compare file, else OUT/baseline.json)
    /// with this run's figures, and README's headline numbers.
    #[arg(long)]
    pub update_baseline: bool,
    /// Folder for <date>-<commit>.json, the Markdown summary and history.svg.
    #[arg(long, value_name = "DIR", default_value = "bench-results")]
    pub out: PathBuf,
}

/// Runs `trnc bench` from the current directory, the workspace root.
pub fn main(args: BenchArgs) -> Result<(), Error> {
    let options = BenchOptions {
        root: PathBuf::from("."),
        targets: args.targets,
        models: args.models,
        wall_clock: args.wall_clock,
        runs: args.runs as usize,
        compare: args.compare,
        update_baseline: args.update_baseline,
        out: args.out,
    };
    let outcome = run(&options, &mut |line| eprintln!("bench: {line}"))?;
    print!("{}", report(&outcome));
    if outcome.passed() || options.update_baseline {
        Ok(())
    } else {
        let n = outcome.comparison.as_ref().map_or(0, |c| c.regressions.len());
        Err(Error::run(format!(
            "error: {n} figure(s) worse than the baseline (WORSE lines above); fix them, or refresh the baseline on purpose with --update-baseline"
        )))
    }
}
