//! The engine-queue simulation: every instruction of the unrolled loop nest
//! runs on its engine, in program order per engine, starting when the
//! engine is free and its dependencies (see `regions`) are visible.
//!
//! - TensorE, VectorE, ScalarE, GpSimdE: one in-order queue each (every
//!   engine has its own sequencer, trainium.md §1.2): an instruction that
//!   waits for data blocks the instructions behind it on the same engine.
//! - DMA: one bandwidth resource for the 16 queues of the core (§1.1). A
//!   transfer that waits for data does not block later independent ones:
//!   they fill the idle gap before it, as other hardware queues would.
//! - TensorE keeps its stationary operand: a matmul whose stationary region
//!   differs from the previous matmul's pays LoadStationary (§1.3).
//!
//! Times are integer picoseconds so that the result is exact and
//! deterministic; each static instruction's cost is computed once.

use trnc_ir::kernel::{Engine, Inst, Kernel, Operand, ScalarOperand, Stmt};

use super::formulas::{inst_cost, InstCost};
use super::regions::{AccessPattern, KeyDims, Region, Tracker};
use super::TargetCosts;

/// Engines in report order; `engine_index` maps into it.
pub const ENGINES: [Engine; 5] = [Engine::Tensor, Engine::Vector, Engine::Scalar, Engine::GpSimd, Engine::Dma];
const DMA: usize = 4;

pub fn engine_index(e: Engine) -> usize {
    match e {
        Engine::Tensor => 0,
        Engine::Vector => 1,
        Engine::Scalar => 2,
        Engine::GpSimd => 3,
        Engine::Dma => 4,
    }
}

/// One executed instruction, as the simulation reports it.
pub struct Event<'k> {
    pub engine: Engine,
    pub start_ps: u64,
    pub end_ps: u64,
    pub inst: &'k Inst,
    pub note: Option<&'k str>,
}

/// What the whole run added up to.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub end_ps: u64,
    pub busy_ps: [u64; 5],
    pub count: [u64; 5],
    pub flops: u64,
    pub tensor_peak_ns: f64,
    pub hbm_read_bytes: u64,
    pub hbm_write_bytes: u64,
    /// Times a region list collapsed to whole-resource entries.
    pub collapses: u64,
}

/// A static instruction with everything the inner loop needs precomputed.
struct Static<'k> {
    inst: &'k Inst,
    note: Option<&'k str>,
    engine: usize,
    cost: InstCost,
    busy_ps: u64,
    load_stationary_ps: u64,
    latency_ps: u64,
    accesses: Vec<AccessPattern>,
    /// Index in `accesses` of a matmul's stationary operand.
    stationary: Option<usize>,
    /// TensorE transposes load their source as stationary (§1.3).
    clobbers_stationary: bool,
    /// Bit e set: engine `ENGINES[e]` may still run an instruction at or
    /// after this one in program order (bounds the watermark).
    future: u8,
    /// Loops (indices into `Lowered::loops`) enclosing this instruction.
    enclosing: Vec<usize>,
}

enum Node {
    Inst(usize),
    Loop { var: usize, count: usize, body: Vec<Node> },
}

fn ps(ns: f64) -> u64 {
    (ns * 1000.0).round() as u64
}

/// Reads first, then writes; the stationary operand's index.
fn accesses(k: &Kernel, inst: &Inst) -> (Vec<AccessPattern>, Option<usize>) {
    let mut v = Vec::new();
    let mut stationary = None;
    let tile = |t, w| AccessPattern::tile(t, w);
    match inst {
        Inst::DmaCopy { dst, src } => {
            for (op, w) in [(src, false), (dst, true)] {
                v.push(match op {
                    Operand::Hbm(a) => AccessPattern::hbm(k, a, w),
                    Operand::Tile(t) => tile(t, w),
                });
            }
            return (v, None);
        }
        Inst::DmaGather { dst, table, row_stride, rows, index } => {
            let mut all = table.clone();
            all.pattern.insert(0, (*row_stride, *rows));
            v.extend([tile(index, false), AccessPattern::hbm(k, &all, false), tile(dst, true)]);
            return (v, None);
        }
        Inst::Matmul { stationary: s, moving, .. } => {
            stationary = Some(0);
            v.extend([tile(s, false), tile(moving, false)]);
        }
        Inst::TensorTensor { a, b, .. } => v.extend([tile(a, false), tile(b, false)]),
        Inst::TensorScalar { src, operand0, op1, .. } => {
            v.push(tile(src, false));
            for o in std::iter::once(operand0).chain(op1.iter().map(|(_, o, _)| o)) {
                if let ScalarOperand::PerPartition(t) = o {
                    v.push(tile(t, false));
                }
            }
        }
        Inst::Activation { src, scale, bias, reduce, .. } => {
            v.push(tile(src, false));
            if let ScalarOperand::PerPartition(t) = scale {
                v.push(tile(t, false));
            }
            v.extend(bias.iter().map(|t| tile(t, false)));
            v.extend(reduce.iter().map(|t| tile(t, true)));
        }
        Inst::Transpose { src, .. }
        | Inst::TensorReduce { src, .. }
        | Inst::TensorCopy { src, .. }
        | Inst::AffineSelect { src, .. }
        | Inst::BnStats { src, .. }
        | Inst::BnAggr { src, .. } => v.push(tile(src, false)),
        Inst::Memset { .. } | Inst::Iota { .. } => {}
    }
    v.extend(inst.dst().map(|t| tile(t, true)));
    (v, stationary)
}

