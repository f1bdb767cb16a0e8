//! Peak heap of one full daemon cycle (session, scan, sign, spool, deliver,
//! SBOM upload), measured with a counting global allocator — the figure that
//! matters on a device, and the only honest one under qemu-user, whose RSS is
//! the emulator's.
//!
//! `cargo run --release -p fieldattest-agent --example cycle_heap -- CONFIG`
//! (bench/daemon_footprint.sh sets up a collector, enrollment and CONFIG).
// A counting global allocator needs `unsafe` (the GlobalAlloc contract);
// this measuring example is the only place outside `sys` that has it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static CUR: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    let now = CUR.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; only
// counters are updated around it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's layout is passed on unchanged.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grow(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` was allocated by System with layout `l` (alloc/realloc above).
        unsafe { System.dealloc(p, l) };
        CUR.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: `p`/`l` come from System via alloc/realloc above; `new` is the caller's.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new > l.size() {
                grow(new - l.size());
            } else {
                CUR.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: cycle_heap CONFIG");
        std::process::exit(2);
    };
    let cfg = match fieldattest_agent::config::load(std::path::Path::new(&path)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let base = CUR.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let t = std::time::Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()
        .unwrap();
    let r = rt.block_on(fieldattest_agent::daemon::once(&cfg));
    drop(rt);
    match r {
        Ok(n) => println!(
            "cycle: {n} token(s) delivered in {:.0} ms; peak heap {:.2} MiB ({} bytes)",
            t.elapsed().as_secs_f64() * 1000.0,
            (PEAK.load(Ordering::Relaxed) - base) as f64 / 1048576.0,
            PEAK.load(Ordering::Relaxed) - base
        ),
        Err(e) => {
            eprintln!("cycle failed: {e}");
            std::process::exit(1);
        }
    }
}
