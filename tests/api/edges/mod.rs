//! Edges found by trying the running server from outside (issue 29): each module pins one.

mod rate_tiers;
