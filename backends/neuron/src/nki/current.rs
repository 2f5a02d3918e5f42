//! The NKI 0.6 printer (nki-api.md, dialect N).
//!
//! - Outputs: `nl.ndarray(..., buffer=nl.shared_hbm)` at the top, returned.
//! - Tiles: `nl.ndarray(shape, dtype=..., buffer=nl.sbuf|nl.psum)` at the
//!   top, as the kernel IR allocates them statically; regions are slices.
//! - Instructions: destination-first ISA calls with keyword arguments,
//!   engines named where the IR chose one, `accumulate=` always explicit
//!   (a PSUM tile reused for several blocks must restart, nki-api.md §5).
//! - HBM windows: a slice where it addresses exactly the same elements in
//!   the same order, else `.ap(pattern=..., offset=...)` on the base tensor
//!   (never on a view: `.ap` does not compose, nki-api.md §3).
//! - Loops: Python `range`, unrolled at trace time (nki-api.md §3).

use trnc_ir::kernel::{Accumulate, Engine, HbmAccess, Inst, Kernel, Memory, Operand, ScalarOperand, Stmt, TileAccess};
use trnc_ir::DType;

use super::access::{basic_subscripts, decompose, Subscript};
use super::names::KernelNames;
use super::py::{self, VarNames};
use super::{loop_bounds_at, module_header, note_of, return_line, used_tiles, Dialect, Lines};

pub fn emit(k: &Kernel) -> String {
    let names = KernelNames::new(k);
    let mut lines = Lines::new(module_header(k, &names, Dialect::Current));
    lines.depth = 1;
    for (i, t) in k.outputs.iter().enumerate() {
        let name = names.hbm(k.inputs.len() + i);
        let dtype = py::dtype(t.dtype, Dialect::Current);
        lines.line(&format!("{name} = nl.ndarray({}, dtype={dtype}, buffer=nl.shared_hbm)", py::shape(&t.shape)), None);
    }
    let used = used_tiles(k);
    for (i, t) in k.tiles.iter().enumerate().filter(|&(i, _)| used[i]) {
        let buffer = match t.memory {
            Memory::Sbuf => "nl.sbuf",
            Memory::Psum => "nl.psum",
        };
        let decl = format!(
            "{} = nl.ndarray({}, dtype={}, buffer={buffer})",
            names.tile(i),
            py::shape(&t.shape),
            py::dtype(t.dtype, Dialect::Current)
        );
        lines.line(&decl, None);
    }
    let p = Printer { k, names: &names };
    p.body(&k.body, &mut lines, &mut Vec::new());
    lines.line(&return_line(k, &names), None);
    lines.out
}

struct Printer<'a> {
    k: &'a Kernel,
    names: &'a KernelNames,
}

