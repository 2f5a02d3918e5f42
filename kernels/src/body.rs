//! The code for one tile of a section: loads, the ops of the section in
//! dependency order, stores.
//!
//! Values live in tiles from the builder's pool. A full value (a tile of
//! rows × free elements) is freed after its last read in the body — the
//! reads are counted before the body is emitted — and an op may write its
//! result into the tile of an operand it reads for the last time. Per-row
//! values (columns) and the statistics of row anchors stay until the row
//! tile is done: in a long row they are used by every chunk.

use std::collections::HashMap;

use crate::anchors::{self, AnchorState};
use crate::builder::{region, Builder};
use crate::error::LowerError;
use crate::group::GroupInfo;
use crate::ops::{Ops, Val};
use crate::pointwise;
use crate::section::{is_row_anchor, HbmRef, Kind, Opd, SectionPlan};
use crate::space::Space;
use trnc_ir::kernel::{Affine, HbmAccess, HbmId, Inst, Memory, Operand, TileAccess, TileId};
use trnc_ir::{DType, Op};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    Node(usize),
    Port(usize),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub tile: TileId,
    /// A `(P, 1)` column rather than a full-width tile.
    pub col: bool,
}

/// One HBM port's access for the current tile: an offset, the partition
/// pair and the free pairs (trainium.md §1.5: at most 4 free pairs).
#[derive(Clone, Debug)]
pub(crate) struct PortAccess {
    pub offset: Affine,
    pub part: (i64, usize),
    pub free: Vec<(i64, usize)>,
}

impl PortAccess {
    /// The same value all along the free axis: a column is enough.
    pub fn is_col(&self) -> bool {
        self.free.iter().all(|&(s, n)| s == 0 || n == 1)
    }
}

/// Where the current tile is: its size and every port's access.
#[derive(Clone, Debug)]
pub(crate) struct TileCtx {
    pub parts: usize,
    pub width: usize,
    pub ports: Vec<PortAccess>,
}

/// The dimensions of a space as a tile walks it: a start index for every
/// dimension, and which dimensions the tile spans (partition, then free).
pub(crate) fn tile_ctx(space: &Space, index: &[Affine], part: (usize, usize), free: &[(usize, usize)]) -> TileCtx {
    let ports = space
        .ports
        .iter()
        .map(|p| {
            let mut offset = Affine::constant(p.offset);
            for (d, i) in index.iter().enumerate() {
                offset = offset.plus(&crate::tiling::scale(i, p.strides[d]));
            }
            PortAccess {
                offset,
                part: (p.strides[part.0], part.1),
                free: free.iter().map(|&(d, n)| (p.strides[d], n)).collect(),
            }
        })
        .collect();
    TileCtx { parts: part.1, width: free.iter().map(|&(_, n)| n).product(), ports }
}

/// What a chunk body must produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// Accumulate a row anchor's statistics from its input.
    Stats(usize),
    /// Compute a full value (kept until its readers are done).
    Value(usize),
    /// Compute a value and write it to its output.
    Store(usize),
    /// Copy an input port to an output port (concat).
    Copy(usize, usize),
}

pub(crate) struct Body<'s, 'a> {
    pub info: &'s GroupInfo<'a>,
    pub plan: &'s SectionPlan,
    pub full_shape: Vec<usize>,
    pub col_shape: Vec<usize>,
    /// Whole rows are in one tile (anchors finish inside the body).
    pub resident: bool,
    pub ctx: TileCtx,
    in_chunk: bool,
    chunk: HashMap<Key, Slot>,
    uses: HashMap<Key, usize>,
    persist: HashMap<Key, Slot>,
    /// Loads that are the same for every tile of a loop nest, done once
    /// before it (a layer_norm's scale, a broadcast bias).
    hoisted: HashMap<Key, Slot>,
    pub anchors: HashMap<usize, AnchorState>,
    /// For chunked layer_norm: the bn_stats slot of the current chunk's
    /// first 512 elements, and the number of slots in a whole row.
    pub bn_slot: Affine,
    pub bn_slots: usize,
}

impl<'s, 'a> Body<'s, 'a> {
    pub fn new(
        info: &'s GroupInfo<'a>,
        plan: &'s SectionPlan,
        full_shape: Vec<usize>,
        resident: bool,
        ctx: TileCtx,
    ) -> Body<'s, 'a> {
        let col_shape = vec![full_shape[0], 1];
        Body {
            info,
            plan,
            full_shape,
            col_shape,
            resident,
            ctx,
            in_chunk: false,
            chunk: HashMap::new(),
            uses: HashMap::new(),
            persist: HashMap::new(),
            hoisted: HashMap::new(),
            anchors: HashMap::new(),
            bn_slot: Affine::constant(0),
            bn_slots: 0,
        }
    }

