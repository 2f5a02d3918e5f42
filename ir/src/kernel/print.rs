//! The kernel IR as text: canonical, deterministic, meant for snapshot
//! tests and for people reading what a lowering produced.
//!
//! ```text
//! kernel @softmax_0(%x: hbm f32[256, 100]) -> (%y: hbm f32[256, 100]) {
//!   // from: %y = softmax %x
//!   tile %t0: sbuf f32[128, 100]  // 400 B/partition
//!   for %i0 in 0..2 {
//!     dma_copy %t0[0:128, 0:100], %x.ap(offset=12800*i0, pattern=[[100, 128], [1, 100]])
//!     ...
//!   }
//! }
//! ```
//!
//! Syntax:
//! - a tile region is `%tile[start:end, ...]`, partitions first, with
//!   affine bounds such as `128*i0+5:128*i0+133`;
//! - an HBM region is written as NKI's access pattern:
//!   `%x.ap(offset=.., pattern=[[stride, count], ...])`;
//! - every instruction is `name[.engine] dst, sources, key=value...`; the
//!   engine suffix is printed where NKI lets the kernel choose it;
//! - a statement's note is a trailing `// ...` comment.

use std::fmt::Write;

use super::{
    Accumulate, Affine, HbmAccess, HbmId, Inst, Kernel, LoopVar, Memory, Operand, ScalarOperand, Stmt, TileAccess,
    TileId,
};

