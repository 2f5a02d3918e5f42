//! Building a kernel: HBM tensors, a pool of statically allocated tiles,
//! statements with notes naming the graph op they came from, and loops.
//!
//! Every generator writes through this one builder, so kernels look alike:
//! tiles are named `t0, t1, ..` in declaration order, loop variables are
//! numbered in the order loops open, and every instruction carries the
//! note in force when it was emitted.

use trnc_ir::kernel::{Affine, HbmId, HbmTensor, Inst, Kernel, LoopVar, Memory, Stmt, Tile, TileAccess, TileId};
use trnc_ir::DType;

/// What makes two tiles interchangeable in the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TileKey {
    memory: Memory,
    dtype: DType,
    shape: Vec<usize>,
}

pub(crate) struct Builder {
    name: String,
    inputs: Vec<HbmTensor>,
    outputs: Vec<HbmTensor>,
    tiles: Vec<Tile>,
    /// Per declared tile: its key and whether some value holds it now.
    pool: Vec<(TileKey, bool)>,
    /// Open bodies: `bodies[0]` is the kernel's, the last one the innermost loop's.
    bodies: Vec<Vec<Stmt>>,
    /// The loops whose bodies are open, with their trip counts.
    open: Vec<(LoopVar, usize)>,
    next_var: u32,
    note: Option<String>,
    origin: Vec<String>,
}

impl Builder {
    /// A kernel reading `inputs` and writing `outputs` (HbmId 0.. are the
    /// inputs in order, then the outputs).
    pub fn new(name: &str, inputs: Vec<HbmTensor>, outputs: Vec<HbmTensor>, origin: Vec<String>) -> Builder {
        Builder {
            name: name.to_string(),
            inputs,
            outputs,
            tiles: Vec::new(),
            pool: Vec::new(),
            bodies: vec![Vec::new()],
            open: Vec::new(),
            next_var: 0,
            note: None,
            origin,
        }
    }

    pub fn input_id(&self, i: usize) -> HbmId {
        HbmId(i as u32)
    }

    pub fn output_id(&self, j: usize) -> HbmId {
        HbmId((self.inputs.len() + j) as u32)
    }

    /// Sets the note attached to the instructions emitted from now on: the
    /// graph op they implement.
    pub fn set_note(&mut self, note: impl Into<String>) {
        self.note = Some(note.into());
    }

    pub fn emit(&mut self, inst: Inst) {
        let note = self.note.clone();
        if let Some(body) = self.bodies.last_mut() {
            body.push(Stmt::Inst { inst, note });
        }
    }

    /// Opens a loop of `count` iterations; statements go into its body until
    /// [`Builder::close_loop`].
    pub fn open_loop(&mut self, count: usize) -> LoopVar {
        let var = LoopVar(self.next_var);
        self.next_var += 1;
        self.open.push((var, count));
        self.bodies.push(Vec::new());
        var
    }

    pub fn close_loop(&mut self) {
        // The kernel body (bodies[0]) is never closed: callers pair every
        // close with an open.
        if self.bodies.len() > 1 {
            let body = self.bodies.pop().unwrap_or_default();
            if let (Some((var, count)), Some(parent)) = (self.open.pop(), self.bodies.last_mut()) {
                parent.push(Stmt::Loop { var, count, body });
            }
        }
    }

    /// A tile of the given kind that no live value holds: a free one from
    /// the pool, or a new declaration.
    pub fn acquire(&mut self, memory: Memory, dtype: DType, shape: &[usize]) -> TileId {
        let key = TileKey { memory, dtype, shape: shape.to_vec() };
        if let Some(i) = self.pool.iter().position(|(k, used)| !used && *k == key) {
            self.pool[i].1 = true;
            return TileId(i as u32);
        }
        let id = TileId(self.tiles.len() as u32);
        self.tiles.push(Tile { name: format!("t{}", id.0), memory, dtype, shape: shape.to_vec() });
        self.pool.push((key, true));
        id
    }

    /// Returns a tile to the pool; later acquisitions may reuse it.
    pub fn release(&mut self, tile: TileId) {
        if let Some(slot) = self.pool.get_mut(tile.0 as usize) {
            slot.1 = false;
        }
    }

    pub fn tile_dtype(&self, tile: TileId) -> DType {
        self.tiles[tile.0 as usize].dtype
    }

    pub fn finish(mut self) -> Kernel {
        while self.bodies.len() > 1 {
            self.close_loop();
        }
        Kernel {
            name: self.name,
            inputs: self.inputs,
            outputs: self.outputs,
            tiles: self.tiles,
            body: self.bodies.pop().unwrap_or_default(),
            origin: self.origin,
        }
    }
}

/// The region `[0, partitions) x [0, free)` of a 2-D tile.
pub(crate) fn region(tile: TileId, partitions: usize, free: usize) -> TileAccess {
    TileAccess { tile, partition_start: Affine::constant(0), partitions, free: vec![(Affine::constant(0), free)] }
}

/// `[0, partitions) x [start, start + count)` of a 2-D tile.
pub(crate) fn region_at(tile: TileId, partitions: usize, start: Affine, count: usize) -> TileAccess {
    TileAccess { tile, partition_start: Affine::constant(0), partitions, free: vec![(start, count)] }
}

/// A region of a rank-3 tile `[P, n, m]`: partitions `0..p`, index `i` of
/// the middle dimension, `start..start+count` of the last.
pub(crate) fn slab(tile: TileId, p: usize, i: usize, start: usize, count: usize) -> TileAccess {
    TileAccess {
        tile,
        partition_start: Affine::constant(0),
        partitions: p,
        free: vec![(Affine::constant(i as i64), 1), (Affine::constant(start as i64), count)],
    }
}
