//! The legacy NKI printer (SDK 2.26, `neuronxcc.nki`; nki-api.md dialect L).
//!
//! - ISA calls return a tile; the kernel IR's destination region receives
//!   it: `t5[0:8, 0:64] = nisa.tensor_tensor(...)`, with `dtype=` where the
//!   destination's dtype is not the call's default (the input's).
//! - Matmul: PSUM tiles a matmul writes are `nl.zeros` accumulators (the
//!   documented pattern); the IR's overwrite is `acc[...] = nc_matmul(...)`
//!   and its accumulate `acc[...] += nc_matmul(...)`.
//! - HBM: `nl.load` / `nl.store` with slices or `nl.arange` index
//!   expressions (`legacy_dma.rs`); SBUF-to-SBUF copies are `nisa.dma_copy`.
//! - Loops: `nl.affine_range` where the iterations are independent, else
//!   `nl.sequential_range`; each tile is declared in the innermost loop body
//!   that owns it (`deps.rs`), so that reusing it is no dependency.
//! - Statements the legacy API cannot express (an HBM-to-HBM copy, a
//!   window no slice or arange expression describes) become a
//!   `raise NotImplementedError(...)` that says why, never wrong code.

use trnc_ir::kernel::{Accumulate, Engine, HbmAccess, Inst, Kernel, Memory, Operand, ScalarOperand, Stmt, TileAccess};
use trnc_ir::DType;

use super::access::decompose;
use super::current::{axis_tuple, memset_value, tile_view};
use super::deps::{plan, LoopPlan};
use super::legacy_dma::{arange, dma, Region, Window};
use super::names::{visit_insts, KernelNames};
use super::py;
use super::{loop_bounds_at, module_header, note_of, return_line, used_tiles, Dialect, Lines};

pub fn emit(k: &Kernel) -> String {
    let names = KernelNames::new(k);
    let mut lines = Lines::new(module_header(k, &names, Dialect::Legacy));
    lines.depth = 1;
    for (i, t) in k.outputs.iter().enumerate() {
        let name = names.hbm(k.inputs.len() + i);
        let dtype = py::dtype(t.dtype, Dialect::Legacy);
        lines.line(&format!("{name} = nl.ndarray({}, dtype={dtype}, buffer=nl.shared_hbm)", py::shape(&t.shape)), None);
    }
    let mut accumulators = vec![false; k.tiles.len()];
    visit_insts(&k.body, &mut |inst| {
        if let Inst::Matmul { dst, .. } = inst {
            if let Some(a) = accumulators.get_mut(dst.tile.0 as usize) {
                *a = true;
            }
        }
    });
    let mut p = Printer { k, names, plan: plan(k), used: used_tiles(k), accumulators, next_loop: 0 };
    p.declare_tiles(None, &mut lines);
    p.body(&k.body, &mut lines, &mut Vec::new());
    lines.line(&return_line(k, &p.names), None);
    lines.out
}

struct Printer<'a> {
    k: &'a Kernel,
    names: KernelNames,
    plan: LoopPlan,
    used: Vec<bool>,
    accumulators: Vec<bool>,
    /// Pre-order index of the next loop statement.
    next_loop: usize,
}

