//! Which earlier instructions an instruction must wait for.
//!
//! Dependencies are tracked per *region*, not per tile: the kernel IR
//! allocates tiles statically, so rotating buffers (double buffering) are
//! slots of one tile selected by a loop counter, and a write to slot 1 must
//! not wait for readers of slot 0. A region is the box an access covers:
//! partitions × each free dimension for tiles (exactly a `TileAccess`), one
//! flat element interval for HBM (the bounding interval of the pattern).
//!
//! Every tile and HBM tensor keeps a short list of recent accesses with the
//! time their result is visible. A read waits for overlapping writes (RAW);
//! a write waits for overlapping reads and writes (WAR, WAW). Lists stay
//! short and look-ups cheap because (1) a write drops the entries it covers
//! — it finished after all of them, so it stands for them; (2) entries are
//! bucketed by the indices of dimensions every access takes one index of
//! (buffer slots), so a look-up scans one slot's list ([`KeyDims`]);
//! (3) entries that finished before every engine's queue is free can no
//! longer delay anything and are dropped; (4) past a hard cap a list
//! collapses to one whole read and write entry (conservative: it only adds
//! waits; the calibration kernels never reach it).

use trnc_ir::kernel::{Affine, HbmAccess, Kernel, TileAccess};

/// Dimensions kept per region: partitions plus up to five free dimensions.
/// Higher-rank tiles fold their outer free dimensions into "whole".
pub(crate) const DIMS: usize = 6;

/// Half-open box `[lo, hi)` per dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    lo: [i64; DIMS],
    hi: [i64; DIMS],
}

impl Region {
    const WHOLE: Region = Region { lo: [i64::MIN / 4; DIMS], hi: [i64::MAX / 4; DIMS] };

    fn overlaps(&self, o: &Region) -> bool {
        (0..DIMS).all(|d| self.lo[d] < o.hi[d] && o.lo[d] < self.hi[d])
    }

    fn contains(&self, o: &Region) -> bool {
        (0..DIMS).all(|d| self.lo[d] <= o.lo[d] && o.hi[d] <= self.hi[d])
    }
}

/// An affine expression ready to evaluate: `c + Σ k·counter[v]`.
#[derive(Clone, Debug)]
struct Lin {
    c: i64,
    terms: Vec<(usize, i64)>,
}

impl Lin {
    fn new(a: &Affine) -> Lin {
        Lin { c: a.constant, terms: a.terms.iter().map(|&(v, k)| (v.0 as usize, k)).collect() }
    }

    fn eval(&self, counters: &[i64]) -> i64 {
        self.terms.iter().fold(self.c, |acc, &(v, k)| acc + k * counters[v])
    }
}

/// One operand of a static instruction: the resource (tile or HBM tensor)
/// and, per dimension, an affine start and a constant extent.
#[derive(Clone, Debug)]
pub(crate) struct AccessPattern {
    pub resource: usize,
    pub write: bool,
    dims: Vec<(Lin, i64)>,
}

impl AccessPattern {
    pub fn tile(t: &TileAccess, write: bool) -> AccessPattern {
        let mut dims = vec![(Lin::new(&t.partition_start), t.partitions as i64)];
        dims.extend(t.free.iter().take(DIMS - 1).map(|(s, n)| (Lin::new(s), *n as i64)));
        if t.free.len() > DIMS - 1 {
            // Outer free dims beyond DIMS are folded: treat the last kept
            // one as whole so that overlaps are never missed.
            dims[DIMS - 1] = (Lin { c: i64::MIN / 4, terms: Vec::new() }, i64::MAX / 2);
        }
        AccessPattern { resource: t.tile.0 as usize, write, dims }
    }

    /// HBM tensors come after the tiles in resource numbering.
    pub fn hbm(k: &Kernel, a: &HbmAccess, write: bool) -> AccessPattern {
        let (mut lo, mut hi) = (0i64, 0i64);
        for &(stride, count) in &a.pattern {
            let reach = stride * (count as i64 - 1).max(0);
            lo += reach.min(0);
            hi += reach.max(0);
        }
        let start = Lin::new(&a.offset.clone().offset(lo));
        AccessPattern { resource: k.tiles.len() + a.tensor.0 as usize, write, dims: vec![(start, hi - lo + 1)] }
    }

    /// The box for the current loop counters; unused dimensions are `[0, 1)`.
    pub fn region(&self, counters: &[i64]) -> Region {
        let mut r = Region { lo: [0; DIMS], hi: [1; DIMS] };
        for (d, (start, extent)) in self.dims.iter().enumerate() {
            let s = start.eval(counters);
            r.lo[d] = s;
            r.hi[d] = s.saturating_add(*extent);
        }
        r
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    region: Region,
    write: bool,
    /// Time (ps) from which the access's effect is visible.
    ready: u64,
}

/// Lists longer than this are pruned by the watermark on insertion.
const PRUNE_AT: usize = 32;
/// Lists still longer after pruning collapse to whole-bucket entries.
const COLLAPSE_AT: usize = 256;
/// Most buckets one resource may have.
const MAX_BUCKETS: usize = 1 << 16;

/// How a resource's accesses are spread over buckets: dimensions that
/// every access of the resource takes exactly one index of (buffer slots,
/// tile-array indices), with the size of each. Two accesses that differ in
/// such a dimension cannot overlap, so each combination of indices gets
/// its own list and a look-up scans only its own.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyDims(Vec<(usize, i64)>);

impl KeyDims {
    /// The key dimensions of a tile of `shape` accessed by `patterns`.
    pub fn for_tile<'a>(shape: &[usize], patterns: impl Iterator<Item = &'a AccessPattern> + Clone) -> KeyDims {
        let mut dims = Vec::new();
        let mut buckets = 1usize;
        for (d, &size) in shape.iter().enumerate().take(DIMS).skip(1) {
            let unit = patterns.clone().all(|p| p.dims.get(d).is_some_and(|&(_, extent)| extent == 1));
            if unit && size > 1 && buckets.saturating_mul(size) <= MAX_BUCKETS {
                buckets *= size;
                dims.push((d, size as i64));
            }
        }
        KeyDims(dims)
    }

