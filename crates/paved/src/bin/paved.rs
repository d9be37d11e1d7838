//! The `paved` binary; everything lives in the `paved` library.

fn main() -> std::process::ExitCode {
    paved::main()
}
