//! Bit encodings of the two OCP fp8 formats (for safetensors, .npy and
//! ONNX raw data). Values are rounded by [`crate::DType::round`] first.

use crate::DType;

/// Generic decoder: sign, `e` exponent bits, `m` mantissa bits, `bias`.
fn decode(byte: u8, e: u32, m: u32, bias: i32) -> (f32, u32, u32) {
    let sign = if byte & 0x80 != 0 { -1.0f32 } else { 1.0 };
    let exp = ((byte >> m) as u32) & ((1 << e) - 1);
    let man = (byte as u32) & ((1 << m) - 1);
    let mag = if exp == 0 {
        man as f32 * 2f32.powi(1 - bias - m as i32)
    } else {
        (1.0 + man as f32 / (1 << m) as f32) * 2f32.powi(exp as i32 - bias)
    };
    (sign * mag, exp, man)
}

pub fn decode_e4m3(byte: u8) -> f32 {
    let (v, exp, man) = decode(byte, 4, 3, 7);
    if exp == 15 && man == 7 {
        f32::NAN
    } else {
        v
    }
}

pub fn decode_e5m2(byte: u8) -> f32 {
    let (v, exp, man) = decode(byte, 5, 2, 15);
    match (exp, man) {
        (31, 0) => v.signum() * f32::INFINITY,
        (31, _) => f32::NAN,
        _ => v,
    }
}

fn encode(x: f32, dtype: DType, m: u32, bias: i32, nan: u8, inf: Option<u8>) -> u8 {
    let x = dtype.round(x as f64);
    let sign = if x.is_sign_negative() { 0x80u8 } else { 0 };
    if x.is_nan() {
        return nan;
    }
    if x.is_infinite() {
        return sign | inf.unwrap_or(nan);
    }
    let mag = x.abs();
    if mag == 0.0 {
        return sign;
    }
    let exp = mag.log2().floor() as i32;
    let min_exp = 1 - bias;
    if exp < min_exp {
        let man = (mag / 2f64.powi(min_exp - m as i32)).round() as u8;
        return sign | man;
    }
    let man = ((mag / 2f64.powi(exp) - 1.0) * (1 << m) as f64).round() as u8;
    sign | (((exp + bias) as u8) << m) | man
}

pub fn encode_e4m3(x: f32) -> u8 {
    encode(x, DType::F8E4M3, 3, 7, 0x7f, None)
}

pub fn encode_e5m2(x: f32) -> u8 {
    encode(x, DType::F8E5M2, 2, 15, 0x7f, Some(0x7c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        for b in 0..=255u8 {
            let x = decode_e4m3(b);
            if x.is_nan() {
                assert!(decode_e4m3(encode_e4m3(x)).is_nan());
            } else {
                assert_eq!(encode_e4m3(x), b, "e4m3 byte {b:#04x} = {x}");
            }
            let y = decode_e5m2(b);
            if y.is_nan() {
                assert!(decode_e5m2(encode_e5m2(y)).is_nan());
            } else {
                assert_eq!(encode_e5m2(y), b, "e5m2 byte {b:#04x} = {y}");
            }
        }
    }

    #[test]
    fn known_codes() {
        assert_eq!(decode_e4m3(0x7e), 448.0);
        assert_eq!(decode_e4m3(0x01), 2f32.powi(-9));
        assert_eq!(decode_e5m2(0x7b), 57344.0);
        assert_eq!(decode_e5m2(0x7c), f32::INFINITY);
        assert_eq!(decode_e5m2(0x3c), 1.0);
        assert_eq!(decode_e4m3(0x38), 1.0);
    }
}
