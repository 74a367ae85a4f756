//! The inkseal work registry (being built: issue 4).
