//! The simulated memories: HBM tensors, SBUF and PSUM tiles, and which
//! PSUM elements hold a value (and from which engine).
//!
//! Values are stored as f64 holding a value of the memory's dtype (every
//! dtype trnc puts on chip — fp8, bf16, f16, f32, i32, bool — is exact in
//! f64). Fresh tiles and outputs are NaN, in every dtype, so a read of
//! unwritten memory shows up (nki.simulate does the same for floats,
//! trainium.md §6; for integers it uses 4, which we find harder to spot).

use trnc_ir::kernel::{HbmAccess, Kernel, LoopBounds, Memory, TileAccess};
use trnc_ir::{DType, Tensor};

/// The simulator refuses accesses and outputs larger than this (elements).
pub const MAX_ELEMENTS: usize = 1 << 31;

/// What last wrote a PSUM element. TensorE may accumulate onto its own
/// results only (trainium.md §1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsumState {
    Unwritten,
    TensorE,
    /// A Vector/Scalar/GpSimd instruction (memset, tensor_copy, ...).
    Engine,
}

/// Who writes: decides the PSUM state of what was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    TensorE,
    Engine,
    Dma,
}

pub struct TileMem {
    pub name: String,
    pub dtype: DType,
    pub memory: Memory,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    /// One entry per element for PSUM tiles; empty for SBUF.
    pub psum: Vec<PsumState>,
}

pub struct HbmMem {
    pub name: String,
    pub dtype: DType,
    pub data: Vec<f64>,
    pub written: Vec<bool>,
}

/// A concrete region: flat element indices, partitions outermost, in the
/// row-major order of the access shape.
pub struct Region {
    pub index: Vec<usize>,
}

pub struct Machine {
    pub tiles: Vec<TileMem>,
    pub hbm: Vec<HbmMem>,
}

/// The value `v` becomes when stored in `dtype`: round-to-nearest-even for
/// floats (`DType::round`); for int32, round-to-nearest-even and saturate,
/// as NKI 0.6 converts fp32 to integers (nki-api.md §1), NaN giving 0;
/// bool is `v != 0`.
pub fn store_value(dtype: DType, v: f64) -> f64 {
    match dtype {
        DType::I32 | DType::I64 => {
            if v.is_nan() {
                0.0
            } else {
                v.round_ties_even().clamp(dtype.min_value(), dtype.max_value())
            }
        }
        _ => dtype.round(v),
    }
}

/// Engines compute in fp32 (trainium.md §1.4): the value an engine sees.
pub fn fp32(v: f64) -> f64 {
    v as f32 as f64
}

/// The value of a concrete (fixed-counter) affine expression.
pub fn value_of(loops: &LoopBounds, a: &trnc_ir::kernel::Affine) -> Result<i128, String> {
    let (lo, hi) = loops.range(a)?;
    if lo != hi {
        return Err("an address depends on a loop counter that has no value".into());
    }
    Ok(lo)
}

impl Machine {
    /// Allocates every tile and output NaN-filled and loads the inputs.
    /// Sizes were checked by the verifier.
    pub fn new(k: &Kernel, inputs: &[Tensor]) -> Machine {
        let tiles = k
            .tiles
            .iter()
            .map(|t| {
                let free: usize = t.shape[1..].iter().product();
                let len = t.shape[0] * free;
                TileMem {
                    name: t.name.clone(),
                    dtype: t.dtype,
                    memory: t.memory,
                    shape: t.shape.clone(),
                    data: vec![f64::NAN; len],
                    psum: if t.memory == Memory::Psum { vec![PsumState::Unwritten; len] } else { Vec::new() },
                }
            })
            .collect();
        let mut hbm: Vec<HbmMem> = inputs
            .iter()
            .zip(&k.inputs)
            .map(|(x, t)| HbmMem {
                name: t.name.clone(),
                dtype: t.dtype,
                data: x.to_f64_vec(),
                written: vec![true; x.len()],
            })
            .collect();
        for t in &k.outputs {
            let len = t.shape.iter().product();
            hbm.push(HbmMem {
                name: t.name.clone(),
                dtype: t.dtype,
                data: vec![f64::NAN; len],
                written: vec![false; len],
            });
        }
        Machine { tiles, hbm }
    }

