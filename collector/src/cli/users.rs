//! user add|passwd|disable|list, token create|list|revoke: operator
//! accounts and API tokens of the console (`server::auth`).

use super::{fail, misuse, open, print, refused, Command, Opts, TEXT_JSON_CSV};
use crate::{emit, PROG};
use fieldattest_collector::now;
use fieldattest_collector::server::auth::{self, Role};
use fieldattest_collector::store::Store;
use fieldattest_protocol::fsio;
use serde_json::{json, Value};
use std::io::Read;
use std::process::ExitCode;

pub const USER: Command = Command {
    name: "user",
    synopsis: &[
        "user add NAME --role viewer|operator|admin --db PATH   (password on stdin)",
        "user passwd NAME --db PATH   (password on stdin)",
        "user disable NAME --db PATH",
        "user list --db PATH [--format text|json|csv]",
    ],
    about: "manages the operator accounts of the console

The password is read from standard input (one line; never from the command
line), at least 12 characters, and stored as an Argon2id hash. Roles: viewer
reads the console and the API; operator also approves and revokes devices,
sets VEX and creates enrollment secrets; admin also reads the audit trail over
the API. A new password or disabling an account ends its console sessions.
Create the first admin with: user add NAME --role admin --db PATH",
    values: &["db", "role"],
    flags: &[],
    formats: TEXT_JSON_CSV,
    run: user,
};

fn role(o: &Opts) -> Result<Role, ExitCode> {
    let r = o.get("role").unwrap_or("");
    Role::parse(r).ok_or_else(|| misuse(format!("--role: {r:?} (viewer, operator, admin)")))
}

/// The password from stdin: its first line, checked against the policy.
fn password() -> Result<String, ExitCode> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        say!(
            "{PROG}: password (one line, at least {} characters):",
            auth::MIN_PASSWORD
        );
    }
    let mut s = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut s)
        .map_err(|e| fail(format!("stdin: {e}")))?;
    let p = s.lines().next().unwrap_or("").to_string();
    auth::check_password(&p).map_err(misuse)?;
    Ok(p)
}

fn name(o: &Opts) -> Result<&str, ExitCode> {
    match o.pos.get(1) {
        Some(n)
            if !n.is_empty()
                && n.chars().count() <= auth::MAX_NAME
                && !n.chars().any(char::is_control) =>
        {
            Ok(n)
        }
        Some(_) => Err(misuse(format!(
            "NAME: 1 to {} characters, no control characters",
            auth::MAX_NAME
        ))),
        None => Err(misuse("user: NAME missing")),
    }
}

fn user(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    match o.pos.first().map(String::as_str) {
        Some("add") => {
            let (n, r) = (name(o)?, role(o)?);
            let phc = auth::hash_password(&password()?).map_err(fail)?;
            if !store
                .add_operator(n, r.as_str(), &phc, now())
                .map_err(fail)?
            {
                return Err(refused(format!("operator {n:?} exists")));
            }
            audit(
                &*store,
                "user-add",
                &format!("operator {n} ({})", r.as_str()),
            )?;
            emit(format!("operator {n} added ({})\n", r.as_str()))
        }
        Some("passwd") => {
            let n = name(o)?;
            let phc = auth::hash_password(&password()?).map_err(fail)?;
            if !store.set_operator_password(n, &phc).map_err(fail)? {
                return Err(refused(format!("no operator {n:?}")));
            }
            audit(&*store, "user-passwd", &format!("operator {n}"))?;
            emit(format!("operator {n}: password changed; sessions ended\n"))
        }
        Some("disable") => {
            let n = name(o)?;
            if !store.disable_operator(n).map_err(fail)? {
                return Err(refused(format!("no operator {n:?}")));
            }
            audit(&*store, "user-disable", &format!("operator {n}"))?;
            emit(format!("operator {n} disabled; sessions ended\n"))
        }
        Some("list") => {
            let v: Vec<Value> = store
                .operators()
                .map_err(fail)?
                .into_iter()
                .map(|u| json!({"name": u.name, "role": u.role, "disabled": u.disabled, "created": u.created}))
                .collect();
            print(&Value::Array(v), o.format)
        }
        _ => Err(misuse("usage: user add|passwd|disable|list ...")),
    }
}

fn audit(store: &dyn Store, outcome: &str, reason: &str) -> Result<(), ExitCode> {
    store
        .audit(now(), None, None, outcome, &format!("{reason} by cli"))
        .map_err(fail)
}

pub const TOKEN: Command = Command {
    name: "token",
    synopsis: &[
        "token create --role viewer|operator|admin --expires DURATION [--name N] --db PATH",
        "token list --db PATH [--format text|json|csv]",
        "token revoke ID --db PATH",
    ],
    about: "manages API tokens for scripts

token create prints a new token once (fat_ and 64 hex digits); only its
SHA-256 is stored. Scripts send it as 'Authorization: Bearer TOKEN' to the
read-only /api/v1/* of the operator listener; each use is audited. --expires
is a duration (30d, 12h), at most 366 days. token list shows ids, names,
roles, expiry and fingerprints (the first 8 bytes of the SHA-256), never a
token; token revoke ID ends one.",
    values: &["db", "role", "expires", "name"],
    flags: &[],
    formats: TEXT_JSON_CSV,
    run: token,
};

fn token(o: &Opts) -> Result<(), ExitCode> {
    let store = open(o)?;
    match o.pos.first().map(String::as_str) {
        Some("create") => {
            let r = role(o)?;
            let Some(exp) = o.get("expires") else {
                return Err(misuse("token create needs --expires DURATION"));
            };
            let d =
                humantime::parse_duration(exp).map_err(|e| misuse(format!("--expires: {e}")))?;
            if d.as_secs() == 0 || d.as_secs() > 366 * 86400 {
                return Err(misuse("--expires: more than 0 and at most 366 days"));
            }
            let label = o.get("name").unwrap_or("api");
            let (t, hash) = auth::new_api_token();
            let id = store
                .create_api_token(label, &hash, r.as_str(), now() + d.as_secs() as i64, now())
                .map_err(fail)?;
            audit(
                &*store,
                "token-create",
                &format!("api token {id} ({label}, {})", r.as_str()),
            )?;
            say!(
                "{PROG}: API token {id} ({}), valid {}; shown once, only its SHA-256 is stored",
                r.as_str(),
                humantime::format_duration(d)
            );
            emit(format!("{t}\n"))
        }
        Some("list") => {
            let v: Vec<Value> = store
                .api_tokens()
                .map_err(fail)?
                .into_iter()
                .map(|k| json!({"id": k.id, "name": k.name, "role": k.role, "fingerprint": k.fingerprint,
                    "created": k.created, "expires": k.expires, "revoked": k.revoked, "last_used": k.last_used}))
                .collect();
            print(&Value::Array(v), o.format)
        }
        Some("revoke") => {
            let Some(id) = o.pos.get(1).and_then(|i| i.parse::<i64>().ok()) else {
                return Err(misuse("usage: token revoke ID"));
            };
            if !store.revoke_api_token(id).map_err(fail)? {
                return Err(refused(format!("no API token {id}")));
            }
            audit(&*store, "token-revoke", &format!("api token {id}"))?;
            emit(format!("API token {id} revoked\n"))
        }
        _ => Err(misuse("usage: token create|list|revoke ...")),
    }
}