impl Printer<'_> {
    fn body(&self, body: &[Stmt], lines: &mut Lines, loops: &mut Vec<(u32, usize)>) {
        if body.is_empty() {
            lines.line("pass", None);
        }
        for stmt in body {
            match stmt {
                Stmt::Inst { inst, .. } => lines.line(&self.inst(inst, loops), note_of(stmt)),
                Stmt::Loop { var, count, body } => {
                    lines.line(&format!("for {} in range({count}):", self.var(var.0)), None);
                    lines.depth += 1;
                    loops.push((var.0, *count));
                    self.body(body, lines, loops);
                    loops.pop();
                    lines.depth -= 1;
                }
            }
        }
    }

    fn var(&self, v: u32) -> String {
        self.names.vars.get(&v).cloned().unwrap_or_else(|| format!("i{v}"))
    }

    fn vars(&self) -> &VarNames {
        &self.names.vars
    }

    fn tile(&self, a: &TileAccess) -> String {
        tile_view(self.names, a, self.vars())
    }

    fn scalar(&self, s: &ScalarOperand) -> String {
        match s {
            ScalarOperand::Imm(x) => py::float(*x),
            ScalarOperand::PerPartition(a) => self.tile(a),
        }
    }

    fn hbm(&self, a: &HbmAccess, loops: &[(u32, usize)]) -> String {
        let i = a.tensor.0 as usize;
        let name = self.names.hbm(i);
        let shape = match self.k.inputs.iter().chain(&self.k.outputs).nth(i) {
            Some(t) => &t.shape,
            None => return format!("{name}.ap(pattern={}, offset={})", py::pattern(&a.pattern), self.off(a)),
        };
        let walk = decompose(shape, &a.offset, &a.pattern, &loop_bounds_at(loops));
        match walk.as_ref().and_then(basic_subscripts) {
            Some(subs) => {
                let items: Vec<String> = subs
                    .iter()
                    .map(|s| match s {
                        Subscript::Index(x) => py::affine(x, self.vars()),
                        Subscript::Range(x, n) => py::slice(x, *n, self.vars()),
                    })
                    .collect();
                format!("{name}[{}]", items.join(", "))
            }
            None => format!("{name}.ap(pattern={}, offset={})", py::pattern(&a.pattern), self.off(a)),
        }
    }

    fn off(&self, a: &HbmAccess) -> String {
        py::affine(&a.offset, self.vars())
    }

    fn operand(&self, o: &Operand, loops: &[(u32, usize)]) -> String {
        match o {
            Operand::Hbm(a) => self.hbm(a, loops),
            Operand::Tile(a) => self.tile(a),
        }
    }

    fn dtype_of(&self, a: &TileAccess) -> Option<DType> {
        self.k.tiles.get(a.tile.0 as usize).map(|t| t.dtype)
    }

    fn inst(&self, inst: &Inst, loops: &[(u32, usize)]) -> String {
        let t = |a: &TileAccess| self.tile(a);
        match inst {
            Inst::DmaCopy { dst, src } => {
                format!("nisa.dma_copy(dst={}, src={})", self.operand(dst, loops), self.operand(src, loops))
            }
            Inst::DmaGather { dst, table, row_stride, rows: _, index } => {
                // Row index[p] of the table into partition p: the first
                // pattern pair is replaced by the index (nki-api.md §3).
                let mut pattern = vec![(*row_stride, dst.partitions)];
                pattern.extend(&table.pattern);
                format!(
                    "nisa.dma_copy(dst={}, src={}.ap(pattern={}, offset={}, vector_offset={}, indirect_dim=0))",
                    t(dst),
                    self.names.hbm(table.tensor.0 as usize),
                    py::pattern(&pattern),
                    self.off(table),
                    t(index)
                )
            }
            Inst::Matmul { dst, stationary, moving, accumulate } => format!(
                "nisa.nc_matmul(dst={}, stationary={}, moving={}, accumulate={})",
                matrix_view(self.names, dst, self.vars()),
                matrix_view(self.names, stationary, self.vars()),
                matrix_view(self.names, moving, self.vars()),
                if *accumulate == Accumulate::Add { "True" } else { "False" }
            ),
            Inst::Transpose { dst, src, engine } => {
                format!("nisa.nc_transpose(dst={}, data={}, engine={})", t(dst), t(src), engine_name(*engine))
            }
            Inst::TensorTensor { dst, a, b, op } => {
                format!("nisa.tensor_tensor(dst={}, data1={}, data2={}, op=nl.{})", t(dst), t(a), t(b), op.nki_name())
            }
            Inst::TensorScalar { dst, src, op0, operand0, reverse0, op1, engine } => {
                let mut s = format!(
                    "nisa.tensor_scalar(dst={}, data={}, op0=nl.{}, operand0={}",
                    t(dst),
                    t(src),
                    op0.nki_name(),
                    self.scalar(operand0)
                );
                s.push_str(&super::tensor_scalar_tail(*reverse0, op1, |o| self.scalar(o)));
                s + &format!(", engine={})", engine_name(*engine))
            }
            Inst::TensorReduce { dst, src, op, axes, negate } => {
                let mut s = format!(
                    "nisa.tensor_reduce(dst={}, op=nl.{}, data={}, axis={}",
                    t(dst),
                    op.nki_name(),
                    t(src),
                    axis_tuple(axes)
                );
                if *negate {
                    s.push_str(", negate=True");
                }
                s + ")"
            }
            Inst::Activation { dst, src, func, scale, bias, reduce } => {
                let mut s = match reduce {
                    // activation_reduce = activation with reduce_cmd=reset_reduce:
                    // reduce_res receives this instruction's free-axis sum (nki-api.md §5).
                    Some(r) => format!(
                        "nisa.activation_reduce(dst={}, op=nl.{}, data={}, reduce_op=nl.add, reduce_res={}",
                        t(dst),
                        func.nki_name(),
                        t(src),
                        t(r)
                    ),
                    None => format!("nisa.activation(dst={}, op=nl.{}, data={}", t(dst), func.nki_name(), t(src)),
                };
                if let Some(b) = bias {
                    s.push_str(&format!(", bias={}", t(b)));
                }
                if !matches!(scale, ScalarOperand::Imm(x) if *x == 1.0) {
                    s.push_str(&format!(", scale={}", self.scalar(scale)));
                }
                s + ")"
            }
            Inst::TensorCopy { dst, src, engine } => {
                format!("nisa.tensor_copy(dst={}, src={}, engine={})", t(dst), t(src), engine_name(*engine))
            }
            Inst::Memset { dst, value } => format!(
                "nisa.memset(dst={}, value={}, engine={})",
                t(dst),
                memset_value(self.dtype_of(dst), *value),
                engine_name(inst.engine())
            ),
            Inst::Iota { dst, pattern, offset, channel_multiplier } => format!(
                "nisa.iota(dst={}, pattern={}, offset={offset}, channel_multiplier={channel_multiplier})",
                t(dst),
                py::pattern(pattern)
            ),
            Inst::AffineSelect { dst, src, pattern, channel_multiplier, offset, cmp, on_false } => format!(
                "nisa.affine_select(dst={}, pattern={}, channel_multiplier={channel_multiplier}, on_true_tile={}, on_false_value={}, cmp_op=nl.{}, offset={offset})",
                t(dst),
                py::pattern(pattern),
                t(src),
                py::float(*on_false),
                cmp.nki_name()
            ),
            Inst::BnStats { dst, src } => format!("nisa.bn_stats(dst={}, data={})", t(dst), t(src)),
            Inst::BnAggr { dst, src } => format!("nisa.bn_aggr(dst={}, data={})", t(dst), t(src)),
        }
    }
}

