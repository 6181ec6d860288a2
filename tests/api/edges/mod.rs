//! Edges found by trying the running server from outside (issue 29): each module pins one.

mod bench_days;
mod file_modes;
mod guessed_ids;
mod http2_early;
mod openapi_exact;
mod rate_tiers;
mod schemathesis;
mod skips;
mod supply_chain;
