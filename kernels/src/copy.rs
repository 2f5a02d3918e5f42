//! Concat: each operand is copied (HBM → SBUF → HBM, streamed like an
//! elementwise pass over the operand's shape) into its slice of the
//! output along the concat axis. Operands may be views of inputs; their
//! access patterns read through the views.

use crate::error::LowerError;
use crate::group::{GroupInfo, Source};
use crate::lower::lower_plans;
use crate::section::{HbmRef, PortSpec, SectionPlan};
use crate::view::StridedView;
use std::collections::HashMap;
use trnc_ir::kernel::Kernel;
use trnc_ir::{Op, Target};

pub(crate) fn lower_concat(info: &GroupInfo, target: Target) -> Result<Kernel, LowerError> {
    let g = info.g;
    let [i] = info.nodes[..] else {
        return Err(info.group_err("a concat runs as a kernel of its own; this group has other nodes too"));
    };
    let n = &g.nodes[i];
    let Op::Concat { axis } = n.op else {
        return Err(info.node_err(i, "internal: not a concat"));
    };
    let out_shape = info.shape(n.output);
    let Some(out_pos) = info.output_pos(n.output) else {
        return Err(info.node_err(i, "the concat's result is not an output of the group"));
    };
    let out_full = StridedView::contiguous(&out_shape);
    let mut plans = Vec::new();
    let mut start = 0usize;
    for &u in &n.inputs {
        let shape = info.shape(u);
        let len = shape.get(axis).copied().unwrap_or(0);
        let read = info.resolve(i, u)?;
        let Source::Input(pos) = read.source else {
            return Err(info.node_err(i, "concat of a constant scalar or a computed value is not lowered"));
        };
        let view = info.chain_view(i, &read, StridedView::contiguous(&info.shape(read.value)))?;
        let mut dst = out_full.clone();
        if let Some(d) = dst.dims.get_mut(axis) {
            dst.offset += start as i64 * d.0;
            d.1 = len;
        }
        start += len;
        if shape.iter().product::<usize>() == 0 {
            continue;
        }
        plans.push(SectionPlan {
            reduced: vec![false; shape.len()],
            m: shape,
            nodes: Vec::new(),
            kind: HashMap::new(),
            operands: HashMap::new(),
            ports: vec![
                PortSpec { hbm: HbmRef::Input(pos), view: view.normalized() },
                PortSpec { hbm: HbmRef::Output(out_pos), view: dst.normalized() },
            ],
            stores: Vec::new(),
            anchors: Vec::new(),
            copies: vec![(0, 1)],
        });
    }
    lower_plans(info, &plans, target, None)
}
