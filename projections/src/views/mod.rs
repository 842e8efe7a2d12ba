//! Read models built from the log by projections, each written only inside the batch
//! transaction the follower gives it, and queried by the application layer.

pub mod cabinet;
pub mod moderation;
pub mod overview;
pub mod search;
