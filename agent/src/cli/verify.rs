//! `fieldattest verify --key PUB.pem TOKEN`: offline verification.

use super::flags;
use super::{print, usage_err, Command, Exit, Opts};
use fieldattest_protocol::hex::hex;
use fieldattest_protocol::token;
use std::path::PathBuf;

pub const COMMAND: Command = Command {
    name: "verify",
    bit: flags::VERIFY,
    usage: "fieldattest verify --key PUB.pem TOKEN",
    about: "Verify a token offline against a public key and print its claims \
            (exit 1: the token is invalid).",
    operands: &["TOKEN"],
    run,
};

fn run(o: Opts) -> Exit {
    let (Some(key), Some(tok)) = (o.key, o.operands.into_iter().next().map(PathBuf::from)) else {
        return usage_err("verify needs --key PUB.pem and a TOKEN file");
    };
    let pk = match std::fs::read_to_string(&key)
        .map_err(|e| e.to_string())
        .and_then(|t| token::PublicKey::from_pem(&t))
    {
        Ok(k) => k,
        Err(e) => {
            say!("fieldattest: {}: {e}", key.display());
            return Exit::Usage;
        }
    };
    let bytes = match std::fs::read(&tok) {
        Ok(b) => b,
        Err(e) => {
            say!("fieldattest: {}: {e}", tok.display());
            return Exit::Usage;
        }
    };
    let c = match token::verify(&bytes, &pk) {
        Ok(c) => c,
        Err(e) => {
            say!("fieldattest: {}: invalid token: {e}", tok.display());
            return Exit::Findings;
        }
    };
    let failed: Vec<&str> = c
        .measres
        .iter()
        .flat_map(|(_, r)| r.iter())
        .filter(|(_, code)| *code == 2)
        .map(|(id, _)| id.as_str())
        .collect();
    let v = serde_json::json!({
        "valid": true,
        "kid": hex(&pk.kid()),
        "ueid": hex(&c.ueid),
        "iat": c.iat,
        "seq": c.seq,
        "nonce": c.nonce.as_deref().map(hex),
        "swname": c.sw.as_ref().map(|s| s.name.clone()),
        "swversion": c.sw.as_ref().map(|s| s.version.clone()),
        "key_tier": c.key_tier,
        "measurements": c.measurements.len(),
        "rules": c.measres.iter().map(|(_, r)| r.len()).sum::<usize>(),
        "failed_rules": failed,
        "listeners": c.listeners.len(),
        "cve_status": c.cve_status.len(),
        "sl_ceiling": c.sl_ceiling.iter().map(|(k, v)| (k.clone(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
        "sbom_sha256": c.sbom_digests.first().map(|(_, d)| hex(d)),
    });
    print(format!(
        "{}\n",
        serde_json::to_string_pretty(&v).unwrap_or_default()
    ))
}
