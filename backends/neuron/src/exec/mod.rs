//! Executes one instruction at the current loop counters. The rules were
//! checked (statically and again for these counters) before we get here;
//! what is left to check is data-dependent: PSUM that nothing wrote, and
//! accumulation onto PSUM that no matmul started.

mod elementwise;
mod gpsimd;
mod reduce;
mod tensor_engine;

use trnc_ir::kernel::{HbmAccess, Inst, LoopBounds, Operand, ScalarOperand, TileAccess};
use trnc_ir::{DType, Target};

use crate::memory::{fp32, store_value, Machine, Region, Writer};

pub struct Exec<'a> {
    pub target: Target,
    pub m: &'a mut Machine,
    pub loops: &'a LoopBounds,
}

impl Exec<'_> {
    pub fn run(&mut self, inst: &Inst) -> Result<(), String> {
        match inst {
            Inst::DmaCopy { dst, src } => self.dma_copy(dst, src),
            Inst::DmaGather { dst, table, row_stride, rows, index } => {
                self.dma_gather(dst, table, *row_stride, *rows, index)
            }
            Inst::Matmul { dst, stationary, moving, accumulate } => self.matmul(dst, stationary, moving, *accumulate),
            Inst::Transpose { dst, src, engine } => self.transpose(dst, src, *engine),
            Inst::TensorTensor { dst, a, b, op } => self.tensor_tensor(dst, a, b, *op),
            Inst::TensorScalar { dst, src, op0, operand0, reverse0, op1, .. } => {
                self.tensor_scalar(dst, src, (*op0, operand0, *reverse0), op1.as_ref().map(|(o, s, r)| (*o, s, *r)))
            }
            Inst::TensorReduce { dst, src, op, axes, negate } => self.tensor_reduce(dst, src, *op, axes.len(), *negate),
            Inst::Activation { dst, src, func, scale, bias, reduce } => {
                self.activation(dst, src, *func, scale, bias.as_ref(), reduce.as_ref())
            }
            Inst::TensorCopy { dst, src, .. } => self.tensor_copy(dst, src),
            Inst::Memset { dst, value } => {
                let r = self.region(dst)?;
                self.m.write_tile(dst.tile.0 as usize, &r, &vec![*value; r.index.len()], Writer::Engine);
                Ok(())
            }
            Inst::Iota { dst, pattern, offset, channel_multiplier } => {
                self.iota(dst, pattern, *offset, *channel_multiplier)
            }
            Inst::AffineSelect { dst, src, pattern, channel_multiplier, offset, cmp, on_false } => {
                self.affine_select(dst, src, pattern, *channel_multiplier, *offset, *cmp, *on_false)
            }
            Inst::BnStats { dst, src } => self.bn_stats(dst, src),
            Inst::BnAggr { dst, src } => self.bn_aggr(dst, src),
        }
    }

    fn region(&self, a: &TileAccess) -> Result<Region, String> {
        self.m.tile_region(self.loops, a)
    }

    fn dtype(&self, a: &TileAccess) -> DType {
        self.m.tiles[a.tile.0 as usize].dtype
    }

    /// Values as stored (no conversion), with the PSUM-written check.
    fn read_raw(&self, a: &TileAccess, role: &str) -> Result<Vec<f64>, String> {
        let r = self.region(a)?;
        self.m.read_tile(a.tile.0 as usize, &r, role)
    }

    /// Values as a compute engine sees them: converted to fp32 (trainium.md §1.4).
    fn read(&self, a: &TileAccess, role: &str) -> Result<Vec<f64>, String> {
        Ok(self.read_raw(a, role)?.into_iter().map(fp32).collect())
    }

    /// Writes engine results: rounded to fp32 (the engine's output), then to
    /// the destination dtype by `write_tile`.
    fn write_engine(&mut self, a: &TileAccess, values: &[f64], writer: Writer) -> Result<(), String> {
        let r = self.region(a)?;
        let values: Vec<f64> = values.iter().map(|&v| fp32(v)).collect();
        self.m.write_tile(a.tile.0 as usize, &r, &values, writer);
        Ok(())
    }

    /// One value per partition: an immediate (fp32) or a (P, 1) tile region.
    fn per_partition(&self, s: &ScalarOperand, role: &str, partitions: usize) -> Result<Vec<f64>, String> {
        match s {
            ScalarOperand::Imm(x) => Ok(vec![fp32(*x); partitions]),
            ScalarOperand::PerPartition(a) => self.read(a, role),
        }
    }

    /// dma_copy: equal element counts in row-major order of each side's
    /// shape; a dtype change is a cast through fp32 (nki-api.md §4), equal
    /// dtypes copy bit-exactly.
    /// Row `index[p]` of the table into partition p of `dst`; an index
    /// outside the table is an error (oob_mode=error, nki-api.md §3).
    fn dma_gather(
        &mut self,
        dst: &TileAccess,
        table: &HbmAccess,
        row_stride: i64,
        rows: usize,
        index: &TileAccess,
    ) -> Result<(), String> {
        let picks = self.read_raw(index, "index")?;
        let t = &self.m.hbm[table.tensor.0 as usize];
        let src_dtype = t.dtype;
        let mut values = Vec::new();
        for (p, &r) in picks.iter().enumerate() {
            if r.is_nan() || r < 0.0 || r >= rows as f64 {
                return Err(format!("index {r} of partition {p} is outside the table's {rows} rows"));
            }
            let mut row = table.clone();
            row.offset = row.offset.offset(r as i64 * row_stride);
            let at = self.m.hbm_region(self.loops, &row)?;
            let t = &self.m.hbm[table.tensor.0 as usize];
            values.extend(at.iter().map(|&i| t.data[i]));
        }
        let d = self.dtype(dst);
        let values: Vec<f64> =
            values.iter().map(|&v| if d == src_dtype { v } else { store_value(d, fp32(v)) }).collect();
        let r = self.region(dst)?;
        self.m.write_tile(dst.tile.0 as usize, &r, &values, Writer::Dma);
        Ok(())
    }

    fn dma_copy(&mut self, dst: &Operand, src: &Operand) -> Result<(), String> {
        let (values, src_dtype) = match src {
            Operand::Hbm(a) => {
                let index = self.m.hbm_region(self.loops, a)?;
                let t = &self.m.hbm[a.tensor.0 as usize];
                (index.iter().map(|&i| t.data[i]).collect::<Vec<f64>>(), t.dtype)
            }
            Operand::Tile(a) => (self.read_raw(a, "src")?, self.dtype(a)),
        };
        let convert =
            |dst_dtype: DType, v: f64| if dst_dtype == src_dtype { v } else { store_value(dst_dtype, fp32(v)) };
        match dst {
            Operand::Hbm(a) => {
                let index = self.m.hbm_region(self.loops, a)?;
                let t = &mut self.m.hbm[a.tensor.0 as usize];
                for (&i, &v) in index.iter().zip(&values) {
                    t.data[i] = store_value(t.dtype, convert(t.dtype, v));
                    t.written[i] = true;
                }
            }
            Operand::Tile(a) => {
                let d = self.dtype(a);
                let values: Vec<f64> = values.iter().map(|&v| convert(d, v)).collect();
                let r = self.region(a)?;
                self.m.write_tile(a.tile.0 as usize, &r, &values, Writer::Dma);
            }
        }
        Ok(())
    }
}