    pub fn err(&self, node: usize, m: impl Into<String>) -> LowerError {
        self.info.node_err(node, m)
    }

    pub fn op(&self, node: usize) -> &'s Op {
        &self.info.g.nodes[node].op
    }

    pub fn kind(&self, node: usize) -> Kind {
        self.plan.kind.get(&node).copied().unwrap_or(Kind::Full)
    }

    fn operands(&self, node: usize) -> &'s [Opd] {
        self.plan.operands.get(&node).map_or(&[], |v| v.as_slice())
    }

    pub fn operand(&self, node: usize, k: usize) -> Option<Opd> {
        self.operands(node).get(k).cloned()
    }

    fn note(&self, b: &mut Builder, node: usize) {
        let n = &self.info.g.nodes[node];
        let args: Vec<String> = n.inputs.iter().map(|&v| format!("%{}", self.info.g.name_of(v))).collect();
        b.set_note(format!("%{} = {} {}", self.info.g.name_of(n.output), n.op.name(), args.join(", ")));
    }

    /// Starts the body of one tile (or one chunk of a long row) that must
    /// produce `targets`; counts the reads of every value it computes.
    pub fn begin_chunk(&mut self, ctx: TileCtx, targets: &[Target]) {
        self.ctx = ctx;
        self.in_chunk = true;
        self.chunk.clear();
        self.uses.clear();
        let mut seen = vec![false; self.info.g.nodes.len()];
        let mut stack: Vec<usize> = Vec::new();
        let mut reads: Vec<Key> = Vec::new();
        for t in targets {
            match *t {
                Target::Stats(a) => {
                    // Only the input is needed: the anchor applies later.
                    let x = self.operand(a, 0);
                    reads.extend(x.clone().and_then(opd_key));
                    if let Some(Opd::Node(j)) = x {
                        stack.push(j);
                    }
                }
                Target::Value(n) => stack.push(n),
                Target::Store(n) => {
                    reads.push(Key::Node(n));
                    stack.push(n);
                }
                Target::Copy(from, _) => reads.push(Key::Port(from)),
            }
        }
        // Nodes this body computes: full values (per-row values too when
        // rows are resident), with the reads each makes.
        while let Some(n) = stack.pop() {
            let computed_here = self.kind(n) == Kind::Full || self.resident;
            if std::mem::replace(&mut seen[n], true) || !computed_here {
                continue;
            }
            let op = self.op(n);
            let opds = self.operands(n);
            let mut node_reads: Vec<Key> = Vec::new();
            if is_row_anchor(op) {
                // Statistics read x when rows are resident (else a stats
                // phase did); applying reads every operand, except that a
                // resident softmax applies to the exponentials it kept.
                if self.resident {
                    node_reads.extend(opds.first().and_then(|o| opd_key(o.clone())));
                }
                if self.kind(n) == Kind::Full {
                    let skip_x = self.resident && anchors::apply_keeps_x_free(op);
                    node_reads.extend(
                        opds.iter()
                            .enumerate()
                            .filter(|&(k, _)| !(skip_x && k == 0))
                            .filter_map(|(_, o)| opd_key(o.clone())),
                    );
                }
            } else {
                node_reads.extend(opds.iter().filter_map(|o| opd_key(o.clone())));
            }
            for o in opds {
                if let Opd::Node(j) = o {
                    stack.push(*j);
                }
            }
            reads.extend(node_reads);
        }
        for k in reads {
            // Per-row values are not counted: they live until the row ends.
            if let Key::Node(j) = k {
                if self.kind(j) == Kind::Row {
                    continue;
                }
            }
            *self.uses.entry(k).or_insert(0) += 1;
        }
    }

    /// Loads, once for the loop nest that follows, every input port whose
    /// access in `ctx` (the largest tile of the nest) is the same for all of
    /// its tiles; `invariant(p)` says which are.
    pub fn hoist(
        &mut self,
        b: &mut Builder,
        ctx: TileCtx,
        invariant: impl Fn(usize) -> bool,
    ) -> Result<(), LowerError> {
        let used: Vec<usize> = self
            .plan
            .operands
            .values()
            .flatten()
            .filter_map(|o| if let Opd::Port(p) = o { Some(*p) } else { None })
            .collect();
        let saved = std::mem::replace(&mut self.ctx, ctx);
        self.in_chunk = true;
        let mut result = Ok(());
        for p in 0..self.plan.ports.len() {
            let key = Key::Port(p);
            let input = matches!(self.plan.ports[p].hbm, HbmRef::Input(_));
            if input && used.contains(&p) && invariant(p) && !self.hoisted.contains_key(&key) {
                match self.load(b, p) {
                    Ok(s) => {
                        self.hoisted.insert(key, s);
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
        }
        self.in_chunk = false;
        self.ctx = saved;
        result
    }

    /// Releases the hoisted loads (after their loop nest).
    pub fn release_hoisted(&mut self, b: &mut Builder) {
        for (_, s) in self.hoisted.drain() {
            b.release(s.tile);
        }
    }

    /// The tile of operand `o` if this is its last read and it is a
    /// full-width f32 tile of this chunk: the caller may overwrite it.
    pub fn take_last_use(&mut self, b: &Builder, o: &Opd) -> Option<TileId> {
        let key = opd_key(o.clone())?;
        let s = *self.chunk.get(&key)?;
        if s.col || self.uses.get(&key) != Some(&1) || b.tile_dtype(s.tile) != DType::F32 {
            return None;
        }
        self.chunk.remove(&key);
        self.uses.remove(&key);
        Some(s.tile)
    }

    /// Ends a chunk body: every tile it still holds goes back to the pool.
    pub fn end_chunk(&mut self, b: &mut Builder) {
        for (_, s) in self.chunk.drain() {
            b.release(s.tile);
        }
        self.uses.clear();
        self.in_chunk = false;
    }

    /// Ends a row tile: per-row values and anchor statistics are released.
    pub fn end_row(&mut self, b: &mut Builder) {
        self.end_chunk(b);
        for (_, s) in self.persist.drain() {
            b.release(s.tile);
        }
        for (_, st) in self.anchors.drain() {
            st.release(b);
        }
    }

    /// Switches to row-level code (outside chunk loops) with `ctx`.
    pub fn set_row_ctx(&mut self, ctx: TileCtx) {
        self.ctx = ctx;
        self.in_chunk = false;
    }

    pub fn run_targets(&mut self, b: &mut Builder, targets: &[Target]) -> Result<(), LowerError> {
        for t in targets {
            match *t {
                Target::Stats(a) => anchors::stats(self, b, a)?,
                Target::Value(n) => {
                    self.get(b, &Opd::Node(n))?;
                }
                Target::Store(n) => self.store(b, n)?,
                Target::Copy(from, to) => self.copy(b, from, to)?,
            }
        }
        Ok(())
    }

    /// The current tile's region of a slot.
    pub fn slot_val(&self, s: Slot) -> Val {
        if s.col {
            Val::Col(region(s.tile, self.ctx.parts, 1))
        } else {
            Val::Tile(region(s.tile, self.ctx.parts, self.ctx.width))
        }
    }

    /// The value of an operand in the current tile, computing or loading
    /// it on first use.
    pub fn get(&mut self, b: &mut Builder, o: &Opd) -> Result<Val, LowerError> {
        match *o {
            Opd::Imm(v) => Ok(Val::Imm(v)),
            Opd::Port(p) => {
                let key = Key::Port(p);
                if let Some(s) =
                    self.chunk.get(&key).or_else(|| self.persist.get(&key)).or_else(|| self.hoisted.get(&key))
                {
                    return Ok(self.slot_val(*s));
                }
                let s = self.load(b, p)?;
                if self.in_chunk {
                    self.chunk.insert(key, s);
                } else {
                    self.persist.insert(key, s);
                }
                Ok(self.slot_val(s))
            }
            Opd::Node(n) => {
                let key = Key::Node(n);
                if let Some(s) = self.chunk.get(&key).or_else(|| self.persist.get(&key)) {
                    return Ok(self.slot_val(*s));
                }
                let s = match self.kind(n) {
                    Kind::Row => {
                        if self.in_chunk && !self.resident {
                            return Err(self.err(n, "internal: per-row value used before its statistics are complete"));
                        }
                        let s = self.compute_row(b, n)?;
                        self.persist.insert(key, s);
                        s
                    }
                    Kind::Full => {
                        let s = self.compute_full(b, n)?;
                        self.chunk.insert(key, s);
                        s
                    }
                };
                Ok(self.slot_val(s))
            }
        }
    }

    /// One read of `o` is done; its tile is freed after the last.
    pub fn consume(&mut self, b: &mut Builder, o: &Opd) {
        let Some(key) = opd_key(o.clone()) else { return };
        if let Some(u) = self.uses.get_mut(&key) {
            *u = u.saturating_sub(1);
            if *u == 0 {
                if let Some(s) = self.chunk.remove(&key) {
                    b.release(s.tile);
                }
            }
        }
    }

    /// A destination for node `n`'s full result: the tile of an operand
    /// read for the last time by `n` (same dtype), or a fresh one.
    pub fn full_dst(&mut self, b: &mut Builder, n: usize, dtype: DType) -> (TileId, Option<Key>) {
        for o in self.operands(n) {
            let Some(key) = opd_key(o.clone()) else { continue };
            if let Some(s) = self.chunk.get(&key) {
                if !s.col && self.uses.get(&key) == Some(&1) && b.tile_dtype(s.tile) == dtype {
                    return (s.tile, Some(key));
                }
            }
        }
        (b.acquire(Memory::Sbuf, dtype, &self.full_shape), None)
    }

    fn compute_full(&mut self, b: &mut Builder, n: usize) -> Result<Slot, LowerError> {
        if is_row_anchor(self.op(n)) {
            return anchors::apply(self, b, n);
        }
        let (opds, vals) = self.operand_vals(b, n)?;
        let out = self.info.dtype(self.info.g.nodes[n].output);
        let (tile, reused) = self.full_dst(b, n, out);
        self.note(b, n);
        self.emit_pointwise(b, n, &vals, &region(tile, self.ctx.parts, self.ctx.width))?;
        self.forget_reused(reused);
        for o in &opds {
            if reused != opd_key(o.clone()) {
                self.consume(b, o);
            }
        }
        Ok(Slot { tile, col: false })
    }

    /// A per-row elementwise op (or a reduction's result), as an f32
    /// column: per-partition operands must be f32 (nki-api.md §5), so a
    /// narrower result is rounded to its dtype and widened back.
    fn compute_row(&mut self, b: &mut Builder, n: usize) -> Result<Slot, LowerError> {
        if is_row_anchor(self.op(n)) {
            return anchors::row_result(self, b, n);
        }
        let (opds, vals) = self.operand_vals(b, n)?;
        let out = self.info.dtype(self.info.g.nodes[n].output);
        let tile = b.acquire(Memory::Sbuf, out, &self.col_shape);
        self.note(b, n);
        self.emit_pointwise(b, n, &vals, &region(tile, self.ctx.parts, 1))?;
        for o in &opds {
            self.consume(b, o);
        }
        Ok(Slot { tile: self.widen(b, tile), col: true })
    }

    /// Node `n`'s operands and their values for the current chunk.
    fn operand_vals(&mut self, b: &mut Builder, n: usize) -> Result<(Vec<Opd>, Vec<Val>), LowerError> {
        let opds: Vec<Opd> = self.operands(n).to_vec();
        let vals = opds.iter().map(|o| self.get(b, o)).collect::<Result<_, _>>()?;
        Ok((opds, vals))
    }

    /// Node `n`'s elementwise op on `vals` into `dst` (full width, or one
    /// column).
    fn emit_pointwise(&mut self, b: &mut Builder, n: usize, vals: &[Val], dst: &TileAccess) -> Result<(), LowerError> {
        let node = &self.info.g.nodes[n];
        let dtypes: Vec<DType> = node.inputs.iter().map(|&v| self.info.dtype(v)).collect();
        let width = dst.free_elements();
        let mut ops = Ops::new(b, &self.full_shape, &self.col_shape, self.ctx.parts, width);
        let r = pointwise::emit(&mut ops, &node.op, vals, &dtypes, self.info.dtype(node.output), dst);
        ops.done();
        r.map_err(|m| self.err(n, m))
    }

    /// A column tile as f32 (a copy when it has another dtype).
    pub fn widen(&self, b: &mut Builder, tile: TileId) -> TileId {
        if b.tile_dtype(tile) == DType::F32 {
            return tile;
        }
        let wide = b.acquire(Memory::Sbuf, DType::F32, &self.col_shape);
        b.emit(Inst::TensorCopy {
            dst: region(wide, self.ctx.parts, 1),
            src: region(tile, self.ctx.parts, 1),
            engine: trnc_ir::kernel::Engine::Vector,
        });
        b.release(tile);
        wide
    }

    fn hbm(&self, b: &Builder, r: HbmRef) -> HbmId {
        match r {
            HbmRef::Input(i) => b.input_id(i),
            HbmRef::Output(j) => b.output_id(j),
        }
    }

    fn access(&self, b: &Builder, p: usize, col: bool) -> Result<HbmAccess, LowerError> {
        let pa = &self.ctx.ports[p];
        let mut pattern = vec![pa.part];
        if col || pa.free.is_empty() {
            pattern.push((1, 1));
        } else {
            pattern.extend(pa.free.iter().copied());
        }
        if pattern.len() > 5 {
            return Err(self.info.group_err("internal: an access pattern with more than 4 free dimensions"));
        }
        Ok(HbmAccess { tensor: self.hbm(b, self.plan.ports[p].hbm), offset: pa.offset.clone(), pattern })
    }

    fn port_dtype(&self, p: usize) -> DType {
        match self.plan.ports[p].hbm {
            HbmRef::Input(i) => self.info.dtype(self.info.inputs[i]),
            HbmRef::Output(j) => self.info.dtype(self.info.outputs[j]),
        }
    }

    /// Loads an input port: a column (f32, usable as a per-partition
    /// operand) when it is constant along the tile's free axis, else a tile
    /// of the input's dtype.
    fn load(&mut self, b: &mut Builder, p: usize) -> Result<Slot, LowerError> {
        let col = !self.in_chunk || self.ctx.ports[p].is_col();
        let name = match self.plan.ports[p].hbm {
            HbmRef::Input(i) => self.info.g.name_of(self.info.inputs[i]).to_string(),
            HbmRef::Output(j) => self.info.g.name_of(self.info.outputs[j]).to_string(),
        };
        b.set_note(format!("load %{name}"));
        let (tile, dst) = if col {
            let t = b.acquire(Memory::Sbuf, DType::F32, &self.col_shape);
            (t, region(t, self.ctx.parts, 1))
        } else {
            let t = b.acquire(Memory::Sbuf, self.port_dtype(p), &self.full_shape);
            (t, region(t, self.ctx.parts, self.ctx.width))
        };
        let src = self.access(b, p, col)?;
        b.emit(Inst::DmaCopy { dst: Operand::Tile(dst), src: Operand::Hbm(src) });
        Ok(Slot { tile, col })
    }

    /// Computes node `n` (if needed) and writes it to its output.
    pub fn store(&mut self, b: &mut Builder, n: usize) -> Result<(), LowerError> {
        let Some(&(_, p)) = self.plan.stores.iter().find(|(m, _)| *m == n) else {
            return Err(self.err(n, "internal: not an output of this section"));
        };
        let v = self.get(b, &Opd::Node(n))?;
        let (src, col) = match v {
            Val::Tile(t) => (t, false),
            Val::Col(c) => (c, true),
            Val::Imm(_) => return Err(self.err(n, "internal: storing an immediate")),
        };
        let dst = self.access(b, p, col)?;
        b.set_note(format!("store %{}", self.info.g.name_of(self.info.g.nodes[n].output)));
        b.emit(Inst::DmaCopy { dst: Operand::Hbm(dst), src: Operand::Tile(src) });
        self.consume(b, &Opd::Node(n));
        Ok(())
    }

    /// Copies input port `from` to output port `to` through SBUF.
    fn copy(&mut self, b: &mut Builder, from: usize, to: usize) -> Result<(), LowerError> {
        let v = self.get(b, &Opd::Port(from))?;
        // A source constant along the free axis was loaded as a column:
        // spread it over the tile the output needs.
        let mut ops = Ops::new(b, &self.full_shape, &self.col_shape, self.ctx.parts, self.ctx.width);
        let src = ops.as_tile(&v);
        let dst = self.access(ops.b, to, false);
        if let Ok(dst) = &dst {
            ops.b.set_note("copy");
            ops.b.emit(Inst::DmaCopy { dst: Operand::Hbm(dst.clone()), src: Operand::Tile(src) });
        }
        ops.done();
        dst?;
        self.consume(b, &Opd::Port(from));
        Ok(())
    }

    /// An operand whose tile now holds a result: it is gone.
    pub fn forget_reused(&mut self, reused: Option<Key>) {
        if let Some(key) = reused {
            self.chunk.remove(&key);
            self.uses.remove(&key);
        }
    }

    /// Sets the note for instructions that implement node `n`.
    pub fn note_node(&self, b: &mut Builder, n: usize) {
        self.note(b, n);
    }
}

pub(crate) fn opd_key(o: Opd) -> Option<Key> {
    match o {
        Opd::Imm(_) => None,
        Opd::Port(p) => Some(Key::Port(p)),
        Opd::Node(n) => Some(Key::Node(n)),
    }
}
