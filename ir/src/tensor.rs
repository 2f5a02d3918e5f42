//! Dense tensors with data: constants in the graph, inputs and outputs of
//! every backend.

use crate::types::{format_shape, TensorType};
use crate::DType;

/// Element storage. All float dtypes are stored as f32 holding values that
/// are exactly representable in the dtype (see [`DType::round`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    Float(Vec<f32>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    Bool(Vec<bool>),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::Float(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<usize>,
    data: Data,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct TensorError(pub String);

impl Tensor {
    /// Builds a tensor, checking that the storage matches dtype and shape.
    /// Float values are rounded to `dtype`.
    pub fn new(dtype: DType, shape: Vec<usize>, data: Data) -> Result<Tensor, TensorError> {
        let count: usize = shape.iter().product();
        if data.len() != count {
            return Err(TensorError(format!(
                "a {} tensor of shape {} needs {count} elements, got {}",
                dtype,
                format_shape(&shape),
                data.len()
            )));
        }
        let data = match (dtype, data) {
            (DType::I64, d @ Data::I64(_)) | (DType::I32, d @ Data::I32(_)) | (DType::Bool, d @ Data::Bool(_)) => d,
            (dt, Data::Float(v)) if dt.is_float() => Data::Float(if dt == DType::F32 {
                v
            } else {
                v.into_iter().map(|x| dt.round(x as f64) as f32).collect()
            }),
            (dt, d) => return Err(TensorError(format!("storage {} does not match dtype {dt}", storage_name(&d)))),
        };
        Ok(Tensor { dtype, shape, data })
    }

    /// Builds a tensor of any dtype from real values, rounding each to the
    /// dtype (see [`DType::round`]).
    pub fn from_f64(dtype: DType, shape: Vec<usize>, values: &[f64]) -> Tensor {
        assert_eq!(values.len(), shape.iter().product::<usize>(), "element count must match shape");
        let data = match dtype {
            DType::I64 => Data::I64(values.iter().map(|&x| dtype.round(x) as i64).collect()),
            DType::I32 => Data::I32(values.iter().map(|&x| dtype.round(x) as i32).collect()),
            DType::Bool => Data::Bool(values.iter().map(|&x| x != 0.0).collect()),
            _ => Data::Float(values.iter().map(|&x| dtype.round(x) as f32).collect()),
        };
        Tensor { dtype, shape, data }
    }

    pub fn from_f32(shape: Vec<usize>, values: Vec<f32>) -> Tensor {
        Tensor::new(DType::F32, shape, Data::Float(values)).expect("element count must match shape")
    }

    pub fn from_i64(shape: Vec<usize>, values: Vec<i64>) -> Tensor {
        Tensor::new(DType::I64, shape, Data::I64(values)).expect("element count must match shape")
    }

