//! Gives memory the program has freed back to the system. glibc keeps what
//! a thread freed in that thread's arena for reuse, so after a burst of
//! work (a backfill of 60,000 task instances) tens of MB stay resident
//! although nothing uses them; `malloc_trim(0)` hands the free pages of
//! every arena back. Elsewhere (musl, other systems) it does nothing.
//!
//! The one `unsafe` in drover: an FFI call that takes no pointers.
//!
//! May call: libc.

/// Hands free pages back; whether anything came back. It walks and locks
/// every arena in turn: call it once a burst is over, off the threads that
/// do the work.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn give_back() -> bool {
    // SAFETY: malloc_trim takes no pointers and has no precondition; glibc
    // serializes it with every other allocator call.
    unsafe { libc::malloc_trim(0) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back() -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    #[test]
    fn memory_freed_by_a_thread_is_given_back() {
        // 64 MiB in pieces below glibc's mmap threshold, freed by the
        // thread that made them: they stay in its arena until trimmed.
        std::thread::spawn(|| {
            let pieces: Vec<Vec<u8>> = (0..16_384).map(|i| vec![i as u8; 4096]).collect();
            drop(pieces);
        })
        .join()
        .expect("the allocating thread");
        assert!(super::give_back(), "no free pages were given back");
    }
}