/// Renders the kernel. Never fails: references to tiles or tensors that do
/// not exist print as `%<bad tile 7>` so that a malformed kernel can still
/// be looked at (the verifier reports it).
pub fn print_kernel(k: &Kernel) -> String {
    let mut out = String::new();
    let sig = |ts: &[super::HbmTensor]| {
        ts.iter().map(|t| format!("%{}: hbm {}{}", t.name, t.dtype, dims(&t.shape))).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(out, "kernel @{}({}) -> ({}) {{", k.name, sig(&k.inputs), sig(&k.outputs));
    for origin in &k.origin {
        let _ = writeln!(out, "  // from: {origin}");
    }
    for t in &k.tiles {
        let memory = match t.memory {
            Memory::Sbuf => "sbuf",
            Memory::Psum => "psum",
        };
        // Bytes per partition tell the reader how much of the budget a tile
        // takes; checked products keep absurd shapes printable.
        let bytes = t.shape.iter().skip(1).try_fold(t.dtype.size_bytes(), |acc, &n| acc.checked_mul(n));
        let bytes = bytes.map_or("overflowing".to_string(), |b| b.to_string());
        let _ = writeln!(out, "  tile %{}: {memory} {}{}  // {bytes} B/partition", t.name, t.dtype, dims(&t.shape));
    }
    print_body(k, &k.body, 1, &mut out);
    out.push_str("}\n");
    out
}

fn dims(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

fn print_body(k: &Kernel, body: &[Stmt], depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    for stmt in body {
        match stmt {
            Stmt::Inst { inst, note } => {
                let _ = write!(out, "{indent}{}", print_inst(k, inst));
                if let Some(note) = note {
                    let _ = write!(out, "  // {note}");
                }
                out.push('\n');
            }
            Stmt::Loop { var, count, body } => {
                let _ = writeln!(out, "{indent}for %{} in 0..{count} {{", var_name(*var));
                print_body(k, body, depth + 1, out);
                let _ = writeln!(out, "{indent}}}");
            }
        }
    }
}

fn var_name(v: LoopVar) -> String {
    format!("i{}", v.0)
}

/// One instruction, without indentation or note.
pub fn print_inst(k: &Kernel, inst: &Inst) -> String {
    let t = |a: &TileAccess| tile_access(k, a);
    let name = inst.nki_name();
    let engine = inst.engine().name();
    match inst {
        Inst::DmaCopy { dst, src } => format!("{name} {}, {}", operand(k, dst), operand(k, src)),
        Inst::DmaGather { dst, table, row_stride, rows, index } => format!(
            "{name} {}, {}, rows={rows}, row_stride={row_stride}, index={}",
            tile_access(k, dst),
            hbm_access(k, table),
            tile_access(k, index)
        ),
        Inst::Matmul { dst, stationary, moving, accumulate } => {
            let acc = match accumulate {
                Accumulate::Overwrite => "overwrite",
                Accumulate::Add => "add",
            };
            format!("{name} {}, stationary={}, moving={}, accumulate={acc}", t(dst), t(stationary), t(moving))
        }
        Inst::Transpose { dst, src, .. } => format!("{name}.{engine} {}, {}", t(dst), t(src)),
        Inst::TensorTensor { dst, a, b, op } => {
            format!("{name}.{engine} {}, {}, {}, op={}", t(dst), t(a), t(b), op.nki_name())
        }
        Inst::TensorScalar { dst, src, op0, operand0, reverse0, op1, .. } => {
            let mut s = format!("{name}.{engine} {}, {}, op0={}", t(dst), t(src), op0.nki_name());
            let _ = write!(s, ", operand0={}", scalar(k, operand0));
            if *reverse0 {
                s.push_str(", reverse0");
            }
            if let Some((op1, operand1, reverse1)) = op1 {
                let _ = write!(s, ", op1={}, operand1={}", op1.nki_name(), scalar(k, operand1));
                if *reverse1 {
                    s.push_str(", reverse1");
                }
            }
            s
        }
        Inst::TensorReduce { dst, src, op, axes, negate } => {
            let axes: Vec<String> = axes.iter().map(|a| a.to_string()).collect();
            let mut s = format!("{name}.{engine} {}, {}, op={}, axes=[{}]", t(dst), t(src), op.nki_name(), axes.join(", "));
            if *negate {
                s.push_str(", negate");
            }
            s
        }
        Inst::Activation { dst, src, func, scale, bias, reduce } => {
            let mut s = format!("{name}.{engine} {}, {}, func={}, scale={}", t(dst), t(src), func.nki_name(), scalar(k, scale));
            if let Some(bias) = bias {
                let _ = write!(s, ", bias={}", t(bias));
            }
            if let Some(reduce) = reduce {
                let _ = write!(s, ", reduce_add={}", t(reduce));
            }
            s
        }
        Inst::TensorCopy { dst, src, .. } => format!("{name}.{engine} {}, {}", t(dst), t(src)),
        Inst::Memset { dst, value } => format!("{name}.{engine} {}, value={}", t(dst), number(*value)),
        Inst::Iota { dst, pattern, offset, channel_multiplier } => format!(
            "{name}.{engine} {}, pattern={}, offset={offset}, channel_multiplier={channel_multiplier}",
            t(dst),
            pattern_text(pattern)
        ),
        Inst::AffineSelect { dst, src, pattern, channel_multiplier, offset, cmp, on_false } => format!(
            "{name}.{engine} {}, {}, pattern={}, offset={offset}, channel_multiplier={channel_multiplier}, cmp={}, on_false={}",
            t(dst),
            t(src),
            pattern_text(pattern),
            cmp.nki_name(),
            number(*on_false)
        ),
        Inst::BnStats { dst, src } | Inst::BnAggr { dst, src } => format!("{name}.{engine} {}, {}", t(dst), t(src)),
    }
}

/// Numbers in Rust's shortest round-trip form (`1.0`, `0.5`, `-inf`,
/// `NaN`, `-3.4028234663852886e38`): exact and unambiguous.
fn number(x: f64) -> String {
    format!("{x:?}")
}

fn scalar(k: &Kernel, s: &ScalarOperand) -> String {
    match s {
        ScalarOperand::Imm(x) => number(*x),
        ScalarOperand::PerPartition(a) => tile_access(k, a),
    }
}

fn pattern_text(pattern: &[(i64, usize)]) -> String {
    let pairs: Vec<String> = pattern.iter().map(|(s, n)| format!("[{s}, {n}]")).collect();
    format!("[{}]", pairs.join(", "))
}

fn operand(k: &Kernel, o: &Operand) -> String {
    match o {
        Operand::Hbm(a) => hbm_access(k, a),
        Operand::Tile(a) => tile_access(k, a),
    }
}

fn tile_name(k: &Kernel, id: TileId) -> String {
    match k.tiles.get(id.0 as usize) {
        Some(t) => format!("%{}", t.name),
        None => format!("%<bad tile {}>", id.0),
    }
}

fn hbm_name(k: &Kernel, id: HbmId) -> String {
    let i = id.0 as usize;
    let t = if i < k.inputs.len() { k.inputs.get(i) } else { k.outputs.get(i - k.inputs.len()) };
    match t {
        Some(t) => format!("%{}", t.name),
        None => format!("%<bad hbm tensor {}>", id.0),
    }
}

pub fn tile_access(k: &Kernel, a: &TileAccess) -> String {
    let mut dims = vec![range(&a.partition_start, a.partitions)];
    dims.extend(a.free.iter().map(|(start, n)| range(start, *n)));
    format!("{}[{}]", tile_name(k, a.tile), dims.join(", "))
}

pub fn hbm_access(k: &Kernel, a: &HbmAccess) -> String {
    format!("{}.ap(offset={}, pattern={})", hbm_name(k, a.tensor), affine(&a.offset), pattern_text(&a.pattern))
}

/// `start:end`, with `end = start + count` written as an affine expression.
fn range(start: &Affine, count: usize) -> String {
    let end = i64::try_from(count).ok().and_then(|n| start.constant.checked_add(n));
    match end {
        Some(c) => {
            let mut end = start.clone();
            end.constant = c;
            format!("{}:{}", affine(start), affine(&end))
        }
        // Only reachable for absurd constants; keeps printing panic-free.
        None => format!("{}:+{count}", affine(start)),
    }
}

/// `128*i0+5`, `i1-3`, `-2*i0`, `0`: terms in the order stored, constant last.
pub fn affine(a: &Affine) -> String {
    let mut s = String::new();
    for &(v, k) in &a.terms {
        if k == 0 {
            continue;
        }
        let sign = if k < 0 {
            "-"
        } else if s.is_empty() {
            ""
        } else {
            "+"
        };
        let mag = k.unsigned_abs();
        let coef = if mag == 1 { String::new() } else { format!("{mag}*") };
        let _ = write!(s, "{sign}{coef}{}", var_name(v));
    }
    if s.is_empty() {
        return a.constant.to_string();
    }
    if a.constant > 0 {
        let _ = write!(s, "+{}", a.constant);
    } else if a.constant < 0 {
        let _ = write!(s, "-{}", a.constant.unsigned_abs());
    }
    s
}