    /// The elements of a tile access at the current counters, bounds-checked.
    pub fn tile_region(&self, loops: &LoopBounds, a: &TileAccess) -> Result<Region, String> {
        let tile = self.tiles.get(a.tile.0 as usize).ok_or("access to an undeclared tile")?;
        if a.free.len() + 1 != tile.shape.len() {
            return Err(format!("access rank does not match tile %{}", tile.name));
        }
        let mut starts = vec![value_of(loops, &a.partition_start)?];
        for (s, _) in &a.free {
            starts.push(value_of(loops, s)?);
        }
        let counts = a.shape();
        for ((&s, &n), &size) in starts.iter().zip(&counts).zip(&tile.shape) {
            if s < 0 || s + n as i128 > size as i128 {
                return Err(format!("access out of bounds of tile %{}", tile.name));
            }
        }
        let starts: Vec<usize> = starts.into_iter().map(|s| s as usize).collect();
        // Row-major strides of the tile, in elements.
        let mut strides = vec![1usize; tile.shape.len()];
        for d in (0..tile.shape.len() - 1).rev() {
            strides[d] = strides[d + 1] * tile.shape[d + 1];
        }
        let offsets: Vec<(i128, usize)> =
            starts.iter().zip(&strides).zip(&counts).map(|((&s, &st), &n)| ((s * st) as i128, n)).collect();
        let patterns: Vec<(i128, usize)> = strides.iter().zip(&counts).map(|(&st, &n)| (st as i128, n)).collect();
        let base: i128 = offsets.iter().map(|&(o, _)| o).sum();
        Ok(Region { index: walk(base, &patterns) })
    }

    /// The flat elements of an HBM access at the current counters.
    pub fn hbm_region(&self, loops: &LoopBounds, a: &HbmAccess) -> Result<Vec<usize>, String> {
        let t = self.hbm.get(a.tensor.0 as usize).ok_or("access to an HBM tensor the kernel does not have")?;
        let base = value_of(loops, &a.offset)?;
        let pattern: Vec<(i128, usize)> = a.pattern.iter().map(|&(s, n)| (s as i128, n)).collect();
        // The verifier bounds every element, not how often a zero stride
        // revisits one: cap the count so a run cannot exhaust memory.
        let count = pattern.iter().try_fold(1usize, |acc, &(_, n)| acc.checked_mul(n)).filter(|&n| n <= MAX_ELEMENTS);
        let count = count.ok_or_else(|| format!("access of %{} is too large to simulate", t.name))?;
        let index = walk(base, &pattern);
        if index.len() != count {
            return Err(format!("access out of bounds of %{}", t.name));
        }
        if index.iter().any(|&i| i >= t.data.len()) {
            return Err(format!("access out of bounds of %{}", t.name));
        }
        Ok(index)
    }

    /// Reads a tile region for a compute engine: reading PSUM that nothing
    /// wrote is an error (PSUM is not initialised, nki-api.md §5).
    pub fn read_tile(&self, tile: usize, r: &Region, role: &str) -> Result<Vec<f64>, String> {
        let t = &self.tiles[tile];
        if t.memory == Memory::Psum {
            if let Some(&i) = r.index.iter().find(|&&i| t.psum[i] == PsumState::Unwritten) {
                return Err(format!(
                    "{role} reads %{}[{}], which no instruction has written (PSUM is not initialised, nki-api.md §5)",
                    t.name,
                    coordinates(&t.shape, i)
                ));
            }
        }
        Ok(r.index.iter().map(|&i| t.data[i]).collect())
    }

    /// Writes values (already computed) into a tile region, rounding each to
    /// the tile's dtype.
    pub fn write_tile(&mut self, tile: usize, r: &Region, values: &[f64], writer: Writer) {
        let t = &mut self.tiles[tile];
        let state = match writer {
            Writer::TensorE => PsumState::TensorE,
            _ => PsumState::Engine,
        };
        for (&i, &v) in r.index.iter().zip(values) {
            t.data[i] = store_value(t.dtype, v);
            if t.memory == Memory::Psum {
                t.psum[i] = state;
            }
        }
    }
}

/// `[p, f1, f2]` of a flat element index.
pub fn coordinates(shape: &[usize], mut i: usize) -> String {
    let mut c = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        c[d] = i % shape[d].max(1);
        i /= shape[d].max(1);
    }
    c.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")
}

/// Flat indices `base + Σ i_d * stride_d` in row-major order of the
/// counts. Negative indices are dropped (the caller compares lengths).
fn walk(base: i128, pattern: &[(i128, usize)]) -> Vec<usize> {
    let total: usize = pattern.iter().map(|&(_, n)| n).product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; pattern.len()];
    for _ in 0..total {
        let flat = base + idx.iter().zip(pattern).map(|(&i, &(s, _))| i as i128 * s).sum::<i128>();
        if let Ok(f) = usize::try_from(flat) {
            out.push(f);
        }
        for d in (0..pattern.len()).rev() {
            idx[d] += 1;
            if idx[d] < pattern[d].1 {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}
