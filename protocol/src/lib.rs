//! Wire formats shared by the fieldattest agent and the collector.
//!
//! This crate does no I/O and reads no clock: it only defines data and how it is
//! encoded. Today it holds the scan report contract (`report`), the JSON document
//! that `fieldattest scan --format json` writes and that the collector, the
//! attestation builder and the Yocto image check consume.
#![forbid(unsafe_code)]

pub mod report;
