//! Accounts and identification (catalog 2.A): FR1/FR2, CCSC 3.
//!
//! The rules live by concern in `ids`, `passwords` and `logins`; [`RULES`]
//! lists them in report order.

mod ids;
mod logins;
mod passwords;

pub use passwords::scheme_name;

use super::{Meta, Rule};
use fieldattest_protocol::report::Severity;

pub const RULES: &[Rule] = &[
    Rule {
        meta: Meta {
            id: "account.uid0-unique",
            title: "Account other than root has UID 0",
            fr: "FR1",
            severity: Severity::Critical,
            reqs: &[("CR 1.1 RE(1)", 2), ("CR 2.1", 1)],
            remediation: "Give every account other than root a unique non-zero UID; use sudo for delegated administration.",
            reference: "CIS 6.2.5",
        },
        check: ids::uid0_unique,
    },
    Rule {
        meta: Meta {
            id: "account.duplicate-ids",
            title: "Duplicate UID, GID, user or group name",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.1 RE(1)", 2), ("CR 1.4", 1)],
            remediation: "Make every UID, GID, user name and group name unique so actions are attributable.",
            reference: "CIS 6.2.16-6.2.19; STIG UBTU-20-010010",
        },
        check: ids::duplicate_ids,
    },
    Rule {
        meta: Meta {
            id: "account.empty-password",
            title: "Account without password or PAM accepting empty passwords",
            fr: "FR1",
            severity: Severity::Critical,
            reqs: &[("CR 1.1", 1), ("CR 1.5", 1)],
            remediation: "Lock (passwd -l) or set a password on accounts with an empty password field; remove 'nullok' from pam_unix.",
            reference: "CIS 6.2.1; STIG UBTU-20-010462, UBTU-20-010463",
        },
        check: passwords::empty_password,
    },
    Rule {
        meta: Meta {
            id: "account.hash-outside-shadow",
            title: "Password hash stored in world-readable /etc/passwd",
            fr: "FR1",
            severity: Severity::Critical,
            reqs: &[("CR 1.5", 1), ("CR 4.1", 1)],
            remediation: "Move hashes to /etc/shadow (pwconv) and leave 'x' in /etc/passwd.",
            reference: "CIS 6.1.2/6.1.3",
        },
        check: passwords::hash_outside_shadow,
    },
    Rule {
        meta: Meta {
            id: "account.legacy-nis-entries",
            title: "Legacy NIS '+' entry in account database",
            fr: "FR1",
            severity: Severity::Medium,
            reqs: &[("CR 1.1", 1)],
            remediation: "Remove '+'/'-' NIS inclusion lines from /etc/passwd, /etc/shadow and /etc/group.",
            reference: "CIS 6.2.2-6.2.4",
        },
        check: ids::legacy_nis,
    },
    Rule {
        meta: Meta {
            id: "account.system-account-login",
            title: "System account can log in",
            fr: "FR2",
            severity: Severity::Medium,
            reqs: &[("CR 2.1", 1), ("CR 7.7", 1)],
            remediation: "Set the shell of system accounts (UID below UID_MIN) to /usr/sbin/nologin and lock their password.",
            reference: "CIS 5.4.2",
        },
        check: logins::system_account_login,
    },
    Rule {
        meta: Meta {
            id: "account.shared-generic-login",
            title: "Generic, likely shared account can log in with a password",
            fr: "FR1",
            severity: Severity::High,
            reqs: &[("CR 1.1 RE(1)", 2), ("CR 1.3", 1)],
            remediation: "Replace role accounts (admin, operator, maint, ...) with personal accounts, or lock their password.",
            reference: "Metasploit scada_default_userpass.txt, SecLists default credential lists",
        },
        check: logins::shared_generic_login,
    },
    Rule {
        meta: Meta {
            id: "account.hygiene",
            title: "Account database inconsistencies",
            fr: "FR1",
            severity: Severity::Low,
            reqs: &[("CR 1.3", 1), ("CR 1.4", 1)],
            remediation: "Give root GID 0, keep the shadow group empty, give every primary GID a group entry, set INACTIVE<=30 in /etc/default/useradd, fix future password-change dates.",
            reference: "CIS 5.4.3, 6.2.20, 6.2.15, 5.4.1.4, 5.4.1.5; STIG UBTU-20-010409",
        },
        check: ids::hygiene,
    },
];

const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

#[cfg(test)]
mod tests;