impl Printer<'_> {
    /// The tiles whose home is `home` (a loop's pre-order index, or the
    /// kernel's top).
    fn declare_tiles(&self, home: Option<usize>, lines: &mut Lines) {
        for (i, t) in self.k.tiles.iter().enumerate() {
            if !self.used[i] || self.plan.home.get(i).copied().flatten() != home {
                continue;
            }
            let (ctor, buffer) = match t.memory {
                Memory::Sbuf => ("nl.ndarray", "nl.sbuf"),
                Memory::Psum if self.accumulators[i] => ("nl.zeros", "nl.psum"),
                Memory::Psum => ("nl.ndarray", "nl.psum"),
            };
            let decl = format!(
                "{} = {ctor}({}, dtype={}, buffer={buffer})",
                self.names.tile(i),
                py::shape(&t.shape),
                py::dtype(t.dtype, Dialect::Legacy)
            );
            lines.line(&decl, None);
        }
    }

    fn body(&mut self, body: &[Stmt], lines: &mut Lines, loops: &mut Vec<(u32, usize)>) {
        if body.is_empty() {
            lines.line("pass", None);
        }
        for stmt in body {
            match stmt {
                Stmt::Inst { inst, .. } => {
                    let code = self.inst(inst, loops);
                    let depth = lines.depth;
                    for (n, header) in code.loops.iter().enumerate() {
                        lines.line(header, if n == 0 { note_of(stmt) } else { None });
                        lines.depth += 1;
                    }
                    let note = if code.loops.is_empty() { note_of(stmt) } else { None };
                    lines.line(&code.statement, note);
                    lines.depth = depth;
                }
                Stmt::Loop { var, count, body } => {
                    let id = self.next_loop;
                    self.next_loop += 1;
                    let kind = if self.plan.parallel.get(id).copied().unwrap_or(false) {
                        "affine_range"
                    } else {
                        "sequential_range"
                    };
                    let var_name = self.names.vars.get(&var.0).cloned().unwrap_or_else(|| format!("i{}", var.0));
                    lines.line(&format!("for {var_name} in nl.{kind}({count}):"), None);
                    lines.depth += 1;
                    self.declare_tiles(Some(id), lines);
                    loops.push((var.0, *count));
                    self.body(body, lines, loops);
                    loops.pop();
                    lines.depth -= 1;
                }
            }
        }
    }

    fn tile(&self, a: &TileAccess) -> String {
        tile_view(&self.names, a, &self.names.vars)
    }

    fn dtype(&self, a: &TileAccess) -> Option<DType> {
        self.k.tiles.get(a.tile.0 as usize).map(|t| t.dtype)
    }

    /// `, dtype=...` when dst's dtype is not the call's default (`like`'s).
    fn dtype_arg(&self, dst: &TileAccess, like: &[&TileAccess]) -> String {
        let d = self.dtype(dst);
        if like.iter().all(|a| self.dtype(a) == d) {
            String::new()
        } else {
            d.map_or(String::new(), |d| format!(", dtype={}", py::dtype(d, Dialect::Legacy)))
        }
    }

    fn scalar(&self, s: &ScalarOperand) -> String {
        match s {
            ScalarOperand::Imm(x) => py::float(*x),
            ScalarOperand::PerPartition(a) => self.tile(a),
        }
    }

    /// `dst = call`, with dst viewed in the shape the call returns.
    fn assign(&self, dst: &TileAccess, inst: &Inst, call: String) -> Code {
        match result_shape(inst).and_then(|shape| dst_view(&self.names, dst, &shape)) {
            Some(view) => Code::one(format!("{view} = {call}")),
            None => Code::unsupported("a destination region whose shape cannot be matched to the call's result"),
        }
    }

    fn inst(&mut self, inst: &Inst, loops: &[(u32, usize)]) -> Code {
        let t = |a: &TileAccess| self.tile(a);
        // Element-wise calls return their data's shape. Where the data
        // operands can be viewed in dst's shape (they differ by size-1
        // dimensions only), they are, and dst stays a plain slice; else
        // dst is viewed in the shape the call returns.
        let data: Vec<&TileAccess> = match inst {
            Inst::TensorTensor { a, b, .. } => vec![a, b],
            Inst::TensorScalar { src, .. }
            | Inst::Activation { src, .. }
            | Inst::TensorCopy { src, .. }
            | Inst::AffineSelect { src, .. } => vec![src],
            _ => Vec::new(),
        };
        let in_dst_shape: Option<Vec<String>> = match inst.dst() {
            // Only ever drop size-1 dimensions, never add them: index grids
            // stay as low-rank as the data.
            Some(d) if !data.is_empty() && data.iter().all(|a| a.free.len() >= d.free.len()) => {
                data.iter().map(|a| dst_view(&self.names, a, &d.shape())).collect()
            }
            _ => None,
        };
        let d = |i: usize| in_dst_shape.as_ref().map_or_else(|| t(data[i]), |v| v[i].clone());
        let assign = |dst: &TileAccess, call: String| match in_dst_shape {
            Some(_) => Code::one(format!("{} = {call}", t(dst))),
            None => self.assign(dst, inst, call),
        };
        match inst {
            Inst::DmaCopy { dst, src } => self.dma_copy(dst, src, loops),
            Inst::DmaGather { dst, table, row_stride, rows: _, index } => {
                self.gather(dst, table, *row_stride, index, loops)
            }
            Inst::Matmul { dst, stationary, moving, accumulate } => {
                // The documented operand shapes: stationary [K, M], moving [K, N].
                let matrix = |a: &TileAccess| {
                    dst_view(&self.names, a, &[a.partitions, a.free_elements()]).unwrap_or_else(|| t(a))
                };
                let call = format!("nisa.nc_matmul(stationary={}, moving={})", matrix(stationary), matrix(moving));
                let code = assign(dst, call);
                // The IR's accumulate adds onto the PSUM tile: `acc[...] += ...`.
                match accumulate {
                    Accumulate::Add => Code { statement: code.statement.replacen(" = ", " += ", 1), ..code },
                    Accumulate::Overwrite => code,
                }
            }
            Inst::Transpose { dst, src, engine } => {
                assign(dst, format!("nisa.nc_transpose(data={}, engine={})", t(src), engine_name(*engine)))
            }
            Inst::TensorTensor { dst, a, b, op } => assign(
                dst,
                format!(
                    "nisa.tensor_tensor(data1={}, data2={}, op=nl.{}{})",
                    d(0),
                    d(1),
                    op.nki_name(),
                    self.dtype_arg(dst, &[a, b])
                ),
            ),
            Inst::TensorScalar { dst, src, op0, operand0, reverse0, op1, engine } => {
                let mut s = format!(
                    "nisa.tensor_scalar(data={}, op0=nl.{}, operand0={}",
                    d(0),
                    op0.nki_name(),
                    self.scalar(operand0)
                );
                s.push_str(&super::tensor_scalar_tail(*reverse0, op1, |o| self.scalar(o)));
                s.push_str(&self.dtype_arg(dst, &[src]));
                assign(dst, s + &format!(", engine={})", engine_name(*engine)))
            }
            Inst::TensorReduce { dst, src, op, axes, negate } => {
                let mut s =
                    format!("nisa.tensor_reduce(op=nl.{}, data={}, axis={}", op.nki_name(), t(src), axis_tuple(axes));
                if *negate {
                    s.push_str(", negate=True");
                }
                // keepdims gives (P, 1) for a (P, F) tile: the dst region's shape.
                if dst.free.len() == src.free.len() {
                    s.push_str(", keepdims=True");
                }
                assign(dst, s + &self.dtype_arg(dst, &[src]) + ")")
            }
            Inst::Activation { dst, src, func, scale, bias, reduce } => {
                let mut s = match reduce {
                    Some(r) => format!(
                        "nisa.activation_reduce(op=nl.{}, data={}, reduce_op=nl.add, reduce_res={}",
                        func.nki_name(),
                        d(0),
                        t(r)
                    ),
                    None => format!("nisa.activation(op=nl.{}, data={}", func.nki_name(), d(0)),
                };
                if let Some(b) = bias {
                    s.push_str(&format!(", bias={}", t(b)));
                }
                if !matches!(scale, ScalarOperand::Imm(x) if *x == 1.0) {
                    s.push_str(&format!(", scale={}", self.scalar(scale)));
                }
                assign(dst, s + &self.dtype_arg(dst, &[src]) + ")")
            }
            Inst::TensorCopy { dst, src, engine } => assign(
                dst,
                format!(
                    "nisa.tensor_copy(src={}{}, engine={})",
                    d(0),
                    self.dtype_arg(dst, &[src]),
                    engine_name(*engine)
                ),
            ),
            Inst::Memset { dst, value } => {
                let Some(d) = self.dtype(dst) else { return Code::unsupported("memset into a missing tile") };
                assign(
                    dst,
                    format!(
                        "nisa.memset(shape={}, value={}, dtype={}, engine={})",
                        py::shape(&dst.shape()),
                        memset_value(Some(d), *value),
                        py::dtype(d, Dialect::Legacy),
                        engine_name(inst.engine())
                    ),
                )
            }
            Inst::Iota { dst, pattern, offset, channel_multiplier } => {
                let Some(d) = self.dtype(dst) else { return Code::unsupported("iota into a missing tile") };
                match index_expr(dst, pattern, *offset, *channel_multiplier) {
                    Some(e) => assign(dst, format!("nisa.iota({e}, dtype={})", py::dtype(d, Dialect::Legacy))),
                    None => Code::unsupported("an iota pattern whose shape differs from its destination region"),
                }
            }
            Inst::AffineSelect { dst, src, pattern, channel_multiplier, offset, cmp, on_false } => {
                let Some(e) = index_expr(dst, pattern, *offset, *channel_multiplier) else {
                    return Code::unsupported(
                        "an affine_select pattern whose shape differs from its destination region",
                    );
                };
                let Some(cmp) = comparison(cmp.nki_name()) else {
                    return Code::unsupported("an affine_select whose cmp is not a comparison");
                };
                assign(
                    dst,
                    format!(
                        "nisa.affine_select(pred=({e} {cmp} 0), on_true_tile={}, on_false_value={}{})",
                        d(0),
                        py::float(*on_false),
                        self.dtype_arg(dst, &[src])
                    ),
                )
            }
            Inst::BnStats { dst, src } => {
                assign(dst, format!("nisa.bn_stats(data={}{})", t(src), self.dtype_arg(dst, &[src])))
            }
            Inst::BnAggr { dst, src } => {
                assign(dst, format!("nisa.bn_aggr(data={}{})", t(src), self.dtype_arg(dst, &[src])))
            }
        }
    }

    fn dma_copy(&mut self, dst: &Operand, src: &Operand, loops: &[(u32, usize)]) -> Code {
        let (tile, hbm, load) = match (dst, src) {
            (Operand::Tile(d), Operand::Tile(s)) => {
                return Code::one(format!("nisa.dma_copy(dst={}, src={})", self.tile(d), self.tile(s)))
            }
            (Operand::Tile(t), Operand::Hbm(h)) => (t, h, true),
            (Operand::Hbm(h), Operand::Tile(t)) => (t, h, false),
            (Operand::Hbm(_), Operand::Hbm(_)) => return Code::unsupported("an HBM-to-HBM dma_copy"),
        };
        let i = hbm.tensor.0 as usize;
        let Some(shape) = self.k.inputs.iter().chain(&self.k.outputs).nth(i).map(|t| t.shape.clone()) else {
            return Code::unsupported("a DMA of a missing HBM tensor");
        };
        let tile_name = self.names.tile(tile.tile.0 as usize).to_string();
        let hbm_name = self.names.hbm(i).to_string();
        let bounds = loop_bounds_at(loops);
        let vars = self.names.vars.clone();
        let namer = &mut self.names.namer;
        let mut fresh = || namer.fresh("j0");
        let tile = Region { name: &tile_name, access: tile };
        let window = Window { name: &hbm_name, shape: &shape, access: hbm };
        match dma(tile, window, &bounds, &vars, &mut fresh, load) {
            Some(code) => Code { loops: code.loops, statement: code.statement },
            None => Code::unsupported(&format!(
                "the HBM window {}.ap(pattern={}, offset={}) as slices or nl.arange expressions",
                hbm_name,
                py::pattern(&hbm.pattern),
                py::affine(&hbm.offset, &vars)
            )),
        }
    }

    /// Indirect load (nki-api.md §3, L): rows of a table picked by an SBUF
    /// index column, `table[ids[i_p, 0], i_f]`. A gather along an inner
    /// axis, `table[o, ids[i_p, 0], i_f]`, takes the outer indices from the
    /// offset; the row must be the last dimension or one element of it.
    fn gather(
        &self,
        dst: &TileAccess,
        table: &HbmAccess,
        row_stride: i64,
        index: &TileAccess,
        loops: &[(u32, usize)],
    ) -> Code {
        let i = table.tensor.0 as usize;
        let shape = self.k.inputs.iter().chain(&self.k.outputs).nth(i).map(|t| t.shape.clone()).unwrap_or_default();
        let rank = shape.len();
        let unsupported =
            || Code::unsupported("an indirect DMA other than rows or elements of a table's last dimension");
        let whole_rows = rank >= 2 && table.pattern == [(1, shape[rank - 1])] && row_stride == shape[rank - 1] as i64;
        let elements = rank >= 1 && table.pattern == [(1, 1)] && row_stride == 1;
        let axis = match (whole_rows, elements) {
            (true, _) => rank - 2,
            (false, true) => rank - 1,
            _ => return unsupported(),
        };
        let block = shape[axis..].iter().product::<usize>().max(1) as i64;
        let offset = &table.offset;
        if dst.free.len() != 1 || offset.constant % block != 0 || offset.terms.iter().any(|&(_, k)| k % block != 0) {
            return unsupported();
        }
        let outer = trnc_ir::kernel::Affine {
            constant: offset.constant / block,
            terms: offset.terms.iter().map(|&(v, k)| (v, k / block)).collect(),
        };
        let Some(walk) = decompose(&shape[..axis], &outer, &[], &loop_bounds_at(loops)) else {
            return unsupported();
        };
        let vars = &self.names.vars;
        let rows = format!(
            "{}[{} + {}, {}]",
            self.names.tile(index.tile.0 as usize),
            py::affine(&index.partition_start, vars),
            arange(index.partitions, 0, 2),
            index.free.first().map_or("0".to_string(), |(s, _)| py::affine(s, vars))
        )
        .replace("[0 + ", "[");
        let mut subs: Vec<String> = walk.starts.iter().map(|s| py::affine(s, vars)).collect();
        subs.push(rows);
        if whole_rows {
            subs.push(arange(shape[rank - 1], 1, 2));
        }
        Code::one(format!("{} = nl.load({}[{}])", self.tile(dst), self.names.hbm(i), subs.join(", ")))
    }
}

