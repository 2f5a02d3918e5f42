//! ONNX element types (`TensorProto.DataType`) and the trnc dtypes they map
//! onto.
//!
//! trnc has no f64, no narrow or unsigned integers and no strings. A model
//! that uses one of them is rejected with the dtype named, rather than
//! silently converted: a double-precision model imported as f32 would
//! compute something else than the model says.

use trnc_ir::DType;

pub const FLOAT: i32 = 1;
pub const INT32: i32 = 6;
pub const INT64: i32 = 7;
pub const BOOL: i32 = 9;
pub const FLOAT16: i32 = 10;
pub const BFLOAT16: i32 = 16;
pub const FLOAT8E4M3FN: i32 = 17;
pub const FLOAT8E5M2: i32 = 19;

/// The ONNX spelling of a data type code, for messages.
pub fn onnx_dtype_name(code: i32) -> String {
    let name = match code {
        0 => "UNDEFINED",
        1 => "float",
        2 => "uint8",
        3 => "int8",
        4 => "uint16",
        5 => "int16",
        6 => "int32",
        7 => "int64",
        8 => "string",
        9 => "bool",
        10 => "float16",
        11 => "double",
        12 => "uint32",
        13 => "uint64",
        14 => "complex64",
        15 => "complex128",
        16 => "bfloat16",
        17 => "float8e4m3fn",
        18 => "float8e4m3fnuz",
        19 => "float8e5m2",
        20 => "float8e5m2fnuz",
        21 => "uint4",
        22 => "int4",
        23 => "float4e2m1",
        24 => "float8e8m0",
        25 => "uint2",
        26 => "int2",
        _ => return format!("data type {code}"),
    };
    name.to_string()
}

/// The trnc dtype for an ONNX data type code.
pub fn dtype_from_onnx(code: i32) -> Result<DType, String> {
    Ok(match code {
        FLOAT => DType::F32,
        FLOAT16 => DType::F16,
        BFLOAT16 => DType::BF16,
        FLOAT8E4M3FN => DType::F8E4M3,
        FLOAT8E5M2 => DType::F8E5M2,
        INT64 => DType::I64,
        INT32 => DType::I32,
        BOOL => DType::Bool,
        other => {
            return Err(format!(
                "element type {} is not supported (trnc supports float, float16, bfloat16, \
                 float8e4m3fn, float8e5m2, int64, int32 and bool)",
                onnx_dtype_name(other)
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_dtypes_are_named() {
        assert_eq!(dtype_from_onnx(FLOAT), Ok(DType::F32));
        let e = dtype_from_onnx(11).unwrap_err();
        assert!(e.starts_with("element type double is not supported"), "{e}");
        assert!(dtype_from_onnx(2).unwrap_err().contains("uint8"));
        assert!(dtype_from_onnx(26).unwrap_err().contains("element type int2 is not"));
    }
}