    pub fn scalar(dtype: DType, value: f64) -> Tensor {
        Tensor::from_f64(dtype, vec![], &[value])
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn data(&self) -> &Data {
        &self.data
    }

    pub fn into_data(self) -> Data {
        self.data
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn ty(&self) -> TensorType {
        TensorType::new(self.dtype, &self.shape)
    }

    /// Same data, another shape with the same element count.
    pub fn reshaped(&self, shape: Vec<usize>) -> Result<Tensor, TensorError> {
        Tensor::new(self.dtype, shape, self.data.clone())
    }

    /// Element `i` (row-major) as f64. Exact for floats, bools and integers
    /// up to 2^53.
    pub fn get_f64(&self, i: usize) -> f64 {
        match &self.data {
            Data::Float(v) => v[i] as f64,
            Data::I64(v) => v[i] as f64,
            Data::I32(v) => v[i] as f64,
            Data::Bool(v) => f64::from(u8::from(v[i])),
        }
    }

    pub fn to_f64_vec(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.get_f64(i)).collect()
    }

    /// Integer view (floats truncated toward zero): indices, shapes, axes.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match &self.data {
            Data::I64(v) => v.clone(),
            Data::I32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::Bool(v) => v.iter().map(|&x| i64::from(x)).collect(),
            Data::Float(v) => v.iter().map(|&x| x as i64).collect(),
        }
    }

    /// Little-endian bytes in the dtype's own encoding (safetensors, .npy).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * self.dtype.size_bytes());
        self.extend_le_bytes(0..self.len(), &mut out);
        out
    }

    /// Writes [`Tensor::to_le_bytes`] to `w` a block at a time, so that a
    /// large tensor is never held twice in memory.
    pub fn write_le_bytes(&self, w: &mut impl std::io::Write) -> std::io::Result<()> {
        const BLOCK: usize = 1 << 14;
        let mut buf = Vec::with_capacity(BLOCK.min(self.len()) * self.dtype.size_bytes());
        for start in (0..self.len()).step_by(BLOCK) {
            buf.clear();
            self.extend_le_bytes(start..(start + BLOCK).min(self.len()), &mut buf);
            w.write_all(&buf)?;
        }
        Ok(())
    }

    /// Appends the encoding of the elements in `range` to `out`.
    fn extend_le_bytes(&self, range: std::ops::Range<usize>, out: &mut Vec<u8>) {
        match &self.data {
            Data::I64(v) => out.extend(v[range].iter().flat_map(|x| x.to_le_bytes())),
            Data::I32(v) => out.extend(v[range].iter().flat_map(|x| x.to_le_bytes())),
            Data::Bool(v) => out.extend(v[range].iter().map(|&b| u8::from(b))),
            Data::Float(v) => {
                let v = &v[range];
                match self.dtype {
                    DType::F32 => out.extend(v.iter().flat_map(|x| x.to_le_bytes())),
                    DType::F16 => out.extend(v.iter().flat_map(|&x| half::f16::from_f32(x).to_le_bytes())),
                    DType::BF16 => out.extend(v.iter().flat_map(|&x| half::bf16::from_f32(x).to_le_bytes())),
                    DType::F8E4M3 => out.extend(v.iter().map(|&x| crate::fp8::encode_e4m3(x))),
                    DType::F8E5M2 => out.extend(v.iter().map(|&x| crate::fp8::encode_e5m2(x))),
                    _ => unreachable!("float storage has a float dtype"),
                }
            }
        }
    }

    /// Decodes little-endian bytes in the dtype's own encoding.
    pub fn from_le_bytes(dtype: DType, shape: Vec<usize>, bytes: &[u8]) -> Result<Tensor, TensorError> {
        let count: usize = shape.iter().product();
        let size = dtype.size_bytes();
        if bytes.len() != count * size {
            return Err(TensorError(format!(
                "a {dtype} tensor of shape {} needs {} bytes, got {}",
                format_shape(&shape),
                count * size,
                bytes.len()
            )));
        }
        let chunks = bytes.chunks_exact(size);
        let data = match dtype {
            DType::F32 => Data::Float(chunks.map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()),
            DType::F16 => {
                Data::Float(chunks.map(|c| half::f16::from_le_bytes(c.try_into().unwrap()).to_f32()).collect())
            }
            DType::BF16 => {
                Data::Float(chunks.map(|c| half::bf16::from_le_bytes(c.try_into().unwrap()).to_f32()).collect())
            }
            DType::F8E4M3 => Data::Float(bytes.iter().map(|&b| crate::fp8::decode_e4m3(b)).collect()),
            DType::F8E5M2 => Data::Float(bytes.iter().map(|&b| crate::fp8::decode_e5m2(b)).collect()),
            DType::I64 => Data::I64(chunks.map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()),
            DType::I32 => Data::I32(chunks.map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()),
            DType::Bool => Data::Bool(bytes.iter().map(|&b| b != 0).collect()),
        };
        Ok(Tensor { dtype, shape, data })
    }
}

fn storage_name(d: &Data) -> &'static str {
    match d {
        Data::Float(_) => "float",
        Data::I64(_) => "i64",
        Data::I32(_) => "i32",
        Data::Bool(_) => "bool",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_for_every_dtype() {
        let values = [0.0, -1.5, 2.0, 0.375, 3.0, -0.0];
        for dtype in DType::ALL {
            let t = Tensor::from_f64(dtype, vec![2, 3], &values);
            let back = Tensor::from_le_bytes(dtype, vec![2, 3], &t.to_le_bytes()).unwrap();
            assert_eq!(t, back, "{dtype}");
        }
    }

    #[test]
    fn new_checks_counts_and_storage() {
        assert!(Tensor::new(DType::F32, vec![2, 2], Data::Float(vec![1.0; 3])).is_err());
        assert!(Tensor::new(DType::I64, vec![1], Data::Float(vec![1.0])).is_err());
        let t = Tensor::new(DType::BF16, vec![1], Data::Float(vec![1.0 + 2f32.powi(-8)])).unwrap();
        assert_eq!(t.get_f64(0), 1.0, "bf16 storage is rounded on construction");
    }
}
