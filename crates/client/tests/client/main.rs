//! The SDK against the real server (spawned in-process on 127.0.0.1:0 over
//! a fresh SQLite file), plus a scripted fake for the failures a healthy
//! server never produces (truncated pages, 503s).

mod errors;
mod fake;
mod harness;
mod paging;
mod resilience;
mod users;
