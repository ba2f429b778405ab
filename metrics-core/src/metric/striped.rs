//! Counters striped over per-thread shards, each on its own cache lines.
//!
//! Threads that record into the same label set would otherwise fight over one cache line per
//! counter; with a shard per thread (round-robin when there are more threads than shards) each
//! core mostly writes lines it already owns, and readers add the shards up.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Cells per cache-line pair: 128 bytes also keeps adjacent-line prefetching from pairing the
/// lines of two shards.
const CELLS_PER_LINE: usize = 16;

#[repr(align(128))]
#[derive(Default)]
struct Line([AtomicU64; CELLS_PER_LINE]);

/// `cells` 64-bit counters, striped: every shard holds all of them.
pub(crate) struct Striped {
    lines: Box<[Line]>,
    lines_per_shard: usize,
    shard_mask: usize,
}

impl std::fmt::Debug for Striped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Striped")
            .field("shards", &(self.shard_mask + 1))
            .field("lines_per_shard", &self.lines_per_shard)
            .finish()
    }
}

impl Striped {
    pub(crate) fn new(cells: usize) -> Self {
        let shards = shard_count();
        let lines_per_shard = cells.div_ceil(CELLS_PER_LINE).max(1);
        Self {
            lines: (0..shards * lines_per_shard)
                .map(|_| Line::default())
                .collect(),
            lines_per_shard,
            shard_mask: shards - 1,
        }
    }

    #[inline]
    fn cell(&self, shard: usize, index: usize) -> &AtomicU64 {
        let line = shard * self.lines_per_shard + index / CELLS_PER_LINE;
        &self.lines[line].0[index % CELLS_PER_LINE]
    }

    /// The copy of cell `index` of `shard` (taken once for several updates from one thread).
    #[inline]
    pub(crate) fn on(&self, shard: Shard, index: usize) -> &AtomicU64 {
        self.cell(shard.0 & self.shard_mask, index)
    }

    /// Every shard's copy of cell `index`.
    pub(crate) fn shards(&self, index: usize) -> impl Iterator<Item = &AtomicU64> + '_ {
        (0..=self.shard_mask).map(move |shard| self.cell(shard, index))
    }

    /// Cell `index` summed over shards (wrapping, so signed values stored as two's complement
    /// add up correctly).
    pub(crate) fn total(&self, index: usize) -> u64 {
        self.shards(index).fold(0u64, |sum, cell| {
            sum.wrapping_add(cell.load(Ordering::Relaxed))
        })
    }
}

/// The most shards a striped counter has.
pub(crate) const MAX_SHARDS: usize = 8;

/// Shards per striped counter: the number of CPUs, at most [`MAX_SHARDS`], as a power of two.
fn shard_count() -> usize {
    static SHARDS: OnceLock<usize> = OnceLock::new();
    *SHARDS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_SHARDS)
            .next_power_of_two()
    })
}

/// This thread's shard (below [`MAX_SHARDS`]), handed out round-robin; every striped counter
/// picks its cells from it. Finding it is a thread-local read: a request takes it once for all
/// its updates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shard(usize);

impl Shard {
    #[inline]
    pub(crate) fn current() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
        }
        Self(SHARD.with(|shard| {
            let mut id = shard.get();
            if id == usize::MAX {
                id = NEXT.fetch_add(1, Ordering::Relaxed) & (shard_count() - 1);
                shard.set(id);
            }
            id
        }))
    }

    /// The shard's number, below [`MAX_SHARDS`].
    #[inline]
    pub(crate) fn index(self) -> usize {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_across_threads() {
        let striped = Striped::new(20);
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    for _ in 0..1_000 {
                        striped
                            .on(Shard::current(), 0)
                            .fetch_add(1, Ordering::Relaxed);
                        striped
                            .on(Shard::current(), 19)
                            .fetch_add(2, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(striped.total(0), 6_000);
        assert_eq!(striped.total(19), 12_000);
        assert_eq!(striped.total(5), 0);
    }

    #[test]
    fn signed_values_survive_wrapping() {
        let striped = Striped::new(1);
        striped
            .on(Shard::current(), 0)
            .fetch_sub(3, Ordering::Relaxed);
        striped
            .on(Shard::current(), 0)
            .fetch_add(1, Ordering::Relaxed);
        assert_eq!(striped.total(0) as i64, -2);
    }
}
