//! The system calls and CPU hints prep makes, each a small safe function: thread priority,
//! memory advice, direct-write and write-back control, the allocator's heaps. One of the few modules
//! allowed `unsafe` (ARCHITECTURE.md lists them); everything here is a hint or a flag whose
//! failure leaves behaviour correct, only slower.
#![allow(unsafe_code)]

use std::fs::File;

/// The size of an x86-64 / AArch64 transparent huge page.
pub(crate) const HUGE_PAGE: usize = 2 << 20;

/// Lowers the calling thread's scheduling priority to `nice` (Linux; elsewhere nothing).
#[cfg(target_os = "linux")]
pub fn lower_priority(nice: i32) {
    // SAFETY: plain system calls on the calling thread; failure leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, nice);
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn lower_priority(_nice: i32) {}

/// Let every thread allocate from one malloc heap (glibc; elsewhere nothing). By default glibc
/// gives threads heaps of their own; a conversion hands its large buffers (encoded batches,
/// gathered pieces) from the encoding threads to the writer and the staging threads, which
/// free them into the heap they came from, so each heap keeps its own high-water mark and
/// the process's peak memory drifted by tens of MB from run to run. One heap keeps the peak
/// at what is live; the few allocations per batch make its lock cheap. Called first thing by
/// the `prep` command, before any thread starts; the library leaves a host's allocator alone.
pub fn use_one_malloc_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: sets one allocator option; a failure (0 returned) leaves the default.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// The calling thread's nice value (Linux; the tests check priorities with it).
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn current_nice() -> i32 {
    // SAFETY: plain system calls about the calling thread.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::getpriority(libc::PRIO_PROCESS, tid)
    }
}

/// Ask for the whole huge pages inside `mem` to be backed by huge pages (Linux's transparent
/// huge pages in `madvise` mode; elsewhere, or when refused, nothing changes).
pub(crate) fn advise_huge_pages<T>(mem: &[T]) {
    #[cfg(not(target_os = "linux"))]
    let _ = mem;
    #[cfg(target_os = "linux")]
    {
        let start = mem.as_ptr() as usize;
        let end = start + std::mem::size_of_val(mem);
        let first = start.next_multiple_of(HUGE_PAGE);
        let last = end & !(HUGE_PAGE - 1);
        if last > first {
            // SAFETY: the range lies inside `mem`; the advice changes how the kernel backs these
            // pages, never their contents, and a refusal (an error return) is harmless.
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
}

/// Turn direct writes off on an open file.
#[cfg(target_os = "linux")]
pub(crate) fn clear_direct(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this File owns; F_SETFL may clear O_DIRECT on Linux.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn clear_direct(_: &File) -> std::io::Result<()> {
    Ok(())
}

/// Ask the kernel to start writing `len` bytes at `offset` to disk, without waiting for it.
#[cfg(target_os = "linux")]
pub(crate) fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain system call on an open descriptor; failure only means the final fsync
    // does all the work, as it would without this call.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn start_writeback(_: &File, _: u64, _: u64) {}
