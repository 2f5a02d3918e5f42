//! GpSimd index instructions: iota and affine_select (nki-api.md §5).
//!
//! Both compute `offset + c·channel_multiplier + Σ step_d·i_d` in int32,
//! where c is the partition index within the destination region (0-based)
//! and `i_d` runs over `pattern` in row-major order, which is also the
//! order of dst's free elements.

use trnc_ir::kernel::{AluOp, TileAccess};

use super::Exec;
use crate::alu::alu;
use crate::memory::{fp32, Writer};

/// The pattern value of every element of a `[partitions, pattern]` region.
fn pattern_values(partitions: usize, pattern: &[(i64, usize)], offset: i64, cm: i64) -> Vec<i64> {
    let mut free = vec![0i64];
    for &(step, count) in pattern {
        free = free.iter().flat_map(|&base| (0..count as i64).map(move |i| base + step * i)).collect();
    }
    (0..partitions as i64).flat_map(|c| free.iter().map(move |&v| offset + c * cm + v)).collect()
}

impl Exec<'_> {
    pub(super) fn iota(
        &mut self,
        dst: &TileAccess,
        pattern: &[(i64, usize)],
        offset: i64,
        cm: i64,
    ) -> Result<(), String> {
        let values: Vec<f64> =
            pattern_values(dst.partitions, pattern, offset, cm).into_iter().map(|v| v as f64).collect();
        // An int32 converted to dst's dtype: written without the fp32 step
        // so an int32 dst keeps every value exactly.
        let r = self.region(dst)?;
        self.m.write_tile(dst.tile.0 as usize, &r, &values, Writer::Engine);
        Ok(())
    }

    /// `dst = cmp(value, 0) ? src : on_false` (on_false is fp32).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn affine_select(
        &mut self,
        dst: &TileAccess,
        src: &TileAccess,
        pattern: &[(i64, usize)],
        cm: i64,
        offset: i64,
        cmp: AluOp,
        on_false: f64,
    ) -> Result<(), String> {
        let data = self.read(src, "src")?;
        let keys = pattern_values(dst.partitions, pattern, offset, cm);
        let out: Vec<f64> = data
            .iter()
            .zip(&keys)
            .map(|(&x, &key)| if alu(cmp, key as f64, 0.0) != 0.0 { x } else { fp32(on_false) })
            .collect();
        self.write_engine(dst, &out, Writer::Engine)
    }
}
