//! The `inkseal` command line (in progress).
fn main() {}
