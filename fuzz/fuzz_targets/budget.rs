//! Budget shared by the image-parser fuzz targets: besides "no panic", every
//! parse call must take CPU time and memory linear in its input.
//!
//! * Time: the calling thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`, so a
//!   loaded machine does not raise false alarms) must stay within
//!   [`TIME_BASE_MS`] + [`TIME_PER_KIB_MS`] × KiB of input. The constants are
//!   generous for code built with ASan and coverage instrumentation, and still
//!   catch any super-linear blowup: the old backtracking sshd glob took
//!   seconds on a 20-byte pattern.
//! * Memory: a counting global allocator (wrapping `std::alloc::System`)
//!   tracks live bytes; the peak reached during the call, above what was live
//!   when it started, must stay within [`MEM_BASE`] + [`MEM_PER_BYTE`] × input
//!   length. libFuzzer's own allocations do not pass through it.
//!
//! A violation panics with the parser's name, the figures and the limit, so
//! libFuzzer stores the input under `fuzz/artifacts/<target>/`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const TIME_BASE_MS: f64 = 200.0;
pub const TIME_PER_KIB_MS: f64 = 50.0;
pub const MEM_BASE: usize = 4 << 20;
pub const MEM_PER_BYTE: usize = 256;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// `System`, counting live bytes and their peak.
pub struct Counting;

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counters are plain atomics and never affect the allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

fn cpu_now() -> std::time::Duration {
    use nix::time::{clock_gettime, ClockId};
    let t = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).expect("thread CPU clock");
    std::time::Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

/// Runs `f` (the parser `name` on an input of `len` bytes) and panics if it
/// exceeds the time or memory budget. Returns `f`'s result, which is dropped
/// by the caller after the measurement (the result's memory counts).
pub fn check<T>(name: &str, len: usize, f: impl FnOnce() -> T) -> T {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let t0 = cpu_now();
    let out = f();
    let ms = (cpu_now() - t0).as_secs_f64() * 1e3;
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let time_limit = TIME_BASE_MS + TIME_PER_KIB_MS * len as f64 / 1024.0;
    let mem_limit = MEM_BASE + MEM_PER_BYTE * len;
    if ms > time_limit {
        panic!("budget: {name} took {ms:.1} ms CPU on {len} bytes (limit {time_limit:.1} ms)");
    }
    if peak > mem_limit {
        panic!("budget: {name} peaked at {peak} live bytes on {len} bytes of input (limit {mem_limit})");
    }
    out
}

/// The input as text, as the agent reads a file (lossy UTF-8).
#[allow(dead_code)]
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

#[global_allocator]
static ALLOC: Counting = Counting;
