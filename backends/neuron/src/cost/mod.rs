//! The cost model: how long a kernel takes on one NeuronCore.
//!
//! Three layers, one file each:
//! - [`TargetCosts`] (`table.rs`): the hardware figures of trn1/trn2/trn3,
//!   one table per target, every figure cited from `../shared/trainium.md`;
//! - [`inst_cost`] (`formulas.rs`): the cycles (or bytes) one instruction
//!   costs on its engine;
//! - `schedule.rs` + `regions.rs`: the unrolled loop nest run through one
//!   queue per engine, each instruction starting when its engine is free
//!   and the instructions it depends on (read-after-write, write-after-read,
//!   write-after-write on tile and HBM regions) are done. Overlap of DMA
//!   and compute, or of ScalarE and TensorE, comes out of the schedule.
//!
//! [`estimate`] sums the run up; [`timeline`] lists every instruction's
//! start and end and [`render_timeline_text`] draws it as a Gantt chart.
//! `calibration.rs` holds the four versions of the NKI matmul tutorial
//! that the model is checked against (tests/cost_calibration.rs).
//!
//! The model has no per-kernel or fitted parameter: everything comes from
//! the table. Results are deterministic (integer picoseconds, program order).

pub mod calibration;
mod formulas;
mod regions;
mod schedule;
mod table;
mod timeline;

use std::fmt;

use trnc_ir::kernel::{Engine, Kernel};
use trnc_ir::Target;

pub use formulas::{inst_cost, DmaCost, InstCost};
pub use schedule::ENGINES;
pub use table::TargetCosts;
pub use timeline::{render_timeline_svg, render_timeline_text, TimelineEntry};

/// Busy time of one engine over the whole kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineTime {
    pub engine: Engine,
    pub busy_ns: f64,
    pub instructions: u64,
}

/// What [`estimate`] predicts for one kernel on one target.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub kernel: String,
    pub target: Target,
    /// From the first instruction's start to the last result visible.
    pub total_ns: f64,
    /// Per engine, in [`ENGINES`] order (all five, unused ones at zero).
    pub engines: Vec<EngineTime>,
    /// The busiest engine: the one that bounds the kernel when it is
    /// close to `total_ns`; otherwise the kernel is latency-bound.
    pub critical_engine: Engine,
    /// 2·M·N·K summed over all matmuls.
    pub flops: u64,
    pub hbm_read_bytes: u64,
    pub hbm_write_bytes: u64,
    /// Time the matmuls would take at TensorE peak (BF16 92 / 79 / 79
    /// TFLOPS, FP32 ÷4, trainium.md §1.1) over `total_ns`.
    pub tensor_peak_fraction: f64,
    /// HBM bytes over `total_ns` × per-core HBM bandwidth (§1.1).
    pub hbm_bandwidth_fraction: f64,
    /// SBUF high-water mark (static allocation: all SBUF tiles).
    pub sbuf_bytes_per_partition: usize,
    pub psum_bytes_per_partition: usize,
    pub instructions: u64,
}

impl Estimate {
    pub fn busy_ns(&self, e: Engine) -> f64 {
        self.engines[schedule::engine_index(e)].busy_ns
    }

    pub fn total_ms(&self) -> f64 {
        self.total_ns / 1e6
    }

    /// Busy time of the critical engine over the total time.
    pub fn critical_utilisation(&self) -> f64 {
        if self.total_ns > 0.0 {
            self.busy_ns(self.critical_engine) / self.total_ns
        } else {
            0.0
        }
    }
}

/// Estimates `k` on one core of `target`. The kernel is expected to pass
/// `verify_kernel` (ids and loop variables in range); the estimate itself
/// does not check the hardware rules.
pub fn estimate(k: &Kernel, target: Target) -> Estimate {
    estimate_with(k, &TargetCosts::new(target))
}

/// Estimates `k` with an explicit table (e.g. to study one figure).
pub fn estimate_with(k: &Kernel, c: &TargetCosts) -> Estimate {
    let t = schedule::simulate(k, c, &mut |_| {});
    let total_ns = t.end_ps as f64 / 1000.0;
    let engines: Vec<EngineTime> = ENGINES
        .iter()
        .enumerate()
        .map(|(i, &engine)| EngineTime { engine, busy_ns: t.busy_ps[i] as f64 / 1000.0, instructions: t.count[i] })
        .collect();
    // Busiest engine; ties go to the earlier one in ENGINES order.
    let critical = engines.iter().fold(&engines[0], |best, e| if e.busy_ns > best.busy_ns { e } else { best });
    let ratio = |x: f64| if total_ns > 0.0 { x / total_ns } else { 0.0 };
    Estimate {
        kernel: k.name.clone(),
        target: c.target,
        total_ns,
        critical_engine: critical.engine,
        flops: t.flops,
        hbm_read_bytes: t.hbm_read_bytes,
        hbm_write_bytes: t.hbm_write_bytes,
        tensor_peak_fraction: ratio(t.tensor_peak_ns),
        hbm_bandwidth_fraction: ratio((t.hbm_read_bytes + t.hbm_write_bytes) as f64 / c.hbm_gbps),
        sbuf_bytes_per_partition: k.sbuf_bytes_per_partition(),
        psum_bytes_per_partition: k.psum_bytes_per_partition(),
        instructions: t.count.iter().sum(),
        engines,
    }
}

/// Every executed instruction with its engine, start and end (ns), in
/// program order of the unrolled loop nest.
pub fn timeline(k: &Kernel, target: Target) -> Vec<TimelineEntry> {
    let mut v = Vec::new();
    schedule::simulate(k, &TargetCosts::new(target), &mut |e| {
        v.push(TimelineEntry {
            engine: e.engine,
            start_ns: e.start_ps as f64 / 1000.0,
            end_ns: e.end_ps as f64 / 1000.0,
            name: e.inst.nki_name(),
            note: e.note.map(str::to_string),
        })
    });
    v
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "kernel {} on {}: {:.3} ms, {} instructions",
            self.kernel,
            self.target,
            self.total_ms(),
            self.instructions
        )?;
        writeln!(f, "  engine   busy ms   busy %  instructions")?;
        for e in &self.engines {
            if e.instructions == 0 {
                continue;
            }
            let pct = if self.total_ns > 0.0 { 100.0 * e.busy_ns / self.total_ns } else { 0.0 };
            writeln!(f, "  {:<7}{:>9.3}{:>8.1}%{:>14}", e.engine.name(), e.busy_ns / 1e6, pct, e.instructions)?;
        }
        writeln!(
            f,
            "  critical engine: {} ({:.1}% busy)",
            self.critical_engine.name(),
            100.0 * self.critical_utilisation()
        )?;
        writeln!(f, "  flops: {:.4e}, {:.1}% of TensorE peak", self.flops as f64, 100.0 * self.tensor_peak_fraction)?;
        writeln!(
            f,
            "  HBM: {} B read, {} B written, {:.1}% of HBM bandwidth",
            self.hbm_read_bytes,
            self.hbm_write_bytes,
            100.0 * self.hbm_bandwidth_fraction
        )?;
        write!(
            f,
            "  SBUF {} B/partition, PSUM {} B/partition",
            self.sbuf_bytes_per_partition, self.psum_bytes_per_partition
        )
    }
}
