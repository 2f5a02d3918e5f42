//! Running a graph on a backend.

use crate::passes::{run_pipeline, PipelineOptions, DEFAULT_PIPELINE};
use crate::program::{build_program_with, simulate_program};
use crate::Error;
use std::fmt;
use std::str::FromStr;
use trnc_ir::{describe_node, Graph, Target, Tensor};
use trnc_kernels::LowerOptions;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The CPU reference interpreter (`backends/cpu`), the golden.
    Reference,
    /// The compiled kernels (passes, fusion, `kernels/`) run on the
    /// NeuronCore functional simulator (`backends/neuron`).
    Sim,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Reference, Backend::Sim];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Reference => "reference",
            Backend::Sim => "sim",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Backend, String> {
        Backend::ALL.into_iter().find(|b| b.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Backend::ALL.iter().map(|b| b.name()).collect();
            format!("unknown backend '{s}'; expected one of: {}", names.join(", "))
        })
    }
}

/// Runs `graph` on `inputs` (in graph-input order).
pub fn execute(graph: &Graph, inputs: &[Tensor], backend: Backend, target: Target) -> Result<Vec<Tensor>, Error> {
    execute_with(graph, inputs, backend, target, LowerOptions::default())
}

/// [`execute`] with explicit lowering options for the `sim` backend.
pub fn execute_with(
    graph: &Graph,
    inputs: &[Tensor],
    backend: Backend,
    target: Target,
    options: LowerOptions,
) -> Result<Vec<Tensor>, Error> {
    match backend {
        Backend::Reference => trnc_backend_cpu::run(graph, inputs).map_err(|e| {
            let at = e.node.map(|i| format!(" at `{}`", describe_node(graph, i))).unwrap_or_default();
            Error::run(format!("error: the reference backend failed{at}: {}", e.message))
        }),
        Backend::Sim => {
            let mut g = graph.clone();
            run_pipeline(&mut g, DEFAULT_PIPELINE, &PipelineOptions::default(), &mut |_| {})?;
            let program = build_program_with(&g, target, options)?;
            simulate_program(&program, inputs)
        }
    }
}
