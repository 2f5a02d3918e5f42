//! `--explain-fusion`: every group with its ops and traffic, and every edge
//! between groups with the reason it was not fused.

use super::{unfused_hbm_bytes, FusionPlan};
use std::fmt::Write;
use trnc_ir::Graph;

pub fn format_bytes(b: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = b as f64;
    if b < KIB {
        format!("{b} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{:.2} MiB", b / (KIB * KIB))
    }
}

pub fn explain(g: &Graph, plan: &FusionPlan) -> String {
    let mut s = String::new();
    let ops = g.nodes.iter().filter(|n| !matches!(n.op, trnc_ir::Op::Const(_))).count();
    let fused = plan.hbm_bytes();
    let unfused = unfused_hbm_bytes(g);
    let _ = writeln!(
        s,
        "fusion plan for @{} on {}: {} kernels from {} ops; HBM traffic {} fused vs {} unfused ({:.2}x)",
        g.name,
        plan.target,
        plan.kernel_count(),
        ops,
        format_bytes(fused),
        format_bytes(unfused),
        fused as f64 / unfused.max(1) as f64
    );
    let name = |v: trnc_ir::ValueId| format!("%{}", g.name_of(v));
    for group in &plan.groups {
        let _ = writeln!(s, "\nkernel {} ({}):", group.id, group.kind.name());
        for &i in &group.nodes {
            let n = &g.nodes[i];
            let operands: Vec<String> = n.inputs.iter().map(|&v| name(v)).collect();
            let _ = writeln!(s, "  {} = {} {}", name(n.output), n.op.name(), operands.join(", "));
        }
        let list = |vs: &[trnc_ir::ValueId]| vs.iter().map(|&v| name(v)).collect::<Vec<_>>().join(", ");
        let _ = writeln!(s, "  reads {}: {}", format_bytes(group.hbm_read), list(&group.inputs));
        let _ = writeln!(s, "  writes {}: {}", format_bytes(group.hbm_write), list(&group.outputs));
        let _ = writeln!(
            s,
            "  unfused, these ops would read {} and write {}; SBUF estimate {} per partition",
            format_bytes(group.unfused_read),
            format_bytes(group.unfused_write),
            format_bytes(group.sbuf_bytes as u64)
        );
    }
    if !plan.refusals.is_empty() {
        let _ = writeln!(s, "\nnot fused:");
        for r in &plan.refusals {
            let _ =
                writeln!(s, "  {} from kernel {} to kernel {}: {}", name(r.value), r.producer, r.consumer, r.reason);
        }
    }
    s
}
