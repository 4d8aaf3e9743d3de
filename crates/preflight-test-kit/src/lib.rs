//! What the tests of every preflight crate share, written once.
//!
//! - [`server`]: one scripted HTTP/1.1 server on `127.0.0.1:0`, whose answers a
//!   handler decides and which records every request it gets.
//! - [`makeheader`]: the `/makeheader` protocol (WPT's
//!   `cors/resources/cors-makeheader.py` made literal) as a handler.
//! - [`raw`]: a client that writes hand-made bytes on the wire and reads the
//!   answer as it came, for tests about what hyper's client would hide.
//! - [`cli`]: running the built binary with a deadline, a child process killed
//!   on drop, temporary directories, free ports, polling with a deadline.
//! - [`alloc`]: a global allocator that counts a thread's allocations.
//! - [`scenarios`]: the engine's scenario table, as plain data that the core's
//!   and the tower layer's tests each run through their own API.
//!
//! Every wait in here has a deadline: a helper fails the test, it never hangs it.
//! The crate is only ever a dev-dependency.

pub mod alloc;
pub mod cli;
pub mod makeheader;
pub mod raw;
pub mod scenarios;
pub mod server;

pub use server::{Received, Reply, Server};