struct Lowered<'k> {
    statics: Vec<Static<'k>>,
    program: Vec<Node>,
    vars: usize,
    /// Per loop: mask of the engines its body runs.
    loops: Vec<u8>,
    open_loops: Vec<usize>,
}

fn lower<'k>(k: &'k Kernel, c: &TargetCosts) -> Lowered<'k> {
    let mut l =
        Lowered { statics: Vec::new(), program: Vec::new(), vars: 0, loops: Vec::new(), open_loops: Vec::new() };
    let program = lower_body(k, c, &k.body, &mut l);
    l.program = program;
    // Engines still to come after instruction i: those of every later
    // static instruction, and of every loop around i (its next iterations).
    let mut suffix = 0u8;
    for i in (0..l.statics.len()).rev() {
        suffix |= 1 << l.statics[i].engine;
        let around = l.statics[i].enclosing.iter().fold(0u8, |m, &lp| m | l.loops[lp]);
        l.statics[i].future = suffix | around;
    }
    l
}

fn lower_body<'k>(k: &'k Kernel, c: &TargetCosts, body: &'k [Stmt], l: &mut Lowered<'k>) -> Vec<Node> {
    body.iter()
        .map(|s| match s {
            Stmt::Inst { inst, note } => {
                let cost = inst_cost(k, inst, c);
                let engine = engine_index(cost.engine);
                for &lp in &l.open_loops {
                    l.loops[lp] |= 1 << engine;
                }
                let (accesses, stationary) = accesses(k, inst);
                l.statics.push(Static {
                    inst,
                    note: note.as_deref(),
                    engine,
                    busy_ps: ps(cost.busy_ns),
                    load_stationary_ps: ps(cost.load_stationary_ns),
                    latency_ps: ps(cost.latency_ns),
                    cost,
                    accesses,
                    stationary,
                    clobbers_stationary: matches!(inst, Inst::Transpose { engine: Engine::Tensor, .. }),
                    future: 0,
                    enclosing: l.open_loops.clone(),
                });
                Node::Inst(l.statics.len() - 1)
            }
            Stmt::Loop { var, count, body } => {
                l.vars = l.vars.max(var.0 as usize + 1);
                l.loops.push(0);
                l.open_loops.push(l.loops.len() - 1);
                let body = lower_body(k, c, body, l);
                l.open_loops.pop();
                Node::Loop { var: var.0 as usize, count: *count, body }
            }
        })
        .collect()
}

/// The DMA bandwidth over time: busy up to `end`, with a few idle gaps
/// before it that later, independent transfers may fill.
struct DmaQueue {
    end: u64,
    gaps: Vec<(u64, u64)>,
}

/// Gaps remembered; older ones are forgotten (a bound on work per DMA).
const MAX_GAPS: usize = 16;

impl DmaQueue {
    /// No transfer can start before this.
    fn floor(&self) -> u64 {
        self.gaps.first().map_or(self.end, |g| g.0)
    }

    /// Places a transfer of `dur` ready at `ready`; returns its start.
    fn place(&mut self, ready: u64, dur: u64) -> u64 {
        for i in 0..self.gaps.len() {
            let (g0, g1) = self.gaps[i];
            let s = ready.max(g0);
            if s + dur <= g1 {
                let mut rest = Vec::with_capacity(2);
                if s > g0 {
                    rest.push((g0, s));
                }
                if s + dur < g1 {
                    rest.push((s + dur, g1));
                }
                self.gaps.splice(i..=i, rest);
                return s;
            }
        }
        let s = ready.max(self.end);
        if s > self.end {
            self.gaps.push((self.end, s));
            if self.gaps.len() > MAX_GAPS {
                self.gaps.remove(0);
            }
        }
        self.end = s + dur;
        s
    }
}

struct State {
    counters: Vec<i64>,
    free: [u64; 4],
    dma: DmaQueue,
    tracker: Tracker,
    last_stationary: Option<(usize, Region)>,
    regions: Vec<Region>,
    /// Per resource: is it both written and read (else it orders nothing)?
    tracked: Vec<bool>,
    totals: Totals,
}

