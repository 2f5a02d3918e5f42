//! Graph passes and the pass manager.
//!
//! A pass is a function `&mut Graph -> bool` (did it change anything) with
//! a name. The manager runs a pipeline of passes, verifies the graph after
//! each one (a pass that breaks the verifier is reported with its name and
//! the IR it produced), and can print the IR and time each pass.

mod canonicalize;
mod cse;
mod dce;
mod fold;
mod legalize;
pub mod narrow;
mod recompose;
pub mod rewrite;
mod sum_as_matmul;

use crate::Error;
use std::time::{Duration, Instant};
use trnc_ir::text::print_graph;
use trnc_ir::{verify, Graph};

pub use canonicalize::canonicalize;
pub use cse::cse;
pub use dce::dce;
pub use fold::fold_constants;
pub use legalize::legalize_matmul;
pub use narrow::narrow_i64;
pub use recompose::recompose;
pub use sum_as_matmul::sums_as_matmuls;

pub struct Pass {
    pub name: &'static str,
    pub summary: &'static str,
    pub run: fn(&mut Graph) -> bool,
}

/// Every pass, by name.
pub const PASSES: &[Pass] = &[
    Pass {
        name: "canonicalize",
        summary: "x*1, x+0, x/1, double transpose, reshape chains, no-op casts/expands/slices",
        run: canonicalize,
    },
    Pass { name: "fold-constants", summary: "evaluate nodes whose operands are all constants", run: fold_constants },
    Pass { name: "cse", summary: "merge nodes computing the same op on the same operands", run: cse },
    Pass {
        name: "recompose",
        summary: "recognise softmax, log_softmax, layer_norm, rms_norm, gelu, silu and attention spelled in primitives",
        run: recompose,
    },
    Pass { name: "dce", summary: "drop nodes no output depends on", run: dce },
];

/// The default pipeline, in order.
pub const DEFAULT_PIPELINE: &[&str] =
    &["canonicalize", "fold-constants", "cse", "dce", "recompose", "canonicalize", "cse", "dce"];

pub fn find_pass(name: &str) -> Result<&'static Pass, Error> {
    PASSES.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = PASSES.iter().map(|p| p.name).collect();
        Error::bad_input(format!("error: unknown pass '{name}'; the passes are: {}", names.join(", ")))
    })
}

#[derive(Clone, Debug, Default)]
pub struct PipelineOptions {
    /// Print the IR after every pass with one of these names.
    pub print_after: Vec<String>,
    pub print_after_all: bool,
    /// Stop after the first run of this pass.
    pub stop_after: Option<String>,
}

#[derive(Clone, Debug)]
pub struct PassRun {
    pub name: &'static str,
    pub wall: Duration,
    pub changed: bool,
    pub nodes_after: usize,
}

/// Runs `pipeline` on `g`. IR dumps go to `dump` in the form
/// `// ----- IR after NAME ----- //` followed by the text.
pub fn run_pipeline(
    g: &mut Graph,
    pipeline: &[&str],
    options: &PipelineOptions,
    dump: &mut dyn FnMut(&str),
) -> Result<Vec<PassRun>, Error> {
    let passes: Vec<&Pass> = pipeline.iter().map(|n| find_pass(n)).collect::<Result<_, _>>()?;
    for name in options.print_after.iter().chain(&options.stop_after) {
        find_pass(name)?;
    }
    let mut runs = Vec::new();
    for pass in passes {
        let start = Instant::now();
        let changed = (pass.run)(g);
        let wall = start.elapsed();
        if let Err(e) = verify(g) {
            return Err(Error::run(format!(
                "error: pass '{}' produced an invalid graph: {e}\n// ----- IR after {} (invalid) ----- //\n{}",
                pass.name,
                pass.name,
                print_graph(g)
            )));
        }
        runs.push(PassRun { name: pass.name, wall, changed, nodes_after: g.nodes.len() });
        if options.print_after_all || options.print_after.iter().any(|p| p == pass.name) {
            dump(&format!("// ----- IR after {} ----- //\n{}", pass.name, print_graph(g)));
        }
        if options.stop_after.as_deref() == Some(pass.name) {
            break;
        }
    }
    Ok(runs)
}

/// The `--time-passes` table.
pub fn format_timings(runs: &[PassRun]) -> String {
    let total: Duration = runs.iter().map(|r| r.wall).sum();
    let mut s = format!("{:<16} {:>12} {:>8} {:>8}\n", "pass", "wall (ms)", "changed", "nodes");
    for r in runs {
        s.push_str(&format!(
            "{:<16} {:>12.3} {:>8} {:>8}\n",
            r.name,
            r.wall.as_secs_f64() * 1e3,
            if r.changed { "yes" } else { "no" },
            r.nodes_after
        ));
    }
    s.push_str(&format!("{:<16} {:>12.3}\n", "total", total.as_secs_f64() * 1e3));
    s
}
