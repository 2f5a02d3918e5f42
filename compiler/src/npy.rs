//! .npy input and output files, through the `npyz` crate.
//!
//! NumPy has no bf16 or fp8 dtype, so tensors of those dtypes are written
//! as float32 (their values are exact in f32).

use crate::Error;
use npyz::{TypeChar, WriterBuilder};
use std::path::Path;
use trnc_ir::{strides_of, DType, Data, Tensor};

/// Reads a .npy file. Numeric data is converted to `want` (float64 arrays,
/// NumPy's default, are rounded to a float `want`); bool only reads as bool.
pub fn read_npy(path: &Path, want: DType) -> Result<Tensor, Error> {
    let bytes = crate::load::read_file(path)?;
    let bad = |m: String| Error::bad_input(format!("error: {}: {m}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(format!("not a valid .npy file: {e}")))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let fortran = npy.order() == npyz::Order::Fortran;
    let npyz::DType::Plain(ts) = npy.dtype() else {
        return Err(bad("structured arrays are not supported".into()));
    };
    let (kind, size) = (ts.type_char(), ts.size_field());
    let read_err = |e: std::io::Error| bad(format!("cannot read the data: {e}"));
    let values: Vec<f64> = match (kind, size) {
        (TypeChar::Float, 8) => npy.into_vec::<f64>().map_err(read_err)?,
        (TypeChar::Float, 4) => npy.into_vec::<f32>().map_err(read_err)?.into_iter().map(f64::from).collect(),
        (TypeChar::Float, 2) => npy.into_vec::<half::f16>().map_err(read_err)?.into_iter().map(f64::from).collect(),
        (TypeChar::Int, 8) => {
            return finish(int64(npy.into_vec::<i64>().map_err(read_err)?, want, &bad)?, shape, fortran, want, &bad)
        }
        (TypeChar::Int, 4) => npy.into_vec::<i32>().map_err(read_err)?.into_iter().map(f64::from).collect(),
        (TypeChar::Int, 2) => npy.into_vec::<i16>().map_err(read_err)?.into_iter().map(f64::from).collect(),
        (TypeChar::Int, 1) => npy.into_vec::<i8>().map_err(read_err)?.into_iter().map(f64::from).collect(),
        (TypeChar::Uint, 1) => npy.into_vec::<u8>().map_err(read_err)?.into_iter().map(f64::from).collect(),
        (TypeChar::Bool, 1) => {
            let v = npy.into_vec::<bool>().map_err(read_err)?;
            if want != DType::Bool {
                return Err(bad(format!("holds bool data but the input is {want}")));
            }
            return finish(Data::Bool(v), shape, fortran, want, &bad);
        }
        _ => return Err(bad(format!("unsupported .npy dtype '{ts}'"))),
    };
    if want == DType::Bool {
        return Err(bad(format!("holds numeric data ('{ts}') but the input is bool")));
    }
    if want.is_int() && values.iter().any(|x| x.fract() != 0.0) {
        return Err(bad(format!("holds non-integer values but the input is {want}")));
    }
    let t = Tensor::from_f64(want, shape.clone(), &values);
    finish(t.into_data(), shape, fortran, want, &bad)
}

fn int64(v: Vec<i64>, want: DType, bad: &dyn Fn(String) -> Error) -> Result<Data, Error> {
    Ok(match want {
        DType::I64 => Data::I64(v),
        DType::I32 => Data::I32(
            v.into_iter()
                .map(|x| i32::try_from(x).map_err(|_| bad(format!("value {x} does not fit i32"))))
                .collect::<Result<_, _>>()?,
        ),
        DType::Bool => return Err(bad("holds integer data but the input is bool".into())),
        f => {
            let t = Tensor::from_f64(f, vec![v.len()], &v.iter().map(|&x| x as f64).collect::<Vec<_>>());
            t.into_data()
        }
    })
}

/// Builds the tensor, reordering Fortran-order data to row-major.
fn finish(
    data: Data,
    shape: Vec<usize>,
    fortran: bool,
    dtype: DType,
    bad: &dyn Fn(String) -> Error,
) -> Result<Tensor, Error> {
    let t = Tensor::new(dtype, shape.clone(), data).map_err(|e| bad(e.0))?;
    if !fortran || shape.len() < 2 {
        return Ok(t);
    }
    // Fortran order is row-major order of the reversed shape.
    let rev: Vec<usize> = shape.iter().rev().copied().collect();
    let src_strides = strides_of(&rev);
    let count = t.len();
    let mut order = Vec::with_capacity(count);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..count {
        let off: usize = idx.iter().rev().zip(&src_strides).map(|(i, s)| i * s).sum();
        order.push(off);
        for d in (0..shape.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    let data = match t.data() {
        Data::Float(v) => Data::Float(order.iter().map(|&i| v[i]).collect()),
        Data::I64(v) => Data::I64(order.iter().map(|&i| v[i]).collect()),
        Data::I32(v) => Data::I32(order.iter().map(|&i| v[i]).collect()),
        Data::Bool(v) => Data::Bool(order.iter().map(|&i| v[i]).collect()),
    };
    Tensor::new(dtype, shape, data).map_err(|e| bad(e.0))
}

/// Writes a tensor as .npy (bf16 and fp8 as float32, f16 as float16).
pub fn write_npy(path: &Path, t: &Tensor) -> Result<(), Error> {
    let shape: Vec<u64> = t.shape().iter().map(|&d| d as u64).collect();
    let fail = |e: std::io::Error| Error::run(format!("cannot write {}: {e}", path.display()));
    let mut out = Vec::new();
    macro_rules! emit {
        ($ty:ty, $iter:expr) => {{
            let mut w = npyz::WriteOptions::<$ty>::new()
                .default_dtype()
                .shape(&shape)
                .writer(&mut out)
                .begin_nd()
                .map_err(fail)?;
            w.extend($iter).map_err(fail)?;
            w.finish().map_err(fail)?;
        }};
    }
    match (t.data(), t.dtype()) {
        (Data::Float(v), DType::F16) => emit!(half::f16, v.iter().map(|&x| half::f16::from_f32(x))),
        (Data::Float(v), _) => emit!(f32, v.iter().copied()),
        (Data::I64(v), _) => emit!(i64, v.iter().copied()),
        (Data::I32(v), _) => emit!(i32, v.iter().copied()),
        (Data::Bool(v), _) => emit!(bool, v.iter().copied()),
    }
    std::fs::write(path, out).map_err(fail)
}

/// The shape stored in a .npy file's header.
pub fn read_npy_shape(path: &Path) -> Result<Vec<usize>, Error> {
    let bytes = crate::load::read_file(path)?;
    let npy = npyz::NpyFile::new(&bytes[..])
        .map_err(|e| Error::bad_input(format!("error: {}: not a valid .npy file: {e}", path.display())))?;
    Ok(npy.shape().iter().map(|&d| d as usize).collect())
}
