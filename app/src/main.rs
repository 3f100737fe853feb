//! The `erp` binary: parses the command line and hands it to the library (thin binary, style.md §10).

fn main() -> std::process::ExitCode {
    app::main_with_args(std::env::args_os())
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
