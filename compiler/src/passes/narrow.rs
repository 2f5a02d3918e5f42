//! narrow-i64: NKI has no 64-bit integer dtype (nki-api.md §2), so before
//! lowering to kernels every i64 value becomes i32. Constants are narrowed
//! here (an error if one does not fit); graph inputs and outputs change
//! type, and the host driver converts their data at the boundary
//! (`program::to_device` / `from_device`). Results differ from the
//! reference only where a value leaves the i32 range, which is checked for
//! inputs and constants.

use crate::Error;
use std::sync::Arc;
use trnc_ir::{verify, DType, Data, Graph, Op, Tensor};

pub fn narrow_i64(g: &mut Graph) -> Result<bool, Error> {
    let mut changed = false;
    for n in &mut g.nodes {
        match &mut n.op {
            Op::Const(t) if t.dtype() == DType::I64 => {
                let Data::I64(v) = t.data() else { continue };
                let narrowed: Vec<i32> =
                    v.iter().map(|&x| i32::try_from(x)).collect::<Result<_, _>>().map_err(|_| {
                        Error::run("error: an i64 constant does not fit i32, which the device uses for integers")
                    })?;
                *t = Arc::new(
                    Tensor::new(DType::I32, t.shape().to_vec(), Data::I32(narrowed)).map_err(|e| Error::run(e.0))?,
                );
                changed = true;
            }
            Op::Cast { to, .. } if *to == DType::I64 => {
                *to = DType::I32;
                changed = true;
            }
            _ => {}
        }
    }
    for i in 0..g.num_values() {
        let id = trnc_ir::ValueId(i as u32);
        if g.ty(id).dtype == DType::I64 {
            let ty = g.ty(id).with_dtype(DType::I32);
            g.set_type(id, ty);
            changed = true;
        }
    }
    verify(g).map_err(|e| Error::run(format!("error: narrowing i64 to i32 broke the graph: {e}")))?;
    Ok(changed)
}

/// Converts an i64 tensor for the device (other dtypes pass through).
pub fn to_device(t: &Tensor) -> Result<Tensor, Error> {
    match t.data() {
        Data::I64(v) => {
            let narrowed: Vec<i32> = v
                .iter()
                .map(|&x| i32::try_from(x).map_err(|_| Error::run(format!("error: input value {x} does not fit i32"))))
                .collect::<Result<_, _>>()?;
            Tensor::new(DType::I32, t.shape().to_vec(), Data::I32(narrowed)).map_err(|e| Error::run(e.0))
        }
        _ => Ok(t.clone()),
    }
}

/// Widens an i32 device result back to the graph's i64.
pub fn from_device(t: Tensor, want: DType) -> Result<Tensor, Error> {
    match (t.data(), want) {
        (Data::I32(v), DType::I64) => {
            let wide = v.iter().map(|&x| i64::from(x)).collect();
            Tensor::new(DType::I64, t.shape().to_vec(), Data::I64(wide)).map_err(|e| Error::run(e.0))
        }
        _ => Ok(t),
    }
}
