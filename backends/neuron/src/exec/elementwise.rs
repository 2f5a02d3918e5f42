//! Element-wise instructions of VectorE, ScalarE and GpSimd: tensor_tensor,
//! tensor_scalar, tensor_copy and activation (nki-api.md §4–5).
//!
//! Precision: inputs are converted to fp32, each operation is computed in
//! f64 and rounded to fp32 (the engines' arithmetic, trainium.md §1.4), and
//! the result is rounded to the destination dtype on write.

use trnc_ir::kernel::{ActFunc, AluOp, ScalarOperand, TileAccess};

use super::Exec;
use crate::alu::{activate, alu};
use crate::memory::{fp32, store_value, Writer};

impl Exec<'_> {
    pub(super) fn tensor_tensor(
        &mut self,
        dst: &TileAccess,
        a: &TileAccess,
        b: &TileAccess,
        op: AluOp,
    ) -> Result<(), String> {
        let a = self.read(a, "a")?;
        let b = self.read(b, "b")?;
        let out: Vec<f64> = a.iter().zip(&b).map(|(&x, &y)| alu(op, x, y)).collect();
        self.write_engine(dst, &out, Writer::Engine)
    }

    /// `(src op0 operand0) op1 operand1`, with `reverse` putting the operand
    /// first; the intermediate is fp32.
    pub(super) fn tensor_scalar(
        &mut self,
        dst: &TileAccess,
        src: &TileAccess,
        first: (AluOp, &ScalarOperand, bool),
        second: Option<(AluOp, &ScalarOperand, bool)>,
    ) -> Result<(), String> {
        let data = self.read(src, "src")?;
        let p = src.partitions;
        let f = src.free_elements();
        let apply = |op: AluOp, x: f64, s: f64, reverse: bool| if reverse { alu(op, s, x) } else { alu(op, x, s) };
        let s0 = self.per_partition(first.1, "operand0", p)?;
        let mut out: Vec<f64> =
            data.iter().enumerate().map(|(i, &x)| fp32(apply(first.0, x, s0[i / f], first.2))).collect();
        if let Some((op1, operand1, reverse1)) = second {
            let s1 = self.per_partition(operand1, "operand1", p)?;
            for (i, x) in out.iter_mut().enumerate() {
                *x = apply(op1, *x, s1[i / f], reverse1);
            }
        }
        self.write_engine(dst, &out, Writer::Engine)
    }

    /// Equal dtypes copy bit-exactly; otherwise the value goes through fp32
    /// (nki-api.md §4).
    pub(super) fn tensor_copy(&mut self, dst: &TileAccess, src: &TileAccess) -> Result<(), String> {
        let values = self.read_raw(src, "src")?;
        let (from, to) = (self.dtype(src), self.dtype(dst));
        let values: Vec<f64> =
            if from == to { values } else { values.into_iter().map(|v| store_value(to, fp32(v))).collect() };
        let r = self.region(dst)?;
        self.m.write_tile(dst.tile.0 as usize, &r, &values, Writer::Engine);
        Ok(())
    }

    /// `dst = func(src * scale + bias)`; `reduce` gets the free-axis sum of
    /// the fp32 function values, per partition (nki-api.md §5).
    pub(super) fn activation(
        &mut self,
        dst: &TileAccess,
        src: &TileAccess,
        func: ActFunc,
        scale: &ScalarOperand,
        bias: Option<&TileAccess>,
        reduce: Option<&TileAccess>,
    ) -> Result<(), String> {
        let data = self.read(src, "src")?;
        let p = src.partitions;
        let f = src.free_elements();
        let scale = self.per_partition(scale, "scale", p)?;
        let bias = match bias {
            Some(b) => self.read(b, "bias")?,
            None => vec![0.0; p],
        };
        let mut out = Vec::with_capacity(data.len());
        for (i, &x) in data.iter().enumerate() {
            let arg = fp32(x * scale[i / f] + bias[i / f]);
            // sin has no range reduction: outside [-π, π] the hardware result
            // is invalid (nki-api.md §6), so the simulator refuses it.
            if func == ActFunc::Sin && arg.abs() > std::f64::consts::PI {
                return Err(format!("sin of {arg} is outside [-π, π], where ScalarE's sin is invalid (nki-api.md §6)"));
            }
            out.push(fp32(activate(func, arg)));
        }
        if let Some(reduce) = reduce {
            let sums: Vec<f64> = out.chunks_exact(f.max(1)).map(|row| row.iter().sum()).collect();
            self.write_engine(reduce, &sums, Writer::Engine)?;
        }
        self.write_engine(dst, &out, Writer::Engine)
    }
}
