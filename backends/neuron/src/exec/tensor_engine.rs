//! TensorE: nc_matmul and nc_transpose (trainium.md §1.3).

use trnc_ir::kernel::{Accumulate, Engine, TileAccess};
use trnc_ir::Target;

use super::Exec;
use crate::memory::{coordinates, fp32, PsumState, Writer};

impl Exec<'_> {
    /// `dst[m, n] (+)= Σ_k stationary[k, m] · moving[k, n]` (free axes
    /// flattened). Each product sum is formed in f64 (products of fp32
    /// inputs are exact there) and rounded once to fp32; accumulation onto
    /// PSUM adds in fp32, so splitting K rounds once per step, as PSUM
    /// accumulation does on hardware.
    pub(super) fn matmul(
        &mut self,
        dst: &TileAccess,
        stationary: &TileAccess,
        moving: &TileAccess,
        accumulate: Accumulate,
    ) -> Result<(), String> {
        let st = self.read(stationary, "stationary")?;
        let mv = self.read(moving, "moving")?;
        let m = stationary.free_elements();
        let n = moving.free_elements();
        let r = self.region(dst)?;
        let tile = dst.tile.0 as usize;
        let mut out = vec![0.0; m * n];
        // One row of each input per contraction index k (the partitions).
        for (st_row, mv_row) in st.chunks_exact(m).zip(mv.chunks_exact(n)) {
            for (i, &a) in st_row.iter().enumerate() {
                for (o, &b) in out[i * n..(i + 1) * n].iter_mut().zip(mv_row) {
                    *o += a * b;
                }
            }
        }
        if accumulate == Accumulate::Add {
            let t = &self.m.tiles[tile];
            // Accumulating onto PSUM nothing wrote is undefined (nki-api.md
            // §5); onto PSUM a non-matmul wrote, undefined on v2/v3
            // (trainium.md §1.3).
            for (&i, o) in r.index.iter().zip(out.iter_mut()) {
                match t.psum[i] {
                    PsumState::Unwritten => {
                        return Err(format!(
                            "accumulate=add onto %{}[{}], which no matmul has written: undefined (nki-api.md §5)",
                            t.name,
                            coordinates(&t.shape, i)
                        ))
                    }
                    PsumState::Engine if self.target != Target::Trn3 => {
                        return Err(format!(
                            "accumulate=add onto %{}[{}], last written by a non-matmul instruction: undefined on NeuronCore-v2/v3 (trainium.md §1.3)",
                            t.name,
                            coordinates(&t.shape, i)
                        ))
                    }
                    _ => *o = fp32(*o) + t.data[i],
                }
            }
        }
        self.write_engine(dst, &out, Writer::TensorE)
    }

    /// `dst[f, p] = src[p, f]`, free axes of src flattened; the dtype is
    /// kept, so the values move bit-exactly.
    pub(super) fn transpose(&mut self, dst: &TileAccess, src: &TileAccess, engine: Engine) -> Result<(), String> {
        let values = self.read_raw(src, "src")?;
        let p = src.partitions;
        let f = src.free_elements();
        let mut out = vec![0.0; p * f];
        for (i, row) in values.chunks_exact(f.max(1)).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                out[j * p + i] = v;
            }
        }
        let writer = if engine == Engine::Tensor { Writer::TensorE } else { Writer::Engine };
        let r = self.region(dst)?;
        self.m.write_tile(dst.tile.0 as usize, &r, &out, writer);
        Ok(())
    }
}
