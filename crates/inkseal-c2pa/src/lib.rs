//! Content Credentials for inkseal (being built: issue 4).
