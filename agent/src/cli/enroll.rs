//! `fieldattest enroll`: enroll the device once with the operator's secret.

use super::flags;
use super::{print, usage_err, Command, Exit, Opts};
use fieldattest_agent::config::{self, Collector, Config};
use fieldattest_agent::daemon;
use std::path::PathBuf;

pub const COMMAND: Command = Command {
    name: "enroll",
    bit: flags::ENROLL,
    usage: "\
fieldattest enroll --collector URL --token SECRET [--config FILE] [--ca PEM]
                   [--state-dir DIR]",
    about: "Enroll this device with the collector once, using the operator's \
            one-time secret; the result is kept in the state directory.",
    operands: &[],
    run,
};

/// The configuration file (when it exists) gives TLS settings and the state
/// directory; --collector / --ca / --state-dir override or stand in for it.
fn configure(o: &Opts) -> Result<Config, Exit> {
    let path = o
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH));
    let loaded = if path.exists() {
        config::load(&path)
    } else {
        Config::defaults()
    };
    let mut cfg = loaded.map_err(|e| {
        say!("fieldattest: configuration: {e}");
        Exit::Usage
    })?;
    if o.collector.is_some() || o.ca.is_some() {
        let base = cfg.collector.take();
        let Some(url) = o
            .collector
            .as_deref()
            .or(base.as_ref().map(|c| c.url.as_str()))
        else {
            return Err(usage_err("enroll needs --collector URL"));
        };
        let col = Collector::new(
            url,
            o.ca.clone()
                .or(base.as_ref().and_then(|c| c.ca_file.clone())),
            base.as_ref().and_then(|c| c.pin_sha256.clone()),
            base.as_ref()
                .and_then(|c| c.client_cert.clone().zip(c.client_key.clone())),
            base.as_ref().map_or(config::DEFAULT_TIMEOUT, |c| c.timeout),
        )
        .map_err(|e| usage_err(format_args!("--collector/--ca: {e}")))?;
        cfg.collector = Some(col);
    }
    if let Some(s) = &o.state_dir {
        cfg.state_dir = s.clone();
    }
    Ok(cfg)
}

fn run(o: Opts) -> Exit {
    let Some(secret) = &o.token else {
        return usage_err(
            "enroll needs --token SECRET (from 'fieldattest-collector enroll-token')",
        );
    };
    let cfg = match configure(&o) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(col) = &cfg.collector else {
        return usage_err(
            "enroll needs --collector URL (or a [collector] section in the configuration)",
        );
    };
    let r = fieldattest_agent::net::Client::new(col).and_then(|client| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(daemon::enroll(&client, &cfg.state_dir, &col.url, secret))
    });
    match r {
        Ok(v) => {
            say!(
                "fieldattest: enrolled; an operator approves the device after comparing its kid: {}",
                v["kid"].as_str().unwrap_or("")
            );
            print(format!(
                "{}\n",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            ))
        }
        Err(e) => {
            say!("fieldattest: enroll: {e}");
            Exit::Failed
        }
    }
}
