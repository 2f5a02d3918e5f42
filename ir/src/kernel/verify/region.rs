//! Rules about where an operand is: inside its tile or HBM tensor for every
//! iteration, on partitions an engine can address, inside one PSUM bank
//! when TensorE writes it.

use super::bounds::{add, mul, LoopBounds};
use crate::kernel::print::affine;
use crate::kernel::{Affine, Engine, HbmAccess, HbmTensor, Kernel, Memory, Tile, TileAccess};
use crate::target::{PARTITIONS, PSUM_BANK_BYTES};

/// Compute engines stream at most this many free elements per partition
/// from SBUF, and from PSUM (trainium.md §1.4).
const ENGINE_FREE_MAX_SBUF: usize = 64 * 1024;
const ENGINE_FREE_MAX_PSUM: usize = 4 * 1024;

/// An HBM access pattern has one partition pair and at most 4 free pairs
/// (trainium.md §1.5, nki-api.md §3 `.ap`).
const HBM_PATTERN_MAX: usize = 5;

/// The tile an access names, after checking that the id exists, the rank
/// matches and the region lies inside the tile for every iteration.
pub(super) fn tile_region<'k>(
    k: &'k Kernel,
    loops: &LoopBounds,
    role: &str,
    a: &TileAccess,
) -> Result<&'k Tile, String> {
    let tile = k
        .tiles
        .get(a.tile.0 as usize)
        .ok_or_else(|| format!("{role} names tile {} which is not declared", a.tile.0))?;
    if a.free.len() + 1 != tile.shape.len() {
        return Err(format!(
            "{role} has {} free dimensions but tile %{} has {}",
            a.free.len(),
            tile.name,
            tile.shape.len().saturating_sub(1)
        ));
    }
    let dims = std::iter::once((&a.partition_start, a.partitions)).chain(a.free.iter().map(|(s, n)| (s, *n)));
    for (d, ((start, count), &size)) in dims.zip(&tile.shape).enumerate() {
        let what = if d == 0 { "partitions".to_string() } else { format!("free dimension {d}") };
        if count == 0 {
            return Err(format!("{role} takes 0 elements of the {what} of %{}", tile.name));
        }
        let (lo, hi) = loops.range(start)?;
        let end = add(hi, count as i128)?;
        if lo < 0 || end > size as i128 {
            let span = if lo == hi { format!("{lo}..{end}") } else { format!("{lo}..{end} (start {})", affine(start)) };
            return Err(format!(
                "{role} spans {what} {span} of %{}, which has {size} (err_tensor_access_out_of_bound, trainium.md §2.4)",
                tile.name
            ));
        }
    }
    access_pattern_dims(role, tile, a)?;
    Ok(tile)
}

/// Engines and DMA walk a partition's elements with an access pattern of
/// at most 4 (stride, count) pairs (trainium.md §1.5). A tile may have any
/// rank; what counts is the pattern an access needs once size-1 dimensions
/// are dropped and contiguous ones merged.
fn access_pattern_dims(role: &str, tile: &Tile, a: &TileAccess) -> Result<(), String> {
    // Row-major element strides of the tile's free dimensions.
    let mut stride = 1u128;
    let mut pairs: Vec<(u128, u128)> = Vec::new(); // innermost first
    for (&(_, count), &size) in a.free.iter().zip(&tile.shape[1..]).rev() {
        if count > 1 {
            match pairs.last_mut() {
                // The outer dimension continues where the inner run ends.
                Some((s, n)) if s.checked_mul(*n) == Some(stride) => *n = n.saturating_mul(count as u128),
                _ => pairs.push((stride, count as u128)),
            }
        }
        stride = stride.saturating_mul(size as u128);
    }
    if pairs.len() > 4 {
        return Err(format!(
            "{role} needs {} free dimensions in its access pattern of %{}; the hardware walks at most 4 (trainium.md §1.5)",
            pairs.len(),
            tile.name
        ));
    }
    Ok(())
}

/// The HBM tensor an access names, after checking the pattern's size and
/// that every element it touches exists, for every iteration.
pub(super) fn hbm_region<'k>(
    k: &'k Kernel,
    loops: &LoopBounds,
    role: &str,
    a: &HbmAccess,
) -> Result<&'k HbmTensor, String> {
    let i = a.tensor.0 as usize;
    let tensor = if i < k.inputs.len() { k.inputs.get(i) } else { k.outputs.get(i - k.inputs.len()) };
    let tensor =
        tensor.ok_or_else(|| format!("{role} names HBM tensor {} which the kernel does not have", a.tensor.0))?;
    if a.pattern.is_empty() {
        return Err(format!("{role}: the access pattern of %{} is empty", tensor.name));
    }
    if a.pattern.len() > HBM_PATTERN_MAX {
        return Err(format!(
            "{role}: access pattern of %{} has {} dimensions; DMA takes a partition pair and at most 4 free pairs (trainium.md §1.5)",
            tensor.name,
            a.pattern.len()
        ));
    }
    let (mut lo, mut hi) = loops.range(&a.offset)?;
    for &(stride, count) in &a.pattern {
        if count == 0 {
            return Err(format!("{role}: access pattern of %{} has a dimension of size 0", tensor.name));
        }
        let reach = mul(stride as i128, count as i128 - 1)?;
        lo = add(lo, reach.min(0))?;
        hi = add(hi, reach.max(0))?;
    }
    let elements = element_count(&tensor.shape).unwrap_or(u128::MAX);
    if lo < 0 || hi as u128 >= elements {
        return Err(format!(
            "{role} touches elements {lo}..={hi} of %{} (offset {}), which has {elements} (err_tensor_access_out_of_bound, trainium.md §2.4)",
            tensor.name,
            affine(&a.offset)
        ));
    }
    Ok(tensor)
}