    fn buckets(&self) -> usize {
        self.0.iter().map(|&(_, n)| n as usize).product()
    }

    /// The bucket of a region (indices are clamped: kernels are verified,
    /// so they are in range, but an estimate must not panic).
    fn bucket(&self, r: &Region) -> usize {
        self.0.iter().fold(0usize, |acc, &(d, n)| acc * n as usize + r.lo[d].clamp(0, n - 1) as usize)
    }
}

struct Resource {
    key: KeyDims,
    buckets: Vec<Vec<Entry>>,
    /// Latest ready time of any write, of any read: upper bounds that let
    /// most look-ups return without scanning.
    max_write: u64,
    max_read: u64,
}

/// The access history of every tile and HBM tensor.
pub(crate) struct Tracker {
    resources: Vec<Resource>,
    /// How often a list collapsed (kept for tests: the calibration kernels
    /// must not lose precision to it).
    pub collapses: u64,
}

impl Tracker {
    pub fn new(keys: Vec<KeyDims>) -> Tracker {
        let resources = keys
            .into_iter()
            .map(|key| Resource { buckets: vec![Vec::new(); key.buckets()], key, max_write: 0, max_read: 0 })
            .collect();
        Tracker { resources, collapses: 0 }
    }

    /// The earliest time an access may start, considering only the times
    /// above `floor` (the access cannot start before `floor` anyway).
    pub fn ready(&self, resource: usize, region: &Region, write: bool, floor: u64) -> u64 {
        let res = &self.resources[resource];
        let bound = if write { res.max_write.max(res.max_read) } else { res.max_write };
        if bound <= floor {
            return 0;
        }
        res.buckets[res.key.bucket(region)]
            .iter()
            .filter(|e| (write || e.write) && e.ready > floor && e.region.overlaps(region))
            .map(|e| e.ready)
            .max()
            .unwrap_or(0)
    }

    /// Records an access visible from `ready`. `watermark` is a time no
    /// future instruction can start before.
    pub fn record(&mut self, resource: usize, region: Region, write: bool, ready: u64, watermark: u64) {
        let res = &mut self.resources[resource];
        let list = &mut res.buckets[res.key.bucket(&region)];
        if write {
            // This write waited for every overlapping access, so it finishes
            // after all the ones it covers and can stand for them.
            list.retain(|e| !region.contains(&e.region));
            res.max_write = res.max_write.max(ready);
        } else {
            // A read stands for the reads it covers that finish no later.
            list.retain(|e| e.write || e.ready > ready || !region.contains(&e.region));
            res.max_read = res.max_read.max(ready);
        }
        list.push(Entry { region, write, ready });
        if list.len() > PRUNE_AT {
            list.retain(|e| e.ready > watermark);
            if list.len() > COLLAPSE_AT {
                self.collapses += 1;
                let w = list.iter().filter(|e| e.write).map(|e| e.ready).max();
                let r = list.iter().filter(|e| !e.write).map(|e| e.ready).max();
                list.clear();
                for (write, ready) in [(true, w), (false, r)] {
                    if let Some(ready) = ready {
                        list.push(Entry { region: Region::WHOLE, write, ready });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(lo: i64, hi: i64) -> Region {
        let mut r = Region { lo: [0; DIMS], hi: [1; DIMS] };
        r.lo[1] = lo;
        r.hi[1] = hi;
        r
    }

    #[test]
    fn slots_are_independent() {
        let mut t = Tracker::new(vec![KeyDims::default()]);
        t.record(0, boxed(0, 1), false, 100, 0);
        // Writing slot 1 does not wait for the reader of slot 0 ...
        assert_eq!(t.ready(0, &boxed(1, 2), true, 0), 0);
        // ... writing slot 0 does (WAR), reading it does not (read-read).
        assert_eq!(t.ready(0, &boxed(0, 1), true, 0), 100);
        assert_eq!(t.ready(0, &boxed(0, 1), false, 0), 0);
        t.record(0, boxed(0, 2), true, 200, 0);
        assert_eq!(t.ready(0, &boxed(1, 2), false, 0), 200);
        // The covering write replaced the read.
        assert_eq!(t.resources[0].buckets[0].len(), 1);
    }

    #[test]
    fn collapse_is_conservative() {
        let mut t = Tracker::new(vec![KeyDims::default()]);
        for i in 0..(COLLAPSE_AT as i64 + 10) {
            t.record(0, boxed(i, i + 1), true, 10 + i as u64, 0);
        }
        assert!(t.resources[0].buckets[0].len() < 16);
        // The true dependency is the write of [3, 4) at 13; after the
        // collapse the reader waits for every write before it.
        assert_eq!(t.ready(0, &boxed(3, 4), false, 0), 10 + COLLAPSE_AT as u64);
    }
}