/// The shape a legacy ISA call returns (nki-api.md §4–5): the data's
/// shape for element-wise calls, `[M, N]` for matmul, `[F, P]` for a
/// transpose, the reduced shape for tensor_reduce.
fn result_shape(inst: &Inst) -> Option<Vec<usize>> {
    Some(match inst {
        Inst::Matmul { stationary, moving, .. } => vec![stationary.free_elements(), moving.free_elements()],
        Inst::Transpose { src, .. } => vec![src.free_elements(), src.partitions],
        Inst::TensorTensor { a, .. } => a.shape(),
        Inst::TensorScalar { src, .. }
        | Inst::Activation { src, .. }
        | Inst::TensorCopy { src, .. }
        | Inst::AffineSelect { src, .. } => src.shape(),
        Inst::TensorReduce { dst, src, axes, .. } => {
            let mut shape = src.shape();
            if dst.free.len() == src.free.len() {
                for &a in axes {
                    *shape.get_mut(a)? = 1;
                }
            } else {
                shape.truncate(shape.len().saturating_sub(axes.len()));
            }
            shape
        }
        Inst::BnStats { src, .. } => vec![src.partitions, 6],
        Inst::BnAggr { src, .. } => vec![src.partitions, 2],
        Inst::Memset { dst, .. } | Inst::Iota { dst, .. } | Inst::DmaGather { dst, .. } => dst.shape(),
        Inst::DmaCopy { .. } => return None,
    })
}

