//! Loop kinds and tile scopes for the legacy dialect.
//!
//! Legacy NKI has two loop kinds (nki-api.md §3): `nl.affine_range`, whose
//! iterations must be independent except for associative accumulation
//! such as `psum += nc_matmul(...)`, and `nl.sequential_range`, which
//! allows loop-carried dependencies. A tile declared inside a loop body is
//! a fresh tensor in every iteration (tensors are scoped to their block),
//! so reusing it creates no dependency; a tile declared outside does.
//!
//! [`plan`] runs the loop nest with real counters and records, per element
//! of every tile and output, which instruction execution last wrote it and
//! which first read it since. A read of a value written in an earlier
//! iteration of a loop (read-after-write), or a write over a value an
//! earlier iteration read or wrote, is a dependency carried by the
//! outermost loop whose counters differ between the two. Then:
//! - each tile is declared in the innermost loop body that holds all its
//!   uses and that no read-after-write through the tile crosses (else one
//!   level further out, up to the kernel's top);
//! - a loop is `affine_range` when no dependency it carries goes through
//!   HBM or through a tile declared outside it, matmul accumulation into
//!   PSUM excepted; else `sequential_range`.
//!
//! Kernels too large to trace quickly get the always-correct plan: every
//! tile at the top and every loop sequential.

use std::collections::HashSet;

use trnc_ir::kernel::{Accumulate, Affine, HbmAccess, Inst, Kernel, Operand, Stmt, TileAccess};

/// Element visits before giving up on the trace.
const TRACE_BUDGET: u64 = 40_000_000;
const NONE: u32 = u32::MAX;

pub struct LoopPlan {
    /// Per loop statement in pre-order: `true` for `nl.affine_range`.
    pub parallel: Vec<bool>,
    /// Per tile: the loop (pre-order index) at the top of whose body it is
    /// declared; `None` for the kernel's top.
    pub home: Vec<Option<usize>>,
}

pub fn plan(k: &Kernel) -> LoopPlan {
    let mut paths = Vec::new();
    loop_paths(&k.body, &mut Vec::new(), &mut paths);
    let fallback = LoopPlan { parallel: vec![false; paths.len()], home: vec![None; k.tiles.len()] };
    let mut t = Tracer::new(k);
    if t.run(&k.body, &mut Vec::new(), &mut 0).is_none() {
        return fallback;
    }
    // The innermost loop around every use of each tile.
    let mut lca: Vec<Option<Vec<usize>>> = vec![None; k.tiles.len()];
    let mut id = 0;
    use_paths(&k.body, &mut Vec::new(), &mut id, &mut |tile, path| {
        if let Some(slot) = lca.get_mut(tile) {
            *slot = Some(match slot.take() {
                None => path.to_vec(),
                Some(p) => p.iter().zip(path).take_while(|(a, b)| a == b).map(|(a, _)| *a).collect(),
            });
        }
    });
    let home: Vec<Option<usize>> = lca
        .iter()
        .enumerate()
        .map(|(tile, path)| {
            let path = path.as_deref().unwrap_or(&[]);
            // Declared outside the outermost loop a read-after-write crosses.
            let cut = path.iter().position(|&l| t.raw.contains(&(tile, l))).unwrap_or(path.len());
            path[..cut].last().copied()
        })
        .collect();
    let inside = |tile: usize, l: usize| home[tile].is_some_and(|h| paths[h].contains(&l));
    let parallel = (0..paths.len())
        .map(|l| !t.carried.iter().any(|&(tile, by)| by == l && tile.is_none_or(|tile| !inside(tile, l))))
        .collect();
    LoopPlan { parallel, home }
}

/// Per loop in pre-order, its path: the enclosing loops, outermost first,
/// ending with itself.
fn loop_paths(body: &[Stmt], stack: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    for s in body {
        if let Stmt::Loop { body, .. } = s {
            let id = out.len();
            stack.push(id);
            out.push(stack.clone());
            loop_paths(body, stack, out);
            stack.pop();
        }
    }
}

