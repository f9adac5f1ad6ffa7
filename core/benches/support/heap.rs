//! The heap a benchmark really holds: the system allocator, counting the bytes and blocks
//! live (by size class, powers of two). RSS also moves with the allocator's own keeping
//! (arenas, fragmentation); a live heap that grows is a leak.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator with counters.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BY_CLASS: [AtomicUsize; 24] = [const { AtomicUsize::new(0) }; 24];

fn class(size: usize) -> usize {
    (usize::BITS - size.max(1).leading_zeros()).min(23) as usize
}

fn count(size: usize, up: bool) {
    if up {
        LIVE_BYTES.fetch_add(size, Ordering::Relaxed);
        LIVE_BY_CLASS[class(size)].fetch_add(1, Ordering::Relaxed);
    } else {
        LIVE_BYTES.fetch_sub(size, Ordering::Relaxed);
        LIVE_BY_CLASS[class(size)].fetch_sub(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed to `System` unchanged; the counters are only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size(), true);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size(), true);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(layout.size(), false);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            count(layout.size(), false);
            count(new_size, true);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

pub fn heap_kib() -> usize {
    LIVE_BYTES.load(Ordering::Relaxed) / 1024
}

#[allow(dead_code)]
pub fn blocks_by_class() -> Vec<usize> {
    LIVE_BY_CLASS
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect()
}