/// The tile region as a view of `shape`: a slice when the shapes agree,
/// else an index that keeps the region's dimensions of size > 1 on the
/// axes of `shape` with those sizes, in order, and fixes the others, as in
/// `acc[nl.arange(8)[:, None], 0, nl.arange(64)[None, :]]` for an
/// `[8, 1, 64]` region seen as `[8, 64]` (integers with `nl.arange`
/// select, nki-api.md §3).
fn dst_view(names: &KernelNames, a: &TileAccess, shape: &[usize]) -> Option<String> {
    let vars = &names.vars;
    if a.shape() == shape {
        return Some(tile_view(names, a, vars));
    }
    if shape.first() != Some(&a.partitions) {
        return None;
    }
    let axes: Vec<usize> = (1..shape.len()).filter(|&i| shape[i] > 1).collect();
    let dims: Vec<usize> = (0..a.free.len()).filter(|&d| a.free[d].1 > 1).collect();
    if axes.len() != dims.len() || axes.iter().zip(&dims).any(|(&x, &d)| shape[x] != a.free[d].1) {
        return None;
    }
    let rank = shape.len();
    let at = |start: &trnc_ir::kernel::Affine, n: usize, axis: usize| {
        let base = py::affine(start, vars);
        let ar = arange(n, axis, rank);
        if base == "0" {
            ar
        } else {
            format!("{base} + {ar}")
        }
    };
    let mut subs = vec![at(&a.partition_start, a.partitions, 0)];
    for (d, (start, n)) in a.free.iter().enumerate() {
        match dims.iter().position(|&x| x == d) {
            Some(k) => subs.push(at(start, *n, axes[k])),
            None => subs.push(py::affine(start, vars)),
        }
    }
    Some(format!("{}[{}]", names.tile(a.tile.0 as usize), subs.join(", ")))
}

