//! fieldattest agent library: the device side over `fieldattest-scan` —
//! attestation ([`attest`]), the store-and-forward spool ([`spool`]), the
//! configuration file ([`config`]), the HTTPS client ([`net`]), the daemon
//! ([`daemon`]) with its log lines ([`log`]) and the privilege and priority syscalls ([`sys`]).
// unsafe only in `sys` (two syscalls without a safe wrapper), documented there.
#![deny(unsafe_code)]

pub mod attest;
pub mod config;
pub mod daemon;
pub mod log;
pub mod net;
pub mod spool;
pub mod sys;

pub use fieldattest_protocol::hex::{hex, unhex};
