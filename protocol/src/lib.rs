//! Wire formats shared by the fieldattest agent and the collector.
//!
//! This crate does no I/O and reads no clock: it only defines data, how it is
//! encoded, and how signed tokens are checked.
//! - `report`: the scan report contract (`fieldattest/report/v1`).
//! - `eat`: the EAT claims set of the attestation profile (PROFILE.md).
//! - `token`: the COSE_Sign1 / CWT envelope, ES256 signing hook and verification.
//! - `bundle`: the signed export bundle for air-gapped sites (tokens + completeness manifest).
//! - `cbor`: strict CBOR well-formedness checks and deterministic ordering.
#![forbid(unsafe_code)]

pub mod bundle;
pub mod cbor;
pub mod eat;
pub mod report;
pub mod token;
