//! Side files for large constants: safetensors, keyed by value name.
//! The `safetensors` crate does the format; this module maps its dtypes.

use crate::{DType, Tensor};
use safetensors::tensor::{Dtype as StDtype, View};
use safetensors::SafeTensors;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
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

/// A tensor as the header sees it: dtype, shape and byte length, without
/// the bytes, which [`write_safetensors`] streams after the header.
struct Layout<'a>(&'a Tensor);

impl View for Layout<'_> {
    fn dtype(&self) -> StDtype {
        to_st(self.0.dtype())
    }
    fn shape(&self) -> &[usize] {
        self.0.shape()
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&[])
    }
    fn data_len(&self) -> usize {
        self.0.len() * self.0.dtype().size_bytes()
    }
}

/// Writes tensors as safetensors: the header from the `safetensors` crate,
/// then each tensor's bytes, converted a block at a time rather than all
/// copied into one buffer. Entries are sorted as the crate sorts them (by
/// descending dtype alignment, then by name), so the bytes depend only on
/// the contents.
pub fn write_safetensors(w: &mut impl Write, tensors: &[(String, &Tensor)]) -> Result<(), String> {
    let header = safetensors::serialize(tensors.iter().map(|(n, t)| (n.as_str(), Layout(t))), None)
        .map_err(|e| e.to_string())?;
    let mut order: Vec<&(String, &Tensor)> = tensors.iter().collect();
    order.sort_by(|a, b| to_st(b.1.dtype()).cmp(&to_st(a.1.dtype())).then(a.0.cmp(&b.0)));
    w.write_all(&header).map_err(|e| e.to_string())?;
    for (_, t) in order {
        t.write_le_bytes(w).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// [`write_safetensors`] into memory.
pub fn encode_safetensors(tensors: &[(String, &Tensor)]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    write_safetensors(&mut out, tensors)?;
    Ok(out)
}

/// [`write_safetensors`] into a file, through one buffer.
pub fn save_safetensors(path: &Path, tensors: &[(String, &Tensor)]) -> Result<(), String> {
    let err = |e: String| format!("cannot write {}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(|e| err(e.to_string()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    write_safetensors(&mut w, tensors).map_err(err)?;
    w.flush().map_err(|e| err(e.to_string()))
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

    #[test]
    fn streamed_bytes_are_the_crates_own() {
        // Names out of order, dtypes of every alignment, a tensor larger
        // than one conversion block, an empty one.
        let big: Vec<f64> = (0..40_000).map(|i| f64::from(i % 251) - 100.0).collect();
        let ts: Vec<(String, Tensor)> = vec![
            ("b".into(), Tensor::from_f64(DType::BF16, vec![2], &[1.5, -2.0])),
            ("a".into(), Tensor::from_f64(DType::I64, vec![3], &[1.0, -2.0, 7.0])),
            ("z".into(), Tensor::from_f64(DType::F32, vec![200, 200], &big)),
            ("m".into(), Tensor::from_f64(DType::Bool, vec![2], &[1.0, 0.0])),
            ("c".into(), Tensor::from_f64(DType::F8E4M3, vec![0], &[])),
            ("d".into(), Tensor::from_f64(DType::I32, vec![1], &[-3.0])),
        ];
        let refs: Vec<(String, &Tensor)> = ts.iter().map(|(n, t)| (n.clone(), t)).collect();
        let data: Vec<(String, StDtype, Vec<usize>, Vec<u8>)> =
            ts.iter().map(|(n, t)| (n.clone(), to_st(t.dtype()), t.shape().to_vec(), t.to_le_bytes())).collect();
        let views = data.iter().map(|(n, d, s, b)| (n.clone(), safetensors::tensor::TensorView::new(*d, s.clone(), b)));
        let views: Vec<_> = views.map(|(n, v)| (n, v.unwrap())).collect();
        let expected = safetensors::serialize(views, None).unwrap();
        assert_eq!(encode_safetensors(&refs).unwrap(), expected);
    }
}
