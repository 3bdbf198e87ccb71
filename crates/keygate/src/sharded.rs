//! Values that every request thread writes to, split into one slot per thread (as far as there
//! are slots), each on a cache line of its own: threads counting at once never wait for each
//! other or pass a cache line back and forth. Readers combine the slots.

use crossbeam_utils::CachePadded;

/// How many slots: more than the worker threads of a runtime on most machines; threads beyond
/// share slots, which stays correct, only slower.
pub const SLOTS: usize = 16;

/// The slot of the current thread: threads take the next one when they first ask.
pub fn slot() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SLOTS;
    }
    SLOT.with(|s| *s)
}

/// One `T` per slot.
#[derive(Debug, Default)]
pub struct Sharded<T>([CachePadded<T>; SLOTS]);

impl<T> Sharded<T> {
    /// The current thread's `T`.
    pub fn local(&self) -> &T {
        &self.0[slot()]
    }

    /// Every slot's `T`, to combine them.
    pub fn all(&self) -> impl Iterator<Item = &T> {
        self.0.iter().map(|padded| &**padded)
    }
}
