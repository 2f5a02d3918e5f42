//! `--report`: the cost model's estimate for every kernel of a program and
//! for the whole model, as JSON or as a table.

use crate::program::{Choice, Program};
use serde_json::{json, Value};
use std::fmt::Write;
use trnc_backend_neuron::cost::{estimate, Estimate};
use trnc_ir::Op;

pub struct Report {
    pub target: trnc_ir::Target,
    pub kernels: Vec<Estimate>,
    /// The alternatives the lowering priced (`Program::choices`).
    pub choices: Vec<Choice>,
    /// Groups lowered in parts, with the reason.
    pub splits: Vec<(usize, String)>,
    /// Each graph input and weight read once, each output written once.
    pub minimum_hbm_bytes: u64,
}

pub fn report(p: &Program) -> Report {
    let g = &p.graph;
    let bytes = |v: trnc_ir::ValueId| {
        let t = g.ty(v);
        (t.num_elements().unwrap_or(0) * t.dtype.size_bytes()) as u64
    };
    let weights: u64 = g.nodes.iter().filter(|n| matches!(n.op, Op::Const(_))).map(|n| bytes(n.output)).sum();
    let minimum_hbm_bytes =
        weights + g.inputs.iter().map(|&v| bytes(v)).sum::<u64>() + g.outputs.iter().map(|&v| bytes(v)).sum::<u64>();
    Report {
        target: p.target,
        kernels: p.calls.iter().map(|c| estimate(&c.kernel, p.target)).collect(),
        choices: p.choices.clone(),
        splits: p.splits.clone(),
        minimum_hbm_bytes,
    }
}

impl Report {
    pub fn total_ns(&self) -> f64 {
        // Not `sum()`: a float sum of nothing is -0.0, and a program with no
        // kernels (every output a constant) takes 0 ns.
        self.kernels.iter().fold(0.0, |total, e| total + e.total_ns)
    }

    pub fn hbm_bytes(&self) -> u64 {
        self.kernels.iter().map(|e| e.hbm_read_bytes + e.hbm_write_bytes).sum()
    }

    pub fn flops(&self) -> u64 {
        self.kernels.iter().map(|e| e.flops).sum()
    }

    pub fn to_json(&self) -> Value {
        let kernels: Vec<Value> = self
            .kernels
            .iter()
            .map(|e| {
                let mut fields = estimate_fields(e);
                fields.insert("time_ns".into(), json!(round3(e.total_ns)));
                Value::Object(fields)
            })
            .collect();
        json!({
            "target": self.target.name(),
            "kernels": kernels,
            "choices": self.choices.iter().map(|c| json!({
                "kernel": c.kernel,
                "alternative": c.alternative,
                "time_ns": c.time_ns.map(round3),
                "note": c.note,
                "chosen": c.chosen,
            })).collect::<Vec<_>>(),
            "lowered_in_parts": self.splits.iter().map(|(group, why)| json!({"group": group, "reason": why})).collect::<Vec<_>>(),
            "total": {
                "time_ns": round3(self.total_ns()),
                "flops": self.flops(),
                "hbm_bytes": self.hbm_bytes(),
                "minimum_hbm_bytes": self.minimum_hbm_bytes,
                "hbm_bytes_over_minimum": round3(self.hbm_bytes() as f64 / self.minimum_hbm_bytes.max(1) as f64),
            }
        })
    }

    pub fn to_table(&self) -> String {
        let mut s = format!(
            "{:<40} {:>11} {:>9} {:>10} {:>12} {:>7} {:>7} {:>10}\n",
            "kernel", "time (us)", "critical", "GFLOP", "HBM (KiB)", "PE %", "HBM %", "SBUF (KiB)"
        );
        for e in &self.kernels {
            let _ = writeln!(
                s,
                "{:<40} {:>11.3} {:>9} {:>10.4} {:>12.1} {:>7.1} {:>7.1} {:>10.1}",
                e.kernel,
                e.total_ns / 1e3,
                e.critical_engine.name(),
                e.flops as f64 / 1e9,
                (e.hbm_read_bytes + e.hbm_write_bytes) as f64 / 1024.0,
                e.tensor_peak_fraction * 100.0,
                e.hbm_bandwidth_fraction * 100.0,
                e.sbuf_bytes_per_partition as f64 / 1024.0
            );
        }
        let _ = writeln!(
            s,
            "total: {:.3} us, {:.4} GFLOP, HBM {:.1} KiB = {:.2}x the minimum ({:.1} KiB: inputs and weights read once, outputs written once)",
            self.total_ns() / 1e3,
            self.flops() as f64 / 1e9,
            self.hbm_bytes() as f64 / 1024.0,
            self.hbm_bytes() as f64 / self.minimum_hbm_bytes.max(1) as f64,
            self.minimum_hbm_bytes as f64 / 1024.0
        );
        s
    }
}

