//! Nothing here: the crate exists for `benches/providers.rs`.
