//! `TensorProto` → [`Tensor`]: initializers and constant attributes, with
//! their data in `raw_data`, in the typed fields, or in a file beside the
//! model (`data_location = EXTERNAL`).

use super::dtype::{dtype_from_onnx, onnx_dtype_name};
use super::proto::{TensorProto, DATA_LOCATION_EXTERNAL};
use std::borrow::Cow;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};
use trnc_ir::{format_shape, DType, Tensor};

/// Decodes a tensor. `base_dir` is the model's folder, where external data
/// files live. Errors do not name the tensor; the caller adds context.
pub fn tensor_from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor, String> {
    let dtype = dtype_from_onnx(t.data_type)?;
    let shape = shape_from_dims(&t.dims)?;
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let byte_len = count.and_then(|c| c.checked_mul(dtype.size_bytes()));
    let (Some(count), Some(byte_len)) = (count, byte_len) else {
        return Err(format!("shape {} has too many elements", format_shape(&shape)));
    };
    let bytes: Cow<[u8]> = if t.data_location == DATA_LOCATION_EXTERNAL {
        Cow::Owned(read_external(t, base_dir, byte_len)?)
    } else if !t.raw_data.is_empty() || count == 0 {
        Cow::Borrowed(&t.raw_data)
    } else {
        Cow::Owned(typed_field_bytes(t, dtype)?)
    };
    if bytes.len() != byte_len {
        let have = bytes.len() / dtype.size_bytes().max(1);
        return Err(format!(
            "shape {} of {dtype} needs {count} elements ({byte_len} bytes), but the data holds {have} ({} bytes)",
            format_shape(&shape),
            bytes.len()
        ));
    }
    Tensor::from_le_bytes(dtype, shape, &bytes).map_err(|e| e.0)
}

/// ONNX dims are i64; a negative one is a corrupt file.
pub fn shape_from_dims(dims: &[i64]) -> Result<Vec<usize>, String> {
    dims.iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("dimension {d} in shape {dims:?} is negative")))
        .collect()
}

/// The data of the typed field that ONNX uses for `dtype`, as
/// little-endian bytes of that dtype (the `raw_data` encoding).
fn typed_field_bytes(t: &TensorProto, dtype: DType) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    match dtype {
        DType::F32 => t.float_data.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        DType::I64 => t.int64_data.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        DType::I32 => t.int32_data.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        // 16-bit floats are stored as their bit patterns in int32_data.
        DType::F16 | DType::BF16 => t.int32_data.iter().for_each(|&x| out.extend_from_slice(&(x as u16).to_le_bytes())),
        DType::F8E4M3 | DType::F8E5M2 => out.extend(t.int32_data.iter().map(|&x| x as u8)),
        DType::Bool => out.extend(t.int32_data.iter().map(|&x| u8::from(x != 0))),
    }
    if out.is_empty() && !t.string_data.is_empty() {
        return Err(format!("holds string data, not {}", onnx_dtype_name(t.data_type)));
    }
    Ok(out)
}

fn external_entry<'a>(t: &'a TensorProto, key: &str) -> Option<&'a str> {
    t.external_data.iter().find(|e| e.key == key).map(|e| e.value.as_str())
}

/// Reads `length` bytes at `offset` of the file named by `location`,
/// relative to the model's folder.
fn read_external(t: &TensorProto, base_dir: Option<&Path>, byte_len: usize) -> Result<Vec<u8>, String> {
    let location = external_entry(t, "location").ok_or("its external data has no 'location'")?;
    let relative = Path::new(location);
    // The ONNX checker allows only paths inside the model's folder; anything
    // else could read arbitrary files.
    if relative.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(format!("external data location '{location}' must be a relative path inside the model's folder"));
    }
    let base = base_dir.ok_or_else(|| {
        format!("its data is in the external file '{location}', which needs the model's folder (load the model from a file)")
    })?;
    let parse = |key: &str| -> Result<Option<u64>, String> {
        external_entry(t, key)
            .map(|v| v.parse::<u64>().map_err(|_| format!("external data {key} '{v}' is not a whole number")))
            .transpose()
    };
    let offset = parse("offset")?.unwrap_or(0);
    let length = parse("length")?;
    if let Some(length) = length {
        if length != byte_len as u64 {
            return Err(format!(
                "external data length {length} does not match the {byte_len} bytes its shape and dtype need"
            ));
        }
    }
    let path = base.join(relative);
    let io_err = |e: std::io::Error| format!("cannot read external data from {}: {e}", path.display());
    let mut file = std::fs::File::open(&path).map_err(io_err)?;
    let file_len = file.metadata().map_err(io_err)?.len();
    if offset.checked_add(byte_len as u64).is_none_or(|end| end > file_len) {
        return Err(format!(
            "external data at offset {offset} with {byte_len} bytes runs past the end of {} ({file_len} bytes)",
            path.display()
        ));
    }
    file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
    let mut bytes = vec![0; byte_len];
    file.read_exact(&mut bytes).map_err(io_err)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::dtype;
    use super::*;

    fn proto(data_type: i32, dims: Vec<i64>) -> TensorProto {
        TensorProto { data_type, dims, ..Default::default() }
    }

    #[test]
    fn typed_fields_decode() {
        let mut t = proto(dtype::FLOAT16, vec![2]);
        t.int32_data = vec![0x3c00, 0xc000]; // 1.0, -2.0
        assert_eq!(tensor_from_proto(&t, None).unwrap().to_f64_vec(), vec![1.0, -2.0]);
        let mut t = proto(dtype::BOOL, vec![3]);
        t.int32_data = vec![1, 0, 5];
        assert_eq!(tensor_from_proto(&t, None).unwrap().to_i64_vec(), vec![1, 0, 1]);
        let mut t = proto(dtype::INT64, vec![]);
        t.int64_data = vec![-7];
        assert_eq!(tensor_from_proto(&t, None).unwrap().to_i64_vec(), vec![-7]);
    }

    #[test]
    fn bad_tensors_are_errors() {
        let mut t = proto(dtype::FLOAT, vec![2, 2]);
        t.float_data = vec![1.0; 3];
        assert!(tensor_from_proto(&t, None).unwrap_err().contains("needs 4 elements"));
        let t = proto(dtype::FLOAT, vec![-1]);
        assert!(tensor_from_proto(&t, None).unwrap_err().contains("negative"));
        let t = proto(dtype::FLOAT, vec![i64::MAX, i64::MAX]);
        assert!(tensor_from_proto(&t, None).unwrap_err().contains("too many elements"));
        let t = proto(11, vec![1]);
        assert!(tensor_from_proto(&t, None).unwrap_err().contains("double"));
    }
}
