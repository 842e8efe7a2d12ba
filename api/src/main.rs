//! `diia-qr`: run the engine (`serve`), check a copy (`verify`), or watch the whole flow (`demo`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