/// `t0_x[0:32, 0:8]`: partitions first, then each free dimension.
pub fn tile_view(names: &KernelNames, a: &TileAccess, vars: &VarNames) -> String {
    let mut dims = vec![py::slice(&a.partition_start, a.partitions, vars)];
    dims.extend(a.free.iter().map(|(s, n)| py::slice(s, *n, vars)));
    format!("{}[{}]", names.tile(a.tile.0 as usize), dims.join(", "))
}

/// A matmul operand as the documented 2-D `[K, M]` / `[K, N]` / `[M, N]`:
/// free dimensions of size 1 are indexed by an integer, which drops them
/// (nki-api.md §3), so `t[0:64, 0:1, 0:20]` reads `t[0:64, 0, 0:20]`.
fn matrix_view(names: &KernelNames, a: &TileAccess, vars: &VarNames) -> String {
    let wide = a.free.iter().filter(|&&(_, n)| n > 1).count();
    if a.free.len() < 2 || wide > 1 {
        return tile_view(names, a, vars);
    }
    // Keep the one free dimension of size > 1, or the last one.
    let keep = a.free.iter().position(|&(_, n)| n > 1).unwrap_or(a.free.len() - 1);
    let mut dims = vec![py::slice(&a.partition_start, a.partitions, vars)];
    for (d, (s, n)) in a.free.iter().enumerate() {
        dims.push(if d == keep { py::slice(s, *n, vars) } else { py::affine(s, vars) });
    }
    format!("{}[{}]", names.tile(a.tile.0 as usize), dims.join(", "))
}

/// `(1,)`, `(1, 2)`: the reduced free axes.
pub fn axis_tuple(axes: &[usize]) -> String {
    match axes {
        [a] => format!("({a},)"),
        _ => format!("({})", axes.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// memset's value in the kind of dst's dtype: integer dtypes take an int
/// literal since NKI 0.3 (nki-api.md §5).
pub fn memset_value(dtype: Option<DType>, value: f64) -> String {
    match dtype {
        Some(DType::I32 | DType::I64 | DType::Bool) if value.fract() == 0.0 && value.abs() < 1e15 => {
            format!("{}", value as i64)
        }
        _ => py::float(value),
    }
}

fn engine_name(e: Engine) -> &'static str {
    match e {
        Engine::Tensor => "nisa.engine.tensor",
        Engine::Vector => "nisa.engine.vector",
        Engine::Scalar => "nisa.engine.scalar",
        Engine::GpSimd => "nisa.engine.gpsimd",
        Engine::Dma => "nisa.engine.dma",
    }
}
