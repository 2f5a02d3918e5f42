//! The static verifier of the kernel IR: every hardware rule of
//! trainium.md §1.1–1.5 and nki-api.md §4–5 that can be decided without
//! running the kernel, for every iteration of every loop.
//!
//! Kernel-level rules live here (tile shapes, SBUF and PSUM capacity);
//! addressing rules in `verify/region.rs`; per-instruction rules in
//! `verify/rules.rs`. The simulator calls [`verify_inst`] again with the
//! actual loop counters, so both apply exactly the same rules.
//!
//! PSUM allocation model: tiles start on a 2 KiB bank boundary (nki-api.md
//! §2), so a PSUM tile takes `ceil(bytes per partition / 2 KiB)` banks and
//! all PSUM tiles together take at most 8 (trainium.md §1.1). A tile may
//! span several banks (e.g. `[128, 4, 512] f32`, one matmul output per
//! bank); what TensorE writes (matmul, transpose) must lie inside one bank.

mod bounds;
mod region;
mod rules;

use std::fmt;

pub use bounds::LoopBounds;

use super::{Inst, Kernel, Memory, Stmt};
use crate::target::{Target, PARTITIONS, PSUM_BANKS, PSUM_BANK_BYTES};
use crate::DType;

/// Loops nested deeper than this are rejected: no kernel trnc generates
/// comes close, and it keeps the recursive walks bounded.
const MAX_LOOP_DEPTH: usize = 64;

/// A broken rule: which kernel, where, which instruction, and the limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct KernelError {
    pub kernel: String,
    /// Where in the kernel: `body[2].loop i0 body[3]` for an instruction
    /// (the simulator adds counters: `loop i0=1`), `tile %t0`, `input %x`,
    /// or empty for the kernel as a whole.
    pub path: String,
    /// The NKI name of the instruction, when the error is about one.
    pub inst: Option<String>,
    pub message: String,
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inst {
            Some(inst) => write!(f, "kernel @{}, instruction {} ({inst}): {}", self.kernel, self.path, self.message),
            None if self.path.is_empty() => write!(f, "kernel @{}: {}", self.kernel, self.message),
            None => write!(f, "kernel @{}, {}: {}", self.kernel, self.path, self.message),
        }
    }
}

/// Checks every rule that holds independently of the data: declarations,
/// capacity, and every instruction for every value of the loop counters.
pub fn verify_kernel(k: &Kernel, target: Target) -> Result<(), KernelError> {
    let err = |path: String, message: String| KernelError { kernel: k.name.clone(), path, inst: None, message };
    for (role, tensors) in [("input", &k.inputs), ("output", &k.outputs)] {
        for t in tensors {
            check_hbm_tensor(t).map_err(|m| err(format!("{role} %{}", t.name), m))?;
        }
    }
    for t in &k.tiles {
        check_tile(t).map_err(|m| err(format!("tile %{}", t.name), m))?;
    }
    check_capacity(k, target).map_err(|m| err(String::new(), m))?;
    let mut loops = LoopBounds::new();
    verify_body(k, target, &k.body, "", &mut loops)
}

/// Checks one instruction for the loop values in `loops` (ranges when
/// verifying, counters when simulating). Assumes the declarations passed
/// [`verify_kernel`]; the error is the message only, the caller knows where.
pub fn verify_inst(k: &Kernel, target: Target, inst: &Inst, loops: &LoopBounds) -> Result<(), String> {
    rules::Rules { k, target, loops }.check(inst)
}

/// The path of statement `index` inside a body at `prefix`.
pub fn stmt_path(prefix: &str, index: usize) -> String {
    format!("{prefix}body[{index}]")
}

