//! The `paved` binary; everything lives in the `paved` library.

/// mimalloc returns freed memory to the system far better than glibc's allocator after the
/// large transient allocations of reading a catalog (measured: `bench/catalog.sh`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    paved::main()
}
