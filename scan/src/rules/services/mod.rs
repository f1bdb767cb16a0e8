//! Services and interfaces (catalog 2.I, 2.L, 2.M): plaintext remote access,
//! SNMP and MQTT defaults, serial consoles, boot loader, single-user mode,
//! trust files, and unneeded kernel modules.
//!
//! One file per service family; [`RULES`] lists them in report order.

mod boot;
mod kmod;
mod mqtt;
mod remote;
mod serial;
mod snmp;
mod trust;

use super::Rule;

/// The rules of this family, in report order.
pub const RULES: &[Rule] = &[
    remote::TELNET,
    remote::LEGACY_PLAINTEXT,
    snmp::DEFAULT_COMMUNITY,
    mqtt::BROKER_AUTH_TLS,
    serial::CONSOLE_LOGIN,
    boot::BOOTLOADER_LOCKED,
    boot::SINGLE_USER_AUTH,
    trust::NETRC_RHOSTS,
    kmod::UNNEEDED,
];
