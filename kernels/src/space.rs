//! Iteration spaces: a box of dimensions that several HBM tensors ("ports")
//! are read or written through, each with its own offset and strides.
//!
//! Generators build a space in the coordinates of the values they compute,
//! simplify it (drop size-1 dimensions, merge dimensions that are
//! contiguous for every port), then decide which dimension goes on the
//! partitions, which on the free axis and which become loops.

use crate::view::StridedView;

/// An HBM tensor seen through the space: element `offset + Σ i_d * strides[d]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Port {
    pub offset: i64,
    pub strides: Vec<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Space {
    pub extents: Vec<usize>,
    pub ports: Vec<Port>,
}

impl Space {
    /// A space of the given extents with no ports yet.
    pub fn new(extents: &[usize]) -> Space {
        Space { extents: extents.to_vec(), ports: Vec::new() }
    }

    /// Adds a port from a view whose shape is the space's; returns its index.
    pub fn add_port(&mut self, view: &StridedView) -> usize {
        self.ports.push(Port { offset: view.offset, strides: view.dims.iter().map(|&(s, _)| s).collect() });
        self.ports.len() - 1
    }

    pub fn elements(&self) -> usize {
        self.extents.iter().product()
    }

    /// Keeps the dimensions in `order` (a permutation or a subset of size-1
    /// dimensions dropped), in that order.
    pub fn select(&self, order: &[usize]) -> Space {
        Space {
            extents: order.iter().map(|&d| self.extents[d]).collect(),
            ports: self
                .ports
                .iter()
                .map(|p| Port { offset: p.offset, strides: order.iter().map(|&d| p.strides[d]).collect() })
                .collect(),
        }
    }

    /// Drops size-1 dimensions and merges neighbours `d, d+1` wherever every
    /// port has `stride[d] == stride[d+1] * extent[d+1]`: the result
    /// addresses exactly the same elements with fewer dimensions, which
    /// means fewer loops and longer DMA runs.
    pub fn simplified(&self) -> Space {
        let keep: Vec<usize> = (0..self.extents.len()).filter(|&d| self.extents[d] != 1).collect();
        let mut s = self.select(&keep);
        let mut d = 0;
        while d + 1 < s.extents.len() {
            let inner = s.extents[d + 1] as i64;
            if s.ports.iter().all(|p| p.strides[d] == p.strides[d + 1] * inner) {
                s.extents[d] *= s.extents[d + 1];
                s.extents.remove(d + 1);
                for p in &mut s.ports {
                    p.strides[d] = p.strides[d + 1];
                    p.strides.remove(d + 1);
                }
            } else {
                d += 1;
            }
        }
        s
    }

    /// The part of the space where dimension `d` runs over `[start, start + len)`.
    pub fn restrict(&self, d: usize, start: usize, len: usize) -> Space {
        let mut s = self.clone();
        s.extents[d] = len;
        for p in &mut s.ports {
            p.offset += start as i64 * p.strides[d];
        }
        s
    }

    /// Splits dimension `d` (extent a multiple of `inner`) into an outer
    /// dimension of `extent / inner` and an inner one of `inner`.
    pub fn split_dim(&self, d: usize, inner: usize) -> Space {
        let mut s = self.clone();
        let outer = s.extents[d] / inner.max(1);
        s.extents[d] = inner;
        s.extents.insert(d, outer);
        for p in &mut s.ports {
            let stride = p.strides[d];
            p.strides.insert(d, stride * inner as i64);
        }
        s
    }

    /// Inserts a dimension of extent 1 (stride 0 everywhere) at `d`.
    pub fn insert_unit(&self, d: usize) -> Space {
        let mut s = self.clone();
        s.extents.insert(d, 1);
        for p in &mut s.ports {
            p.strides.insert(d, 0);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplify_merges_dims_contiguous_for_every_port() {
        let mut s = Space::new(&[2, 3, 1, 4]);
        s.add_port(&StridedView::contiguous(&[2, 3, 1, 4]));
        // A [3, 1, 4] operand broadcast over the first dimension.
        s.add_port(&StridedView::contiguous(&[3, 1, 4]).broadcast_to(&[2, 3, 1, 4]).unwrap());
        let t = s.simplified();
        assert_eq!(t.extents, vec![2, 12]);
        assert_eq!(t.ports[0].strides, vec![12, 1]);
        assert_eq!(t.ports[1].strides, vec![0, 1]);
    }

    #[test]
    fn split_and_restrict_keep_addresses() {
        let mut s = Space::new(&[10]);
        s.add_port(&StridedView::contiguous(&[10]));
        let t = s.restrict(0, 8, 2);
        assert_eq!((t.extents.clone(), t.ports[0].offset), (vec![2], 8));
        let u = s.restrict(0, 0, 8).split_dim(0, 4);
        assert_eq!(u.extents, vec![2, 4]);
        assert_eq!(u.ports[0].strides, vec![4, 1]);
    }
}