impl State {
    /// No instruction still to come (on the engines in mask `future`) can
    /// start before this time.
    fn watermark(&self, future: u8) -> u64 {
        let mut w = u64::MAX;
        for e in 0..4 {
            if future & (1 << e) != 0 {
                w = w.min(self.free[e]);
            }
        }
        if future & (1 << DMA) != 0 {
            w = w.min(self.dma.floor());
        }
        w
    }

    fn step(&mut self, s: &Static, sink: &mut dyn FnMut(Event)) {
        self.regions.clear();
        for a in &s.accesses {
            self.regions.push(a.region(&self.counters));
        }
        let floor = if s.engine == DMA { self.dma.floor() } else { self.free[s.engine] };
        let mut ready = 0;
        for (a, r) in s.accesses.iter().zip(&self.regions) {
            if self.tracked[a.resource] {
                ready = ready.max(self.tracker.ready(a.resource, r, a.write, floor));
            }
        }
        let mut busy = s.busy_ps;
        if let Some(i) = s.stationary {
            let key = (s.accesses[i].resource, self.regions[i]);
            if self.last_stationary != Some(key) {
                busy += s.load_stationary_ps;
                self.last_stationary = Some(key);
            }
        } else if s.clobbers_stationary {
            self.last_stationary = None;
        }
        let start = if s.engine == DMA {
            self.dma.place(ready, busy)
        } else {
            let start = ready.max(self.free[s.engine]);
            self.free[s.engine] = start + busy;
            start
        };
        let end = start + busy;
        let visible = end + s.latency_ps;
        let watermark = self.watermark(s.future);
        for (a, r) in s.accesses.iter().zip(&self.regions) {
            if self.tracked[a.resource] {
                self.tracker.record(a.resource, *r, a.write, visible, watermark);
            }
        }
        let t = &mut self.totals;
        t.end_ps = t.end_ps.max(visible);
        t.busy_ps[s.engine] += busy;
        t.count[s.engine] += 1;
        t.flops += s.cost.flops;
        t.tensor_peak_ns += s.cost.tensor_peak_ns;
        t.hbm_read_bytes += s.cost.hbm_read_bytes;
        t.hbm_write_bytes += s.cost.hbm_write_bytes;
        sink(Event { engine: s.cost.engine, start_ps: start, end_ps: end, inst: s.inst, note: s.note });
    }

    fn run(&mut self, nodes: &[Node], statics: &[Static], sink: &mut dyn FnMut(Event)) {
        for n in nodes {
            match n {
                Node::Inst(i) => self.step(&statics[*i], sink),
                Node::Loop { var, count, body } => {
                    for i in 0..*count {
                        self.counters[*var] = i as i64;
                        self.run(body, statics, sink);
                    }
                }
            }
        }
    }
}

/// Runs the kernel through the engine queues, reporting every executed
/// instruction to `sink` in program order.
pub fn simulate(k: &Kernel, c: &TargetCosts, sink: &mut dyn FnMut(Event)) -> Totals {
    let l = lower(k, c);
    let resources = k.tiles.len() + k.inputs.len() + k.outputs.len();
    // Only resources both written and read can order anything: nothing
    // writes a kernel input, and a region nothing reads back (a kernel
    // output) only needs its stores, which are not ordered among
    // themselves (a kernel storing one region twice is not modelled).
    let mut written = vec![false; resources];
    let mut read = vec![false; resources];
    for s in &l.statics {
        for a in &s.accesses {
            if a.write {
                written[a.resource] = true;
            } else {
                read[a.resource] = true;
            }
        }
    }
    let tracked = written.iter().zip(&read).map(|(&w, &r)| w && r).collect();
    let keys = (0..resources)
        .map(|r| match k.tiles.get(r) {
            Some(tile) => KeyDims::for_tile(
                &tile.shape,
                l.statics.iter().flat_map(|s| s.accesses.iter()).filter(move |a| a.resource == r),
            ),
            None => KeyDims::default(),
        })
        .collect();
    let mut st = State {
        counters: vec![0; l.vars],
        free: [0; 4],
        dma: DmaQueue { end: 0, gaps: Vec::new() },
        tracker: Tracker::new(keys),
        last_stationary: None,
        regions: Vec::new(),
        tracked,
        totals: Totals::default(),
    };
    st.run(&l.program, &l.statics, sink);
    st.totals.collapses = st.tracker.collapses;
    st.totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::calibration;
    use trnc_ir::Target;

    /// The region lists never fall back to whole-tile dependencies on the
    /// calibration kernels: their result is exact region tracking.
    #[test]
    fn calibration_kernels_track_regions_exactly() {
        for (name, k) in calibration::all(calibration::TUTORIAL) {
            let t = simulate(&k, &TargetCosts::new(Target::Trn1), &mut |_| {});
            assert_eq!(t.collapses, 0, "{name}");
        }
    }
}
