//! The real-time audio edge: two plain C functions beside UniFFI, for the app's audio thread.
//! `dialtone_audio_push(handle, const int16_t *pcm, int32_t frames)` copies captured PCM
//! from the app's own buffer into the client's capture ring, and
//! `dialtone_audio_pull(handle, int16_t *pcm, int32_t frames)` fills the app's own buffer from
//! the playback ring (silence where nothing has arrived). Neither allocates, locks or makes a
//! system call: UniFFI cannot lend a foreign buffer (mozilla/uniffi-rs#2940) and would copy
//! and allocate per call, which Apple forbids in a render block (ADR 0005).
//!
//! A handle comes from `DialtoneClient.audio_handle()`. It names a slot of a fixed table,
//! with the slot's generation: once the client is gone, its handle yields silence (pull) or
//! is ignored (push), and it never reaches freed memory. A reader marks the slot busy while
//! it uses the bridge; taking a client's slot back clears it first, then waits for the
//! readers in flight (microseconds, on the thread dropping the client, never the audio
//! thread) before the bridge may be freed. Counts are `int32_t` so that Java's JNA maps them
//! the same on 32- and 64-bit ABIs. The header for C and Swift is
//! `bindings/swift/Sources/DialtoneFFI/dialtone_audio.h`.

use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering::SeqCst};
use std::sync::Arc;

use crate::media::audio_bridge::AudioBridge;

/// How many clients can hold an audio handle at once (an app has one or two).
const SLOTS: usize = 64;

struct Slot {
    /// An `Arc<AudioBridge>` turned into a raw pointer while registered; null when free.
    bridge: AtomicPtr<AudioBridge>,
    /// Bumped each time the slot is freed: a handle names the generation it was given in.
    generation: AtomicU32,
    /// Readers using the bridge right now.
    readers: AtomicU32,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE: Slot = Slot {
    bridge: AtomicPtr::new(std::ptr::null_mut()),
    generation: AtomicU32::new(1),
    readers: AtomicU32::new(0),
};

static TABLE: [Slot; SLOTS] = [FREE; SLOTS];

/// A client's place in the table; freeing it (drop) ends its handle.
pub(crate) struct EdgeSlot {
    index: usize,
    generation: u32,
}

impl EdgeSlot {
    /// A free slot for `bridge`; `None` when every slot is taken.
    pub(crate) fn take(bridge: &Arc<AudioBridge>) -> Option<EdgeSlot> {
        for (index, slot) in TABLE.iter().enumerate() {
            let raw = Arc::into_raw(bridge.clone()).cast_mut();
            match slot
                .bridge
                .compare_exchange(std::ptr::null_mut(), raw, SeqCst, SeqCst)
            {
                Ok(_) => {
                    return Some(EdgeSlot {
                        index,
                        generation: slot.generation.load(SeqCst),
                    })
                }
                // SAFETY: `raw` came from `Arc::into_raw` just above and was not stored.
                Err(_) => drop(unsafe { Arc::from_raw(raw) }),
            }
        }
        None
    }