fn use_paths(body: &[Stmt], stack: &mut Vec<usize>, next: &mut usize, f: &mut dyn FnMut(usize, &[usize])) {
    for s in body {
        match s {
            Stmt::Inst { inst, .. } => {
                for a in super::inst_tiles(inst) {
                    f(a.tile.0 as usize, stack);
                }
            }
            Stmt::Loop { body, .. } => {
                stack.push(*next);
                *next += 1;
                use_paths(body, stack, next, f);
                stack.pop();
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Frame {
    loop_id: usize,
    instance: u32,
    counter: u32,
}

struct ExecInfo {
    stack: Vec<Frame>,
    matmul: bool,
}

/// Last write and first read since, per element.
#[derive(Clone, Copy)]
struct Cell {
    write: u32,
    read: u32,
}

const FRESH: Cell = Cell { write: NONE, read: NONE };

struct Tracer<'a> {
    k: &'a Kernel,
    tiles: Vec<Vec<Cell>>,
    /// Outputs only: inputs are read-only, so they carry nothing.
    outputs: Vec<Vec<Cell>>,
    execs: Vec<ExecInfo>,
    counters: Vec<i64>,
    instances: u32,
    budget: u64,
    /// Dependencies (tile, or `None` for HBM; the loop carrying them),
    /// accumulation excepted.
    carried: HashSet<(Option<usize>, usize)>,
    /// Read-after-write through a tile, carried by a loop.
    raw: HashSet<(usize, usize)>,
}

enum Place {
    Tile(usize),
    Output(usize),
    /// Kernel inputs are never written: nothing to track.
    Input,
}

impl<'a> Tracer<'a> {
    fn new(k: &'a Kernel) -> Tracer<'a> {
        let tiles = k.tiles.iter().map(|t| vec![FRESH; t.shape.iter().product::<usize>().min(1 << 26)]).collect();
        let outputs = k.outputs.iter().map(|t| vec![FRESH; t.shape.iter().product::<usize>().min(1 << 28)]).collect();
        let mut max_var = 0;
        vars_max(&k.body, &mut max_var);
        Tracer {
            k,
            tiles,
            outputs,
            execs: Vec::new(),
            counters: vec![0; max_var + 1],
            instances: 0,
            budget: TRACE_BUDGET,
            carried: HashSet::new(),
            raw: HashSet::new(),
        }
    }

    fn run(&mut self, body: &[Stmt], stack: &mut Vec<Frame>, next_loop: &mut usize) -> Option<()> {
        for s in body {
            match s {
                Stmt::Inst { inst, .. } => self.inst(inst, stack)?,
                Stmt::Loop { var, count, body } => {
                    let loop_id = *next_loop;
                    *next_loop += 1;
                    let instance = self.instances;
                    self.instances += 1;
                    let mut after = *next_loop;
                    for c in 0..*count {
                        *self.counters.get_mut(var.0 as usize)? = c as i64;
                        stack.push(Frame { loop_id, instance, counter: c as u32 });
                        let mut inner = *next_loop;
                        self.run(body, stack, &mut inner)?;
                        after = inner;
                        stack.pop();
                    }
                    if *count == 0 {
                        count_loops(body, &mut after);
                    }
                    *next_loop = after;
                }
            }
        }
        Some(())
    }

    fn inst(&mut self, inst: &Inst, stack: &[Frame]) -> Option<()> {
        let e = u32::try_from(self.execs.len()).ok().filter(|&e| e != NONE)?;
        let matmul = matches!(inst, Inst::Matmul { .. });
        self.execs.push(ExecInfo { stack: stack.to_vec(), matmul });
        let accumulates = matches!(inst, Inst::Matmul { accumulate: Accumulate::Add, .. });
        let (reads, writes) = accesses(inst);
        for a in reads {
            let (place, elements) = self.elements(a)?;
            for i in elements {
                let cell = self.cell(&place, i)?;
                if cell.write != NONE {
                    if let Some(l) = self.carried_by(e, cell.write) {
                        let exempt = accumulates && self.execs[cell.write as usize].matmul;
                        self.note(&place, l, exempt, true);
                    }
                }
                let cell = self.cell_mut(&place, i)?;
                if cell.read == NONE {
                    cell.read = e;
                }
            }
        }
        for a in writes {
            let (place, elements) = self.elements(a)?;
            for i in elements {
                let cell = self.cell(&place, i)?;
                for other in [cell.write, cell.read] {
                    if other != NONE && other != e {
                        if let Some(l) = self.carried_by(e, other) {
                            let exempt = accumulates && self.execs[other as usize].matmul;
                            self.note(&place, l, exempt, false);
                        }
                    }
                }
                *self.cell_mut(&place, i)? = Cell { write: e, read: NONE };
            }
        }
        Some(())
    }

    fn note(&mut self, place: &Place, l: usize, exempt: bool, raw: bool) {
        let tile = match place {
            Place::Tile(t) => Some(*t),
            Place::Output(_) | Place::Input => None,
        };
        if let (Some(t), true) = (tile, raw) {
            self.raw.insert((t, l));
        }
        if !exempt {
            self.carried.insert((tile, l));
        }
    }

    /// The outermost loop, in the same run of it, whose counter differs
    /// between the two executions.
    fn carried_by(&self, a: u32, b: u32) -> Option<usize> {
        let (sa, sb) = (&self.execs[a as usize].stack, &self.execs[b as usize].stack);
        for (fa, fb) in sa.iter().zip(sb) {
            if fa.loop_id != fb.loop_id || fa.instance != fb.instance {
                return None;
            }
            if fa.counter != fb.counter {
                return Some(fa.loop_id);
            }
        }
        None
    }

    fn cell(&self, place: &Place, i: usize) -> Option<Cell> {
        match place {
            Place::Tile(t) => self.tiles.get(*t)?.get(i).copied(),
            Place::Output(o) => self.outputs.get(*o)?.get(i).copied(),
            Place::Input => None,
        }
    }

    fn cell_mut(&mut self, place: &Place, i: usize) -> Option<&mut Cell> {
        match place {
            Place::Tile(t) => self.tiles.get_mut(*t)?.get_mut(i),
            Place::Output(o) => self.outputs.get_mut(*o)?.get_mut(i),
            Place::Input => None,
        }
    }

    fn eval(&self, a: &Affine) -> Option<i64> {
        let mut v = a.constant;
        for &(var, k) in &a.terms {
            v = v.checked_add(k.checked_mul(*self.counters.get(var.0 as usize)?)?)?;
        }
        Some(v)
    }

    /// The flat elements an access touches; `None` when over budget or
    /// out of bounds (a kernel the verifier would reject).
    fn elements(&mut self, a: Access) -> Option<(Place, Vec<usize>)> {
        let (place, base, pattern, len) = match a {
            Access::Tile(t) => {
                let tile = self.k.tiles.get(t.tile.0 as usize)?;
                let mut strides = vec![1i64; tile.shape.len()];
                for d in (0..tile.shape.len().saturating_sub(1)).rev() {
                    strides[d] = strides[d + 1] * tile.shape[d + 1] as i64;
                }
                let mut base = self.eval(&t.partition_start)? * strides[0];
                let mut pattern = vec![(strides[0], t.partitions)];
                for ((s, n), st) in t.free.iter().zip(strides.iter().skip(1)) {
                    base += self.eval(s)? * st;
                    pattern.push((*st, *n));
                }
                (Place::Tile(t.tile.0 as usize), base, pattern, self.tiles.get(t.tile.0 as usize)?.len())
            }
            Access::Hbm(h) => {
                let out = (h.tensor.0 as usize).checked_sub(self.k.inputs.len());
                let Some(o) = out else { return Some((Place::Input, Vec::new())) };
                (Place::Output(o), self.eval(&h.offset)?, h.pattern.clone(), self.outputs.get(o)?.len())
            }
        };
        let total: usize = pattern.iter().map(|&(_, n)| n).product();
        self.budget = self.budget.checked_sub(total as u64)?;
        let mut out = Vec::with_capacity(total);
        let mut idx = vec![0usize; pattern.len()];
        for _ in 0..total {
            let flat = base + idx.iter().zip(&pattern).map(|(&i, &(s, _))| i as i64 * s).sum::<i64>();
            let flat = usize::try_from(flat).ok().filter(|&f| f < len)?;
            out.push(flat);
            for d in (0..pattern.len()).rev() {
                idx[d] += 1;
                if idx[d] < pattern[d].1 {
                    break;
                }
                idx[d] = 0;
            }
        }
        Some((place, out))
    }
}

fn vars_max(body: &[Stmt], max: &mut usize) {
    for s in body {
        if let Stmt::Loop { var, body, .. } = s {
            *max = (*max).max(var.0 as usize);
            vars_max(body, max);
        }
    }
}

fn count_loops(body: &[Stmt], n: &mut usize) {
    for s in body {
        if let Stmt::Loop { body, .. } = s {
            *n += 1;
            count_loops(body, n);
        }
    }
}

#[derive(Clone, Copy)]
enum Access<'a> {
    Tile(&'a TileAccess),
    Hbm(&'a HbmAccess),
}

/// What an instruction reads, then what it writes.
fn accesses(inst: &Inst) -> (Vec<Access<'_>>, Vec<Access<'_>>) {
    let all = super::inst_tiles(inst);
    let dst = inst.dst();
    let mut reads: Vec<Access> = Vec::new();
    let mut writes: Vec<Access> = Vec::new();
    for a in all {
        let is_dst = dst.is_some_and(|d| std::ptr::eq(d, a));
        let is_reduce = matches!(inst, Inst::Activation { reduce: Some(r), .. } if std::ptr::eq(r, a));
        if is_dst || is_reduce {
            writes.push(Access::Tile(a));
        } else {
            reads.push(Access::Tile(a));
        }
    }
    match inst {
        Inst::DmaCopy { dst, src } => {
            if let Operand::Hbm(h) = src {
                reads.push(Access::Hbm(h));
            }
            if let Operand::Hbm(h) = dst {
                writes.push(Access::Hbm(h));
            }
        }
        // Accumulation reads what it adds onto.
        Inst::Matmul { dst, accumulate: Accumulate::Add, .. } => reads.push(Access::Tile(dst)),
        _ => {}
    }
    (reads, writes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trnc_ir::kernel::{HbmId, HbmTensor, LoopVar, Memory, Tile, TileId};
    use trnc_ir::DType;

    fn rows(tensor: u32, offset: Affine) -> Operand {
        Operand::Hbm(HbmAccess { tensor: HbmId(tensor), offset, pattern: vec![(4, 8), (1, 4)] })
    }

    fn tile() -> Operand {
        Operand::Tile(TileAccess::whole(TileId(0), &[8, 4]))
    }

    fn stmt(inst: Inst) -> Stmt {
        Stmt::Inst { inst, note: None }
    }

    /// Copies x to y in two blocks of 8 rows through one tile; `after`
    /// statements follow the loop.
    fn copy_kernel(after: Vec<Stmt>) -> Kernel {
        let t = |name: &str| HbmTensor { name: name.into(), dtype: DType::F32, shape: vec![16, 4] };
        let block = Affine::var(LoopVar(0), 32);
        Kernel {
            name: "copy".into(),
            inputs: vec![t("x")],
            outputs: vec![t("y")],
            tiles: vec![Tile { name: "t0".into(), memory: Memory::Sbuf, dtype: DType::F32, shape: vec![8, 4] }],
            body: std::iter::once(Stmt::Loop {
                var: LoopVar(0),
                count: 2,
                body: vec![
                    stmt(Inst::DmaCopy { dst: tile(), src: rows(0, block.clone()) }),
                    stmt(Inst::DmaCopy { dst: rows(1, block), src: tile() }),
                ],
            })
            .chain(after)
            .collect(),
            origin: Vec::new(),
        }
    }

    #[test]
    fn a_tile_used_only_inside_a_loop_lives_there_and_the_loop_is_affine() {
        let p = plan(&copy_kernel(Vec::new()));
        assert_eq!(p.home, vec![Some(0)]);
        assert_eq!(p.parallel, vec![true]);
    }

    #[test]
    fn a_tile_read_after_the_loop_makes_it_sequential() {
        let after = vec![stmt(Inst::DmaCopy { dst: rows(1, Affine::constant(0)), src: tile() })];
        let p = plan(&copy_kernel(after));
        assert_eq!(p.home, vec![None]);
        assert_eq!(p.parallel, vec![false]);
    }
}