/// Element count of a shape; None when it does not fit.
pub(super) fn element_count(shape: &[usize]) -> Option<u128> {
    shape.iter().try_fold(1u128, |acc, &n| acc.checked_mul(n as u128))
}

/// Checks an on-chip operand of an instruction that runs on `engine`
/// (not DMA): the tile region, the start-partition rule, and the per-engine
/// memory and size limits.
pub(super) fn engine_operand<'k>(
    k: &'k Kernel,
    loops: &LoopBounds,
    engine: Engine,
    role: &str,
    a: &TileAccess,
) -> Result<&'k Tile, String> {
    let tile = tile_region(k, loops, role, a)?;
    start_partition(loops, role, a)?;
    // GpSimd cannot access PSUM (trainium.md §1.4).
    if engine == Engine::GpSimd && tile.memory == Memory::Psum {
        return Err(format!("{role} %{} is in PSUM, which GpSimd cannot access (trainium.md §1.4)", tile.name));
    }
    if matches!(engine, Engine::Vector | Engine::Scalar | Engine::GpSimd) {
        // Free-size limit per engine access (trainium.md §1.4).
        let (limit, memory) = match tile.memory {
            Memory::Sbuf => (ENGINE_FREE_MAX_SBUF, "SBUF"),
            Memory::Psum => (ENGINE_FREE_MAX_PSUM, "PSUM"),
        };
        let free = free_size(a);
        if free > limit as u128 {
            return Err(format!(
                "{role} has {free} free elements per partition; {} reads at most {limit} from {memory} (trainium.md §1.4)",
                engine.name()
            ));
        }
    }
    Ok(tile)
}

/// Elements per partition of an access.
pub(super) fn free_size(a: &TileAccess) -> u128 {
    a.free.iter().try_fold(1u128, |acc, &(_, n)| acc.checked_mul(n as u128)).unwrap_or(u128::MAX)
}

/// Start-partition rule (trainium.md §1.5): 65–128 partitions start at 0;
/// 33–64 at 0 or 64; 1–32 at 0, 32, 64 or 96.
pub(super) fn start_partition(loops: &LoopBounds, role: &str, a: &TileAccess) -> Result<(), String> {
    let n = a.partitions;
    let (align, allowed) = match n {
        65.. => (PARTITIONS, "0"),
        33..=64 => (64, "0 or 64"),
        _ => (32, "0, 32, 64 or 96"),
    };
    let (lo, hi) = loops.range(&a.partition_start)?;
    let ok =
        lo >= 0 && hi <= (PARTITIONS - align) as i128 && loops.all_multiples_of(&a.partition_start, align as i128)?;
    if !ok {
        return Err(format!(
            "{role} uses {n} partitions starting at {}; {n} partitions must start at partition {allowed} (trainium.md §1.5)",
            affine(&a.partition_start)
        ));
    }
    Ok(())
}

/// TensorE writes one PSUM bank: the bytes a region covers in each
/// partition must not cross a 2 KiB bank boundary (trainium.md §1.1,
/// §1.3). Tiles start on a bank boundary (nki-api.md §2), so offsets within
/// the tile decide.
pub(super) fn within_one_bank(loops: &LoopBounds, role: &str, tile: &Tile, a: &TileAccess) -> Result<(), String> {
    let elem = tile.dtype.size_bytes() as i128;
    let bank = PSUM_BANK_BYTES as i128;
    // Row-major strides of the free dimensions, in elements.
    let mut strides = vec![1i128; a.free.len()];
    for d in (0..a.free.len().saturating_sub(1)).rev() {
        strides[d] = mul(strides[d + 1], tile.shape[d + 2] as i128)?;
    }
    // First element: Σ start_d * stride_d (affine); last: first + extent.
    let mut first = Affine::default();
    let mut extent = 0i128;
    for ((start, count), &stride) in a.free.iter().zip(&strides) {
        first = scaled_sum(&first, start, stride)?;
        extent = add(extent, mul(*count as i128 - 1, stride)?)?;
    }
    let first_residue = loops.max_residue(&first, elem, bank)?;
    let last_byte = add(first_residue, mul(extent, elem)?)?;
    let last_byte = add(last_byte, elem - 1)?;
    if last_byte >= bank {
        return Err(format!(
            "{role} covers {} bytes of each partition of %{} from a bank offset of up to {first_residue}, crossing a 2 KiB PSUM bank; TensorE writes one bank (trainium.md §1.1, §1.3)",
            add(mul(extent, elem)?, elem)?,
            tile.name
        ));
    }
    Ok(())
}

/// `acc + k * a`, with every coefficient checked.
fn scaled_sum(acc: &Affine, a: &Affine, k: i128) -> Result<Affine, String> {
    let overflow = || "address arithmetic overflows".to_string();
    let scale = |c: i64| -> Result<i64, String> { i64::try_from(mul(c as i128, k)?).map_err(|_| overflow()) };
    let mut out = acc.clone();
    out.constant = out.constant.checked_add(scale(a.constant)?).ok_or_else(overflow)?;
    for &(v, c) in &a.terms {
        let c = scale(c)?;
        match out.terms.iter_mut().find(|(w, _)| *w == v) {
            Some((_, existing)) => *existing = existing.checked_add(c).ok_or_else(overflow)?,
            None => out.terms.push((v, c)),
        }
    }
    Ok(out)
}
