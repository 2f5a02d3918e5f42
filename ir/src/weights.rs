//! Side files for large constants: safetensors, keyed by value name.
//! The `safetensors` crate does the format; this module maps its dtypes.

use crate::{DType, Tensor};
use safetensors::tensor::{Dtype as StDtype, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;
use std::path::Path;

fn to_st(d: DType) -> StDtype {
    match d {
        DType::F32 => StDtype::F32,
        DType::F16 => StDtype::F16,
        DType::BF16 => StDtype::BF16,
        DType::F8E4M3 => StDtype::F8_E4M3,
        DType::F8E5M2 => StDtype::F8_E5M2,
        DType::I64 => StDtype::I64,
        DType::I32 => StDtype::I32,
        DType::Bool => StDtype::BOOL,
    }
}

fn from_st(d: StDtype) -> Option<DType> {
    Some(match d {
        StDtype::F32 => DType::F32,
        StDtype::F16 => DType::F16,
        StDtype::BF16 => DType::BF16,
        StDtype::F8_E4M3 => DType::F8E4M3,
        StDtype::F8_E5M2 => DType::F8E5M2,
        StDtype::I64 => DType::I64,
        StDtype::I32 => DType::I32,
        StDtype::BOOL => DType::Bool,
        _ => return None,
    })
}

/// Decodes every tensor of a safetensors buffer.
pub fn decode_safetensors(bytes: &[u8]) -> Result<HashMap<String, Tensor>, String> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| format!("not a valid safetensors file: {e}"))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        let dtype =
            from_st(view.dtype()).ok_or_else(|| format!("tensor '{name}' has unsupported dtype {:?}", view.dtype()))?;
        let t = Tensor::from_le_bytes(dtype, view.shape().to_vec(), view.data())
            .map_err(|e| format!("tensor '{name}': {e}"))?;
        out.insert(name, t);
    }
    Ok(out)
}

pub fn load_safetensors(path: &Path) -> Result<HashMap<String, Tensor>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    decode_safetensors(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Encodes tensors as safetensors; entries are sorted by name, so the bytes
/// depend only on the contents.
pub fn encode_safetensors(tensors: &[(String, &Tensor)]) -> Result<Vec<u8>, String> {
    let bytes: Vec<(String, DType, Vec<usize>, Vec<u8>)> =
        tensors.iter().map(|(n, t)| (n.clone(), t.dtype(), t.shape().to_vec(), t.to_le_bytes())).collect();
    let mut views = Vec::new();
    for (name, dtype, shape, data) in &bytes {
        let view = TensorView::new(to_st(*dtype), shape.clone(), data).map_err(|e| format!("tensor '{name}': {e}"))?;
        views.push((name.clone(), view));
    }
    views.sort_by(|a, b| a.0.cmp(&b.0));
    safetensors::serialize(views, None).map_err(|e| e.to_string())
}

pub fn save_safetensors(path: &Path, tensors: &[(String, &Tensor)]) -> Result<(), String> {
    let bytes = encode_safetensors(tensors)?;
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_dtype() {
        let ts: Vec<(String, Tensor)> = DType::ALL
            .iter()
            .map(|&d| (d.name().to_string(), Tensor::from_f64(d, vec![2, 2], &[1.0, -2.0, 0.5, 0.0])))
            .collect();
        let refs: Vec<(String, &Tensor)> = ts.iter().map(|(n, t)| (n.clone(), t)).collect();
        let bytes = encode_safetensors(&refs).unwrap();
        let back = decode_safetensors(&bytes).unwrap();
        for (n, t) in &ts {
            assert_eq!(&back[n], t);
        }
        assert!(decode_safetensors(&bytes[..bytes.len() - 3]).is_err());
    }
}
