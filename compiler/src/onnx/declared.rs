//! Types the model declares for its tensors (graph inputs and outputs,
//! `value_info`), and the check of computed types against them. A
//! disagreement means a corrupt model, or a bug in the importer.

use super::dtype::{dtype_from_onnx, onnx_dtype_name};
use super::proto::tensor_shape_proto::dimension::Value as DimValue;
use super::proto::{type_proto, ValueInfoProto};
use std::collections::HashMap;
use trnc_ir::TensorType;

#[derive(Clone, Debug, PartialEq)]
pub enum DeclaredDim {
    Known(usize),
    /// A symbolic dimension (`dim_param`).
    Param(String),
    /// Neither a size nor a name.
    Unknown,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeclaredType {
    /// An ONNX data type code; 0 if not given.
    pub elem_type: i32,
    /// `None` when not even the rank is given.
    pub dims: Option<Vec<DeclaredDim>>,
}

impl std::fmt::Display for DeclaredType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&onnx_dtype_name(self.elem_type))?;
        match &self.dims {
            None => f.write_str("[?]"),
            Some(dims) => {
                let parts: Vec<String> = dims
                    .iter()
                    .map(|d| match d {
                        DeclaredDim::Known(n) => n.to_string(),
                        DeclaredDim::Param(p) => p.clone(),
                        DeclaredDim::Unknown => "?".to_string(),
                    })
                    .collect();
                write!(f, "[{}]", parts.join(", "))
            }
        }
    }
}

/// The declared tensor type of a value, or why it is not a tensor type.
pub fn declared_type(vi: &ValueInfoProto) -> Result<Option<DeclaredType>, String> {
    let Some(ty) = &vi.r#type else { return Ok(None) };
    let tensor = match &ty.value {
        Some(type_proto::Value::TensorType(t)) => t,
        None => return Ok(None),
        Some(_) => {
            return Err(format!(
                "'{}' is not a tensor (sequences, maps, optionals and sparse tensors are not supported)",
                vi.name
            ))
        }
    };
    let dims = match &tensor.shape {
        None => None,
        Some(shape) => Some(
            shape
                .dim
                .iter()
                .map(|d| match &d.value {
                    Some(DimValue::DimValue(n)) => usize::try_from(*n)
                        .map(DeclaredDim::Known)
                        .map_err(|_| format!("'{}' has a negative dimension {n}", vi.name)),
                    Some(DimValue::DimParam(p)) if !p.is_empty() => Ok(DeclaredDim::Param(p.clone())),
                    _ => Ok(DeclaredDim::Unknown),
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
    };
    Ok(Some(DeclaredType { elem_type: tensor.elem_type, dims }))
}

/// Declared types by ONNX tensor name, with the sizes bound to symbolic
/// dimensions.
#[derive(Default)]
pub struct DeclaredTypes {
    pub types: HashMap<String, DeclaredType>,
    pub sizes: HashMap<String, usize>,
}

impl DeclaredTypes {
    /// Checks `ty`, computed for tensor `name`, against its declaration.
    pub fn check(&self, name: &str, ty: &TensorType) -> Result<(), String> {
        let Some(declared) = self.types.get(name) else { return Ok(()) };
        let dtype_ok = declared.elem_type == 0 || dtype_from_onnx(declared.elem_type) == Ok(ty.dtype);
        let dims_ok = match &declared.dims {
            None => true,
            Some(dims) => {
                dims.len() == ty.rank()
                    && dims.iter().zip(&ty.dims).all(|(d, have)| {
                        let want = match d {
                            DeclaredDim::Known(n) => Some(*n),
                            DeclaredDim::Param(p) => self.sizes.get(p).copied(),
                            DeclaredDim::Unknown => None,
                        };
                        want.is_none() || want == have.known()
                    })
            }
        };
        if dtype_ok && dims_ok {
            return Ok(());
        }
        Err(format!("output '{name}' is computed as {ty} but the model declares {declared}"))
    }
}
