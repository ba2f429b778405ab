//! Counters striped per thread: every thread stripe has its own copy, on its own cache lines.
//!
//! Threads that record into the same label set would otherwise fight over one cache line per
//! counter; with a stripe per thread (round-robin when there are more threads than stripes) each
//! core mostly writes lines it already owns, and readers add the stripes up.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Cells per cache-line pair: 128 bytes also keeps adjacent-line prefetching from pairing the
/// lines of two stripes.
const CELLS_PER_LINE: usize = 16;

#[repr(align(128))]
#[derive(Default)]
struct Line([AtomicU64; CELLS_PER_LINE]);

/// `cells` 64-bit counters, striped: every stripe holds all of them.
pub(crate) struct Striped {
    lines: Box<[Line]>,
    lines_per_stripe: usize,
    stripe_mask: usize,
}

impl std::fmt::Debug for Striped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Striped")
            .field("stripes", &(self.stripe_mask + 1))
            .field("lines_per_stripe", &self.lines_per_stripe)
            .finish()
    }
}

impl Striped {
    pub(crate) fn new(cells: usize) -> Self {
        let stripes = stripe_count();
        let lines_per_stripe = cells.div_ceil(CELLS_PER_LINE).max(1);
        Self {
            lines: (0..stripes * lines_per_stripe)
                .map(|_| Line::default())
                .collect(),
            lines_per_stripe,
            stripe_mask: stripes - 1,
        }
    }

    #[inline]
    fn cell(&self, stripe: usize, index: usize) -> &AtomicU64 {
        let line = stripe * self.lines_per_stripe + index / CELLS_PER_LINE;
        &self.lines[line].0[index % CELLS_PER_LINE]
    }

    /// The copy of cell `index` of `stripe` (taken once for several updates from one thread).
    #[inline]
    pub(crate) fn on(&self, stripe: Stripe, index: usize) -> &AtomicU64 {
        self.cell(stripe.0 & self.stripe_mask, index)
    }

    /// Every stripe's copy of cell `index`.
    pub(crate) fn stripes(&self, index: usize) -> impl Iterator<Item = &AtomicU64> + '_ {
        (0..=self.stripe_mask).map(move |stripe| self.cell(stripe, index))
    }

    /// Cell `index` summed over stripes (wrapping, so signed values stored as two's complement
    /// add up correctly).
    pub(crate) fn total(&self, index: usize) -> u64 {
        self.stripes(index).fold(0u64, |sum, cell| {
            sum.wrapping_add(cell.load(Ordering::Relaxed))
        })
    }
}

/// The most stripes a striped counter has.
pub(crate) const MAX_STRIPES: usize = 8;

/// Stripes per striped counter: the number of CPUs, at most [`MAX_STRIPES`], as a power of two.
fn stripe_count() -> usize {
    static STRIPES: OnceLock<usize> = OnceLock::new();
    *STRIPES.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_STRIPES)
            .next_power_of_two()
    })
}

/// This thread's stripe (below [`MAX_STRIPES`]), handed out round-robin; every striped counter
/// picks its cells from it. Finding it is a thread-local read: a request takes it once for all
/// its updates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stripe(usize);

impl Stripe {
    #[inline]
    pub(crate) fn current() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
        }
        Self(STRIPE.with(|stripe| {
            let mut id = stripe.get();
            if id == usize::MAX {
                id = NEXT.fetch_add(1, Ordering::Relaxed) & (stripe_count() - 1);
                stripe.set(id);
            }
            id
        }))
    }

    /// The stripe's number, below [`MAX_STRIPES`].
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
                            .on(Stripe::current(), 0)
                            .fetch_add(1, Ordering::Relaxed);
                        striped
                            .on(Stripe::current(), 19)
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
            .on(Stripe::current(), 0)
            .fetch_sub(3, Ordering::Relaxed);
        striped
            .on(Stripe::current(), 0)
            .fetch_add(1, Ordering::Relaxed);
        assert_eq!(striped.total(0) as i64, -2);
    }
}
