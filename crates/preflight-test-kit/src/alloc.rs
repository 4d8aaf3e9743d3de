//! Counting a thread's heap allocations, for the tests that prove a path
//! allocation-free. A test binary installs the allocator once,
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: preflight_test_kit::alloc::Counting = preflight_test_kit::alloc::Counting;
//!
//! let (count, v) = preflight_test_kit::alloc::allocations(|| vec![7u8; 16]);
//! assert_eq!((count, v.len()), (1, 16));
//! ```
//!
//! and counts with [`allocations`]: only the calling thread's allocations,
//! so that tests running in parallel do not disturb each other.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting each allocation of the thread that makes it.
pub struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; the only
// addition is a thread-local counter with a const initializer, which never
// allocates itself.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

/// How many allocations (and reallocations) this thread made in `f`, and
/// what `f` returned. Counts only where [`Counting`] is the global allocator.
pub fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = f();
    let after = ALLOCATIONS.with(Cell::get);
    (after - before, out)
}
