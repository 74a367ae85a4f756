//! Integration tests of inkseal-c2pa: one binary, one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod bad_input;
mod common;
mod credentials;
mod python_reader;
mod roundtrip;
mod sidecar;
mod tamper;