    /// What the C functions take: the generation above, the slot's index + 1 below (0 is
    /// never a handle).
    pub(crate) fn handle(&self) -> u64 {
        (u64::from(self.generation) << 32) | (self.index as u64 + 1)
    }
}

impl Drop for EdgeSlot {
    fn drop(&mut self) {
        let slot = &TABLE[self.index];
        let raw = slot.bridge.swap(std::ptr::null_mut(), SeqCst);
        slot.generation.fetch_add(1, SeqCst);
        // A reader that marked itself before the swap may still hold the pointer.
        while slot.readers.load(SeqCst) != 0 {
            std::thread::yield_now();
        }
        if !raw.is_null() {
            // SAFETY: `raw` was stored by `take` from `Arc::into_raw`, swapped out above so
            // no new reader can load it, and no reader holds it any more.
            drop(unsafe { Arc::from_raw(raw) });
        }
    }
}

/// Runs `f` on the bridge `handle` names, if it still exists.
fn with_bridge<R>(handle: u64, f: impl FnOnce(&AudioBridge) -> R) -> Option<R> {
    let index = (handle & 0xFFFF_FFFF).checked_sub(1)? as usize;
    let generation = (handle >> 32) as u32;
    let slot = TABLE.get(index)?;
    slot.readers.fetch_add(1, SeqCst);
    let mut result = None;
    if slot.generation.load(SeqCst) == generation {
        let raw = slot.bridge.load(SeqCst);
        // Checked again: the slot may have been freed and taken by another client between.
        if !raw.is_null() && slot.generation.load(SeqCst) == generation {
            // SAFETY: non-null and of this generation while we are counted as a reader: the
            // slot's `Drop` waits for us before it frees the bridge.
            result = Some(f(unsafe { &*raw }));
        }
    }
    slot.readers.fetch_sub(1, SeqCst);
    result
}

/// Copies `frames` samples (48 kHz mono, 16-bit) from `pcm` into the capture ring of the
/// client `handle` names; returns how many it took (0 for a gone client, a null buffer or a
/// negative count).
///
/// # Safety
/// `pcm` must point to `frames` readable `int16_t`s (or be null).
#[no_mangle]
pub unsafe extern "C" fn dialtone_audio_push(handle: u64, pcm: *const i16, frames: i32) -> i32 {
    let Ok(count) = usize::try_from(frames) else {
        return 0;
    };
    if pcm.is_null() || count == 0 {
        return 0;
    }
    // SAFETY: the caller promises `frames` readable samples at `pcm`.
    let samples = unsafe { std::slice::from_raw_parts(pcm, count) };
    std::panic::catch_unwind(|| {
        with_bridge(handle, |b| {
            b.push_capture(samples);
            frames
        })
        .unwrap_or(0)
    })
    .unwrap_or(0)
}

/// Fills `frames` samples at `pcm` with what the client `handle` names has to play, silence
/// where nothing arrived (and all silence for a gone client); returns `frames` (0 for a null
/// buffer or a negative count).
///
/// # Safety
/// `pcm` must point to `frames` writable `int16_t`s (or be null).
#[no_mangle]
pub unsafe extern "C" fn dialtone_audio_pull(handle: u64, pcm: *mut i16, frames: i32) -> i32 {
    let Ok(count) = usize::try_from(frames) else {
        return 0;
    };
    if pcm.is_null() || count == 0 {
        return 0;
    }
    // SAFETY: the caller promises `frames` writable samples at `pcm`, not aliased meanwhile.
    let out = unsafe { std::slice::from_raw_parts_mut(pcm, count) };
    let filled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        with_bridge(handle, |b| b.pull_playback(out))
    }));
    if !matches!(filled, Ok(Some(_))) {
        out.fill(0);
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the allocations of the thread that asks, so other tests' threads do not
    /// disturb the count.
    struct Counting;

    thread_local! {
        static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    // SAFETY: forwards to the system allocator; only counts.
    unsafe impl std::alloc::GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
            unsafe { std::alloc::System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
            unsafe { std::alloc::System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
            unsafe { std::alloc::System.realloc(ptr, layout, new) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    fn allocations() -> u64 {
        ALLOCATIONS.with(|c| c.get())
    }

    #[test]
    fn a_hundred_thousand_pushes_and_pulls_allocate_nothing() {
        let bridge = Arc::new(AudioBridge::new());
        let slot = EdgeSlot::take(&bridge).unwrap();
        let handle = slot.handle();
        let captured = [1000i16; 480];
        let mut played = [0i16; 480];
        // The first frame through the rings, outside the count.
        unsafe {
            dialtone_audio_push(handle, captured.as_ptr(), 480);
            dialtone_audio_pull(handle, played.as_mut_ptr(), 480);
        }
        // The counter counts (this test could fail).
        let probe = allocations();
        drop(std::hint::black_box(vec![0u8; 16]));
        assert_eq!(allocations(), probe + 1);
        let before = allocations();
        for _ in 0..100_000 {
            unsafe {
                assert_eq!(dialtone_audio_push(handle, captured.as_ptr(), 480), 480);
                assert_eq!(dialtone_audio_pull(handle, played.as_mut_ptr(), 480), 480);
            }
        }
        assert_eq!(allocations() - before, 0, "the audio edge allocated");
        drop(slot);
    }

    #[test]
    fn audio_goes_through_and_a_gone_clients_handle_is_silence() {
        let bridge = Arc::new(AudioBridge::new());
        let slot = EdgeSlot::take(&bridge).unwrap();
        let handle = slot.handle();
        // Playback from the far end reaches the app's buffer.
        bridge.deliver_playback_frame(&[7; crate::media::FRAME_SAMPLES]);
        let mut out = [0i16; 960];
        assert_eq!(
            unsafe { dialtone_audio_pull(handle, out.as_mut_ptr(), 960) },
            960
        );
        assert!(out.contains(&7), "the played frame came through");
        // Capture reaches the send side.
        let pcm = [300i16; 960];
        assert_eq!(
            unsafe { dialtone_audio_push(handle, pcm.as_ptr(), 960) },
            960
        );
        let mut frame = [0i16; crate::media::FRAME_SAMPLES];
        bridge.next_capture_frame(&mut frame, false);
        assert!(frame.contains(&300));

        drop(slot);
        // The bridge is the test's now only: the table let go of its reference.
        assert_eq!(Arc::strong_count(&bridge), 1);
        let mut out = [5i16; 960];
        assert_eq!(
            unsafe { dialtone_audio_pull(handle, out.as_mut_ptr(), 960) },
            960
        );
        assert!(out.iter().all(|&s| s == 0), "a gone client plays silence");
        assert_eq!(unsafe { dialtone_audio_push(handle, pcm.as_ptr(), 960) }, 0);
        // Nonsense handles and null buffers are refused without harm.
        for bad in [0u64, u64::MAX, 65, 1 << 40] {
            assert_eq!(unsafe { dialtone_audio_push(bad, pcm.as_ptr(), 960) }, 0);
        }
        assert_eq!(
            unsafe { dialtone_audio_pull(handle, std::ptr::null_mut(), 960) },
            0
        );
        assert_eq!(
            unsafe { dialtone_audio_push(handle, std::ptr::null(), 960) },
            0
        );
    }

    /// An audio thread pulling while the client goes away, many times: it sees the bridge
    /// or silence, never freed memory (run under a sanitizer or Miri to see more).
    #[test]
    fn a_client_dropped_while_its_audio_thread_runs_is_safe() {
        for _ in 0..200 {
            let bridge = Arc::new(AudioBridge::new());
            let slot = EdgeSlot::take(&bridge).unwrap();
            let handle = slot.handle();
            drop(bridge);
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let running = stop.clone();
            let audio = std::thread::spawn(move || {
                let mut out = [0i16; 480];
                while !running.load(SeqCst) {
                    unsafe { dialtone_audio_pull(handle, out.as_mut_ptr(), 480) };
                }
            });
            std::thread::yield_now();
            drop(slot);
            stop.store(true, SeqCst);
            audio.join().unwrap();
        }
    }
}
