//! Running a graph on a backend.

use crate::Error;
use std::fmt;
use std::str::FromStr;
use trnc_ir::{describe_node, Graph, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The CPU reference interpreter (`backends/cpu`), the golden.
    Reference,
}

impl Backend {
    pub const ALL: [Backend; 1] = [Backend::Reference];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Reference => "reference",
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
pub fn execute(graph: &Graph, inputs: &[Tensor], backend: Backend) -> Result<Vec<Tensor>, Error> {
    match backend {
        Backend::Reference => trnc_backend_cpu::run(graph, inputs).map_err(|e| {
            let at = e.node.map(|i| format!(" at `{}`", describe_node(graph, i))).unwrap_or_default();
            Error::run(format!("error: the reference backend failed{at}: {}", e.message))
        }),
    }
}