fn verify_body(
    k: &Kernel,
    target: Target,
    body: &[Stmt],
    prefix: &str,
    loops: &mut LoopBounds,
) -> Result<(), KernelError> {
    for (i, stmt) in body.iter().enumerate() {
        let path = stmt_path(prefix, i);
        match stmt {
            Stmt::Inst { inst, .. } => {
                verify_inst(k, target, inst, loops).map_err(|message| KernelError {
                    kernel: k.name.clone(),
                    path: path.clone(),
                    inst: Some(inst.nki_name().to_string()),
                    message,
                })?;
            }
            Stmt::Loop { var, count, body } => {
                let err =
                    |message: String| KernelError { kernel: k.name.clone(), path: path.clone(), inst: None, message };
                if loops.depth() >= MAX_LOOP_DEPTH {
                    return Err(err(format!("loops nest deeper than {MAX_LOOP_DEPTH}")));
                }
                loops.push_loop(*var, *count).map_err(err)?;
                let inner = format!("{path}.loop i{} ", var.0);
                let result = verify_body(k, target, body, &inner, loops);
                loops.pop();
                result?;
            }
        }
    }
    Ok(())
}

/// NKI has no 64-bit integers (nki-api.md §2).
fn check_dtype(d: DType) -> Result<(), String> {
    if d == DType::I64 {
        return Err("dtype i64 has no NKI equivalent (nki-api.md §2)".into());
    }
    Ok(())
}

fn check_hbm_tensor(t: &super::HbmTensor) -> Result<(), String> {
    check_dtype(t.dtype)?;
    let bytes = region::element_count(&t.shape).and_then(|n| n.checked_mul(t.dtype.size_bytes() as u128));
    if bytes.is_none_or(|b| b > usize::MAX as u128) {
        return Err("the tensor's size overflows".into());
    }
    Ok(())
}

fn check_tile(t: &super::Tile) -> Result<(), String> {
    check_dtype(t.dtype)?;
    // On-chip tensors are at least 2-D: partitions, then free (nki-api.md §2).
    if t.shape.len() < 2 {
        return Err(format!(
            "rank {}; on-chip tiles have a partition dimension and at least one free dimension (nki-api.md §2)",
            t.shape.len()
        ));
    }
    if let Some(d) = t.shape.iter().position(|&n| n == 0) {
        return Err(format!("dimension {d} has size 0"));
    }
    // Partition dimension ≤ 128 (trainium.md §1.1).
    if t.shape[0] > PARTITIONS {
        return Err(format!("partition dimension {} exceeds {PARTITIONS} (trainium.md §1.1)", t.shape[0]));
    }
    if tile_bytes(t).is_none() {
        return Err("bytes per partition overflow".into());
    }
    Ok(())
}

/// Bytes per partition, checked.
fn tile_bytes(t: &super::Tile) -> Option<u128> {
    t.shape.iter().skip(1).try_fold(t.dtype.size_bytes() as u128, |acc, &n| acc.checked_mul(n as u128))
}

/// SBUF per partition (trainium.md §1.1, `Target::sbuf_bytes_per_partition`)
/// and PSUM banks (8 x 2 KiB, trainium.md §1.1; bank-aligned, nki-api.md §2).
fn check_capacity(k: &Kernel, target: Target) -> Result<(), String> {
    let mut sbuf = 0u128;
    let mut banks = 0u128;
    for t in &k.tiles {
        let bytes = tile_bytes(t).unwrap_or(u128::MAX);
        match t.memory {
            Memory::Sbuf => sbuf = sbuf.saturating_add(bytes),
            Memory::Psum => banks = banks.saturating_add(bytes.div_ceil(PSUM_BANK_BYTES as u128)),
        }
    }
    let limit = target.sbuf_bytes_per_partition();
    if sbuf > limit as u128 {
        return Err(format!("SBUF tiles take {sbuf} B per partition; {target} has {limit} (trainium.md §1.1)"));
    }
    if banks > PSUM_BANKS as u128 {
        return Err(format!(
            "PSUM tiles take {banks} banks per partition; PSUM has {PSUM_BANKS} banks of 2 KiB (trainium.md §1.1; tiles start on a bank, nki-api.md §2)"
        ));
    }
    Ok(())
}