/// A statement, and the loop headers around it.
struct Code {
    loops: Vec<String>,
    statement: String,
}

impl Code {
    fn one(statement: String) -> Code {
        Code { loops: Vec::new(), statement }
    }

    fn unsupported(what: &str) -> Code {
        let msg = format!("trnc cannot express {what} in the legacy NKI API; use --nki-api current");
        Code::one(format!("raise NotImplementedError({msg:?})"))
    }
}

/// `offset + cm * nl.arange(P)[:, None] + step * nl.arange(n)[None, :]`:
/// the affine index of iota and affine_select, on a grid of dst's shape.
fn index_expr(dst: &TileAccess, pattern: &[(i64, usize)], offset: i64, cm: i64) -> Option<String> {
    let free: Vec<usize> = dst.free.iter().map(|&(_, n)| n).collect();
    let counts: Vec<usize> = pattern.iter().map(|&(_, n)| n).collect();
    let fits = counts == free
        || (pattern.len() == 1 && free.len() == 1 && free.iter().product::<usize>() == counts[0])
        || (pattern.is_empty() && free.iter().product::<usize>() == 1);
    if !fits {
        return None;
    }
    let rank = 1 + pattern.len().max(1);
    let mut parts = Vec::new();
    if offset != 0 {
        parts.push(offset.to_string());
    }
    let mut term = |k: i64, n: usize, axis: usize| match k {
        0 => {}
        1 => parts.push(arange(n, axis, rank)),
        -1 => parts.push(format!("-{}", arange(n, axis, rank))),
        _ => parts.push(format!("{k} * {}", arange(n, axis, rank))),
    };
    term(cm, dst.partitions, 0);
    for (d, &(step, n)) in pattern.iter().enumerate() {
        term(step, n, d + 1);
    }
    if parts.is_empty() {
        // A grid of zeros keeps the expression shaped like dst.
        parts.push(format!("0 * {}", arange(dst.partitions, 0, rank)));
    }
    Some(parts.join(" + ").replace("+ -", "- "))
}

fn comparison(op: &str) -> Option<&'static str> {
    Some(match op {
        "equal" => "==",
        "not_equal" => "!=",
        "greater" => ">",
        "greater_equal" => ">=",
        "less" => "<",
        "less_equal" => "<=",
        _ => return None,
    })
}

/// The legacy module constants (nki-api.md §5, enums).
fn engine_name(e: Engine) -> &'static str {
    match e {
        Engine::Tensor => "nisa.tensor_engine",
        Engine::Vector => "nisa.vector_engine",
        Engine::Scalar => "nisa.scalar_engine",
        Engine::GpSimd => "nisa.gpsimd_engine",
        Engine::Dma => "nisa.unknown_engine",
    }
}
