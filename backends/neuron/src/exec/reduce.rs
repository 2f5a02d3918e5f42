//! VectorE reductions along the free axes: tensor_reduce, bn_stats and
//! bn_aggr (nki-api.md §5). Sums are formed in f64 and rounded to fp32 once.

use trnc_ir::kernel::{AluOp, TileAccess};

use super::Exec;
use crate::alu::alu;
use crate::memory::Writer;

impl Exec<'_> {
    /// Reduces the last `reduced_axes` free dimensions of src (the verifier
    /// checked they are the last ones); `negate` multiplies by -1.
    pub(super) fn tensor_reduce(
        &mut self,
        dst: &TileAccess,
        src: &TileAccess,
        op: AluOp,
        reduced_axes: usize,
        negate: bool,
    ) -> Result<(), String> {
        let data = self.read(src, "src")?;
        let inner: usize = src.free[src.free.len() - reduced_axes..].iter().map(|&(_, n)| n).product();
        let out: Vec<f64> = data
            .chunks_exact(inner.max(1))
            .map(|group| {
                let r = group[1..].iter().fold(group[0], |acc, &x| alu(op, acc, x));
                if negate {
                    -r
                } else {
                    r
                }
            })
            .collect();
        self.write_engine(dst, &out, Writer::Engine)
    }

    /// Per partition, over the src free elements in row-major order:
    /// `[count, mean, M2]` of the even-indexed elements, then of the
    /// odd-indexed ones, where M2 = Σ (x - mean)² = variance·count
    /// (population). This is the layout nki-api.md §5 describes; an empty
    /// group (src free size 1) is `[0, 0, 0]`.
    pub(super) fn bn_stats(&mut self, dst: &TileAccess, src: &TileAccess) -> Result<(), String> {
        let data = self.read(src, "src")?;
        let f = src.free_elements().max(1);
        let mut out = Vec::with_capacity(src.partitions * 6);
        for row in data.chunks_exact(f) {
            for parity in 0..2 {
                let group: Vec<f64> = row.iter().skip(parity).step_by(2).copied().collect();
                let n = group.len() as f64;
                let mean = if group.is_empty() { 0.0 } else { group.iter().sum::<f64>() / n };
                let m2: f64 = group.iter().map(|x| (x - mean) * (x - mean)).sum();
                out.extend([n, mean, m2]);
            }
        }
        self.write_engine(dst, &out, Writer::Engine)
    }

    /// Combines `(count, mean, M2)` groups (Chan et al.'s pairwise update)
    /// into `[mean, variance]` per partition, variance = M2 / count
    /// (population). All-empty groups give NaN.
    pub(super) fn bn_aggr(&mut self, dst: &TileAccess, src: &TileAccess) -> Result<(), String> {
        let data = self.read(src, "src")?;
        let f = src.free_elements().max(1);
        let mut out = Vec::with_capacity(src.partitions * 2);
        for row in data.chunks_exact(f) {
            let n: f64 = row.chunks_exact(3).map(|g| g[0]).sum();
            let mean = row.chunks_exact(3).map(|g| g[0] * g[1]).sum::<f64>() / n;
            let m2: f64 = row.chunks_exact(3).map(|g| g[2] + g[0] * (g[1] - mean) * (g[1] - mean)).sum();
            out.extend([mean, m2 / n]);
        }
        self.write_engine(dst, &out, Writer::Engine)
    }
}