/// `--explain`: every choice the lowering made with the cost model, the
/// alternatives it priced (the chosen one marked) and those it could not
/// build, and the fusion groups lowered in parts with the reason.
pub fn explain(p: &Program) -> String {
    let mut s = String::new();
    let mut kernel = "";
    for c in &p.choices {
        if c.kernel != kernel {
            kernel = &c.kernel;
            let _ = writeln!(s, "{kernel}: alternatives priced by the cost model on {}", p.target);
        }
        let mark = if c.chosen { "*" } else { " " };
        match (c.time_ns, &c.note) {
            (Some(ns), _) => {
                let _ = writeln!(s, "  {mark} {:<22} {:>12.3} us", c.alternative, ns / 1e3);
            }
            (None, Some(note)) => {
                let _ = writeln!(s, "    {:<22} {:>12}    {note}", c.alternative, "-");
            }
            (None, None) => {}
        }
    }
    if p.choices.is_empty() {
        let _ = writeln!(
            s,
            "no kernel had alternatives to price (the cost model chooses matmul blockings and elementwise chunk sizes)"
        );
    }
    for (group, why) in &p.splits {
        let _ = writeln!(s, "kernel {group} of the fusion plan is lowered in parts: {why}");
    }
    s
}

/// What a kernel's estimate says, as JSON fields (`--report` and the NKI
/// folder's report.json add their own beside them).
pub(crate) fn estimate_fields(e: &Estimate) -> serde_json::Map<String, Value> {
    let engines: serde_json::Map<String, Value> =
        e.engines.iter().map(|t| (t.engine.name().to_string(), json!(round3(t.busy_ns)))).collect();
    let fields = json!({
        "kernel": e.kernel,
        "engine_busy_ns": engines,
        "critical_engine": e.critical_engine.name(),
        "flops": e.flops,
        "hbm_read_bytes": e.hbm_read_bytes,
        "hbm_write_bytes": e.hbm_write_bytes,
        "tensor_peak_fraction": round3(e.tensor_peak_fraction),
        "hbm_bandwidth_fraction": round3(e.hbm_bandwidth_fraction),
        "sbuf_bytes_per_partition": e.sbuf_bytes_per_partition,
        "instructions": e.instructions,
    });
    match fields {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// Three decimals, so reports are stable and readable.
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use trnc_ir::text::parse_graph;
    use trnc_ir::Target;

    /// The cheapest priced blocking is the one lowered and marked; the
    /// others carry their price or why they were not priced.
    #[test]
    fn explain_marks_the_cheapest_alternative() {
        let src = "graph @mm(%a: bf16[512, 1024], %b: bf16[1024, 1536]) -> (bf16[512, 1536]) {\n  %c = matmul %a, %b : bf16[512, 1536]\n  return %c\n}\n";
        let g = parse_graph(src, "mm", &mut |_, _| Err("no weights".into())).unwrap().graph;
        let p = crate::program::build_program(&g, Target::Trn2).unwrap();
        let chosen: Vec<&Choice> = p.choices.iter().filter(|c| c.chosen).collect();
        assert_eq!(chosen.len(), 1);
        let best = p.choices.iter().filter_map(|c| c.time_ns).fold(f64::INFINITY, f64::min);
        assert_eq!(chosen[0].time_ns, Some(best));
        assert!(p.choices.iter().filter(|c| c.time_ns.is_some()).count() >= 3, "{:?}", p.choices);
        assert!(p.choices.iter().all(|c| c.time_ns.is_some() != c.note.is_some()));
        let estimate = trnc_backend_neuron::cost::estimate(&p.calls[0].kernel, Target::Trn2).total_ns;
        assert_eq!(estimate, best, "the kernel lowered is the one chosen");
        let text = explain(&p);
        assert!(text.contains(&format!("* {}", chosen[0].alternative)), "{text}");
    }
}
