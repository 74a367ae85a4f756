//! code (in progress).
