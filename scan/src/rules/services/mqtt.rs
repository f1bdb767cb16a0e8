//! MQTT brokers (Mosquitto) accepting anonymous or plaintext clients.

use crate::parse::content_lines;
use crate::parse::services::is_loopback;
use crate::rules::{Ctx, Hit, Meta, Outcome, Rule, Skip};
use fieldattest_protocol::report::Severity;

fn mqtt(ctx: &Ctx) -> Outcome {
    let mut files = vec!["/etc/mosquitto/mosquitto.conf".to_string()];
    let Some(main) = ctx.text(&files[0])? else {
        return Err(Skip::na("no mosquitto configuration"));
    };
    for (_, l) in content_lines(&main) {
        if let Some(dir) = l.trim().strip_prefix("include_dir") {
            for e in ctx.root.read_dir(dir.trim()).unwrap_or_default() {
                let n = e.name.to_string_lossy();
                if n.ends_with(".conf") {
                    files.push(format!("{}/{n}", dir.trim().trim_end_matches('/')));
                }
            }
        }
    }
    let mut hits = Vec::new();
    let mut listeners: Vec<(String, u64, String, bool)> = Vec::new(); // path, line, bind, tls
    let mut anonymous: Option<(String, u64, bool)> = None;
    let mut password_file = false;
    for f in &files {
        let Some(t) = ctx.text(f)? else { continue };
        for (line, l) in content_lines(&t) {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["listener", port, rest @ ..] => listeners.push((
                    f.clone(),
                    line,
                    rest.first()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| format!("0.0.0.0:{port}")),
                    false,
                )),
                ["certfile", ..] | ["psk_hint", ..] => {
                    if let Some(last) = listeners.last_mut() {
                        last.3 = true;
                    }
                }
                ["allow_anonymous", v] => anonymous = Some((f.clone(), line, *v == "true")),
                ["password_file", ..] | ["auth_plugin", ..] | ["plugin", ..] => {
                    password_file = true
                }
                _ => {}
            }
        }
    }
    let version2 = ctx
        .package_version("mosquitto")
        .map(|v| !v.starts_with("1."))
        .unwrap_or(true);
    match anonymous {
        Some((p, l, true)) => hits.push(
            Hit::new("allow_anonymous true: clients connect without credentials")
                .subject("allow_anonymous")
                .at(p, Some(l)),
        ),
        None if !version2 && !password_file => hits.push(
            Hit::new(
                "mosquitto 1.x without password_file or auth plugin accepts anonymous clients",
            )
            .subject("allow_anonymous")
            .at(&files[0], None),
        ),
        _ => {}
    }
    for (p, l, bind, tls) in listeners {
        if !tls
            && !is_loopback(bind.split(':').next().unwrap_or(&bind))
            && !bind.starts_with("localhost")
        {
            hits.push(
                Hit::new(format!("listener {bind} without TLS (certfile)"))
                    .subject(bind)
                    .at(p, Some(l)),
            );
        }
    }
    Ok(hits)
}

pub const BROKER_AUTH_TLS: Rule = Rule {
    meta: Meta {
        id: "mqtt.broker-auth-tls",
        title: "MQTT broker accepts anonymous or plaintext clients",
        fr: "FR1",
        severity: Severity::High,
        reqs: &[("CR 1.1", 1), ("CR 1.2", 2), ("CR 4.1", 1), ("CR 3.1", 1)],
        remediation: "Set allow_anonymous false with a password_file or auth plugin; give every non-loopback listener certfile/keyfile.",
        reference: "mosquitto.conf(5); Eclipse Mosquitto 2.0 migration notes",
    },
    check: mqtt,
};

#[cfg(test)]
mod tests {
    use crate::rules::testutil::{fails, passes, T};

    #[test]
    fn mosquitto() {
        let t = T::new();
        t.file("etc/mosquitto/mosquitto.conf", "listener 8883\ncertfile /etc/mosquitto/certs/server.crt\nkeyfile /etc/mosquitto/certs/server.key\nallow_anonymous false\npassword_file /etc/mosquitto/passwd\nlistener 1883 127.0.0.1\n");
        passes(&t, "mqtt.broker-auth-tls");
        t.file(
            "etc/mosquitto/mosquitto.conf",
            "listener 1883\nallow_anonymous true\n",
        );
        assert_eq!(fails(&t, "mqtt.broker-auth-tls").len(), 2);
    }
}
