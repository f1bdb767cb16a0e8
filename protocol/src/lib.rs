//! Wire formats and contracts shared by the fieldattest scanning library, the agent and the collector.
//!
//! This crate reads no clock and, apart from `fsio`, does no I/O: it defines
//! data, how it is encoded, and how signed tokens are checked.
//! - `report`: the scan report contract (`fieldattest/report/v1`).
//! - `eat`: the EAT claims set of the attestation profile (PROFILE.md).
//! - `token`: the COSE_Sign1 / CWT envelope, ES256 signing hook and verification.
//! - `bundle`: the signed export bundle for air-gapped sites (tokens + completeness manifest).
//! - `cbor`: strict CBOR well-formedness checks and deterministic ordering.
//! - `catalog`: the rule catalog as data, per agent version.
//! - `sbom`: CycloneDX SBOM → SPDX 2.3 JSON and SPDX 3.0.1 JSON-LD conversions.
//! - `rejection`: the collector's refusal reasons with their stable codes.
//! - `hex`: lower-case hex and its decoder, UUID v4 text, epoch seconds (the
//!   one copy all crates use).
//! - `fsio`: output files that never destroy what they point at (device nodes,
//!   FIFOs, symlinks), stdout/stderr writes that never panic (both binaries).
#![forbid(unsafe_code)]

pub mod bundle;
pub mod catalog;
pub mod cbor;
pub mod eat;
pub mod fsio;
pub mod hex;
pub mod rejection;
pub mod report;
pub mod sbom;
pub mod token;
