//! Keeps freed memory in the process instead of handing it back to the kernel.
//!
//! A training step allocates and frees the same few hundred megabytes of activations and gradients
//! every time. glibc serves each block over 32 MB with a fresh `mmap` and unmaps it when it is
//! freed, so the kernel zeroes every page again on the next step: profiled on the seed model at
//! batch 128, half the step time went to page faults and `clear_page` (see bench/profile.md), and
//! turning it off took training from 16.5 to 22 images/s on one thread and from 10 to 42 at two.
//! Peak memory stays the same; the process just keeps what it already had.
#![allow(unsafe_code)]

/// Tells glibc's allocator never to use `mmap` for large blocks and never to trim the heap, the
/// same as `GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=<large>`. Call it
/// first thing in `main`, before libtorch allocates. No effect off glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes allocator parameters; it is called before any other thread
        // exists, and its return value (0 when a parameter is refused) needs no handling: the
        // defaults are merely slower.
        unsafe {
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        }
    }
}
